"""Due dates, the state an item shows, the relative hint and age."""

from datetime import date, timedelta

import pytest

from app.domain.schedule import age_on, due_date, item_state, relative_hint
from app.domain.vocab import ItemState, ItemStatus

TODAY = date(2026, 6, 17)
DUE_SOON = 3


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


# due_date


def test_due_date_is_none_while_surgery_is_unscheduled():
    assert due_date(None, 0) is None
    assert due_date(None, -14) is None
    assert due_date(None, 90) is None


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (0, date(2026, 6, 17)),
        (-1, date(2026, 6, 16)),
        (-30, date(2026, 5, 18)),
        (1, date(2026, 6, 18)),
        (14, date(2026, 7, 1)),
        (365, date(2027, 6, 17)),
    ],
)
def test_due_date_is_surgery_date_plus_offset(offset, expected):
    assert due_date(TODAY, offset) == expected


def test_due_date_crosses_month_and_leap_day():
    assert due_date(date(2028, 2, 28), 1) == date(2028, 2, 29)
    assert due_date(date(2028, 3, 1), -1) == date(2028, 2, 29)
    assert due_date(date(2026, 12, 31), 1) == date(2027, 1, 1)


# item_state


def test_open_item_due_yesterday_is_overdue():
    assert item_state(ItemStatus.OPEN, days(-1), TODAY, DUE_SOON) is ItemState.OVERDUE


def test_open_item_long_past_due_is_overdue():
    assert item_state(ItemStatus.OPEN, days(-400), TODAY, DUE_SOON) is ItemState.OVERDUE


def test_open_item_due_today_is_due_today_not_overdue():
    assert item_state(ItemStatus.OPEN, TODAY, TODAY, DUE_SOON) is ItemState.DUE_TODAY


def test_open_item_due_exactly_due_soon_days_ahead_is_due_soon():
    assert item_state(ItemStatus.OPEN, days(DUE_SOON), TODAY, DUE_SOON) is ItemState.DUE_SOON


def test_open_item_due_one_day_beyond_due_soon_window_is_pending():
    assert item_state(ItemStatus.OPEN, days(DUE_SOON + 1), TODAY, DUE_SOON) is ItemState.PENDING


def test_due_soon_window_of_zero_days_leaves_only_today():
    assert item_state(ItemStatus.OPEN, TODAY, TODAY, 0) is ItemState.DUE_TODAY
    assert item_state(ItemStatus.OPEN, days(1), TODAY, 0) is ItemState.PENDING


def test_open_item_without_due_date_is_unscheduled():
    assert item_state(ItemStatus.OPEN, None, TODAY, DUE_SOON) is ItemState.UNSCHEDULED


@pytest.mark.parametrize("due", [days(-10), days(-1), TODAY, days(2), days(30), None])
def test_done_wins_over_any_due_date(due):
    assert item_state(ItemStatus.DONE, due, TODAY, DUE_SOON) is ItemState.DONE


@pytest.mark.parametrize("due", [days(-10), days(-1), TODAY, days(2), days(30), None])
def test_not_applicable_wins_over_any_due_date(due):
    assert item_state(ItemStatus.NOT_APPLICABLE, due, TODAY, DUE_SOON) is ItemState.NOT_APPLICABLE


def test_item_state_labels_read_as_words():
    assert ItemState.DUE_SOON.label == "Due soon"
    assert ItemState.NOT_APPLICABLE.label == "Not applicable"
    assert ItemState.OVERDUE.label == "Overdue"


# relative_hint


@pytest.mark.parametrize(
    ("offset", "hint"),
    [
        (-1, "1 day overdue"),
        (-3, "3 days overdue"),
        (-100, "100 days overdue"),
        (0, "due today"),
        (1, "due in 1 day"),
        (2, "due in 2 days"),
        (45, "due in 45 days"),
    ],
)
def test_relative_hint_wording_for_open_items(offset, hint):
    due = days(offset)
    state = item_state(ItemStatus.OPEN, due, TODAY, DUE_SOON)
    assert relative_hint(due, TODAY, state) == hint


def test_relative_hint_is_empty_when_unscheduled():
    assert relative_hint(None, TODAY, ItemState.UNSCHEDULED) == ""


@pytest.mark.parametrize("state", [ItemState.DONE, ItemState.NOT_APPLICABLE])
def test_relative_hint_is_empty_for_closed_items_even_when_past_due(state):
    assert relative_hint(days(-5), TODAY, state) == ""


# age_on


def test_age_on_the_birthday_counts_the_new_year():
    assert age_on(date(1970, 6, 17), TODAY) == 56


def test_age_on_the_day_before_the_birthday_is_one_less():
    assert age_on(date(1970, 6, 18), TODAY) == 55


def test_age_on_the_day_after_the_birthday():
    assert age_on(date(1970, 6, 16), TODAY) == 56


def test_age_earlier_month_later_day_has_had_birthday():
    assert age_on(date(1970, 5, 30), TODAY) == 56


def test_age_later_month_earlier_day_has_not_had_birthday():
    assert age_on(date(1970, 7, 1), TODAY) == 55


def test_age_of_leap_day_baby_turns_over_on_first_of_march_in_common_years():
    dob = date(2000, 2, 29)
    assert age_on(dob, date(2026, 2, 28)) == 25
    assert age_on(dob, date(2026, 3, 1)) == 26
    assert age_on(dob, date(2028, 2, 29)) == 28


def test_age_on_day_of_birth_is_zero():
    assert age_on(TODAY, TODAY) == 0
