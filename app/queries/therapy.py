"""Reads of therapy sessions."""

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.models import Episode, SessionAddendum, TherapySession


def session_rows(session: Session, episode_ids: list[int]) -> dict[int, list]:
    """The sessions of many episodes (the facts the therapy rules read), in one query."""
    sessions: dict[int, list] = defaultdict(list)
    for row in session.execute(
        select(
            TherapySession.episode_id,
            TherapySession.id,
            TherapySession.session_date,
            TherapySession.discipline,
            TherapySession.attendance,
            TherapySession.prehabilitation,
        ).where(TherapySession.episode_id.in_(episode_ids))
    ):
        sessions[row.episode_id].append(row)
    return sessions


def episode_sessions(session: Session, episode_id: int) -> list[TherapySession]:
    """The episode's sessions, newest first, with therapists and addenda (one query)."""
    return list(
        session.scalars(
            select(TherapySession)
            .options(
                joinedload(TherapySession.therapist),
                joinedload(TherapySession.addenda).joinedload(SessionAddendum.author),
            )
            .where(TherapySession.episode_id == episode_id)
            .order_by(TherapySession.session_date.desc(), TherapySession.id.desc())
        ).unique()
    )


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
