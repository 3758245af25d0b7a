"""Rules about user accounts: lockout and the state an admin sees."""

from datetime import datetime


def login_locked(locked_until: datetime | None, now: datetime) -> bool:
    """Return whether wrong passwords keep the account locked at `now`."""
    return locked_until is not None and locked_until > now
