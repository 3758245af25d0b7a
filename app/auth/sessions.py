"""Server-side login sessions: logout, idle and absolute timeouts really end a session."""

import secrets
from datetime import timedelta

from flask import current_app, request, session
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from app import clock, db
from app.models import User, UserSession

TOUCH_AFTER = timedelta(seconds=60)
# Every request reads it: built once.
_SESSION_WITH_USER = (
    select(UserSession).options(joinedload(UserSession.user)).where(UserSession.id == bindparam("sid"))
)


def start(user: User) -> None:
    """Begin a fresh session for the user (the caller commits)."""
    session.clear()  # no pre-login state survives (session fixation)
    now = clock.now()
    record = UserSession(
        id=secrets.token_hex(32),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        user_agent=(request.user_agent.string or "")[:255],
    )
    db.session.add(record)
    session["sid"] = record.id


def end() -> None:
    """Revoke the current server-side session (the caller commits)."""
    sid = session.get("sid")
    if sid:
        db.session.execute(update(UserSession).where(UserSession.id == sid).values(revoked_at=clock.now()))
    session.clear()


def _expired(record: UserSession) -> bool:
    now = clock.now()
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    absolute = timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"])
    return (
        record.revoked_at is not None
        or now - record.last_seen_at > idle
        or now - record.created_at > absolute
    )


def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the user, only while their server-side session is live."""
    sid = session.get("sid")
    if not sid or not user_id.isdigit():
        return None
    record = db.session.scalar(_SESSION_WITH_USER, {"sid": sid})
    if record is None or record.user_id != int(user_id) or _expired(record):
        session.clear()
        return None
    user = record.user
    if not user.active:
        session.clear()
        return None
    if clock.now() - record.last_seen_at > TOUCH_AFTER:
        _touch(sid)
    return user


def _touch(sid: str) -> None:
    stmt = update(UserSession).where(UserSession.id == sid).values(last_seen_at=clock.now())
    if db.writing.get():
        db.session.execute(stmt)  # committed with the request's own write
        return
    with db.write_unit(), db.session.session_factory() as own:
        own.execute(stmt)
        own.commit()
