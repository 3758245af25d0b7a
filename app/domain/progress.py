"""Phase progress and episode flags, computed from items' plain fields."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from app.domain.vocab import ItemStatus, Phase

CLOSED_STATUSES = (ItemStatus.DONE, ItemStatus.NOT_APPLICABLE)


class ItemFacts(Protocol):
    phase: Phase
    required: bool
    status: ItemStatus
    due_date: date | None


@dataclass(frozen=True)
class Progress:
    """Required items done or not applicable, out of the required items."""

    done: int
    total: int

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else round(100 * self.done / self.total)

    @property
    def complete(self) -> bool:
        return self.done == self.total

    @property
    def label(self) -> str:
        return f"{self.done} of {self.total} required done"


def phase_progress(items: Iterable[ItemFacts], phase: Phase | None = None) -> Progress:
    """Progress of one phase, or of the whole checklist when phase is None."""
    required = [i for i in items if i.required and (phase is None or i.phase is phase)]
    return Progress(sum(i.status in CLOSED_STATUSES for i in required), len(required))


def is_postop_overdue(item: ItemFacts, today: date) -> bool:
    """A required After-surgery item still open past its due date."""
    return (
        item.phase is Phase.AFTER
        and item.required
        and item.status is ItemStatus.OPEN
        and item.due_date is not None
        and item.due_date < today
    )


@dataclass(frozen=True)
class Flag:
    code: str
    label: str
    detail: str

    @property
    def text(self) -> str:
        return f"{self.label} ({self.detail})" if self.detail else self.label


def postop_flag(overdue_count: int) -> Flag | None:
    """The "Incomplete post-op steps" flag for a number of overdue post-op items."""
    if overdue_count <= 0:
        return None
    return Flag("incomplete_postop", "Incomplete post-op steps", f"{overdue_count} overdue")


def preop_flag(surgery_date: date | None, preop_signed: bool, today: date, warning_days: int) -> Flag | None:
    """The "Pre-op not signed off" flag: surgery within the warning window or past, unsigned."""
    if preop_signed or surgery_date is None:
        return None
    days = (surgery_date - today).days
    if days > warning_days:
        return None
    when = "surgery passed" if days < 0 else "surgery today" if days == 0 else f"surgery in {days} days"
    if days == 1:
        when = "surgery tomorrow"
    return Flag("preop_unsigned", "Pre-op not signed off", when)


def flags_from_facts(
    postop_overdue: int,
    surgery_date: date | None,
    preop_signed: bool,
    closed: bool,
    today: date,
    warning_days: int,
) -> list[Flag]:
    """Every flag an episode raises today, from its facts (a closed episode raises none)."""
    if closed:
        return []
    flags = [postop_flag(postop_overdue), preop_flag(surgery_date, preop_signed, today, warning_days)]
    return [f for f in flags if f]


def episode_flags(
    items: Iterable[ItemFacts],
    today: date,
    surgery_date: date | None = None,
    preop_signed: bool = True,
    closed: bool = False,
    warning_days: int = 2,
) -> list[Flag]:
    """Every flag an episode raises today, from its items."""
    overdue = sum(is_postop_overdue(i, today) for i in items)
    return flags_from_facts(overdue, surgery_date, preop_signed, closed, today, warning_days)


# --- when each flag is raised (stored per episode, so lists count flags in SQL) ---------------
# Between two changes to an episode its flags only ever switch on as days pass (an item
# becomes overdue, surgery comes near, sessions fall behind), so dates stored when it changes
# say whether it is flagged on any later day.


def postop_overdue_from(items: Iterable[ItemFacts]) -> date | None:
    """The first day a required After-surgery item is overdue (the day after its due date)."""
    dues = [
        i.due_date
        for i in items
        if i.phase is Phase.AFTER and i.required and i.status is ItemStatus.OPEN and i.due_date is not None
    ]
    return min(dues) + timedelta(days=1) if dues else None


def unsigned_surgery_on(surgery_date: date | None, preop_signed: bool, closed: bool) -> date | None:
    """The surgery date while Before surgery is unsigned: "Pre-op not signed off" is raised from
    `warning_days` before it (see `preop_flagged`)."""
    return None if preop_signed or closed else surgery_date


def preop_flagged(unsigned_surgery: date | None, today: date, warning_days: int) -> bool:
    """Whether "Pre-op not signed off" is raised today (as `preop_flag` decides)."""
    return unsigned_surgery is not None and (unsigned_surgery - today).days <= warning_days


def flagged_from(closed: bool, days: Iterable[date | None]) -> date | None:
    """The first day an episode raises one of the flags given by their first days (None: never)."""
    if closed:
        return None
    return min((d for d in days if d is not None), default=None)
