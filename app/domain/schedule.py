"""Due dates and the state an item shows."""

from datetime import date, timedelta

from app.domain.vocab import ItemState, ItemStatus


def due_date(surgery_date: date | None, offset_days: int) -> date | None:
    """Return the date a step is due, or None while surgery is not scheduled."""
    if surgery_date is None:
        return None
    return surgery_date + timedelta(days=offset_days)


def item_state(status: ItemStatus, due: date | None, today: date, due_soon_days: int) -> ItemState:
    """Derive what the user sees from the stored status, the due date and today."""
    if status is ItemStatus.DONE:
        return ItemState.DONE
    if status is ItemStatus.NOT_APPLICABLE:
        return ItemState.NOT_APPLICABLE
    if due is None:
        return ItemState.UNSCHEDULED
    if due < today:
        return ItemState.OVERDUE
    if (due - today).days <= due_soon_days:
        return ItemState.DUE_SOON
    return ItemState.PENDING


def relative_hint(due: date | None, today: date, state: ItemState) -> str:
    """Say how far the due date is from today, for open items ("3 days overdue")."""
    if due is None or state in (ItemState.DONE, ItemState.NOT_APPLICABLE):
        return ""
    days = (due - today).days
    if days < 0:
        return f"{-days} day{'s' if days != -1 else ''} overdue"
    if days == 0:
        return "due today"
    return f"due in {days} day{'s' if days != 1 else ''}"


def day_text(value: date) -> str:
    """A date as the interface shows it: "24 Nov 2026"."""
    return f"{value.day} {value:%b %Y}"


def age_on(date_of_birth: date, today: date) -> int:
    """Return the age in whole years on a given day."""
    before_birthday = (today.month, today.day) < (date_of_birth.month, date_of_birth.day)
    return today.year - date_of_birth.year - before_birthday
