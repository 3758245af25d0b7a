"""Outstanding items: the dashboard's filters and the due-date window of each state.

Pure rules: the query turns a state into its window on the indexed due date, and the page
shows the state from the same `item_state()` the episode page uses, so both always agree.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from app.domain.vocab import ItemState, Phase, Role

# The states an open item can be in, in the dashboard's order (overdue first).
OPEN_STATES = (
    ItemState.OVERDUE,
    ItemState.DUE_NOW,
    ItemState.DUE_TODAY,
    ItemState.DUE_SOON,
    ItemState.PENDING,
    ItemState.UNSCHEDULED,
)
PAGE_SIZE = 50
MAX_SEARCH = 100


@dataclass(frozen=True)
class Window:
    """Due dates from `first` to `last`, inclusive, and first overdue days from
    `overdue_first` to `overdue_last`; None is open-ended. `scheduled` False means the items with
    no due date (surgery not yet scheduled)."""

    first: date | None = None
    last: date | None = None
    scheduled: bool = True
    overdue_first: date | None = None
    overdue_last: date | None = None


def state_window(state: ItemState, today: date, due_soon_days: int) -> Window:
    """The due dates (and first overdue days) at which an open item shows `state` today, as
    `app.domain.schedule.item_state` decides."""
    if state is ItemState.OVERDUE:
        return Window(overdue_last=today)
    if state is ItemState.DUE_NOW:
        return Window(last=today - timedelta(days=1), overdue_first=today + timedelta(days=1))
    if state is ItemState.DUE_TODAY:
        return Window(first=today, last=today)
    if state is ItemState.DUE_SOON:
        return Window(first=today + timedelta(days=1), last=today + timedelta(days=due_soon_days))
    if state is ItemState.PENDING:
        return Window(first=today + timedelta(days=due_soon_days + 1))
    if state is ItemState.UNSCHEDULED:
        return Window(scheduled=False)
    raise ValueError(f"{state} is not a state of an open item")


def days_overdue(due: date | None, today: date, overdue_on: date | None = None) -> int:
    """Whole days past the due date once the item is overdue (0 when it is not, or still in its
    grace days: `overdue_on` is the first day it is overdue; the day after its due date without)."""
    if due is None or today < (overdue_on or due + timedelta(days=1)):
        return 0
    return (today - due).days


@dataclass(frozen=True)
class OutstandingFilters:
    """What the dashboard shows: every field narrows the list; the defaults show everything."""

    phase: Phase | None = None
    state: ItemState | None = None
    role: Role | None = None
    surgeon_id: int | None = None
    due_from: date | None = None
    due_to: date | None = None
    required_only: bool = False
    flagged_only: bool = False
    safety_only: bool = False  # episodes with a safety alert waiting for acknowledgement
    patient: str = ""

    def without_state(self) -> "OutstandingFilters":
        """The same filters for every state (the counts at the top of the page)."""
        return OutstandingFilters(**{**self.__dict__, "state": None})

    @property
    def narrows(self) -> bool:
        """Whether any filter is set (the defaults list everything)."""
        return self != OutstandingFilters()

    def describe(
        self, surgeon_name: str | None = None, date_text: Callable[[date], str] = date.isoformat
    ) -> str:
        """The filters in words, for exports, the audit trail and the dashboard's subtitle ("all
        outstanding items"); dates as `date_text` writes them (YYYY-MM-DD unless told)."""
        parts = []
        if self.phase:
            parts.append(self.phase.label)
        if self.state:
            parts.append(self.state.label)
        if self.role:
            parts.append(f"{self.role.label} items")
        if self.surgeon_id is not None:
            parts.append(f"surgeon {surgeon_name or self.surgeon_id}")
        if self.due_from:
            parts.append(f"due from {date_text(self.due_from)}")
        if self.due_to:
            parts.append(f"due to {date_text(self.due_to)}")
        if self.required_only:
            parts.append("required only")
        if self.flagged_only:
            parts.append("flagged episodes only")
        if self.safety_only:
            parts.append("episodes with safety alerts only")
        if self.patient:
            parts.append(f"patient “{self.patient}”")
        return "; ".join(parts) if parts else "all outstanding items"


def date_range_problem(due_from: date | None, due_to: date | None) -> str | None:
    """Why a due-date range cannot be used, or None."""
    if due_from and due_to and due_from > due_to:
        return "The “due from” date is after the “due to” date."
    return None


def page_count(total: int, page_size: int = PAGE_SIZE) -> int:
    """Pages needed for `total` rows (at least one, so an empty list still has page 1)."""
    return max((total + page_size - 1) // page_size, 1)
