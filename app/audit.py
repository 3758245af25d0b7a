"""Audit events: every change writes one, in the same transaction, hash-chained."""

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app import clock
from app.audit_anchors import Anchor
from app.models import AuditEvent, User

GENESIS = "0" * 64
# session.info: the user whose change the session is writing (the last event's actor), for the
# consequences worked out when it commits (app/services/requirements.py).
ACTOR = "periop_actor"
# Any number: the key of the PostgreSQL advisory lock that orders the chain (and the writes
# of the outstanding tally: migration 0005 uses the same number).
CHAIN_LOCK_KEY = 7_351_004


def _digest(event: Any) -> str:
    """SHA-256 of an event's content and previous hash (an AuditEvent or a row of its table)."""
    payload = {
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "patient_id": event.patient_id,
        "episode_id": event.episode_id,
        "summary": event.summary,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# The chain's head: the last event's hash, read through the primary key's index (built once).
_HEAD = select(AuditEvent.row_hash).order_by(AuditEvent.id.desc()).limit(1)


def record(
    session: Session,
    actor: User | None,
    action: str,
    summary: str,
    *,
    target_type: str,
    target_id: int | None = None,
    patient_id: int | None = None,
    episode_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    actor_name: str | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits)."""
    lock_chain(session)
    session.flush()
    prev = session.scalar(_HEAD)
    event = AuditEvent(
        at=clock.now(),
        actor_id=actor.id if actor else None,
        actor_name=actor_name or (actor.full_name if actor else "system"),
        action=action,
        target_type=target_type,
        target_id=target_id,
        patient_id=patient_id,
        episode_id=episode_id,
        summary=summary[:300],
        before=_jsonable(before),
        after=_jsonable(after),
        reason=reason,
        prev_hash=prev or GENESIS,
    )
    event.row_hash = _digest(event)
    session.add(event)
    if actor is not None:
        session.info[ACTOR] = actor
    return event


def _jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: (v if v is None or isinstance(v, bool | int | float) else str(v)) for k, v in values.items()}


def lock_chain(session: Session) -> None:
    """Hold the chain's end until the transaction ends, so events are chained one after another.

    On PostgreSQL an advisory lock; SQLite write transactions (BEGIN IMMEDIATE) are one at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_KEY})


@dataclass(frozen=True)
class ChainHead:
    """The newest event of the chain, and how many events the chain holds."""

    id: int
    row_hash: str
    at: datetime
    events: int


def chain_head(session: Session) -> ChainHead | None:
    """The chain's newest event and its number of events (None when there are none)."""
    newest = session.execute(
        select(AuditEvent.id, AuditEvent.row_hash, AuditEvent.at).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    if newest is None:
        return None
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    return ChainHead(newest.id, newest.row_hash, newest.at, events)


@dataclass(frozen=True)
class ChainBreak:
    """The first event whose links or content are not what was recorded."""

    id: int
    at: datetime
    action: str
    problem: str

    def __str__(self) -> str:
        return f"event {self.id}: {self.problem}"


@dataclass(frozen=True)
class ChainCheck:
    """What a walk along the chain found: how far it got, and the first problem, if any."""

    events: int
    head: ChainHead | None  # the newest event checked
    broken: ChainBreak | None = None
    anchor: Anchor | None = None  # the first anchor the chain no longer holds, and why
    anchor_problem: str | None = None
    anchors_checked: int = 0

    @property
    def intact(self) -> bool:
        return self.broken is None and self.anchor_problem is None


# Rows read at a time when walking the chain: memory stays flat however long it is.
BATCH_SIZE = 5_000


def walk_chain(
    session: Session,
    anchors: Iterable[Anchor] = (),
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
) -> ChainCheck:
    """Recompute the chain from its first event, check it still holds every anchor; stop at the first problem.

    Reads the events by id, `batch_size` at a time, as plain rows (no ORM objects are kept), and
    writes nothing. `on_batch` is told how many events have been checked after each batch.
    """
    table = AuditEvent.__table__
    pending = sorted(anchors, key=lambda a: a.id)
    met = 0  # anchors met so far; pending[met] is the next one
    prev, count, last = GENESIS, 0, None
    while True:
        after = last.id if last is not None else 0
        rows = session.execute(
            select(table).where(table.c.id > after).order_by(table.c.id).limit(batch_size)
        ).all()
        for row in rows:
            problem = _link_problem(row, prev)
            if problem:
                broken = ChainBreak(row.id, row.at, row.action, problem)
                return ChainCheck(count, _head(last, count), broken=broken, anchors_checked=met)
            while met < len(pending) and pending[met].id <= row.id:
                what = _anchor_problem(pending[met], row)
                if what:
                    problem_text = _anchor_text(pending[met], what)
                    head = _head(last, count)
                    return ChainCheck(count, head, anchor=pending[met], anchor_problem=problem_text)
                met += 1
            prev, count, last = row.row_hash, count + 1, row
        if on_batch is not None and rows:
            on_batch(count)
        if len(rows) < batch_size:
            break
    head = _head(last, count)
    if met < len(pending):  # anchored events beyond the newest event left
        newest = f"the newest event is now #{head.id}" if head else "no events are left"
        what = _anchor_text(pending[met], f"is missing: the chain was cut back ({newest})")
        return ChainCheck(count, head, anchor=pending[met], anchor_problem=what, anchors_checked=met)
    return ChainCheck(count, head, anchors_checked=met)


def _link_problem(row: Any, prev: str) -> str | None:
    if row.prev_hash != prev:
        return "previous hash does not match"
    if _digest(row) != row.row_hash:
        return "content does not match its hash"
    return None


def _anchor_problem(anchor: Anchor, row: Any) -> str | None:
    """What is wrong with an anchor whose id the walk has reached at `row` (None: the chain holds it)."""
    if anchor.id < row.id:
        return "is missing from the chain"
    if anchor.row_hash != row.row_hash:
        return f"had hash {anchor.row_hash[:12]}…, now {row.row_hash[:12]}…: the chain was rewritten"
    return None


def _head(last: Any, count: int) -> ChainHead | None:
    return ChainHead(last.id, last.row_hash, last.at, count) if last is not None else None


def _anchor_text(anchor: Anchor, what: str) -> str:
    return f"event #{anchor.id} anchored at {anchor.anchored_at:%Y-%m-%d %H:%M:%S} UTC {what}"


def verify_chain(session: Session) -> list[str]:
    """Recompute the chain; return the first problem found (empty when intact)."""
    check = walk_chain(session)
    return [str(check.broken)] if check.broken else []
