"""The compliance queries classify every item exactly as the domain's item_outcome does."""

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app import clock, db
from app.domain.compliance import Month, item_outcome
from app.domain.vocab import EpisodeStatus, Phase, Role, StepKind
from app.models import Episode, User
from app.queries.compliance import outcome_counts, outcome_counts_by_step, unscheduled_episodes
from app.queries.episodes import episode_with_checklist
from app.services import checklist, signoffs
from tests import factories
from tests.conftest import NOW

TODAY = date(2026, 6, 17)


def _varied_site(coordinator, surgeon, surgeon2, protocol) -> None:
    """Episodes over four months, items completed early, on time, late, not applicable or left open."""
    rng = random.Random(5)
    for n, (surgery, who) in enumerate(
        [
            (date(2026, 4, 3), surgeon),
            (date(2026, 4, 28), surgeon2),
            (date(2026, 5, 15), surgeon),
            (date(2026, 6, 1), surgeon2),
            (date(2026, 6, 16), surgeon),
            (date(2026, 7, 2), surgeon),
            (None, surgeon),
        ]
    ):
        created = factories.episode(coordinator, who, protocol, surgery_date=surgery, family_name=f"Var{n}")
        episode = episode_with_checklist(db.session, created.id)
        db.session.remove()
        for item in episode.items:
            if item.step.kind is StepKind.SESSIONS or item.step.outcome_time_point or item.due_date is None:
                continue
            choice = rng.choice(["open", "early", "on_time", "late", "na"])
            if choice == "open":
                continue
            shift = {"early": -3, "on_time": 0, "late": 4, "na": rng.choice([-1, 2])}[choice]
            day = min(item.due_date + timedelta(days=shift), TODAY)
            clock.set_now(datetime(day.year, day.month, day.day, 9, tzinfo=UTC))
            with db.write_unit():
                current = db.session.get(type(item), item.id)
                actor = db.session.get(User, (coordinator if item.role is Role.COORDINATOR else who).id)
                if choice == "na":
                    checklist.mark_not_applicable(db.session, actor, current, current.version, "Not needed")
                else:
                    checklist.mark_done(
                        db.session, actor, current, current.version, factories.sample_value(item)
                    )
                db.session.commit()
            db.session.remove()
        clock.set_now(NOW)
        if n == 5:  # July: closed with most items open
            with db.write_unit():
                episode = episode_with_checklist(db.session, created.id)
                signoffs.close(
                    db.session, db.session.get(User, coordinator.id), episode, episode.version, "Moved"
                )
                db.session.commit()
            db.session.remove()


def _oracle(first: Month, last: Month, surgeon_id=None) -> Counter:
    counts: Counter = Counter()
    for episode_id in db.session.scalars(select(Episode.id)):
        episode = episode_with_checklist(db.session, episode_id)
        if episode.surgery_date is None or surgeon_id not in (None, episode.surgeon_id):
            continue
        month = Month.of(episode.surgery_date)
        if not first <= month <= last:
            continue
        for item in episode.items:
            if item.required:
                outcome = item_outcome(
                    item.status,
                    item.due_date,
                    item.completed_on,
                    episode.status is EpisodeStatus.CLOSED,
                    TODAY,
                )
                counts[(month, episode.surgeon_id, item.phase, outcome)] += 1
    db.session.remove()
    return counts


def test_sql_outcomes_match_the_domain_rule_item_by_item(app, coordinator, surgeon, surgeon2, protocol):
    _varied_site(coordinator, surgeon, surgeon2, protocol)
    first, last = Month(2026, 4), Month(2026, 7)

    from_sql = Counter()
    for month, surgeon_id, phase, outcome, n in outcome_counts(db.session, first, last, None, TODAY):
        from_sql[(month, surgeon_id, phase, outcome)] += n
    db.session.remove()

    oracle = _oracle(first, last)
    assert from_sql == oracle
    assert {key[3] for key in oracle} == {"on_time", "late", "missed", "not_due"}  # every case is exercised


def test_period_and_surgeon_bound_the_counts(app, coordinator, surgeon, surgeon2, protocol):
    _varied_site(coordinator, surgeon, surgeon2, protocol)

    rows = outcome_counts(db.session, Month(2026, 5), Month(2026, 6), surgeon2.id, TODAY)

    assert {(r[0], r[1]) for r in rows} == {(Month(2026, 6), surgeon2.id)}
    assert sum(r[4] for r in rows) == sum(_oracle(Month(2026, 5), Month(2026, 6), surgeon2.id).values())


def test_counts_by_step_add_up_to_the_counts_by_month(app, coordinator, surgeon, surgeon2, protocol):
    _varied_site(coordinator, surgeon, surgeon2, protocol)
    first, last = Month(2026, 4), Month(2026, 7)

    by_step = Counter()
    for _code, _title, phase, outcome, n in outcome_counts_by_step(db.session, first, last, None, TODAY):
        by_step[(phase, outcome)] += n
    by_month = Counter()
    for _month, _surgeon, phase, outcome, n in outcome_counts(db.session, first, last, None, TODAY):
        by_month[(phase, outcome)] += n

    assert by_step == by_month
    assert set(p for p, _ in by_step) == set(Phase)


def test_unscheduled_open_episodes_are_counted_apart(app, coordinator, surgeon, surgeon2, protocol):
    _varied_site(coordinator, surgeon, surgeon2, protocol)
    assert unscheduled_episodes(db.session, None) == 1
    assert unscheduled_episodes(db.session, surgeon2.id) == 0
