"""Sign-off rules: what blocks a signature, what it says, what it locks."""

import hashlib
import json
from collections.abc import Iterable
from datetime import date
from typing import Protocol

from app.domain.alerts import item_open_alert
from app.domain.vocab import ItemStatus, Phase, Role

SIGNABLE_PHASES = (Phase.BEFORE, Phase.DURING)

MEANINGS = {
    Phase.BEFORE: "pre-operative protocol complete",
    Phase.DURING: "intra-operative precautions taken",
}

CLOSED_STATUSES = (ItemStatus.DONE, ItemStatus.NOT_APPLICABLE)


class SignItem(Protocol):
    id: int
    phase: Phase
    required: bool
    status: ItemStatus
    role: Role
    value: str | None
    reason: str | None
    version: int

    @property
    def title(self) -> str: ...


def statement(phase: Phase, patient: str, mrn: str, procedure: str) -> str:
    """The sentence the surgeon signs."""
    who = f"{patient} (MRN {mrn}), {procedure}"
    if phase is Phase.BEFORE:
        return f"I confirm the pre-operative protocol for {who} is complete."
    if phase is Phase.DURING:
        return f"I confirm all proper precautions were taken to minimise intra-operative issues for {who}."
    raise ValueError(f"{phase.label} is not signed off")


class Blocker(str):
    """A reason a phase cannot be signed off, in words (compared and joined as its text), with the
    id and due date of the item it names, if any, so that a page links to it."""

    item_id: int | None
    due_date: date | None

    def __new__(cls, text: str, item=None) -> "Blocker":
        blocker = super().__new__(cls, text)
        blocker.item_id = getattr(item, "id", None)
        blocker.due_date = getattr(item, "due_date", None)
        return blocker


def signoff_blockers(
    phase: Phase, items: Iterable[SignItem], signed: set[Phase], closed: bool = False
) -> list[str]:
    """Why the phase cannot be signed off now; an empty list means it can."""
    if phase not in SIGNABLE_PHASES:
        return [f"{phase.label} has no sign-off; the episode is closed instead."]
    if closed:
        return ["The episode is closed."]
    if phase in signed:
        return [f"{phase.label} is already signed off."]
    reasons = []
    if phase is Phase.DURING and Phase.BEFORE not in signed:
        reasons.append("Before surgery must be signed off first.")
    items = list(items)
    reasons += [
        Blocker(f"Open: {item.title} ({item.role.label})", item)
        for item in items
        if item.phase is phase and item.required and item.status not in CLOSED_STATUSES
    ]
    reasons += [
        Blocker(f"Safety alert not acknowledged: {alert.flag} ({item.title})", item)
        for item in items
        if item.phase is phase and (alert := item_open_alert(item)) is not None and alert.blocks
    ]
    return reasons


def is_locked(phase: Phase, signed: set[Phase], closed: bool) -> bool:
    """A signed phase, or any phase of a closed episode, cannot be changed."""
    return closed or phase in signed


def content_digest(episode_id: int, patient_id: int, phase: Phase, items: Iterable[SignItem]) -> str:
    """A fingerprint of exactly what was signed: the phase's items as they stood."""
    body = {
        "episode": episode_id,
        "patient": patient_id,
        "phase": phase.value,
        "items": sorted(
            (
                {
                    "id": i.id,
                    "status": i.status.value,
                    "value": i.value,
                    "reason": i.reason,
                    "version": i.version,
                    # the acknowledgement of a safety alert is part of what was signed
                    **(
                        {
                            "acknowledgement": i.alert_acknowledgement,
                            "acknowledged_by": i.alert_acknowledged_by_id,
                        }
                        if getattr(i, "alert_acknowledged_at", None) is not None
                        else {}
                    ),
                }
                for i in items
                if i.phase is phase
            ),
            key=lambda d: d["id"],
        ),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def active_signoffs(episode) -> dict:
    """The episode's sign-offs in force (not revoked), by phase."""
    return {s.phase: s for s in episode.signoffs if s.revoked_at is None}


def close_blockers(episode) -> list[str]:
    """Open required After-surgery items: closing then needs a documented reason."""
    return [
        f"Open: {i.title} ({i.role.label})"
        for i in episode.items
        if i.phase is Phase.AFTER and i.required and i.status is ItemStatus.OPEN
    ]
