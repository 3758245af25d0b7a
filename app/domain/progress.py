"""Phase progress and episode flags, computed from items' plain fields."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
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


def episode_flags(items: Iterable[ItemFacts], today: date) -> list[Flag]:
    """Every flag an episode raises today."""
    flag = postop_flag(sum(is_postop_overdue(i, today) for i in items))
    return [flag] if flag else []
