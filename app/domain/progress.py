"""Phase progress, computed from items' plain fields (the flags are in app/domain/flags.py)."""

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
    overdue_from: date | None  # the first day it is overdue, after its grace days


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
