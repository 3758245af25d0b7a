"""Reads of therapy sessions."""

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from app.models import Episode, SessionAddendum, TherapySession
from app.queries import episode_ids_param, rows_by_episode

_SESSION_ROWS = select(
    TherapySession.episode_id,
    TherapySession.id,
    TherapySession.session_date,
    TherapySession.discipline,
    TherapySession.attendance,
    TherapySession.prehabilitation,
).where(TherapySession.episode_id.in_(episode_ids_param()))


def session_rows(session: Session, episode_ids: list[int]) -> dict[int, list]:
    """The sessions of many episodes (the facts the therapy rules read), in one query."""
    return rows_by_episode(session, _SESSION_ROWS, episode_ids)


_EPISODE_SESSIONS = (  # built once: every episode page reads it
    select(TherapySession)
    .options(
        joinedload(TherapySession.therapist),
        joinedload(TherapySession.addenda).joinedload(SessionAddendum.author),
    )
    .where(TherapySession.episode_id == bindparam("episode_id"))
    .order_by(TherapySession.session_date.desc(), TherapySession.id.desc())
)


def episode_sessions(session: Session, episode_id: int) -> list[TherapySession]:
    """The episode's sessions, newest first, with therapists and addenda (one query)."""
    return list(session.scalars(_EPISODE_SESSIONS, {"episode_id": episode_id}).unique())


def episode_with_patient(session: Session, episode_id: int) -> Episode | None:
    """An episode with its patient (one query)."""
    return session.scalar(
        select(Episode).options(joinedload(Episode.patient)).where(Episode.id == episode_id)
    )


def session_of_episode(session: Session, episode_id: int, session_id: int) -> TherapySession | None:
    """A session of this episode with its therapist (a session of another episode is not found)."""
    return session.scalar(
        select(TherapySession)
        .options(joinedload(TherapySession.therapist))
        .where(TherapySession.id == session_id, TherapySession.episode_id == episode_id)
    )
