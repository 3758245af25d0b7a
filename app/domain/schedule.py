"""Due dates and the state an item shows."""

import functools
from datetime import date, timedelta

from app.domain.vocab import ItemState, ItemStatus


def due_date(surgery_date: date | None, offset_days: int) -> date | None:
    """Return the date a step is due, or None while surgery is not scheduled."""
    if surgery_date is None:
        return None
    return surgery_date + timedelta(days=offset_days)


def overdue_from(due: date | None, grace_days: int = 0) -> date | None:
    """The first day an open item is overdue: the day after its due date and grace days."""
    return None if due is None else due + timedelta(days=grace_days + 1)


def item_state(
    status: ItemStatus,
    due: date | None,
    today: date,
    due_soon_days: int,
    overdue_on: date | None = None,
    waiting: bool = False,
) -> ItemState:
    """Derive what the user sees from the stored status, the due date (and the first day it is
    overdue, after any grace days: `overdue_from`; the day after the due date without) and today.
    `waiting`: a conditional item whose condition does not hold (app/domain/requirement.py)."""
    if status is ItemStatus.DONE:
        return ItemState.DONE
    if status is ItemStatus.NOT_APPLICABLE:
        return ItemState.NOT_APPLICABLE
    if waiting:
        return ItemState.NOT_REQUIRED
    if due is None:
        return ItemState.UNSCHEDULED
    if today >= (overdue_on or overdue_from(due)):
        return ItemState.OVERDUE
    if due < today:
        return ItemState.DUE_NOW
    if due == today:
        return ItemState.DUE_TODAY
    if (due - today).days <= due_soon_days:
        return ItemState.DUE_SOON
    return ItemState.PENDING


def relative_hint(due: date | None, today: date, state: ItemState, overdue_on: date | None = None) -> str:
    """Say how far the due date is from today, for open items ("3 days overdue")."""
    if due is None or state in (ItemState.DONE, ItemState.NOT_APPLICABLE, ItemState.NOT_REQUIRED):
        return ""
    days = (due - today).days
    if state is ItemState.DUE_NOW:
        last = (overdue_on or overdue_from(due)) - timedelta(days=1)
        return f"grace until {day_text(last)}"
    if days < 0:
        return f"{-days} day{'s' if days != -1 else ''} overdue"
    if days == 0:
        return "due today"
    return f"due in {days} day{'s' if days != 1 else ''}"


@functools.lru_cache(maxsize=4096)
def day_text(value: date) -> str:
    """A date as the interface shows it: "24 Nov 2026" (kept for the dates a page repeats: an
    episode page writes a hundred-odd)."""
    return f"{value.day} {value:%b %Y}"


def age_on(date_of_birth: date, today: date) -> int:
    """Return the age in whole years on a given day."""
    before_birthday = (today.month, today.day) < (date_of_birth.month, date_of_birth.day)
    return today.year - date_of_birth.year - before_birthday
