"""The compliance queries classify every item exactly as the domain's item_outcome does."""

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app import clock, db
from app.domain.compliance import Month, item_outcome
from app.domain.vocab import EpisodeStatus, Phase, Role, StepKind, VersionStatus
from app.models import Episode, User
from app.queries.compliance import (
    outcome_counts,
    outcome_counts_by_step,
    report_versions,
    unscheduled_episodes,
)
from app.queries.episodes import episode_with_checklist
from app.services import checklist, protocols, signoffs
from tests import compliance_versions, factories
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


def _oracle(first: Month, last: Month, surgeon_id=None, version_id=None) -> Counter:
    counts: Counter = Counter()
    for episode_id in db.session.scalars(select(Episode.id)):
        episode = episode_with_checklist(db.session, episode_id)
        if episode.surgery_date is None or surgeon_id not in (None, episode.surgeon_id):
            continue
        if version_id not in (None, episode.protocol_version_id):
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


# --- one protocol version ------------------------------------------------------------------------


def _on_version_2(coordinator, surgeon2) -> int:
    """Version 2 of the protocol, with surgeon2's episode operated on 20 Jun (every pre-op item
    done on 17 Jun, so on time) and one not yet scheduled; returns the version's id."""
    version = compliance_versions.publish_version_2()
    june = factories.episode(coordinator, surgeon2, version, surgery_date=date(2026, 6, 20), family_name="V2")
    factories.complete_phase_by_id(june.id, Phase.BEFORE, surgeon2, coordinator)
    factories.episode(coordinator, surgeon2, version, surgery_date=None, family_name="V2later")
    return version.id


def _counted(rows) -> Counter:
    counts: Counter = Counter()
    for month, surgeon_id, phase, outcome, n in rows:
        counts[(month, surgeon_id, phase, outcome)] += n
    return counts


def test_a_protocol_version_narrows_the_counts_to_its_episodes(app, coordinator, surgeon, surgeon2, protocol):
    _varied_site(coordinator, surgeon, surgeon2, protocol)
    version_2 = _on_version_2(coordinator, surgeon2)
    first, last = Month(2026, 4), Month(2026, 7)

    on_1 = _counted(outcome_counts(db.session, first, last, None, TODAY, protocol.id))
    on_2 = _counted(outcome_counts(db.session, first, last, None, TODAY, version_2))
    every = _counted(outcome_counts(db.session, first, last, None, TODAY))
    db.session.remove()

    assert on_1 == _oracle(first, last, version_id=protocol.id)
    assert on_2 == _oracle(first, last, version_id=version_2)
    assert on_1 + on_2 == every
    assert {(month, who) for month, who, _, _ in on_2} == {(Month(2026, 6), surgeon2.id)}
    # Version 2's pre-op items were all done (before surgery): none missed, unlike version 1's.
    assert "missed" not in {outcome for (_, _, phase, outcome) in on_2 if phase is Phase.BEFORE}
    assert "missed" in {outcome for (_, _, phase, outcome) in on_1 if phase is Phase.BEFORE}


def test_a_protocol_version_narrows_the_counts_by_step_and_with_a_surgeon(
    app, coordinator, surgeon, surgeon2, protocol
):
    _varied_site(coordinator, surgeon, surgeon2, protocol)
    version_2 = _on_version_2(coordinator, surgeon2)
    first, last = Month(2026, 4), Month(2026, 7)

    for version_id in (protocol.id, version_2):
        by_step = Counter()
        for _code, _title, phase, outcome, n in outcome_counts_by_step(
            db.session, first, last, None, TODAY, version_id
        ):
            by_step[(phase, outcome)] += n
        by_month = Counter()
        for _month, _surgeon, phase, outcome, n in outcome_counts(
            db.session, first, last, None, TODAY, version_id
        ):
            by_month[(phase, outcome)] += n
        assert by_step == by_month
    both = _counted(outcome_counts(db.session, first, last, surgeon2.id, TODAY, protocol.id))
    db.session.remove()
    assert both == _oracle(first, last, surgeon2.id, protocol.id)
    assert {month for month, *_ in both} == {Month(2026, 4), Month(2026, 6)}  # 28 Apr and 1 Jun


def test_unscheduled_episodes_are_counted_per_protocol_version(app, coordinator, surgeon, surgeon2, protocol):
    _varied_site(coordinator, surgeon, surgeon2, protocol)
    version_2 = _on_version_2(coordinator, surgeon2)

    assert unscheduled_episodes(db.session, None) == 2
    assert unscheduled_episodes(db.session, None, protocol.id) == 1
    assert unscheduled_episodes(db.session, None, version_2) == 1
    assert unscheduled_episodes(db.session, surgeon2.id, protocol.id) == 0
    db.session.remove()


def test_the_versions_offered_are_the_numbered_ones_newest_first_retired_too(app, protocol):
    version_2 = compliance_versions.publish_version_2()
    draft = compliance_versions.add_draft()
    with db.write_unit():
        db.session.get(type(protocol), protocol.id).status = VersionStatus.RETIRED
        db.session.commit()

    offered = report_versions(db.session)
    db.session.remove()

    lumbar = [v for v in offered if v.slug == protocols.DEFAULT_SLUG]
    assert [(v.id, v.label) for v in lumbar] == [
        (version_2.id, "Lumbar spine surgery — FBSS prevention (version 2)"),
        (protocol.id, "Lumbar spine surgery — FBSS prevention (version 1)"),
    ]
    assert draft.id not in {v.id for v in offered}
    names = [v.protocol for v in offered]
    assert names == sorted(names)  # any other protocol's versions come before or after, not between
    assert lumbar[0].file_key == "lumbar-fbss-v2"
