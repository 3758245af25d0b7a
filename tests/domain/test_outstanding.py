"""Outstanding items: each open state's due-date window, days overdue, filters in words, pages."""

from datetime import date, timedelta

import pytest

from app.domain.outstanding import (
    OPEN_STATES,
    PAGE_SIZE,
    OutstandingFilters,
    Window,
    date_range_problem,
    days_overdue,
    page_count,
    state_window,
)
from app.domain.schedule import day_text, item_state, overdue_from
from app.domain.vocab import ItemState, ItemStatus, Phase, Role

TODAY = date(2026, 6, 17)


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


def contains(window: Window, due: date | None, overdue_on: date | None = None) -> bool:
    """Whether an item with this due date (and first overdue day) falls in a window: bounds
    inclusive, None open-ended; unscheduled windows hold only the items without a due date."""
    if not window.scheduled:
        return due is None
    if due is None:
        return False
    overdue_on = overdue_on or overdue_from(due)
    return (
        (window.first is None or window.first <= due)
        and (window.last is None or due <= window.last)
        and (window.overdue_first is None or window.overdue_first <= overdue_on)
        and (window.overdue_last is None or overdue_on <= window.overdue_last)
    )


# state_window


def _cases():
    # Mid-year, over a year end and over a leap day, for each due-soon setting.
    for today in (TODAY, date(2026, 12, 30), date(2028, 2, 27)):
        for due_soon_days in (0, 3, 10):
            dues = [today + timedelta(days=n) for n in range(-20, due_soon_days + 6)]
            for due in [*dues, None]:
                for grace in (0, 3, 14):
                    yield pytest.param(
                        today, due_soon_days, due, grace, id=f"{today}-N{due_soon_days}-{due}-G{grace}"
                    )


@pytest.mark.parametrize(("today", "due_soon_days", "due", "grace"), list(_cases()))
def test_open_item_state_is_the_one_state_whose_window_holds_it(today, due_soon_days, due, grace):
    overdue_on = overdue_from(due, grace)
    holding = [s for s in OPEN_STATES if contains(state_window(s, today, due_soon_days), due, overdue_on)]
    assert holding == [item_state(ItemStatus.OPEN, due, today, due_soon_days, overdue_on)]


@pytest.mark.parametrize(
    ("due", "grace", "state"),
    [
        (days(-15), 14, ItemState.OVERDUE),
        (days(-14), 14, ItemState.DUE_NOW),  # the last day of grace
        (days(-1), 14, ItemState.DUE_NOW),
        (days(-1), 0, ItemState.OVERDUE),
        (days(0), 14, ItemState.DUE_TODAY),
        (days(0), 0, ItemState.DUE_TODAY),
        (days(1), 0, ItemState.DUE_SOON),
        (days(3), 0, ItemState.DUE_SOON),
        (days(4), 0, ItemState.PENDING),
    ],
)
def test_grace_days_make_an_item_due_now_before_it_is_overdue(due, grace, state):
    assert item_state(ItemStatus.OPEN, due, TODAY, 3, overdue_from(due, grace)) is state


@pytest.mark.parametrize(
    ("state", "due_soon_days", "expected"),
    [
        (ItemState.OVERDUE, 3, Window(overdue_last=date(2026, 6, 17))),
        (ItemState.DUE_NOW, 3, Window(last=date(2026, 6, 16), overdue_first=date(2026, 6, 18))),
        (ItemState.DUE_TODAY, 3, Window(first=date(2026, 6, 17), last=date(2026, 6, 17))),
        (ItemState.DUE_SOON, 3, Window(first=date(2026, 6, 18), last=date(2026, 6, 20))),
        (ItemState.DUE_SOON, 0, Window(first=date(2026, 6, 18), last=date(2026, 6, 17))),
        (ItemState.PENDING, 3, Window(first=date(2026, 6, 21))),
        (ItemState.PENDING, 0, Window(first=date(2026, 6, 18))),
        (ItemState.UNSCHEDULED, 3, Window(scheduled=False)),
    ],
)
def test_state_window_bounds(state, due_soon_days, expected):
    assert state_window(state, TODAY, due_soon_days) == expected


def test_open_states_are_listed_overdue_first():
    assert OPEN_STATES == (
        ItemState.OVERDUE,
        ItemState.DUE_NOW,
        ItemState.DUE_TODAY,
        ItemState.DUE_SOON,
        ItemState.PENDING,
        ItemState.UNSCHEDULED,
    )


@pytest.mark.parametrize("state", [ItemState.DONE, ItemState.NOT_APPLICABLE])
def test_state_window_refuses_states_of_completed_items(state):
    with pytest.raises(ValueError, match=f"^{state.value} is not a state of an open item$"):
        state_window(state, TODAY, 3)


# days_overdue


@pytest.mark.parametrize(
    ("due", "expected"),
    [(None, 0), (days(5), 0), (days(1), 0), (TODAY, 0), (days(-1), 1), (days(-2), 2), (days(-30), 30)],
)
def test_days_overdue_counts_whole_days_past_the_due_date(due, expected):
    assert days_overdue(due, TODAY) == expected


def test_days_overdue_counts_across_a_year_end():
    assert days_overdue(date(2025, 12, 31), date(2026, 1, 2)) == 2


# OutstandingFilters.describe


def test_no_filters_describe_all_outstanding_items():
    assert OutstandingFilters().describe() == "all outstanding items"
    assert OutstandingFilters().describe("Dr Sara Surgeon") == "all outstanding items"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (OutstandingFilters(phase=Phase.BEFORE), "Before surgery"),
        (OutstandingFilters(phase=Phase.DURING), "During surgery"),
        (OutstandingFilters(phase=Phase.AFTER), "After surgery"),
        (OutstandingFilters(state=ItemState.OVERDUE), "Overdue"),
        (OutstandingFilters(state=ItemState.DUE_SOON), "Due soon"),
        (OutstandingFilters(state=ItemState.PENDING), "Pending"),
        (OutstandingFilters(state=ItemState.UNSCHEDULED), "Unscheduled"),
        (OutstandingFilters(role=Role.NURSE), "Nurse items"),
        (OutstandingFilters(role=Role.ANAESTHETIST), "Anaesthetist items"),
        (OutstandingFilters(surgeon_id=7), "surgeon 7"),
        (OutstandingFilters(due_from=date(2026, 6, 1)), "due from 2026-06-01"),
        (OutstandingFilters(due_to=date(2026, 6, 30)), "due to 2026-06-30"),
        (OutstandingFilters(required_only=True), "required only"),
        (OutstandingFilters(flagged_only=True), "flagged episodes only"),
        (OutstandingFilters(patient="doe"), "patient “doe”"),
    ],
)
def test_describe_names_each_filter(filters, expected):
    assert filters.describe() == expected


def test_describe_names_the_surgeon_when_given_the_name():
    assert OutstandingFilters(surgeon_id=7).describe("Dr Sara Surgeon") == "surgeon Dr Sara Surgeon"


def test_describe_joins_every_filter_in_a_fixed_order():
    filters = OutstandingFilters(
        phase=Phase.AFTER,
        state=ItemState.OVERDUE,
        role=Role.NURSE,
        surgeon_id=7,
        due_from=date(2026, 6, 1),
        due_to=date(2026, 6, 30),
        required_only=True,
        flagged_only=True,
        patient="doe",
    )
    assert filters.describe("Dr Sara Surgeon") == (
        "After surgery; Overdue; Nurse items; surgeon Dr Sara Surgeon; due from 2026-06-01; "
        "due to 2026-06-30; required only; flagged episodes only; patient “doe”"
    )


def test_describe_of_two_filters():
    filters = OutstandingFilters(state=ItemState.OVERDUE, role=Role.THERAPIST)
    assert filters.describe() == "Overdue; Therapist items"


def test_describe_writes_dates_as_told_for_the_page():
    filters = OutstandingFilters(due_from=date(2026, 6, 1), due_to=date(2026, 6, 30))
    assert filters.describe(date_text=day_text) == "due from 1 Jun 2026; due to 30 Jun 2026"
    assert filters.describe() == "due from 2026-06-01; due to 2026-06-30"  # exports and the audit trail


@pytest.mark.parametrize(
    ("filters", "narrows"),
    [
        (OutstandingFilters(), False),
        (OutstandingFilters(patient=""), False),
        (OutstandingFilters(state=ItemState.OVERDUE), True),
        (OutstandingFilters(safety_only=True), True),
        (OutstandingFilters(patient="doe"), True),
        (OutstandingFilters(surgeon_id=7), True),
    ],
)
def test_filters_narrow_the_list_when_any_is_set(filters, narrows):
    assert filters.narrows is narrows


# OutstandingFilters.without_state


def test_without_state_keeps_every_other_filter():
    filters = OutstandingFilters(
        phase=Phase.AFTER,
        state=ItemState.DUE_SOON,
        role=Role.NURSE,
        surgeon_id=7,
        due_from=date(2026, 6, 1),
        due_to=date(2026, 6, 30),
        required_only=True,
        flagged_only=True,
        patient="doe",
    )
    assert filters.without_state() == OutstandingFilters(
        phase=Phase.AFTER,
        role=Role.NURSE,
        surgeon_id=7,
        due_from=date(2026, 6, 1),
        due_to=date(2026, 6, 30),
        required_only=True,
        flagged_only=True,
        patient="doe",
    )
    assert filters.state is ItemState.DUE_SOON  # the original is unchanged


def test_without_state_of_filters_without_a_state_is_equal():
    filters = OutstandingFilters(role=Role.NURSE)
    assert filters.without_state() == filters
    assert OutstandingFilters().without_state() == OutstandingFilters()


# date_range_problem


@pytest.mark.parametrize(
    ("due_from", "due_to"),
    [(None, None), (TODAY, None), (None, TODAY), (TODAY, TODAY), (TODAY, days(1))],
)
def test_date_range_is_fine_when_open_or_in_order(due_from, due_to):
    assert date_range_problem(due_from, due_to) is None


def test_date_range_from_after_to_is_refused():
    assert date_range_problem(days(1), TODAY) == "The “due from” date is after the “due to” date."


# page_count


@pytest.mark.parametrize(("total", "pages"), [(0, 1), (1, 1), (49, 1), (50, 1), (51, 2), (100, 2), (101, 3)])
def test_page_count_of_50_rows_a_page(total, pages):
    assert PAGE_SIZE == 50
    assert page_count(total) == pages


@pytest.mark.parametrize(("total", "pages"), [(0, 1), (3, 1), (4, 2), (10, 4)])
def test_page_count_with_another_page_size(total, pages):
    assert page_count(total, page_size=3) == pages


def test_days_overdue_is_zero_during_grace_then_counts_from_the_due_date():
    due = days(-10)
    assert days_overdue(due, TODAY, overdue_from(due, 14)) == 0
    assert days_overdue(due, TODAY, overdue_from(due, 9)) == 10
    assert days_overdue(due, TODAY, overdue_from(due, 10)) == 0  # the last day of grace
