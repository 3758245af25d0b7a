"""Recording outcome scores: validation, correction, audit, the linked items and the review."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from app import db
from app.domain.flags import NOT_IMPROVING_CODE, TWELVE_MONTH_CODE, episode_flags
from app.domain.outcomes import Thresholds
from app.domain.site import SiteDay
from app.domain.vocab import EpisodeStatus, Instrument, ItemStatus, Phase, TimePoint
from app.models import AuditEvent, ChecklistItem, Episode, EpisodeFlagDate, OutcomeScore
from app.queries.episodes import episode_with_checklist
from app.queries.flags import flag_facts
from app.services import outcomes, signoffs
from app.services.errors import Conflict, NotPermitted, ServiceError
from tests import factories
from tests.conftest import PASSWORD

TODAY = date(2026, 6, 17)
SURGERY = date(2026, 4, 1)  # 6-week follow-up due 13 May 2026
BASE, W6, M3, M6, M12 = (
    TimePoint.BASELINE,
    TimePoint.WEEKS_6,
    TimePoint.MONTHS_3,
    TimePoint.MONTHS_6,
    TimePoint.MONTHS_12,
)


@pytest.fixture
def operated(app, coordinator, surgeon, protocol):
    """An episode operated on 1 Apr 2026."""
    return factories.episode(coordinator, surgeon, protocol, surgery_date=SURGERY)


@pytest.fixture
def a_year_ago(app, coordinator, surgeon, protocol):
    """An episode operated on 1 Jun 2025, with its 12-month follow-up taken on 1 Jun 2026."""
    return factories.episode(coordinator, surgeon, protocol, surgery_date=date(2025, 6, 1))


def fresh_episode(episode_id: int) -> Episode:
    db.session.expire_all()
    return episode_with_checklist(db.session, episode_id)


def record(actor, episode, tp, taken_on, odi, back, leg, version=0, thresholds=None):
    result = outcomes.record_scores(
        db.session, actor, fresh_episode(episode.id), tp, taken_on, odi, back, leg, TODAY, thresholds, version
    )
    db.session.commit()
    return result


def stored(episode_id: int) -> dict:
    db.session.expire_all()
    rows = db.session.scalars(select(OutcomeScore).where(OutcomeScore.episode_id == episode_id))
    return {(r.time_point, r.instrument): r.value for r in rows}


def item(episode, code) -> ChecklistItem:
    db.session.expire_all()
    return db.session.get(ChecklistItem, factories.item(episode, code).id)


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def version_of(episode_id: int, tp: TimePoint) -> int:
    db.session.expire_all()
    rows = db.session.scalars(
        select(OutcomeScore).where(OutcomeScore.episode_id == episode_id, OutcomeScore.time_point == tp)
    )
    return outcomes.version_token(rows)


# recording


def test_recording_stores_the_three_scores_with_one_audit_event(session, operated, coordinator):
    result = record(coordinator, operated, BASE, date(2026, 3, 20), 46, 6, 7)

    assert stored(operated.id) == {
        (BASE, Instrument.ODI): 46,
        (BASE, Instrument.NRS_BACK): 6,
        (BASE, Instrument.NRS_LEG): 7,
    }
    (event,) = events("outcome.record")
    assert event.summary == "Recorded baseline outcome scores: ODI 46, NRS back pain 6, NRS leg pain 7"
    assert event.before is None
    assert event.after == {"odi": 46, "nrs_back": 6, "nrs_leg": 7, "taken_on": "2026-03-20"}
    assert event.episode_id == operated.id and event.actor_id == coordinator.id
    assert not result.corrected and result.changed


def test_recording_completes_the_linked_value_item_with_the_odi(session, operated, coordinator):
    result = record(coordinator, operated, BASE, date(2026, 3, 20), 46, 6, 7)

    prom = item(operated, "pre_baseline_prom")
    assert (prom.status, prom.value, prom.completed_by_id) == (ItemStatus.DONE, "46", coordinator.id)
    assert result.item_completed
    (event,) = events("item.satisfied")
    assert event.summary.startswith("Completed by the baseline outcome scores")


def test_a_follow_up_completes_its_own_item(session, operated, surgeon):
    record(surgeon, operated, W6, date(2026, 5, 13), 20, 2, 2)
    assert item(operated, "post_fu_6w").status is ItemStatus.DONE
    assert item(operated, "post_fu_3m").status is ItemStatus.OPEN


def test_therapists_record_and_nurses_may_not(session, operated, therapist, nurse, anaesthetist, admin):
    record(therapist, operated, BASE, date(2026, 3, 20), 46, 6, 7)
    for user in (nurse, anaesthetist, admin):
        with pytest.raises(NotPermitted):
            record(user, operated, BASE, date(2026, 3, 20), 40, 6, 7, version=3)


@pytest.mark.parametrize(
    ("tp", "taken_on", "values", "message"),
    [
        (BASE, date(2026, 3, 20), (101, 6, 7), "ODI: enter a whole number from 0 to 100."),
        (BASE, date(2026, 3, 20), (40, -1, 7), "NRS back pain: enter a whole number from 0 to 10."),
        (BASE, date(2026, 3, 20), (40, 6, None), "NRS leg pain: enter a whole number from 0 to 10."),
        (W6, date(2026, 6, 18), (20, 2, 2), "The date taken cannot be in the future."),
        (
            BASE,
            date(2026, 4, 2),
            (40, 6, 7),
            "Baseline scores must be dated between 1 Jan and 1 Apr 2026 (from 90 days before surgery "
            "to the day of surgery).",
        ),
        (
            W6,
            date(2026, 4, 1),
            (20, 2, 2),
            "6-week scores must be dated between 29 Apr and 3 Jun 2026 (days 28–63 after surgery).",
        ),
    ],
)
def test_bad_input_is_refused_and_saves_nothing(
    session, operated, coordinator, tp, taken_on, values, message
):
    with pytest.raises(ServiceError, match=re.escape(message)):
        record(coordinator, operated, tp, taken_on, *values)
    session.rollback()
    assert stored(operated.id) == {}
    assert item(operated, "pre_baseline_prom").status is ItemStatus.OPEN


def test_follow_ups_need_a_surgery_date(session, coordinator, surgeon, protocol):
    unscheduled = factories.episode(coordinator, surgeon, protocol, surgery_date=None)
    with pytest.raises(ServiceError, match="schedule the surgery first"):
        record(coordinator, unscheduled, W6, TODAY, 20, 2, 2)
    record(coordinator, unscheduled, BASE, TODAY, 40, 6, 7)  # baseline needs no surgery date


# correcting


def test_recording_a_time_point_again_corrects_it_with_before_and_after(
    session, operated, coordinator, surgeon
):
    record(coordinator, operated, BASE, date(2026, 3, 20), 46, 6, 7)
    version = version_of(operated.id, BASE)

    result = record(surgeon, operated, BASE, date(2026, 3, 21), 44, 6, 7, version=version)

    assert result.corrected and result.changed
    assert stored(operated.id)[(BASE, Instrument.ODI)] == 44
    (event,) = events("outcome.correct")
    assert event.before == {"odi": 46, "nrs_back": 6, "nrs_leg": 7, "taken_on": "2026-03-20"}
    assert event.after == {"odi": 44, "nrs_back": 6, "nrs_leg": 7, "taken_on": "2026-03-21"}
    assert version_of(operated.id, BASE) > version
    assert item(operated, "pre_baseline_prom").value == "44"  # the item follows the correction


def test_a_correction_from_an_out_of_date_page_is_a_conflict(session, operated, coordinator, surgeon):
    record(coordinator, operated, BASE, date(2026, 3, 20), 46, 6, 7)
    stale = version_of(operated.id, BASE)
    record(surgeon, operated, BASE, date(2026, 3, 20), 44, 6, 7, version=stale)

    with pytest.raises(Conflict) as raised:
        record(coordinator, operated, BASE, date(2026, 3, 20), 50, 6, 7, version=stale)
    assert raised.value.by == surgeon.full_name
    session.rollback()
    assert stored(operated.id)[(BASE, Instrument.ODI)] == 44


def test_recording_a_time_point_someone_just_recorded_is_a_conflict(session, operated, coordinator, surgeon):
    record(coordinator, operated, BASE, date(2026, 3, 20), 46, 6, 7)
    with pytest.raises(Conflict) as raised:
        record(surgeon, operated, BASE, date(2026, 3, 20), 40, 6, 7, version=0)
    assert (raised.value.what, raised.value.by) == ("The baseline scores", coordinator.full_name)
    session.rollback()
    record(coordinator, operated, W6, date(2026, 5, 13), 30, 5, 6)
    with pytest.raises(Conflict) as raised:
        record(surgeon, operated, W6, date(2026, 5, 13), 20, 5, 6, version=0)
    assert raised.value.what == "The 6-week scores"


def test_the_same_scores_again_change_nothing(session, operated, coordinator):
    record(coordinator, operated, BASE, date(2026, 3, 20), 46, 6, 7)
    version = version_of(operated.id, BASE)
    result = record(coordinator, operated, BASE, date(2026, 3, 20), 46, 6, 7, version=version)
    assert not result.changed
    assert events("outcome.correct") == []


# locks


def test_a_closed_episode_refuses_scores(session, operated, coordinator):
    episode = fresh_episode(operated.id)
    signoffs.close(session, coordinator, episode, episode.version, "Transferred")
    session.commit()
    with pytest.raises(ServiceError, match="The episode is closed"):
        record(coordinator, operated, W6, date(2026, 5, 13), 20, 2, 2)
    session.rollback()
    assert stored(operated.id) == {}


def test_a_signed_off_phase_keeps_its_item_but_the_scores_are_recorded(
    session, operated, coordinator, surgeon
):
    """Scores taken before a sign-off are still recorded; the locked item is left as it is."""

    record(coordinator, operated, BASE, date(2026, 3, 20), 46, 6, 7)
    factories.complete_phase(session, fresh_episode(operated.id), Phase.BEFORE, surgeon, coordinator)
    signoffs.sign(session, surgeon, fresh_episode(operated.id), Phase.BEFORE, PASSWORD, 5, 15)
    session.commit()

    result = record(coordinator, operated, BASE, date(2026, 3, 20), 48, 6, 7, version_of(operated.id, BASE))

    assert result.changed and not result.item_completed
    assert stored(operated.id)[(BASE, Instrument.ODI)] == 48
    assert item(operated, "pre_baseline_prom").value == "46"


# the interdisciplinary review: required only while an outcome flag (or opioids at 3 months) is
# raised (clinical rules version 2, section 3)


def test_not_improving_makes_the_review_required_with_the_reason(session, operated, coordinator, surgeon):
    record(coordinator, operated, BASE, date(2026, 3, 20), 40, 6, 7)
    result = record(surgeon, operated, W6, date(2026, 5, 13), 36, 5, 6)

    assert [f.code for f in result.flags] == [NOT_IMPROVING_CODE]
    (change,) = result.requirements
    assert change.required and change.title.startswith("Interdisciplinary review")
    review = item(operated, "post_idt_review")
    assert review.required and review.status is ItemStatus.OPEN and review.required_since == TODAY
    assert review.due_date == date(2026, 6, 30)  # its own due date (day 90) has not passed: kept
    (event,) = events("item.required")
    assert event.actor_id == surgeon.id and event.summary.startswith("Now required: Interdisciplinary review")
    assert event.reason == result.flags[0].text
    assert event.reason.startswith("Not improving (6 weeks: ODI 40 → 36, improved 4 points (10%)")
    assert event.before["required"] is False and event.after["required_since"] == TODAY.isoformat()


def test_improving_leaves_the_review_not_required(session, operated, coordinator, surgeon):
    record(coordinator, operated, BASE, date(2026, 3, 20), 40, 6, 7)
    result = record(surgeon, operated, W6, date(2026, 5, 13), 20, 2, 2)
    assert result.flags == [] and result.requirements == []
    review = item(operated, "post_idt_review")
    assert not review.required and review.overdue_from is None  # never overdue while not required


def test_a_twelve_month_outcome_makes_the_review_required_due_14_days_on(
    session, a_year_ago, coordinator, surgeon
):
    record(coordinator, a_year_ago, BASE, date(2025, 5, 20), 44, 6, 7)
    result = record(surgeon, a_year_ago, M12, date(2026, 6, 1), 45, 5, 6)

    assert [f.code for f in result.flags] == [TWELVE_MONTH_CODE] and len(result.requirements) == 1
    review = item(a_year_ago, "post_idt_review")
    # Its own due date (30 Aug 2025) passed long ago: due 14 days from the day it was asked for.
    assert review.required and review.due_date == date(2026, 7, 1) and review.overdue_from == date(2026, 7, 2)
    (event,) = events("item.required")
    assert event.reason == "12-month outcome: Worsening (ODI 45 > 39)"


def test_a_later_not_improving_keeps_the_review_required_from_the_first_day(
    session, a_year_ago, coordinator, surgeon
):
    record(coordinator, a_year_ago, BASE, date(2025, 5, 20), 40, 6, 7)
    record(surgeon, a_year_ago, M12, date(2026, 6, 1), 36, 6, 7)  # Failure alone: review required
    (event,) = events("item.required")
    assert event.reason == "12-month outcome: Failure (ODI 36 > 31)"

    result = record(surgeon, a_year_ago, M6, date(2025, 12, 1), 38, 6, 7)

    assert [f.text for f in result.flags] == [
        "Not improving (6 months: ODI 40 → 38, improved 2 points (5%), below 10 points and 30%; "
        "NRS leg 7 → 7, improved 0 points (0%), below 2 points and 30%)",
        "12-month outcome: Failure (ODI 36 > 31)",
    ]
    assert result.requirements == [] and len(events("item.required")) == 1  # already required
    assert item(a_year_ago, "post_idt_review").due_date == date(2026, 7, 1)


def test_the_review_is_no_longer_required_once_the_flag_clears_before_it_was_worked(
    session, operated, coordinator, surgeon
):
    """Version 1 kept the review required (and later overdue) after the flag had cleared."""
    record(coordinator, operated, BASE, date(2026, 3, 20), 40, 6, 7)
    record(surgeon, operated, W6, date(2026, 5, 13), 36, 5, 6)
    assert item(operated, "post_idt_review").required

    result = record(surgeon, operated, W6, date(2026, 5, 13), 20, 2, 2, version_of(operated.id, W6))

    assert result.flags == []
    (change,) = result.requirements
    assert (
        not change.required
        and change.why == "no longer raised: not_improving, still_on_opioids, twelve_month_outcome"
    )
    review = item(operated, "post_idt_review")
    assert not review.required and review.required_since is None and review.overdue_from is None
    assert review.due_date == date(2026, 6, 30)
    (event,) = events("item.not_required")
    assert (
        event.summary.startswith("No longer required: Interdisciplinary review")
        and event.actor_id == surgeon.id
    )
    assert not db.session.scalar(select(ChecklistItem.outstanding).where(ChecklistItem.id == review.id))


def test_a_twelve_month_odi_at_the_cut_off_leaves_the_review_not_required(
    session, a_year_ago, coordinator, surgeon
):
    record(coordinator, a_year_ago, BASE, date(2025, 5, 20), 40, 6, 7)
    result = record(surgeon, a_year_ago, M12, date(2026, 6, 1), 31, 6, 7)  # 12 months: not Not improving
    assert result.flags == [] and result.requirements == []
    assert not item(a_year_ago, "post_idt_review").required


def test_a_baseline_too_low_to_judge_leaves_the_review_not_required(session, operated, coordinator, surgeon):
    record(coordinator, operated, BASE, date(2026, 3, 20), 18, 2, 2)
    result = record(surgeon, operated, W6, date(2026, 5, 13), 18, 2, 2)
    assert result.flags == [] and result.requirements == []


def test_a_review_already_done_is_left_alone(session, operated, coordinator, surgeon):
    from app.services import checklist

    review = item(operated, "post_idt_review")
    checklist.mark_done(session, coordinator, review, review.version)
    session.commit()
    record(coordinator, operated, BASE, date(2026, 3, 20), 40, 6, 7)
    result = record(surgeon, operated, W6, date(2026, 5, 13), 36, 5, 6)
    assert result.flags and result.requirements == []
    assert events("item.required") == []
    result = record(surgeon, operated, W6, date(2026, 5, 13), 20, 2, 2, version_of(operated.id, W6))
    assert result.requirements == [] and item(operated, "post_idt_review").status is ItemStatus.DONE


def test_thresholds_are_passed_in(session, operated, coordinator, surgeon):
    record(coordinator, operated, BASE, date(2026, 3, 20), 40, 6, 7)
    lenient = Thresholds(odi_points=3, nrs_points=1)
    result = record(surgeon, operated, W6, date(2026, 5, 13), 36, 5, 6, thresholds=lenient)
    assert result.flags == []


# flags for lists


def outcome_flags(episode_ids: list[int], code: str = NOT_IMPROVING_CODE) -> dict:
    """The flag `code` ("Not improving") of each episode that raises it, from the facts lists read."""
    facts = flag_facts(db.session, episode_ids)
    day = SiteDay(TODAY)
    return {
        episode_id: flag
        for episode_id, f in facts.items()
        for flag in episode_flags(f, day)
        if flag.code == code
    }


def test_outcome_flags_for_many_episodes_from_the_facts_lists_read(
    session, operated, coordinator, surgeon, protocol
):
    improving = factories.episode(coordinator, surgeon, protocol, surgery_date=SURGERY, family_name="Better")
    record(coordinator, operated, BASE, date(2026, 3, 20), 40, 6, 7)
    record(surgeon, operated, W6, date(2026, 5, 13), 36, 5, 6)
    record(coordinator, improving, BASE, date(2026, 3, 20), 40, 6, 7)
    record(surgeon, improving, W6, date(2026, 5, 13), 10, 1, 1)

    flags = outcome_flags([operated.id, improving.id])

    assert set(flags) == {operated.id}
    assert flags[operated.id].label == "Not improving"
    session.commit()
    stored = dict(session.execute(select(EpisodeFlagDate.episode_id, EpisodeFlagDate.flagged_from)).all())
    assert stored[operated.id] == date.min  # Not improving: flagged whatever the day
    assert stored[improving.id] != date.min
    episode = fresh_episode(operated.id)
    episode.status = EpisodeStatus.CLOSED  # a closed episode raises no flags
    session.flush()
    assert outcome_flags([operated.id]) == {}


def test_the_twelve_month_outcome_is_stored_and_listed_from_the_facts_lists_read(
    session, a_year_ago, operated, coordinator, surgeon
):
    record(surgeon, a_year_ago, M12, date(2026, 6, 1), 40, 6, 7)  # no baseline: Worsening
    record(surgeon, operated, W6, date(2026, 5, 13), 40, 6, 7)  # no baseline: no flag

    flags = outcome_flags([a_year_ago.id, operated.id], TWELVE_MONTH_CODE)

    assert set(flags) == {a_year_ago.id}
    assert flags[a_year_ago.id].text == "12-month outcome: Worsening (ODI 40 > 39)"
    session.commit()
    stored = dict(session.execute(select(EpisodeFlagDate.episode_id, EpisodeFlagDate.flagged_from)).all())
    assert stored[a_year_ago.id] == date.min  # flagged whatever the day
    record(surgeon, a_year_ago, M12, date(2026, 6, 1), 30, 6, 7, version_of(a_year_ago.id, M12))
    assert outcome_flags([a_year_ago.id], TWELVE_MONTH_CODE) == {}
    flagged_from = session.scalar(
        select(EpisodeFlagDate.flagged_from).where(EpisodeFlagDate.episode_id == a_year_ago.id)
    )
    assert flagged_from != date.min


def test_a_follow_up_item_is_done_on_the_day_the_scores_were_taken(session, operated, coordinator, surgeon):
    record(coordinator, operated, BASE, date(2026, 3, 20), 40, 6, 7)
    record(surgeon, operated, W6, date(2026, 5, 12), 20, 2, 2)  # taken on time, entered on 17 Jun

    follow_up = next(i for i in fresh_episode(operated.id).items if i.step.outcome_time_point is W6)
    assert follow_up.status is ItemStatus.DONE
    assert follow_up.completed_on == date(2026, 5, 12) <= follow_up.due_date
