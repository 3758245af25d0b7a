"""Audit events: every change writes one, in the same transaction, hash-chained."""

import hashlib
import json
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app import clock
from app.models import AuditEvent, User

GENESIS = "0" * 64
# Any number: the key of the PostgreSQL advisory lock that orders the chain (and the writes
# of the outstanding tally: migration 0005 uses the same number).
CHAIN_LOCK_KEY = 7_351_004


def _digest(event: AuditEvent) -> str:
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


def record(
    db: Session,
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
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_KEY})
    db.flush()
    prev = db.scalar(select(AuditEvent.row_hash).order_by(AuditEvent.id.desc()).limit(1))
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
    db.add(event)
    return event


def _jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: (v if v is None or isinstance(v, bool | int | float) else str(v)) for k, v in values.items()}


def verify_chain(db: Session) -> list[str]:
    """Recompute the chain; return the problems found (empty when intact)."""
    problems: list[str] = []
    prev = GENESIS
    for event in db.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        if event.prev_hash != prev:
            problems.append(f"event {event.id}: previous hash does not match")
        if _digest(event) != event.row_hash:
            problems.append(f"event {event.id}: content does not match its hash")
        prev = event.row_hash
    return problems
