"""Protocol compliance: each required item's outcome, tallies and percentages, months of surgery."""

from datetime import date, timedelta

import pytest

from app.domain.compliance import (
    HIGH_COMPLIANCE_PERCENT,
    MAX_MONTHS,
    Month,
    MonthSpan,
    Outcome,
    Tally,
    fold_months,
    item_outcome,
    meets_target,
    month_count,
    months_between,
    percent_text,
    period_problem,
    total,
)
from app.domain.vocab import ItemStatus

TODAY = date(2026, 6, 17)
DUE = date(2026, 6, 10)


def days(base: date, n: int) -> date:
    return base + timedelta(days=n)


# item_outcome


@pytest.mark.parametrize(
    ("status", "completed_on", "outcome"),
    [
        (ItemStatus.DONE, DUE, Outcome.ON_TIME),
        (ItemStatus.DONE, days(DUE, -5), Outcome.ON_TIME),
        (ItemStatus.DONE, days(DUE, 1), Outcome.LATE),
        (ItemStatus.DONE, TODAY, Outcome.LATE),
        (ItemStatus.DONE, None, Outcome.LATE),
        (ItemStatus.NOT_APPLICABLE, days(DUE, -3), Outcome.ON_TIME),
        (ItemStatus.NOT_APPLICABLE, DUE, Outcome.ON_TIME),
        (ItemStatus.NOT_APPLICABLE, days(DUE, 1), Outcome.LATE),
        (ItemStatus.NOT_APPLICABLE, None, Outcome.LATE),
    ],
    ids=[
        "done-on-due-date",
        "done-early",
        "done-day-after",
        "done-a-week-after",
        "done-without-date",
        "na-before-due",
        "na-on-due-date",
        "na-day-after",
        "na-without-date",
    ],
)
@pytest.mark.parametrize("episode_closed", [False, True])
def test_completed_item_is_on_time_up_to_its_due_date_and_late_after(
    status, completed_on, outcome, episode_closed
):
    assert item_outcome(status, DUE, completed_on, episode_closed, TODAY) is outcome


def test_item_done_on_its_due_date_is_on_time():
    assert item_outcome(ItemStatus.DONE, DUE, DUE, False, TODAY) is Outcome.ON_TIME


def test_item_done_the_day_after_its_due_date_is_late():
    assert item_outcome(ItemStatus.DONE, DUE, days(DUE, 1), False, TODAY) is Outcome.LATE


def test_item_completed_before_it_is_due_counts_as_on_time():
    future_due = days(TODAY, 30)
    assert item_outcome(ItemStatus.DONE, future_due, TODAY, False, TODAY) is Outcome.ON_TIME


def test_completed_item_without_a_completion_date_is_late():
    assert item_outcome(ItemStatus.DONE, days(TODAY, 30), None, False, TODAY) is Outcome.LATE


@pytest.mark.parametrize(
    ("due", "episode_closed", "outcome"),
    [
        (days(TODAY, -1), False, Outcome.MISSED),
        (days(TODAY, -30), False, Outcome.MISSED),
        (TODAY, False, Outcome.NOT_DUE),
        (days(TODAY, 5), False, Outcome.NOT_DUE),
        (days(TODAY, -1), True, Outcome.MISSED),
        (TODAY, True, Outcome.MISSED),
        (days(TODAY, 5), True, Outcome.MISSED),
    ],
    ids=[
        "due-yesterday",
        "due-a-month-ago",
        "due-today",
        "due-in-5-days",
        "closed-due-yesterday",
        "closed-due-today",
        "closed-due-in-5-days",
    ],
)
def test_open_item_is_missed_once_past_due_or_episode_closed(due, episode_closed, outcome):
    assert item_outcome(ItemStatus.OPEN, due, None, episode_closed, TODAY) is outcome


def test_open_item_due_today_is_not_due_yet():
    assert item_outcome(ItemStatus.OPEN, TODAY, None, False, TODAY) is Outcome.NOT_DUE


def test_open_item_due_in_future_of_a_closed_episode_is_missed():
    assert item_outcome(ItemStatus.OPEN, days(TODAY, 10), None, True, TODAY) is Outcome.MISSED


# Tally


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (Outcome.ON_TIME, Tally(counted=1, completed=1, on_time=1, not_due=0)),
        (Outcome.LATE, Tally(counted=1, completed=1, on_time=0, not_due=0)),
        (Outcome.MISSED, Tally(counted=1, completed=0, on_time=0, not_due=0)),
        (Outcome.NOT_DUE, Tally(counted=0, completed=0, on_time=0, not_due=1)),
    ],
)
def test_tally_of_one_outcome(outcome, expected):
    assert Tally.of(outcome) == expected


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (Outcome.ON_TIME, Tally(counted=4, completed=4, on_time=4, not_due=0)),
        (Outcome.LATE, Tally(counted=4, completed=4, on_time=0, not_due=0)),
        (Outcome.MISSED, Tally(counted=4, completed=0, on_time=0, not_due=0)),
        (Outcome.NOT_DUE, Tally(counted=0, completed=0, on_time=0, not_due=4)),
    ],
)
def test_tally_of_several_items_with_one_outcome(outcome, expected):
    assert Tally.of(outcome, 4) == expected


def test_tallies_add_field_by_field():
    assert Tally(1, 2, 3, 4) + Tally(10, 20, 30, 40) == Tally(11, 22, 33, 44)


def test_total_adds_up_every_tally():
    tallies = [Tally.of(Outcome.ON_TIME, 2), Tally.of(Outcome.LATE), Tally.of(Outcome.MISSED, 3)]
    assert total(tallies + [Tally.of(Outcome.NOT_DUE, 5)]) == Tally(
        counted=6, completed=3, on_time=2, not_due=5
    )


def test_total_of_nothing_is_an_empty_tally():
    assert total([]) == Tally(0, 0, 0, 0)
    assert total(iter([])) == Tally()


def test_percents_are_none_when_nothing_was_counted():
    assert Tally().completed_percent is None
    assert Tally().on_time_percent is None


def test_items_not_yet_due_are_never_in_the_denominator():
    only_not_due = Tally.of(Outcome.NOT_DUE, 5)
    assert (only_not_due.completed_percent, only_not_due.on_time_percent) == (None, None)
    tally = Tally(counted=4, completed=3, on_time=1, not_due=10)
    assert tally.completed_percent == 75.0
    assert tally.on_time_percent == 25.0


def test_late_counts_counted_items_not_completed_on_time():
    tally = total([Tally.of(Outcome.ON_TIME, 2), Tally.of(Outcome.LATE, 3), Tally.of(Outcome.MISSED, 4)])
    assert tally.late == 7
    assert Tally.of(Outcome.NOT_DUE, 3).late == 0


@pytest.mark.parametrize(
    ("counted", "completed", "high"),
    [
        (10, 7, True),
        (100, 70, True),
        (20, 14, True),
        (10, 10, True),
        (100, 69, False),
        (1000, 699, False),
        (3, 2, False),
        (10, 0, False),
        (0, 0, False),
    ],
)
def test_high_compliance_from_exactly_70_percent_completed(counted, completed, high):
    assert HIGH_COMPLIANCE_PERCENT == 70
    assert Tally(counted=counted, completed=completed).high_compliance is high


def test_high_compliance_follows_completion_not_punctuality():
    assert Tally(counted=10, completed=7, on_time=0).high_compliance is True


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "–"), (0, "0 %"), (0.0, "0 %"), (100.0, "100 %"), (87.4, "87 %"), (200 / 3, "67 %")],
)
def test_percent_text(value, text):
    assert percent_text(value) == text


def test_on_time_high_compliance_follows_punctuality_not_completion():
    december = Tally(counted=14, completed=13, on_time=9)  # 93 % completed, 64 % on time
    assert december.high_compliance is True
    assert december.on_time_high_compliance is False
    assert Tally(counted=10, completed=10, on_time=7).on_time_high_compliance is True  # exactly 70 %
    assert Tally().on_time_high_compliance is False  # nothing due


@pytest.mark.parametrize(
    ("percent", "met"), [(70, True), (70.0, True), (100, True), (69.99, False), (0, False), (None, False)]
)
def test_meets_target_from_exactly_70_percent(percent, met):
    assert meets_target(percent) is met


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (69.4, "69 %"),
        (69.5, "69.5 %"),  # "70 %" would read as meeting the line it misses
        (100 * 139 / 199, "69.8 %"),
        (69.96, "69.9 %"),  # never "70.0 %"
        (70.0, "70 %"),
        (70.4, "70 %"),
    ],
)
def test_percent_text_never_rounds_a_figure_across_the_70_percent_line(value, text):
    assert percent_text(value) == text


# fold_months


def month_rows(*counted: int) -> list[tuple[Month, int]]:
    """Rows from Jan 2026 on, each with how many items were due."""
    return [(Month(2026, 1).minus(-n), c) for n, c in enumerate(counted)]


def test_fold_months_folds_each_run_of_empty_months_into_one_span_in_place():
    folded = fold_months(month_rows(0, 0, 0, 5, 0, 2, 0, 0), lambda n: n == 0)
    assert folded == [
        MonthSpan(Month(2026, 1), Month(2026, 3)),
        (Month(2026, 4), 5),
        MonthSpan(Month(2026, 5), Month(2026, 5)),
        (Month(2026, 6), 2),
        MonthSpan(Month(2026, 7), Month(2026, 8)),
    ]


def test_fold_months_keeps_rows_with_items_due_and_folds_all_empty_into_one():
    assert fold_months(month_rows(1, 2), lambda n: n == 0) == [(Month(2026, 1), 1), (Month(2026, 2), 2)]
    assert fold_months(month_rows(0, 0, 0), lambda n: n == 0) == [MonthSpan(Month(2026, 1), Month(2026, 3))]
    assert fold_months([], lambda n: n == 0) == []


def test_fold_months_does_not_join_empty_months_that_are_not_consecutive():
    rows = [(Month(2026, 1), 0), (Month(2026, 3), 0)]
    assert fold_months(rows, lambda n: n == 0) == [
        MonthSpan(Month(2026, 1), Month(2026, 1)),
        MonthSpan(Month(2026, 3), Month(2026, 3)),
    ]


@pytest.mark.parametrize(
    ("first", "last", "label", "key"),
    [
        (Month(2026, 1), Month(2026, 9), "Jan–Sep 2026", "2026-01/2026-09"),
        (Month(2025, 7), Month(2026, 4), "Jul 2025–Apr 2026", "2025-07/2026-04"),
        (Month(2026, 4), Month(2026, 4), "Apr 2026", "2026-04/2026-04"),
    ],
)
def test_month_span_label(first, last, label, key):
    span = MonthSpan(first, last)
    assert (span.label, span.key) == (label, key)


# Month


@pytest.mark.parametrize(
    ("text", "month"),
    [("2026-06", Month(2026, 6)), (" 2026-06 ", Month(2026, 6)), ("2026-12", Month(2026, 12))],
)
def test_month_parse_reads_year_dash_month(text, month):
    assert Month.parse(text) == month


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "26-06", "2026/06", "", "abcd-ef", "2026-", "-06", "2026-06-01"]
)
def test_month_parse_refuses_anything_else(text):
    with pytest.raises(ValueError) as raised:
        Month.parse(text)
    assert str(raised.value) == f"not a month: {text!r}"


def test_month_of_a_day_and_its_first_day():
    assert Month.of(date(2026, 6, 17)) == Month(2026, 6)
    assert Month(2026, 6).first_day() == date(2026, 6, 1)


@pytest.mark.parametrize(
    ("month", "following"),
    [
        (Month(2026, 6), Month(2026, 7)),
        (Month(2026, 11), Month(2026, 12)),
        (Month(2026, 12), Month(2027, 1)),
        (Month(2027, 1), Month(2027, 2)),
    ],
)
def test_month_next(month, following):
    assert month.next() == following


@pytest.mark.parametrize(
    ("months", "expected"),
    [
        (0, Month(2026, 1)),
        (1, Month(2025, 12)),
        (12, Month(2025, 1)),
        (13, Month(2024, 12)),
        (-1, Month(2026, 2)),
        (-12, Month(2027, 1)),
    ],
)
def test_month_minus_goes_back_over_january(months, expected):
    assert Month(2026, 1).minus(months) == expected


@pytest.mark.parametrize(
    ("first", "last", "count"),
    [
        (Month(2026, 1), Month(2026, 1), 1),
        (Month(2026, 1), Month(2026, 12), 12),
        (Month(2025, 11), Month(2026, 2), 4),
        (Month(2022, 1), Month(2026, 12), 60),
        (Month(2026, 2), Month(2026, 1), 0),
        (Month(2027, 1), Month(2026, 1), 0),
    ],
)
def test_month_count_is_inclusive_and_zero_when_reversed(first, last, count):
    assert month_count(first, last) == count


def test_months_between_lists_every_month_over_a_year_end():
    assert months_between(Month(2025, 11), Month(2026, 2)) == [
        Month(2025, 11),
        Month(2025, 12),
        Month(2026, 1),
        Month(2026, 2),
    ]


def test_months_between_one_month_and_reversed():
    assert months_between(Month(2026, 6), Month(2026, 6)) == [Month(2026, 6)]
    assert months_between(Month(2026, 7), Month(2026, 6)) == []


def test_months_order_by_year_then_month():
    months = [Month(2026, 1), Month(2025, 12), Month(2026, 11), Month(2025, 2)]
    assert sorted(months) == [Month(2025, 2), Month(2025, 12), Month(2026, 1), Month(2026, 11)]
    assert Month(2025, 12) < Month(2026, 1)
    assert Month(2026, 1) <= Month(2026, 1)
    assert not Month(2026, 1) < Month(2026, 1)
    assert Month(2026, 2) > Month(2026, 1)
    assert Month(2026, 1) >= Month(2025, 12)
    assert max(months) == Month(2026, 11)


@pytest.mark.parametrize(
    ("month", "text", "label"),
    [(Month(2026, 6), "2026-06", "Jun 2026"), (Month(2026, 12), "2026-12", "Dec 2026")],
)
def test_month_as_text_and_label(month, text, label):
    assert str(month) == text
    assert month.key == text
    assert month.label == label


def test_month_text_parses_back():
    assert Month.parse(str(Month(2026, 3))) == Month(2026, 3)


# period_problem


def test_period_with_from_after_to_is_refused():
    assert period_problem(Month(2026, 7), Month(2026, 6)) == "The “from” month is after the “to” month."


@pytest.mark.parametrize(
    ("first", "last"),
    [(Month(2026, 6), Month(2026, 6)), (Month(2025, 7), Month(2026, 6)), (Month(2022, 1), Month(2026, 12))],
)
def test_period_of_up_to_60_months_is_fine(first, last):
    assert period_problem(first, last) is None


def test_period_of_61_months_is_refused():
    assert MAX_MONTHS == 60
    assert month_count(Month(2021, 12), Month(2026, 12)) == 61
    assert period_problem(Month(2021, 12), Month(2026, 12)) == "Choose at most 60 months."
