"""Reads of user accounts."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.vocab import Role
from app.models import User, UserSession


def surgeons(session: Session, active_only: bool = False) -> list[User]:
    """The surgeons by name: those who may operate now (`active_only`, for new episodes), or
    every surgeon an episode may name (for filters and reports)."""
    stmt = select(User).where(User.role == Role.SURGEON).order_by(User.full_name, User.id)
    if active_only:
        stmt = stmt.where(User.active.is_(True))
    return list(session.scalars(stmt))


def all_users(session: Session) -> list[User]:
    """Every account, active first, by role and name (the admin's list)."""
    return list(session.scalars(select(User).order_by(User.active.desc(), User.role, User.full_name)))


def last_logins(session: Session, user_ids: list[int]) -> dict[int, datetime]:
    """When each user last logged in (the start of their latest session)."""
    rows = session.execute(
        select(UserSession.user_id, func.max(UserSession.created_at))
        .where(UserSession.user_id.in_(user_ids))
        .group_by(UserSession.user_id)
    )
    return {user_id: at for user_id, at in rows}
