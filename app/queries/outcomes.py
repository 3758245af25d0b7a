"""Reads of outcome scores and of the windows they may be dated in."""

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from app.domain.outcomes import Window, window_for
from app.domain.vocab import TimePoint
from app.models import OutcomeScore, ProtocolStep

_EPISODE_SCORES = (  # built once: every episode page reads it
    select(OutcomeScore)
    .options(joinedload(OutcomeScore.recorded_by))
    .where(OutcomeScore.episode_id == bindparam("episode_id"))
)


def episode_scores(session: Session, episode_id: int) -> list[OutcomeScore]:
    """The episode's outcome scores with who recorded them (one query): the outcome panel, the
    pain chart and the recording service read them."""
    return list(session.scalars(_EPISODE_SCORES, {"episode_id": episode_id}))


def outcome_windows(session: Session, protocol_version_id: int) -> dict[TimePoint, Window]:
    """Each time point's window in a protocol version, from its outcome step (one query); today's
    rule for a time point whose step declares none (a version-1 protocol)."""
    steps = session.execute(
        select(ProtocolStep.outcome_time_point, ProtocolStep.window_from_days, ProtocolStep.window_until_days)
        .where(
            ProtocolStep.version_id == protocol_version_id,
            ProtocolStep.outcome_time_point.is_not(None),
        )
        .order_by(ProtocolStep.position)
    ).all()
    return {tp: window_for(tp, steps) for tp in TimePoint}
