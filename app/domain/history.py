"""An audit event's before and after values in plain words, as the History page shows them:
"Pain before: not recorded → 4", "Home exercise plan: yes", "Surgery date: 2 Dec 2026 → 9 Dec 2026"."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.domain.schedule import day_text

NOT_RECORDED = "not recorded"

# Field names whose plain words are not their name with spaces.
LABELS = {
    "mrn": "MRN",
    "sha256": "Fingerprint",
    "surgeon_id": "Surgeon",
    "protocol_version_id": "Protocol version",
    "odi": "ODI",
    "nrs_back": "NRS back",
    "nrs_leg": "NRS leg",
    "taken_on": "Taken on",
    "required_since": "Required since",
    "two_step": "Two-step login",
    "recovery_codes_left": "Recovery codes left",
    "must_change_password": "Must change password",
    "locked_until": "Locked until",
}
# Coded values (enums stored by their value) in words.
VALUES = {
    "open": "open",
    "done": "done",
    "not_applicable": "not applicable",
    "cancelled_by_patient": "cancelled by the patient",
    "cancelled_by_clinic": "cancelled by the clinic",
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class FieldChange:
    """One field of an event: its name in words, and its value before and after (None: the
    event has no such side, as when a record is created)."""

    label: str
    before: str | None
    after: str | None


def label(key: str) -> str:
    """ "pain_before" → "Pain before"."""
    return LABELS.get(key) or key.replace("_", " ").capitalize()


def value_text(value: Any) -> str:
    """A stored value in words: None → "not recorded", True → "yes", "2026-12-02" → "2 Dec 2026",
    "not_applicable" → "not applicable"."""
    if value is None or value == "":
        return NOT_RECORDED
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return day_text(value.date())
    if isinstance(value, date):
        return day_text(value)
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value) or NOT_RECORDED
    if isinstance(value, dict):
        return "; ".join(f"{label(k)}: {value_text(v)}" for k, v in value.items())
    text = str(value)
    if _ISO_DATE.match(text):
        try:
            return day_text(date.fromisoformat(text))
        except ValueError:
            return text
    return VALUES.get(text, text)


# Fields that hold the id of another record, shown by that record's name.
REFERENCES = ("surgeon_id", "protocol_version_id")


def referenced_ids(events_values: list[Mapping | None]) -> dict[str, set[int]]:
    """The ids the REFERENCES fields of these before/after values name, by field."""
    ids: dict[str, set[int]] = {key: set() for key in REFERENCES}
    for values in events_values:
        for key in REFERENCES:
            value = (values or {}).get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                ids[key].add(value)
    return ids


def field_changes(
    before: Mapping | None, after: Mapping | None, names: Mapping[str, Mapping[int, str]] | None = None
) -> list[FieldChange]:
    """The fields an event recorded, in words: each changed field with its before and after
    (a field the same on both sides is left out); the fields of a side that is missing whole
    (a record created, a record deleted) shown on the other side alone. `names` gives, for a
    field that holds a record's id (a surgeon, a protocol version), the names to show instead."""
    keys = list(dict.fromkeys([*(before or {}), *(after or {})]))
    names = names or {}
    changes = []
    for key in keys:
        known = names.get(key, {})

        def text(value, known=known):
            return known.get(value) or value_text(value)

        old = text((before or {}).get(key)) if before is not None else None
        new = text((after or {}).get(key)) if after is not None else None
        if old is not None and new is not None and old == new:
            continue
        changes.append(FieldChange(label(key), old, new))
    return changes


# The action of the event that keeps what a dropped item recorded (app/services/episode_moves.py).
ITEM_DROPPED = "item.dropped"


def dropped_titles(events, known: Mapping[int, str]) -> dict[int, str]:
    """The titles of items no longer on an episode's checklist (item id -> title), as the events
    that dropped them kept them; items still on it (`known`) are left out."""
    return {
        ev.target_id: ev.before["title"]
        for ev in events
        if ev.action == ITEM_DROPPED
        and ev.target_id not in known
        and isinstance(ev.before, Mapping)
        and isinstance(ev.before.get("title"), str)
    }
