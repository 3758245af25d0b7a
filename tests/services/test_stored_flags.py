"""Stored flag dates and outstanding items (app/services/stored_flags.py) always agree with the live rules."""

import random
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, func, or_, select, update

from app import db
from app.domain.flags import behind_from
from app.domain.progress import CLOSED_STATUSES
from app.domain.requirement import is_waiting
from app.domain.site import SiteDay
from app.domain.therapy import SessionInput, SessionsPlan, expected_by, plan_of
from app.domain.vocab import Discipline, EpisodeStatus, ItemStatus, Phase, Role, StepKind, TimePoint
from app.models import (
    ChecklistItem,
    Episode,
    EpisodeFlagDate,
    FlagDateTally,
    OutstandingTally,
    ProtocolStep,
    User,
)
from app.queries.episodes import episode_summaries, episode_with_checklist
from app.queries.flags import flag_facts, flagged_episode_count, flagged_episodes
from app.services import checklist, outcomes, patients, signoffs, stored_flags, therapy
from app.services.patients import EpisodeDetails
from tests import factories
from tests.conftest import PASSWORD

TODAY = date(2026, 6, 17)
WARNING = 2


def _session(n: int, attendance: str = "attended", discipline: str = "PT") -> SessionInput:
    return SessionInput(
        session_date=TODAY - timedelta(days=n),
        discipline=discipline,
        minutes=40,
        attendance=attendance,
        pain_before=5,
        pain_after=3,
        activities="",
        home_exercise_plan=False,
        prehabilitation=False,
    )


@pytest.fixture
def varied(world, users, surgeon2):
    """Episodes raising every flag, none, or some only later; one closed, one not scheduled."""
    therapist = users[Role.THERAPIST]
    coordinator = users[Role.COORDINATOR]
    made = {
        "post_op": world.episode(-10, complete=(Phase.BEFORE,), sign=True),
        "preop_soon": world.episode(1),
        "preop_later": world.episode(9),
        "signed_later": world.episode(30, complete=(Phase.BEFORE,), sign=True),
        "therapy": world.episode(-20, complete=(Phase.BEFORE,), sign=True),
        "missed": world.episode(-15, complete=(Phase.BEFORE,), sign=True),
        "outcome": world.episode(-60, complete=(Phase.BEFORE,), sign=True),
        "closed": world.episode(-5, close=True),
        "unscheduled": world.episode(None),
        "other": world.episode(3, surgeon=surgeon2),
    }
    with db.write_unit():
        t = db.session.get(User, therapist.id)
        c = db.session.get(User, coordinator.id)
        ep = episode_with_checklist(db.session, made["therapy"].id)
        for n in (18, 12, 5):
            therapy.log_session(db.session, t, ep, _session(n), TODAY)
        ep = episode_with_checklist(db.session, made["missed"].id)
        for n, attendance in ((10, "attended"), (6, "missed"), (2, "missed")):
            therapy.log_session(db.session, t, ep, _session(n, attendance), TODAY)
        ep = episode_with_checklist(db.session, made["outcome"].id)
        outcomes.record_scores(
            db.session, c, ep, TimePoint.WEEKS_6, TODAY - timedelta(days=10), 39, 6, 7, TODAY
        )
        db.session.commit()
    db.session.remove()
    return made


def _live_flagged(day: date) -> set[int]:
    ids = list(db.session.scalars(select(Episode.id)))
    summaries = episode_summaries(db.session, ids, SiteDay(day, warning_days=WARNING))
    db.session.remove()
    return {i for i in ids if summaries[i].flags}


def _stored_flagged(day: date) -> set[int]:
    ids = set(db.session.scalars(flagged_episodes(SiteDay(day, warning_days=WARNING))))
    db.session.remove()
    return ids


DAYS = sorted({TODAY + timedelta(days=n) for n in [*range(0, 21), *range(21, 400, 9), 365, 366, 400]})


def test_stored_flags_match_the_live_rules_on_every_day_from_today(app, varied):
    assert _stored_flagged(TODAY) == _live_flagged(TODAY)
    assert _stored_flagged(TODAY) >= {varied[k].id for k in ("post_op", "preop_soon", "missed", "outcome")}
    for day in DAYS:
        assert _stored_flagged(day) == _live_flagged(day), day
        assert flagged_episode_count(db.session, SiteDay(day, warning_days=WARNING)) == len(
            _stored_flagged(day)
        ), day
    assert varied["closed"].id not in _stored_flagged(DAYS[-1])


def test_lists_read_the_same_plans_as_the_episode_page(app, varied):
    """The plans of query rows (lists, stored dates) are those of the loaded items (the episode
    page, the caseload): window, count, title and all."""
    ids = [e.id for e in varied.values()]
    from_rows = {i: Counter(f.plans) for i, f in flag_facts(db.session, ids).items()}
    for episode_id in ids:
        episode = episode_with_checklist(db.session, episode_id)
        loaded = Counter(
            plan_of(i)
            for i in episode.items
            if i.step.kind is StepKind.SESSIONS and i.status is ItemStatus.OPEN
        )
        assert from_rows[episode_id] == loaded, episode_id
    assert any(from_rows.values())
    db.session.remove()


def test_a_flag_raised_later_is_stored_with_its_day(app, varied):
    later = varied["preop_later"]
    assert later.id not in _stored_flagged(TODAY)
    assert later.id in _stored_flagged(later.surgery_date - timedelta(days=WARNING))
    assert later.id not in _stored_flagged(later.surgery_date - timedelta(days=WARNING + 1))


def _outstanding_matches_the_rule() -> None:
    for episode_id in db.session.scalars(select(Episode.id)).all():
        episode = episode_with_checklist(db.session, episode_id)
        signed = {s.phase for s in episode.signoffs if s.revoked_at is None}
        stored = dict(
            db.session.execute(
                select(ChecklistItem.id, ChecklistItem.outstanding).where(
                    ChecklistItem.episode_id == episode_id
                )
            ).all()
        )
        for item in episode.items:
            rule = (
                item.status is ItemStatus.OPEN
                and episode.status is not EpisodeStatus.CLOSED
                and item.phase not in signed
                and not is_waiting(item.step.required_if, item.required, item.status)
            )
            assert bool(stored[item.id]) is rule, (episode_id, item.step.code)
    db.session.remove()


def _tallies_count_their_rows() -> None:
    """Each tally (kept by triggers) holds one row per key, with how many rows it counts: the
    outstanding items per due date and kind of item, the episodes per pair of flag dates."""
    key = (
        ChecklistItem.due_date,
        ChecklistItem.overdue_from,
        ChecklistItem.phase,
        ChecklistItem.role,
        ChecklistItem.required,
    )
    outstanding = select(*key, func.count()).where(ChecklistItem.outstanding.is_(True)).group_by(*key)
    tally = select(
        OutstandingTally.due_date,
        OutstandingTally.overdue_from,
        OutstandingTally.phase,
        OutstandingTally.role,
        OutstandingTally.required,
        OutstandingTally.items,
    )
    dates = (EpisodeFlagDate.flagged_from, EpisodeFlagDate.unsigned_surgery_on)
    flagged = select(*dates, func.count()).where(or_(*(c.isnot(None) for c in dates))).group_by(*dates)
    flag_tally = select(FlagDateTally.flagged_from, FlagDateTally.unsigned_surgery_on, FlagDateTally.episodes)
    for counting, kept in ((outstanding, tally), (flagged, flag_tally)):
        counted = {tuple(row[:-1]): row[-1] for row in db.session.execute(counting)}
        rows = db.session.execute(kept).all()
        assert len({tuple(row[:-1]) for row in rows}) == len(rows)  # one row per key, missing dates included
        assert {tuple(row[:-1]): row[-1] for row in rows} == counted
        assert counted  # the scenario has rows to count
    db.session.remove()


def test_outstanding_items_match_the_rule_through_every_kind_of_change(app, varied, users):
    _outstanding_matches_the_rule()
    _tallies_count_their_rows()
    surgeon = users[Role.SURGEON]
    with db.write_unit():
        actor = db.session.get(User, surgeon.id)
        ep = episode_with_checklist(db.session, varied["post_op"].id)
        signoff = next(s for s in ep.signoffs if s.revoked_at is None)
        signoffs.revoke(db.session, actor, ep, signoff, "Review the pre-op items")
        item = next(
            i
            for i in ep.items
            if i.phase is Phase.AFTER and i.status is ItemStatus.OPEN and i.role is Role.NURSE
        )
        checklist.mark_done(db.session, actor, item, item.version, factories.sample_value(item))
        db.session.commit()
    db.session.remove()
    _outstanding_matches_the_rule()
    _tallies_count_their_rows()
    coordinator = users[Role.COORDINATOR]
    with db.write_unit():
        actor = db.session.get(User, surgeon.id)
        ep = episode_with_checklist(db.session, varied["post_op"].id)
        done = next(i for i in ep.items if i.id == item.id)
        checklist.reopen(db.session, actor, done, done.version, "Entered on the wrong patient")
        # A condition answered: the restart-plan step after surgery becomes required.
        anticoag = next(i for i in ep.items if i.step.code == "pre_anticoag")
        if anticoag.status is not ItemStatus.OPEN:
            checklist.reopen(db.session, actor, anticoag, anticoag.version, "Asked again")
        checklist.mark_done(db.session, actor, anticoag, anticoag.version, "yes")
        ep = episode_with_checklist(db.session, varied["unscheduled"].id)
        details = EpisodeDetails(ep.procedure, ep.levels, ep.surgeon_id, TODAY + timedelta(days=12))
        patients.update_episode(db.session, db.session.get(User, coordinator.id), ep, details, ep.version)
        ep = episode_with_checklist(db.session, varied["preop_later"].id)
        details = EpisodeDetails(ep.procedure, ep.levels, ep.surgeon_id, None)
        patients.update_episode(db.session, db.session.get(User, coordinator.id), ep, details, ep.version)
        ep = episode_with_checklist(db.session, varied["other"].id)
        signoffs.close(db.session, db.session.get(User, coordinator.id), ep, ep.version, "Moved away")
        db.session.commit()
    db.session.remove()
    _outstanding_matches_the_rule()
    _tallies_count_their_rows()
    restart = db.session.scalar(
        select(ChecklistItem)
        .join(ProtocolStep)
        .where(ChecklistItem.episode_id == varied["post_op"].id, ProtocolStep.code == "post_anticoag_restart")
    )
    assert restart.required and restart.outstanding and restart.required_since == TODAY
    db.session.remove()


def test_refresh_all_counts_the_tallies_again_when_their_triggers_were_bypassed(app, varied):
    with db.write_unit():
        db.session.execute(update(OutstandingTally).values(items=OutstandingTally.items + 5))
        db.session.execute(delete(FlagDateTally).where(FlagDateTally.flagged_from.isnot(None)))
        db.session.commit()
    with db.write_unit():
        stored_flags.refresh_all(db.session)
        db.session.commit()
    db.session.remove()
    _tallies_count_their_rows()


def _stored(episode_id: int) -> tuple:
    row = db.session.execute(
        select(EpisodeFlagDate.flagged_from, EpisodeFlagDate.unsigned_surgery_on).where(
            EpisodeFlagDate.episode_id == episode_id
        )
    ).one()
    db.session.remove()
    return tuple(row)


def test_working_the_overdue_post_op_items_clears_the_flag(app, varied, users):
    episode = varied["post_op"]
    assert _stored(episode.id)[0] is not None and _stored(episode.id)[0] <= TODAY
    with db.write_unit():
        actor = db.session.get(User, users[Role.SURGEON].id)
        coordinator = db.session.get(User, users[Role.COORDINATOR].id)
        ep = episode_with_checklist(db.session, episode.id)
        for item in ep.items:
            if item.phase is Phase.AFTER and item.status is ItemStatus.OPEN and item.required:
                who = coordinator if item.role is Role.COORDINATOR else actor
                checklist.mark_not_applicable(db.session, who, item, item.version, "Transferred")
        db.session.commit()
    db.session.remove()
    assert _stored(episode.id)[0] is None
    assert episode.id not in _stored_flagged(TODAY + timedelta(days=400))


def test_signing_revoking_and_rescheduling_move_the_pre_op_date(app, varied, users):
    episode = varied["preop_later"]
    assert _stored(episode.id)[1] == episode.surgery_date
    new_date = TODAY + timedelta(days=20)
    with db.write_unit():
        ep = episode_with_checklist(db.session, episode.id)
        coordinator = db.session.get(User, users[Role.COORDINATOR].id)
        details = EpisodeDetails(ep.procedure, ep.levels, ep.surgeon_id, new_date)
        patients.update_episode(db.session, coordinator, ep, details, ep.version)
        db.session.commit()
    db.session.remove()
    assert _stored(episode.id)[1] == new_date
    factories.complete_phase_by_id(episode.id, Phase.BEFORE, users[Role.SURGEON], users[Role.COORDINATOR])
    with db.write_unit():
        ep = episode_with_checklist(db.session, episode.id)
        signoffs.sign(
            db.session, db.session.get(User, users[Role.SURGEON].id), ep, Phase.BEFORE, PASSWORD, 5, 15
        )
        db.session.commit()
    db.session.remove()
    assert _stored(episode.id)[1] is None


def test_closing_an_episode_clears_its_flags(app, varied, users):
    episode = varied["missed"]
    assert _stored(episode.id)[0] == date.min  # two missed sessions in a row: flagged whatever the day
    with db.write_unit():
        ep = episode_with_checklist(db.session, episode.id)
        signoffs.close(
            db.session, db.session.get(User, users[Role.COORDINATOR].id), ep, ep.version, "Moved away"
        )
        db.session.commit()
    db.session.remove()
    assert _stored(episode.id) == (None, None)


def test_refresh_all_and_refresh_missing_rebuild_what_a_bulk_change_bypassed(app, varied):
    expected = {day: _stored_flagged(day) for day in (TODAY, TODAY + timedelta(days=30))}
    with db.write_unit():
        db.session.execute(delete(EpisodeFlagDate))
        db.session.commit()
    assert flagged_episode_count(db.session, SiteDay(TODAY, warning_days=WARNING)) == 0
    with db.write_unit():
        assert stored_flags.refresh_missing(db.session) == len(varied)
        assert stored_flags.refresh_missing(db.session) == 0
        assert stored_flags.refresh_all(db.session) == len(varied)
        db.session.commit()
    db.session.remove()
    assert {day: _stored_flagged(day) for day in expected} == expected


def test_flask_refresh_flags_and_migrate_fill_the_dates(app, varied):
    with db.write_unit():
        db.session.execute(delete(EpisodeFlagDate))
        db.session.commit()
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["migrate"])
    assert result.exit_code == 0, result.output
    assert f"Flags worked out for {len(varied)} episodes." in result.output
    result = app.test_cli_runner().invoke(args=["refresh-flags"])
    assert result.exit_code == 0, result.output
    said = f"Flags worked out again for {len(varied)} episodes; outstanding items and flagged episodes"
    assert f"{said} counted again." in result.output
    assert _stored_flagged(TODAY) == _live_flagged(TODAY)


def test_a_new_episode_is_stored_at_registration(app, coordinator, surgeon, protocol):
    episode = factories.episode(coordinator, surgeon, protocol, surgery_date=TODAY + timedelta(days=5))
    surgery = TODAY + timedelta(days=5)
    # Unsigned pre-op from 2 days before surgery; post-op steps due on the day are overdue the next.
    assert _stored(episode.id) == (surgery + timedelta(days=1), surgery)
    outstanding = db.session.scalars(
        select(ChecklistItem.outstanding).where(ChecklistItem.episode_id == episode.id)
    ).all()
    db.session.remove()
    waiting = [i for i in episode.items if is_waiting(i.step.required_if, i.required, i.status)]
    assert {i.step.code for i in waiting} == {"pre_hba1c", "post_anticoag_restart", "post_idt_review"}
    assert sum(outstanding) == len(episode.items) - len(waiting)


# --- the first day behind plan, against the plan's rule itself -----------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_behind_from_is_the_first_day_the_plan_expects_2_more_than_attended(seed):
    rng = random.Random(seed)
    surgery = date(2026, 3, 1)
    from_days = rng.choice([None, 0, 1, 14, 28, 42, 70])
    due = surgery + timedelta(days=rng.choice([0, 1, 2, 10, 42, 56, 90, 120, 180]))
    until = rng.choice([None, None, 14, 42, 43, 57, 100, 120, 180])
    phase = Phase.AFTER if from_days is not None or rng.random() < 0.7 else Phase.BEFORE
    plan = SessionsPlan(phase, Discipline.PT, rng.randint(0, 12), from_days, due, True, until)
    attended = rng.randint(0, 14)

    first = behind_from(plan, attended, surgery)

    for n in range(-5, 260):
        day = surgery + timedelta(days=n)
        behind = expected_by(plan, surgery, day) - attended >= 2
        assert behind is (first is not None and day >= first), (plan, attended, day, first)


def test_an_optional_step_is_never_behind():
    plan = SessionsPlan(Phase.AFTER, Discipline.PT, 6, 1, date(2026, 4, 1), required=False)
    assert behind_from(plan, 0, date(2026, 3, 1)) is None


def test_closed_statuses_do_not_count_as_outstanding():
    assert ItemStatus.OPEN not in CLOSED_STATUSES


def test_a_dose_recorded_on_the_step_that_raises_still_on_opioids_flags_the_episode_everywhere(
    app, coordinator, surgeon, protocol
):
    """The shipped protocol's post_opioid_90d declares `raises: still_on_opioids`: a dose above 0
    flags the episode on its page (loaded facts), in the lists (query rows) and in the stored
    dates; 0, or reopening the item, clears it."""
    episode = factories.episode(coordinator, surgeon, protocol, surgery_date=TODAY - timedelta(days=95))
    day = SiteDay(TODAY, warning_days=WARNING)
    text = "Still on opioids at 3 months (30 MME/day)"

    def flags_of() -> tuple[list, list, bool]:
        facts = flag_facts(db.session, [episode.id])[episode.id]
        loaded = episode_with_checklist(db.session, episode.id)
        from app.domain.flags import EpisodeFacts, episode_flags
        from app.queries.therapy import session_rows

        page = EpisodeFacts.of_episode(loaded, session_rows(db.session, [episode.id])[episode.id], [])
        texts = (
            [f.text for f in episode_flags(facts, day) if f.code == "still_on_opioids"],
            [f.text for f in episode_flags(page, day) if f.code == "still_on_opioids"],
            episode.id in _stored_flagged(TODAY),
        )
        db.session.remove()
        return texts

    def record(value: str | None) -> None:
        with db.write_unit():
            loaded = episode_with_checklist(db.session, episode.id)
            item = factories.item(loaded, "post_opioid_90d")
            actor = db.session.get(User, surgeon.id)
            if value is None:
                checklist.reopen(db.session, actor, item, item.version, "Dose entered on the wrong patient")
            else:
                if item.status is ItemStatus.DONE:
                    checklist.reopen(db.session, actor, item, item.version, "Dose corrected by the surgeon")
                    item = factories.item(loaded, "post_opioid_90d")
                checklist.mark_done(db.session, actor, item, item.version, value)
            db.session.commit()
        db.session.remove()

    assert flags_of()[:2] == ([], [])
    record("30")
    assert flags_of() == ([text], [text], True)
    record(None)
    assert flags_of()[:2] == ([], [])
    record("0")
    assert flags_of()[:2] == ([], [])
