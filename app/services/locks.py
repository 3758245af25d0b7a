"""Serialise the changes that must see each other: work on one episode's checklist."""

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from app.domain.vocab import EpisodeStatus, Phase
from app.models import ChecklistItem, Episode, Signoff

# Built once: every item change runs them.
_LOCK_EPISODE = select(Episode.status).where(Episode.id == bindparam("episode_id")).with_for_update()
_SIGNED = select(Signoff.phase).where(
    Signoff.episode_id == bindparam("episode_id"), Signoff.revoked_at.is_(None)
)


def lock_episode(session: Session, episode_id: int) -> tuple[set[Phase], bool]:
    """Take the episode's row lock, then read its signed phases and status afresh.

    On PostgreSQL this is SELECT ... FOR UPDATE: a sign-off and an item change on the same
    episode wait for each other instead of both deciding on what they read earlier. The sign-offs
    are read by a second statement, after the lock is held: under READ COMMITTED only a new
    statement sees what the transaction that held the lock committed (a join in the locking
    statement would read them from before the wait). SQLite needs no row lock (write
    transactions begin IMMEDIATE and run one at a time).
    """
    params = {"episode_id": episode_id}
    status = session.scalar(_LOCK_EPISODE, params)
    signed = set(session.scalars(_SIGNED, params))
    return signed, status is EpisodeStatus.CLOSED


def refresh_items(session: Session, episode_id: int) -> None:
    """Reload the episode's items as committed now (after taking the lock)."""
    session.scalars(
        select(ChecklistItem)
        .options(joinedload(ChecklistItem.step))
        .where(ChecklistItem.episode_id == episode_id)
        .execution_options(populate_existing=True)
    ).all()
