"""The one clock: every "now" and "today" in the app comes from here; tests can set it."""

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_frozen: datetime | None = None


def now() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def today(tz_name: str) -> date:
    """Return today's date in the given time zone."""
    return now().astimezone(ZoneInfo(tz_name)).date()


def set_now(moment: datetime | None) -> None:
    """Freeze the clock at an aware datetime (tests only); None lets it run again."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("set_now needs an aware datetime")
    _frozen = moment


@contextlib.contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Run with the clock at `moment`, then as it was (demo data dated in the past)."""
    previous = _frozen
    set_now(moment)
    try:
        yield
    finally:
        set_now(previous)
