"""Moving an episode to another protocol version: what becomes of each of its items.

Items and steps are matched by code. An item whose code the new version has (among the steps of
the episode's procedure type) is carried over: it keeps its state, value, who and when, notes,
reason and acknowledgement, and takes the new step's phase, place, role, requirement and dates.
A step the episode has no item for is added, open, with its due date. An item whose code the new
version lacks is dropped (its history stays in the audit trail).

Refused, in words: a closed episode; the episode's own version; a draft or retired version; and
any change to the items of a phase signed off (an item dropped or added there, or carried with
a step that asks something else), until a surgeon revokes that sign-off.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.domain.pathway import ItemPlan, applies, item_plan
from app.domain.protocol_diff import FieldChange, step_changes
from app.domain.protocol_format import spec_of_step
from app.domain.schedule import day_text
from app.domain.text import shortened
from app.domain.vocab import ItemStatus, Phase, Procedure, VersionStatus

# The changes of a step that leave what it asks of the care team as it was (labels of
# app/domain/protocol_diff.LABELS): its guidance and sources only.
SAME_QUESTION = frozenset({"Guidance and sources"})
CLOSED_REFUSAL = "The episode is closed: it stays on the protocol version it was closed with."


def signed_phase_refusal(phase: Phase) -> str:
    """Why a move may not change the items of a signed-off phase."""
    return f"{phase.label} is signed off: a surgeon must revoke the sign-off before its items change"


@dataclass(frozen=True)
class Carried:
    """An item kept, now held to the new version's step of the same code (`changes`: how the step
    differs from the one the item was made from, in words)."""

    item: Any  # a ChecklistItem with its step
    step: Any  # the new version's ProtocolStep
    changes: tuple[FieldChange, ...]
    plan: ItemPlan
    required: bool
    required_since: date | None

    @property
    def asks_otherwise(self) -> bool:
        """Whether the new step asks something else than the old one (more than its guidance)."""
        return any(change.label not in SAME_QUESTION for change in self.changes)

    def values(self) -> dict:
        """What the item holds once carried: the new step and what the item copies from it, its
        dates and sessions plan; its state, value, who and when, notes and reason stay."""
        return {
            "step_id": self.step.id,
            "phase": Phase(self.step.phase),
            "position": self.step.position,
            "role": self.step.role,
            "required": self.required,
            "required_since": self.required_since,
            **self.plan.values(),
        }


@dataclass(frozen=True)
class Added:
    """A step of the new version the episode has no item for: an open item, due on `plan`'s date."""

    step: Any
    plan: ItemPlan


@dataclass(frozen=True)
class Dropped:
    """An item whose code the new version lacks: deleted, its history kept in the audit trail."""

    item: Any


@dataclass(frozen=True)
class MovePlan:
    carried: tuple[Carried, ...] = ()
    added: tuple[Added, ...] = ()
    dropped: tuple[Dropped, ...] = ()
    refusals: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.refusals

    @property
    def counts(self) -> str:
        """ "40 carried, 2 added, 1 dropped"."""
        return f"{len(self.carried)} carried, {len(self.added)} added, {len(self.dropped)} dropped"

    @property
    def changed(self) -> tuple[Carried, ...]:
        """The carried items whose step changed."""
        return tuple(c for c in self.carried if c.changes)


def _carried(item, step, procedure: Procedure, surgery_date: date | None) -> Carried:
    conditional = bool(step.required_if)
    # A conditional item keeps its requirement while its step stays conditional (the commit
    # brings it in line with the condition); otherwise it takes the step's.
    keeps = conditional and bool(item.step.required_if)
    required = item.required if keeps else bool(step.required)
    since = item.required_since if keeps else None
    plan = item_plan(step, procedure, surgery_date, since)
    changes = step_changes(spec_of_step(item.step), spec_of_step(step))
    return Carried(item, step, changes, plan, required, since)


def _version_refusals(target, current_version_id: int, closed: bool) -> list[str]:
    refusals = []
    if closed:
        refusals.append(CLOSED_REFUSAL)
    if target.id == current_version_id:
        refusals.append(f"The episode is already on {target.label}.")
    elif target.status is VersionStatus.DRAFT:
        refusals.append(f"{target.label} is a draft: an episode moves only to a published version.")
    elif target.status is VersionStatus.RETIRED:
        refusals.append(f"{target.label} is retired: an episode moves only to a published version.")
    return refusals


def _signed_refusals(
    signed: set[Phase], carried: list[Carried], added: list[Added], dropped: list[Dropped]
) -> list[str]:
    """One refusal per signed-off phase whose items the move would change, naming them."""
    refusals = []
    for phase in Phase:
        if phase not in signed:
            continue
        parts = []
        gone = [d.item.step.title for d in dropped if d.item.phase is phase]
        new = [a.step.title for a in added if Phase(a.step.phase) is phase]
        changed = [
            c.step.title for c in carried if c.asks_otherwise and phase in (c.item.phase, Phase(c.step.phase))
        ]
        for what, titles in (("dropped", gone), ("added", new), ("changed", changed)):
            if titles:
                parts.append(f"{what}: " + ", ".join(f"“{shortened(t)}”" for t in titles))
        if parts:
            refusals.append(f"{signed_phase_refusal(phase)} ({'; '.join(parts)}).")
    return refusals


def plan_move(
    items: Iterable,
    target,
    steps: Iterable,
    procedure: Procedure,
    surgery_date: date | None,
    signed: set[Phase],
    current_version_id: int,
    closed: bool = False,
) -> MovePlan:
    """What moving an episode to the `target` version (id, status, label) would do, with its
    `steps`: the episode's `items` (ChecklistItems with their steps), its procedure type,
    surgery date, signed-off phases, current version and whether it is closed."""
    steps = sorted((s for s in steps if applies(s, procedure)), key=lambda s: (s.position, s.code))
    by_code = {s.code: s for s in steps}
    items = sorted(items, key=lambda i: (i.position, i.step.code))
    held = {i.step.code for i in items}
    carried_by_code = {
        i.step.code: _carried(i, by_code[i.step.code], procedure, surgery_date)
        for i in items
        if i.step.code in by_code
    }
    carried = [carried_by_code[s.code] for s in steps if s.code in carried_by_code]
    added = [Added(s, item_plan(s, procedure, surgery_date)) for s in steps if s.code not in held]
    dropped = [Dropped(i) for i in items if i.step.code not in by_code]
    refusals = _version_refusals(target, current_version_id, closed)
    refusals += _signed_refusals(signed, carried, added, dropped)
    return MovePlan(tuple(carried), tuple(added), tuple(dropped), tuple(refusals))


def moment_text(moment: datetime | None, zone: str) -> str | None:
    """ "17 Jun 2026 13:05 BST": a moment at the site, as the interface shows it."""
    if moment is None:
        return None
    local = moment.astimezone(ZoneInfo(zone))
    return f"{day_text(local.date())} {local:%H:%M %Z}"


def dropped_record(
    item, completed_by: str | None, notes: Iterable[tuple[str, str, datetime]], zone: str
) -> dict:
    """What the audit trail keeps of a dropped item: its title, phase, state, value, reason, who
    completed it and when, its notes (text, author, when) and any acknowledgement of its alert.
    Fields it never had are left out."""
    status = ItemStatus(item.status)
    record = {
        "title": item.step.title,
        "phase": Phase(item.phase).label,
        "status": status.value,
        "value": item.value,
        "reason": item.reason,
        "completed_by": completed_by,
        "completed_at": moment_text(item.completed_at, zone),
        "acknowledgement": item.alert_acknowledgement,
        "notes": " · ".join(f"“{text}” ({author}, {moment_text(at, zone)})" for text, author, at in notes)
        or None,
    }
    return {key: value for key, value in record.items() if value is not None}
