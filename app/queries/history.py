"""Reads of the audit trail for the pages that show it."""

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Episode


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
