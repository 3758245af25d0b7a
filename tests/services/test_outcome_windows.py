"""Outcome windows through the services (CLINICAL-RULES §6): recording refuses a date outside the
time point's window; moving surgery is refused while follow-ups or sessions would not fit, and
reopens a baseline or a sessions item that no longer does; a version-1 episode keeps today's rule."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import db
from app.domain.flags import NOT_IMPROVING_CODE, EpisodeFacts, episode_flags
from app.domain.site import SiteDay
from app.domain.therapy import SessionInput
from app.domain.vocab import ItemStatus, TimePoint
from app.models import AuditEvent, ChecklistItem, EpisodeFlagDate, TherapySession
from app.queries.episodes import episode_with_checklist
from app.queries.flags import flag_facts
from app.queries.outcomes import episode_scores
from app.services import outcomes, therapy
from app.services.errors import InvalidInput, ServiceError
from app.services.patients import EpisodeDetails, update_episode
from tests import factories, windowed

TODAY = factories.TODAY  # 17 Jun 2026
SURGERY = date(2026, 3, 1)  # 6-week window 29 Mar to 3 May 2026
BASE, W6 = TimePoint.BASELINE, TimePoint.WEEKS_6


@pytest.fixture
def version(app):
    return windowed.publish(db.session)


@pytest.fixture
def operated(coordinator, surgeon, version):
    return factories.episode(coordinator, surgeon, version, surgery_date=SURGERY)


def fresh(episode_id: int):
    db.session.expire_all()
    return episode_with_checklist(db.session, episode_id)


def record(actor, episode, tp, taken_on, odi=40, back=6, leg=7):
    with db.write_unit():
        current = fresh(episode.id)
        version = outcomes.version_token(
            r for r in episode_scores(db.session, episode.id) if r.time_point is tp
        )
        result = outcomes.record_scores(
            db.session, actor, current, tp, taken_on, odi, back, leg, TODAY, None, version
        )
        db.session.commit()
        return result


def move(actor, episode, surgery: date | None) -> bool:
    with db.write_unit():
        current = fresh(episode.id)
        details = EpisodeDetails(
            current.procedure, current.levels, current.surgeon_id, surgery, current.procedure_type
        )
        try:
            return update_episode(db.session, actor, current, details, current.version)
        finally:
            db.session.commit()  # a refusal wrote nothing to commit


def log(therapist, episode, on: date, prehabilitation=False):
    entry = SessionInput(on, "PT", 45, "attended", None, None, "", False, prehabilitation)
    with db.write_unit():
        therapy.log_session(db.session, therapist, fresh(episode.id), entry, TODAY)
        db.session.commit()


def item(episode, code: str) -> ChecklistItem:
    return next(i for i in fresh(episode.id).items if i.step.code == code)


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# recording


@pytest.mark.parametrize(
    ("days", "allowed"), [(27, False), (28, True), (63, True), (64, False)], ids=["27", "28", "63", "64"]
)
def test_a_follow_up_is_recorded_only_inside_its_window(coordinator, operated, days, allowed):
    taken_on = SURGERY + timedelta(days=days)
    if allowed:
        assert record(coordinator, operated, W6, taken_on).item_completed
        assert item(operated, "post_fu_6w").status is ItemStatus.DONE
        return
    message = "6-week scores must be dated between 29 Mar and 3 May 2026 (days 28–63 after surgery)."
    with pytest.raises(InvalidInput, match=re.escape(message)) as refused:
        record(coordinator, operated, W6, taken_on)
    assert refused.value.problems == {"taken_on": message}
    db.session.rollback()
    assert episode_scores(db.session, operated.id) == []


@pytest.mark.parametrize(("days", "allowed"), [(-91, False), (-90, True), (0, True), (1, False)])
def test_a_baseline_is_recorded_only_inside_its_window(coordinator, surgeon, version, days, allowed):
    episode = factories.episode(coordinator, surgeon, version, surgery_date=TODAY)
    taken_on = TODAY + timedelta(days=days)
    if days > 0:  # in the future as well
        with pytest.raises(ServiceError, match="between 19 Mar and 17 Jun 2026"):
            record(coordinator, episode, BASE, taken_on)
        return
    if allowed:
        record(coordinator, episode, BASE, taken_on)
        return
    with pytest.raises(ServiceError, match=re.escape("(from 90 days before surgery to the day of surgery)")):
        record(coordinator, episode, BASE, taken_on)


def test_an_unscheduled_episode_records_only_a_baseline(coordinator, surgeon, version):
    episode = factories.episode(coordinator, surgeon, version, surgery_date=None)
    with pytest.raises(ServiceError, match="only baseline scores can be recorded"):
        record(coordinator, episode, W6, TODAY)
    db.session.rollback()
    record(coordinator, episode, BASE, date(2025, 1, 1))  # no window without a surgery date


@pytest.fixture
def version_1(session):
    """Version 1 of the default protocol (no windows), published under a slug of its own."""
    from dataclasses import replace

    from app.services import protocols

    spec = protocols.read_protocol_file(protocols.PROTOCOL_DIR / "archive" / "lumbar_fbss_v1.yaml")
    version, _ = protocols.publish(session, replace(spec, slug="lumbar-fbss-v1-test"))
    session.commit()
    return version


def test_a_version_1_episode_keeps_today_s_rule(coordinator, surgeon, version_1):
    protocol = version_1
    assert all(s.window_from_days is None for s in protocol.steps)
    episode = factories.episode(coordinator, surgeon, protocol, surgery_date=SURGERY)
    record(coordinator, episode, W6, SURGERY + timedelta(days=100))  # outside any 6-week window
    record(coordinator, episode, BASE, SURGERY - timedelta(days=200))
    assert move(coordinator, episode, SURGERY + timedelta(days=5))  # both still on their side of surgery


# moving the surgery date


def test_moving_surgery_is_refused_with_the_list_and_changes_nothing(coordinator, therapist, operated):
    record(coordinator, operated, W6, date(2026, 4, 15))  # day 45
    log(therapist, operated, date(2026, 3, 10))  # day 9, after surgery
    log(therapist, operated, date(2026, 2, 20), prehabilitation=True)  # never in the way
    before = len(events("episode.update"))
    with pytest.raises(InvalidInput) as refused:
        move(coordinator, operated, date(2026, 3, 20))
    message = refused.value.problems["surgery_date"]
    assert message == (
        "The surgery date cannot move to 20 Mar 2026 until these are corrected first: "
        "the 6-week scores dated 15 Apr 2026 (they must be dated between 17 Apr and 22 May 2026 "
        "(days 28–63 after surgery)); the PT session of 10 Mar 2026 (attended, not prehabilitation) "
        "before the new surgery date."
    )
    assert fresh(operated.id).surgery_date == SURGERY
    assert len(events("episode.update")) == before
    assert move(coordinator, operated, date(2026, 3, 5))  # day 41 and a session of day 5: both fit


def test_clearing_the_surgery_date_is_refused_while_follow_ups_exist(coordinator, operated):
    record(coordinator, operated, W6, date(2026, 4, 15))
    with pytest.raises(InvalidInput, match="only baseline scores can be kept"):
        move(coordinator, operated, None)
    assert fresh(operated.id).surgery_date == SURGERY


def test_a_baseline_left_outside_its_window_never_blocks_and_its_item_reopens(
    app, coordinator, surgeon, version
):
    episode = factories.episode(coordinator, surgeon, version, surgery_date=date(2026, 7, 1))
    record(coordinator, episode, BASE, date(2026, 6, 1))
    assert item(episode, "pre_baseline_prom").status is ItemStatus.DONE
    assert move(coordinator, episode, date(2026, 9, 1))  # the baseline is now 92 days before
    reopened = item(episode, "pre_baseline_prom")
    assert reopened.status is ItemStatus.OPEN and reopened.value is None
    (event,) = events("item.unsatisfied")
    assert event.target_id == reopened.id
    assert event.reason == "Baseline older than 90 days before the new surgery date: record it again"
    assert len(episode_scores(db.session, episode.id)) == 3  # the scores stay, to be taken again
    record(coordinator, episode, BASE, TODAY)  # recorded again: done again
    assert item(episode, "pre_baseline_prom").status is ItemStatus.DONE


def test_not_improving_uses_only_a_baseline_inside_the_window(app, coordinator, operated):
    record(coordinator, operated, BASE, date(2025, 12, 5), odi=40, back=6, leg=7)  # day -86
    record(coordinator, operated, W6, date(2026, 4, 10), odi=38, back=6, leg=7)  # day 40: not improving
    day = SiteDay(TODAY)
    facts = flag_facts(db.session, [operated.id])[operated.id]
    assert NOT_IMPROVING_CODE in {f.code for f in episode_flags(facts, day)}
    assert db.session.get(EpisodeFlagDate, operated.id).flagged_from == date.min

    assert move(coordinator, operated, date(2026, 3, 6))  # baseline day -91; 6 weeks day 35
    db.session.expire_all()
    facts = flag_facts(db.session, [operated.id])[operated.id]
    assert BASE not in facts.scores and facts.scores[W6]
    assert NOT_IMPROVING_CODE not in {f.code for f in episode_flags(facts, day)}
    episode = fresh(operated.id)
    page_facts = EpisodeFacts.of_episode(episode, [], episode_scores(db.session, operated.id))
    assert page_facts.scores == facts.scores  # the page and the lists judge the same scores
    stored = db.session.get(EpisodeFlagDate, operated.id)
    assert stored.flagged_from != date.min  # "Not improving" (raised from date.min) is no longer stored
    assert item(operated, "pre_baseline_prom").status is ItemStatus.OPEN


def test_a_sessions_item_whose_sessions_no_longer_count_is_reopened(coordinator, therapist, operated):
    log(therapist, operated, date(2026, 4, 1))  # day 31
    log(therapist, operated, date(2026, 4, 5))  # day 35: the 2 sessions the step asks for
    assert item(operated, "post_pt").status is ItemStatus.DONE
    assert move(coordinator, operated, date(2026, 3, 10))  # days 22 and 26: before the window opens
    reopened = item(operated, "post_pt")
    assert reopened.status is ItemStatus.OPEN
    (event,) = events("item.unsatisfied")
    assert event.target_id == reopened.id
    assert event.reason == "Reopened: its sessions no longer fall in its window after the surgery date moved"
    assert db.session.scalar(select(TherapySession.id).limit(1)) is not None  # the sessions stay

    assert move(coordinator, operated, SURGERY)  # back: they count again, and complete it again
    assert item(operated, "post_pt").status is ItemStatus.DONE


def test_a_sessions_item_still_satisfied_after_the_move_stays_done(coordinator, therapist, operated):
    log(therapist, operated, date(2026, 4, 10))
    log(therapist, operated, date(2026, 4, 20))
    assert move(coordinator, operated, date(2026, 3, 5))  # days 36 and 46: still in the window
    assert item(operated, "post_pt").status is ItemStatus.DONE
    assert events("item.unsatisfied") == []
