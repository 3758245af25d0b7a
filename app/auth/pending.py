"""A login between its two steps: kept in the Flask session, for a few minutes, until the code.

Only the user's id, username (the rate limit's account key), where to go next and until when
are kept; the server-side session starts only once the code is right (sessions.start).
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import session

from app import clock
from app.models import User

KEY = "pending_login"
# How long the code may wait after the password.
PENDING_MINUTES = 5


@dataclass(frozen=True)
class PendingLogin:
    user_id: int
    username: str
    next: str | None


def begin(user: User, next_url: str | None) -> None:
    """Remember that the user gave the right password; nothing from before survives (fixation)."""
    session.clear()
    until = clock.now() + timedelta(minutes=PENDING_MINUTES)
    session[KEY] = {
        "user_id": user.id,
        "username": user.username,
        "next": next_url,
        "until": until.timestamp(),
    }


def current() -> PendingLogin | None:
    """The login waiting for its code, or None (none, or it waited too long: then it is forgotten)."""
    value = session.get(KEY)
    if not isinstance(value, dict):
        return None
    try:
        pending = PendingLogin(int(value["user_id"]), str(value["username"]), value.get("next"))
        until = float(value["until"])
    except (KeyError, TypeError, ValueError):
        clear()
        return None
    if clock.now().timestamp() > until:
        clear()
        return None
    return pending


def username() -> str:
    """The username of the login waiting for its code, without checking its time ("" if none)."""
    value = session.get(KEY)
    return str(value.get("username", "")) if isinstance(value, dict) else ""


def clear() -> None:
    session.pop(KEY, None)
