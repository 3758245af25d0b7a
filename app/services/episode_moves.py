"""Move an episode to another protocol version (app/domain/episode_move.py says what becomes of
each item): one transaction, version-checked against the episode the user previewed, audited.

The dropped items' history stays: before an item is deleted, an audit event keeps its title,
state, value, who and when, and notes; the History page names it from there. The stored flags
and outstanding items follow on commit (app/services/stored_flags_hook.py: the episode changed).
"""

from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session, joinedload

from app import audit
from app.db import site_of
from app.domain.episode_move import MovePlan, dropped_record, plan_move
from app.domain.history import ITEM_DROPPED
from app.domain.policy import Action, can
from app.domain.signoff import active_signoffs
from app.domain.text import shortened
from app.domain.vocab import EpisodeStatus
from app.models import ChecklistItem, Episode, ItemNote, ProtocolVersion, User
from app.queries.episodes import episode_with_checklist
from app.services.errors import Conflict, NotPermitted, ServiceError, flush_or_conflict
from app.services.locks import lock_episode, refresh_items
from app.services.patients import new_item


class MoveRefused(ServiceError):
    """The move would break a rule: `refusals` says which, in words."""

    def __init__(self, refusals: tuple[str, ...]):
        self.refusals = refusals
        super().__init__(" ".join(refusals))


def preview(session: Session, episode: Episode, target: ProtocolVersion) -> MovePlan:
    """What moving the episode (loaded with its checklist and sign-offs) to `target` would do."""
    return plan_move(
        episode.items,
        target,
        target.steps,
        episode.procedure_type,
        episode.surgery_date,
        set(active_signoffs(episode)),
        episode.protocol_version_id,
        episode.status is EpisodeStatus.CLOSED,
    )


def move(
    session: Session, actor: User, episode: Episode, target: ProtocolVersion, expected_episode_version: int
) -> MovePlan:
    """Move the episode to `target`, as previewed at `expected_episode_version`: carried items
    re-pointed to their new steps, added ones opened, dropped ones recorded then deleted; the
    caller commits. Returns the plan applied."""
    if not can(actor, Action.MOVE_EPISODE):
        raise NotPermitted("Only surgeons and coordinators move an episode to another protocol version.")
    signed, closed = lock_episode(session, episode.id)
    session.refresh(episode, ["version", "status", "protocol_version_id", "procedure_type", "surgery_date"])
    if episode.version != expected_episode_version:
        raise Conflict("This episode")
    refresh_items(session, episode.id)  # decide on the items as they are now, under the lock
    plan = plan_move(
        episode.items,
        target,
        target.steps,
        episode.procedure_type,
        episode.surgery_date,
        signed,
        episode.protocol_version_id,
        closed,
    )
    if plan.refusals:
        raise MoveRefused(plan.refusals)
    before = episode.protocol_version_id
    _record_dropped(session, actor, episode, target, plan)
    dropped_ids = [d.item.id for d in plan.dropped]
    carried_rows = [
        {"item_id": c.item.id, **{f"new_{name}": value for name, value in c.values().items()}}
        for c in plan.carried
    ]
    for carried in plan.carried:
        session.expire(carried.item)  # written below, past the session
    session.expire(episode, ["items"])
    if dropped_ids:  # ORM-enabled DELETEs: the session forgets the rows too
        session.execute(delete(ItemNote).where(ItemNote.item_id.in_(dropped_ids)))
        session.execute(delete(ChecklistItem).where(ChecklistItem.id.in_(dropped_ids)))
    if carried_rows:
        # Core UPDATEs: the item's version does not change (nothing anyone recorded on it did),
        # so a form open on it still saves, and a signed phase's items keep what was signed.
        table = ChecklistItem.__table__
        columns = [name.removeprefix("new_") for name in carried_rows[0] if name != "item_id"]
        session.execute(
            update(table)
            .where(table.c.id == bindparam("item_id"))
            .values({name: bindparam(f"new_{name}") for name in columns}),
            carried_rows,
        )
    if plan.added:
        session.execute(insert(ChecklistItem), [new_item(episode, a.step) for a in plan.added])
    episode.protocol_version = target
    flush_or_conflict(session, "This episode")
    audit.record(
        session,
        actor,
        "episode.protocol_move",
        f"Moved to {target.label}: {_counts(plan)}",
        target_type="episode",
        target_id=episode.id,
        patient_id=episode.patient_id,
        episode_id=episode.id,
        before={"protocol_version_id": before},
        after={"protocol_version_id": target.id},
    )
    return plan


def _counts(plan: MovePlan) -> str:
    carried = len(plan.carried)
    return (
        f"{carried} item{'s' if carried != 1 else ''} carried over, "
        f"{len(plan.added)} added, {len(plan.dropped)} dropped"
    )


def _record_dropped(session: Session, actor: User, episode: Episode, target, plan: MovePlan) -> None:
    """One audit event per dropped item, holding what it recorded, before it is deleted."""
    if not plan.dropped:
        return
    ids = [d.item.id for d in plan.dropped]
    notes: dict[int, list] = {i: [] for i in ids}
    for note in session.scalars(
        select(ItemNote)
        .options(joinedload(ItemNote.author))
        .where(ItemNote.item_id.in_(ids))
        .order_by(ItemNote.id)
    ):
        notes[note.item_id].append((note.text, note.author.full_name, note.created_at))
    people = _names(session, {d.item.completed_by_id for d in plan.dropped} - {None})
    zone = site_of(session).zone
    for d in plan.dropped:
        item = d.item
        audit.record(
            session,
            actor,
            ITEM_DROPPED,
            f"Dropped with the move to {target.label}: {shortened(item.step.title)}",
            target_type="checklist_item",
            target_id=item.id,
            patient_id=episode.patient_id,
            episode_id=episode.id,
            before=dropped_record(item, people.get(item.completed_by_id), notes[item.id], zone),
        )


def _names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return {
        uid: name
        for uid, name in session.execute(select(User.id, User.full_name).where(User.id.in_(user_ids)))
    }


@dataclass
class BulkResult:
    """What came of moving several episodes: those moved, and those not moved with why."""

    moved: list[Episode] = field(default_factory=list)
    refused: list[tuple[Episode | None, str]] = field(default_factory=list)
    conflicted: list[tuple[Episode, str]] = field(default_factory=list)


def move_many(
    session: Session, actor: User, target: ProtocolVersion, wanted: list[tuple[int, int]]
) -> BulkResult:
    """Move each of the `wanted` episodes (id, the version previewed) to `target`, each in a
    transaction of its own, committed or rolled back before the next; one refused or changed
    meanwhile is reported, and the others still move. Only open episodes of the target's own
    protocol move this way."""
    if not can(actor, Action.MOVE_EPISODE):
        raise NotPermitted("Only surgeons and coordinators move an episode to another protocol version.")
    result = BulkResult()
    for episode_id, version in wanted:
        episode = episode_with_checklist(session, episode_id)
        if episode is None or episode.protocol_version.template_id != target.template_id:
            result.refused.append(
                (None, f"Episode {episode_id} is not an episode of {target.template.name}.")
            )
            session.rollback()
            continue
        try:
            move(session, actor, episode, target, version)
            session.commit()
            result.moved.append(episode)
        except Conflict:
            session.rollback()
            result.conflicted.append(
                (episode, "It changed since this page was shown: review it and try again.")
            )
        except ServiceError as exc:
            session.rollback()
            result.refused.append((episode, str(exc)))
    return result
