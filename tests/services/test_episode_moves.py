"""Moving an episode to a new protocol version: carried items keep what was recorded, added ones
open, dropped ones leave their history; refused for a signed phase, a stale preview, a role."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app import db
from app.domain.text import shortened
from app.domain.vocab import EpisodeStatus, ItemStatus, Phase
from app.models import AuditEvent, ChecklistItem, Episode, ItemNote, OutstandingTally
from app.queries.episodes import episode_with_checklist
from app.services import checklist, signoffs
from app.services import episode_moves as moves
from app.services.errors import Conflict, NotPermitted
from tests import factories
from tests.conftest import NOW, PASSWORD
from tests.move_versions import NEW_CALL, publish_next

DROPPED = "pre_home_readiness"  # a Before-surgery therapist tick


def fresh(episode_id: int) -> Episode:
    db.session.expire_all()
    return episode_with_checklist(db.session, episode_id)


def rows(episode_id: int) -> dict[str, ChecklistItem]:
    return {i.step.code: i for i in fresh(episode_id).items}


def events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


def test_preview_says_what_is_carried_added_and_dropped(session, episode, protocol):
    target = publish_next(drop=(DROPPED,), add_call=True, retitle={"pre_smoking": "Smoking and vaping"})
    plan = moves.preview(session, fresh(episode.id), target)
    assert plan.allowed
    assert plan.counts == f"{len(protocol.steps) - 1} carried, 1 added, 1 dropped"
    assert [a.step.code for a in plan.added] == [NEW_CALL]
    assert [d.item.step.code for d in plan.dropped] == [DROPPED]
    assert [c.step.code for c in plan.changed] == ["pre_smoking"]


def test_moving_keeps_each_carried_items_record_opens_added_ones_and_deletes_dropped_ones(
    session, episode, surgeon, therapist
):
    smoking = factories.item(episode, "pre_smoking")
    checklist.mark_done(session, surgeon, smoking, smoking.version, "no", "Quit in May")
    prehab = factories.item(episode, DROPPED)
    checklist.mark_done(session, therapist, prehab, prehab.version, None, "Two sessions before surgery")
    session.commit()
    before = {code: (i.id, i.step_id, i.version) for code, i in rows(episode.id).items()}
    target = publish_next(drop=(DROPPED,), add_call=True)
    current = fresh(episode.id)
    previewed = current.version

    plan = moves.move(session, surgeon, current, target, previewed)
    session.commit()

    after = rows(episode.id)
    assert set(after) == set(before) - {DROPPED} | {NEW_CALL}
    kept = after["pre_smoking"]
    old_id, old_step_id, old_version = before["pre_smoking"]
    assert kept.id == old_id and kept.step.version_id == target.id and kept.step_id != old_step_id
    assert (kept.status, kept.value, kept.completed_by_id, kept.completed_at, kept.completed_on) == (
        ItemStatus.DONE,
        "no",
        surgeon.id,
        NOW,
        NOW.date(),
    )
    assert [n.text for n in kept.notes] == ["Quit in May"] and kept.version == old_version
    added = after[NEW_CALL]
    assert added.status is ItemStatus.OPEN and added.due_date == date(2026, 6, 20)
    assert added.outstanding  # the commit stored it as outstanding, as any open item
    dropped_id = before[DROPPED][0]
    assert db.session.get(ChecklistItem, dropped_id) is None
    assert not db.session.scalars(select(ItemNote).where(ItemNote.item_id == dropped_id)).all()
    moved = fresh(episode.id)
    assert moved.protocol_version_id == target.id and moved.version == previewed + 1
    assert plan.counts == f"{len(before) - 1} carried, 1 added, 1 dropped"


def test_the_audit_trail_keeps_the_dropped_item_and_the_move(session, episode, protocol, therapist, surgeon):
    prehab = factories.item(episode, DROPPED)
    checklist.mark_done(session, therapist, prehab, prehab.version, None, "Two sessions before surgery")
    session.commit()
    target = publish_next(drop=(DROPPED,), add_call=True)
    current = fresh(episode.id)

    moves.move(session, surgeon, current, target, current.version)
    session.commit()

    (dropped,) = events("item.dropped")
    assert dropped.target_id == prehab.id and dropped.episode_id == episode.id and dropped.after is None
    assert dropped.summary == f"Dropped with the move to {target.label}: {shortened(prehab.step.title)}"
    assert dropped.before["title"] == prehab.step.title and dropped.before["status"] == "done"
    assert dropped.before["completed_by"] == "Theo Therapist"
    assert dropped.before["notes"].startswith("“Two sessions before surgery” (Theo Therapist, 17 Jun 2026")
    (move,) = events("episode.protocol_move")
    carried = len(protocol.steps) - 1
    assert move.summary == f"Moved to {target.label}: {carried} items carried over, 1 added, 1 dropped"
    assert (move.before, move.after) == (
        {"protocol_version_id": protocol.id},
        {"protocol_version_id": target.id},
    )
    assert move.id > dropped.id and move.actor_id == surgeon.id


def test_a_move_from_a_stale_preview_is_a_conflict_and_changes_nothing(
    session, episode, coordinator, protocol
):
    target = publish_next(add_call=True)
    current = fresh(episode.id)
    stale = current.version
    with db.write_unit():
        other = episode_with_checklist(db.session, episode.id)
        other.levels = "L3-L4"  # someone edits the episode meanwhile
        db.session.commit()
    current = fresh(episode.id)

    with pytest.raises(Conflict):
        moves.move(session, coordinator, current, target, stale)
    session.rollback()

    assert fresh(episode.id).protocol_version_id == protocol.id
    assert NEW_CALL not in rows(episode.id) and not events("episode.protocol_move")


def test_a_move_that_would_drop_a_signed_phases_item_is_refused_with_why(
    session, episode, surgeon, coordinator, protocol
):
    factories.complete_phase(session, episode, Phase.BEFORE, surgeon, coordinator)
    signoffs.sign(session, surgeon, fresh(episode.id), Phase.BEFORE, PASSWORD, 5, 15)
    session.commit()
    target = publish_next(drop=(DROPPED,))
    current = fresh(episode.id)
    assert not moves.preview(session, current, target).allowed

    with pytest.raises(moves.MoveRefused, match="Before surgery is signed off: a surgeon must revoke"):
        moves.move(session, surgeon, current, target, current.version)
    session.rollback()

    assert DROPPED in rows(episode.id) and fresh(episode.id).protocol_version_id == protocol.id
    assert not events("item.dropped")


def test_a_signed_phase_unchanged_by_the_move_keeps_its_items_as_signed(
    session, episode, surgeon, coordinator
):
    factories.complete_phase(session, episode, Phase.BEFORE, surgeon, coordinator)
    signoffs.sign(session, surgeon, fresh(episode.id), Phase.BEFORE, PASSWORD, 5, 15)
    session.commit()
    signed = {
        (i.id, i.status, i.value, i.version) for i in fresh(episode.id).items if i.phase is Phase.BEFORE
    }
    target = publish_next(drop=("post_vte",), add_call=True, guidance={"pre_smoking": "New sources."})
    current = fresh(episode.id)

    moves.move(session, surgeon, current, target, current.version)
    session.commit()

    moved = fresh(episode.id)
    assert {(i.id, i.status, i.value, i.version) for i in moved.items if i.phase is Phase.BEFORE} == signed
    assert moved.protocol_version_id == target.id


def test_only_surgeons_and_coordinators_move_episodes(session, episode, nurse):
    target = publish_next(add_call=True)
    current = fresh(episode.id)
    with pytest.raises(NotPermitted):
        moves.move(session, nurse, current, target, current.version)


def test_a_closed_episode_stays_on_its_version(session, episode, coordinator):
    current = fresh(episode.id)
    signoffs.close(session, coordinator, current, current.version, "Transferred")
    session.commit()
    target = publish_next(add_call=True)
    current = fresh(episode.id)
    assert current.status is EpisodeStatus.CLOSED
    with pytest.raises(moves.MoveRefused, match="The episode is closed"):
        moves.move(session, coordinator, current, target, current.version)


def _tallied() -> int:
    return db.session.scalar(select(func.coalesce(func.sum(OutstandingTally.items), 0)))


def _outstanding(episode_id: int) -> int:
    return db.session.scalar(
        select(func.count()).where(ChecklistItem.episode_id == episode_id, ChecklistItem.outstanding)
    )


def test_outstanding_items_and_their_tally_follow_the_move(session, episode, coordinator):
    before, tally = _outstanding(episode.id), _tallied()
    target = publish_next(drop=(DROPPED, "post_vte"), add_call=True)  # two open items out, one in
    current = fresh(episode.id)

    moves.move(session, coordinator, current, target, current.version)
    session.commit()

    assert _outstanding(episode.id) == before - 1
    assert _tallied() == tally - 1


def test_moving_several_episodes_moves_each_on_its_own(session, world, surgeon, protocol):
    plain = world.episode(10)
    signed = world.episode(3, complete=(Phase.BEFORE,), sign=True)
    stale = world.episode(20)
    target = publish_next(drop=(DROPPED,), add_call=True)
    versions = {e.id: fresh(e.id).version for e in (plain, signed, stale)}
    wanted = [
        (plain.id, versions[plain.id]),
        (signed.id, versions[signed.id]),
        (stale.id, versions[stale.id] - 1),
    ]

    result = moves.move_many(session, surgeon, target, wanted)

    assert [e.id for e in result.moved] == [plain.id]
    assert [(e.id, "Before surgery is signed off" in why) for e, why in result.refused] == [(signed.id, True)]
    assert [e.id for e, _ in result.conflicted] == [stale.id]
    assert fresh(plain.id).protocol_version_id == target.id
    assert {fresh(e.id).protocol_version_id for e in (signed, stale)} == {protocol.id}
