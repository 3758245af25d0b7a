import re

from wtforms import HiddenField

from app.web.forms import Form
from app.web.urls import MAX_RECORD_ID

_DIGITS = re.compile(r"[0-9]{1,10}", re.ASCII)
_CHOICE = re.compile(r"([0-9]{1,10}):([0-9]{1,10})", re.ASCII)
# At most this many episodes are moved by one submission of the bulk form.
MAX_EPISODES = 1000


def record_id(raw) -> int | None:
    """A record id as a form or a query string carries it: ASCII digits, 1 to MAX_RECORD_ID; None
    for anything else (missing, not a number, out of range)."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_RECORD_ID else None


def episode_choices(values: list[str]) -> list[tuple[int, int]] | None:
    """The episodes ticked on the bulk form, each "id:version" (the version shown), in the order
    sent and once each; None when one of them is not of that form or there are too many."""
    chosen: dict[int, int] = {}
    for value in values:
        match = _CHOICE.fullmatch(value.strip()) if isinstance(value, str) else None
        if match is None:
            return None
        episode_id, version = record_id(match.group(1)), record_id(match.group(2))
        if episode_id is None or version is None:
            return None
        chosen.setdefault(episode_id, version)
    if len(chosen) > MAX_EPISODES:
        return None
    return list(chosen.items())


class MoveForm(Form):
    """Move one episode: the version to move to, and the episode's version the preview showed."""

    to = HiddenField()
    version = HiddenField()
