"""The one clock: every "now" and "today" in the app comes from here; tests can set it."""

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_frozen: datetime | None = None
# The site's time zone (config TIMEZONE), set by create_app: services date records by it.
_site_zone = "UTC"


def now() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def today(tz_name: str) -> date:
    """Return today's date in the given time zone."""
    return now().astimezone(ZoneInfo(tz_name)).date()


def set_site_zone(tz_name: str) -> None:
    """Set the site's time zone (create_app does, from TIMEZONE)."""
    global _site_zone
    ZoneInfo(tz_name)  # an unknown zone fails here, at start-up
    _site_zone = tz_name


def site_today() -> date:
    """Return today's date in the site's time zone."""
    return today(_site_zone)


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
