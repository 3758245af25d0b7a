"""Reads of outcome scores."""

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.models import OutcomeScore


def episode_scores(session: Session, episode_id: int) -> list[OutcomeScore]:
    """The episode's outcome scores with who recorded them (one query): the outcome panel, the
    pain chart and the recording service read them."""
    return list(
        session.scalars(
            select(OutcomeScore)
            .options(joinedload(OutcomeScore.recorded_by))
            .where(OutcomeScore.episode_id == episode_id)
        )
    )
