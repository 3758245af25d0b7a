"""Reads of the audit trail for the pages that show it."""

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.domain.history import referenced_ids
from app.models import AuditEvent, Episode, ProtocolTemplate, ProtocolVersion, User


def episode_history(session: Session, episode: Episode, limit: int) -> list[AuditEvent]:
    """The newest events of an episode, and of its patient outside any episode (one query)."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(
                or_(
                    AuditEvent.episode_id == episode.id,
                    and_(AuditEvent.patient_id == episode.patient_id, AuditEvent.episode_id.is_(None)),
                )
            )
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )


def reference_names(session: Session, events: list[AuditEvent]) -> dict[str, dict[int, str]]:
    """The names of the surgeons and protocol versions these events name by id (two queries at
    most, whatever the number of events)."""
    ids = referenced_ids([v for ev in events for v in (ev.before, ev.after)])
    names: dict[str, dict[int, str]] = {"surgeon_id": {}, "protocol_version_id": {}}
    if ids["surgeon_id"]:
        rows = session.execute(select(User.id, User.full_name).where(User.id.in_(ids["surgeon_id"])))
        names["surgeon_id"] = {uid: name for uid, name in rows}
    if ids["protocol_version_id"]:
        rows = session.execute(
            select(ProtocolVersion.id, ProtocolTemplate.name, ProtocolVersion.number)
            .join(ProtocolTemplate)
            .where(ProtocolVersion.id.in_(ids["protocol_version_id"]))
        )
        names["protocol_version_id"] = {vid: f"{name} (version {number})" for vid, name, number in rows}
    return names
