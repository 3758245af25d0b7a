"""Protocol compliance, as ERAS audit systems report it: of the required items that were due,
the share completed (done, or not applicable with its reason) and the share completed on time.

An item counts once it is due (its due date has passed), once it is completed (early
completion counts too) or once its episode is closed (it can no longer be done). Items of
episodes whose surgery is not yet scheduled have no month of surgery and are left out.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TypeVar

from app.domain.progress import CLOSED_STATUSES
from app.domain.vocab import ItemStatus

# The common "high compliance" cut-off in the ERAS literature (CLINICAL.md §3).
HIGH_COMPLIANCE_PERCENT = 70
MOST_LATE_LIMIT = 10
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)
_NOT_IN_FILE_NAME = re.compile(r"[^a-z0-9]+", re.ASCII)


class Outcome(StrEnum):
    """What became of one required item, for compliance."""

    ON_TIME = "on_time"  # completed on or before its due date
    LATE = "late"  # completed after its due date
    MISSED = "missed"  # still open past its due date, or its episode closed with it open
    NOT_DUE = "not_due"  # open and not yet due: not counted yet


def item_outcome(
    status: ItemStatus,
    due_date: date,
    completed_on: date | None,
    episode_closed: bool,
    today: date,
) -> Outcome:
    """Classify a required item of a scheduled episode (the SQL in app/compliance.py mirrors this)."""
    if status in CLOSED_STATUSES:
        if completed_on is not None and completed_on <= due_date:
            return Outcome.ON_TIME
        return Outcome.LATE
    if episode_closed or due_date < today:
        return Outcome.MISSED
    return Outcome.NOT_DUE


@dataclass(frozen=True)
class Tally:
    """Required items counted for compliance, and how many were completed and on time."""

    counted: int = 0
    completed: int = 0
    on_time: int = 0
    not_due: int = 0

    @classmethod
    def of(cls, outcome: Outcome, n: int = 1) -> "Tally":
        return cls(
            counted=0 if outcome is Outcome.NOT_DUE else n,
            completed=n if outcome in (Outcome.ON_TIME, Outcome.LATE) else 0,
            on_time=n if outcome is Outcome.ON_TIME else 0,
            not_due=n if outcome is Outcome.NOT_DUE else 0,
        )

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(
            self.counted + other.counted,
            self.completed + other.completed,
            self.on_time + other.on_time,
            self.not_due + other.not_due,
        )

    @property
    def late(self) -> int:
        """Completed late or not completed at all."""
        return self.counted - self.on_time

    @property
    def completed_percent(self) -> float | None:
        """Completed, per cent of counted (None when nothing was due)."""
        return None if not self.counted else 100 * self.completed / self.counted

    @property
    def on_time_percent(self) -> float | None:
        return None if not self.counted else 100 * self.on_time / self.counted

    @property
    def high_compliance(self) -> bool:
        """Completed at or above the high-compliance line."""
        return meets_target(self.completed_percent)

    @property
    def on_time_high_compliance(self) -> bool:
        """Completed on time at or above the high-compliance line (the ERAS audit's figure)."""
        return meets_target(self.on_time_percent)


def total(tallies: Iterable[Tally]) -> Tally:
    result = Tally()
    for tally in tallies:
        result = result + tally
    return result


def meets_target(percent: float | None) -> bool:
    """At or above the high-compliance line (False when nothing was due)."""
    return percent is not None and percent >= HIGH_COMPLIANCE_PERCENT


def percent_text(value: float | None) -> str:
    """ "87 %", or an en dash when nothing was due; "69.6 %" where a whole number would put the
    figure on the other side of the high-compliance line than it is."""
    if value is None:
        return "–"
    if meets_target(round(value)) != meets_target(value):  # from 69.5 to just under 70
        return f"{min(value, HIGH_COMPLIANCE_PERCENT - 0.1):.1f} %"
    return f"{round(value)} %"


@dataclass(frozen=True)
class Month:
    """A calendar month of surgery."""

    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> "Month":
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> "Month":
        """Read "2026-06"; ValueError otherwise."""
        found = _MONTH.fullmatch(text.strip())
        if not found or not 1 <= int(found[2]) <= 12:
            raise ValueError(f"not a month: {text!r}")
        return cls(int(found[1]), int(found[2]))

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> "Month":
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def minus(self, months: int) -> "Month":
        index = self.year * 12 + self.month - 1 - months
        return Month(index // 12, index % 12 + 1)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def __str__(self) -> str:
        return self.key

    @property
    def label(self) -> str:
        return f"{self.first_day():%b %Y}"

    def __lt__(self, other: "Month") -> bool:
        return (self.year, self.month) < (other.year, other.month)

    def __le__(self, other: "Month") -> bool:
        return (self.year, self.month) <= (other.year, other.month)


@dataclass(frozen=True)
class ReportVersion:
    """A numbered protocol version the report can be narrowed to."""

    id: int
    protocol: str  # the protocol's name
    number: int
    slug: str

    @property
    def label(self) -> str:
        """ "Lumbar spine surgery — FBSS prevention (version 2)", as ProtocolVersion.label says it."""
        return f"{self.protocol} (version {self.number})"

    @property
    def file_key(self) -> str:
        """ "lumbar-fbss-v2": the version in an export's file name (the slug kept to a-z, 0-9 and -)."""
        slug = _NOT_IN_FILE_NAME.sub("-", self.slug.lower()).strip("-") or "protocol"
        return f"{slug}-v{self.number}"


T = TypeVar("T")


@dataclass(frozen=True)
class MonthSpan:
    """Consecutive months shown as one line ("Jan–Sep 2026")."""

    first: Month
    last: Month

    @property
    def label(self) -> str:
        if self.first == self.last:
            return self.first.label
        if self.first.year == self.last.year:
            return f"{self.first.first_day():%b}–{self.last.label}"
        return f"{self.first.label}–{self.last.label}"

    folded = True  # what a template tells it from a month's row by

    @property
    def key(self) -> str:
        return f"{self.first.key}/{self.last.key}"


def fold_months(
    rows: Iterable[tuple[Month, T]], empty: Callable[[T], bool]
) -> list[tuple[Month, T] | MonthSpan]:
    """The rows in order, each run of consecutive empty ones folded into one MonthSpan."""
    folded: list[tuple[Month, T] | MonthSpan] = []
    for month, row in rows:
        if not empty(row):
            folded.append((month, row))
        elif folded and isinstance(folded[-1], MonthSpan) and folded[-1].last.next() == month:
            folded[-1] = MonthSpan(folded[-1].first, month)
        else:
            folded.append(MonthSpan(month, month))
    return folded


def month_count(first: Month, last: Month) -> int:
    """How many months from first to last, inclusive (0 when last is before first)."""
    return max(0, (last.year * 12 + last.month) - (first.year * 12 + first.month) + 1)


def months_between(first: Month, last: Month) -> list[Month]:
    """Every month from first to last, inclusive."""
    return [first.minus(-n) for n in range(month_count(first, last))]


MAX_MONTHS = 60


def period_problem(first: Month, last: Month) -> str | None:
    """Why a report period cannot be used, or None."""
    if last < first:
        return "The “from” month is after the “to” month."
    if month_count(first, last) > MAX_MONTHS:
        return f"Choose at most {MAX_MONTHS} months."
    return None
