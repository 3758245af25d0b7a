"""Outcome windows (CLINICAL-RULES §6): scores dated inside their time point's window, today's
rule without one, unscheduled episodes, the baseline the flags judge, and moving surgery."""

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from app.domain.outcomes import (
    Window,
    judged_scores,
    next_time_point,
    recording_problems,
    stale_baseline_reason,
    window_for,
    window_of,
)
from app.domain.rescheduling import move_problems, move_refusal
from app.domain.vocab import Attendance, Discipline, Instrument, TimePoint

BASE, W6, M3 = TimePoint.BASELINE, TimePoint.WEEKS_6, TimePoint.MONTHS_3
SURGERY = date(2026, 12, 15)  # the 6-week window: 12 Jan to 16 Feb 2027
TODAY = date(2027, 12, 31)
W6_WINDOW = Window(28, 63)
BASELINE_WINDOW = Window(-90, 0)
WINDOWS = {BASE: BASELINE_WINDOW, W6: W6_WINDOW, M3: Window(70, 120)}
W6_MESSAGE = "6-week scores must be dated between 12 Jan and 16 Feb 2027 (days 28–63 after surgery)."


def day(n: int) -> date:
    return SURGERY + timedelta(days=n)


@pytest.mark.parametrize(
    ("taken_on", "allowed"),
    [(day(27), False), (day(28), True), (day(42), True), (day(63), True), (day(64), False)],
)
def test_a_follow_up_is_dated_inside_its_window_first_and_last_day_included(taken_on, allowed):
    problems = recording_problems(W6, taken_on, SURGERY, TODAY, W6_WINDOW)
    assert problems == ([] if allowed else [W6_MESSAGE])


@pytest.mark.parametrize(
    ("taken_on", "allowed"), [(day(-91), False), (day(-90), True), (day(0), True), (day(1), False)]
)
def test_a_baseline_is_dated_inside_its_window(taken_on, allowed):
    problems = recording_problems(BASE, taken_on, SURGERY, TODAY, BASELINE_WINDOW)
    assert problems == (
        []
        if allowed
        else [
            "Baseline scores must be dated between 16 Sep and 15 Dec 2026 "
            "(from 90 days before surgery to the day of surgery)."
        ]
    )


def test_a_window_across_new_year_names_both_years():
    problems = recording_problems(M3, date(2026, 2, 1), date(2025, 10, 1), TODAY, Window(70, 120))
    assert problems == [
        "3-month scores must be dated between 10 Dec 2025 and 29 Jan 2026 (days 70–120 after surgery)."
    ]


def test_without_windows_today_s_rule_holds():
    assert recording_problems(W6, day(300), SURGERY, TODAY) == []  # far beyond any window
    assert recording_problems(W6, day(300), SURGERY, TODAY, window_of(W6)) == []
    assert recording_problems(W6, day(0), SURGERY, TODAY, window_of(W6)) == [
        "Follow-up scores are taken after surgery: after 15 Dec 2026."
    ]
    assert recording_problems(BASE, day(-400), SURGERY, TODAY, window_of(BASE)) == []
    assert recording_problems(BASE, day(1), SURGERY, TODAY, window_of(BASE)) == [
        "Baseline scores are taken before surgery: on or before 15 Dec 2026."
    ]


def test_while_unscheduled_only_baseline_scores_can_be_recorded():
    assert recording_problems(BASE, date(2020, 1, 1), None, TODAY, BASELINE_WINDOW) == []
    message = (
        "While surgery is not scheduled only baseline scores can be recorded: schedule the surgery first."
    )
    assert recording_problems(W6, TODAY, None, TODAY, W6_WINDOW) == [message]


def test_a_date_in_the_future_and_outside_the_window_gives_both_reasons():
    assert recording_problems(W6, TODAY + timedelta(days=1), SURGERY, TODAY, W6_WINDOW) == [
        "The date taken cannot be in the future.",
        W6_MESSAGE,
    ]


@dataclass(frozen=True)
class Step:
    outcome_time_point: TimePoint | None
    window_from_days: int | None = None
    window_until_days: int | None = None


def test_the_window_is_the_outcome_step_s_and_today_s_rule_without_one():
    steps = [Step(None), Step(W6, 28, 63), Step(BASE)]
    assert window_for(W6, steps) == W6_WINDOW
    assert window_for(BASE, steps) == Window(None, 0, declared=False)
    assert window_for(M3, steps) == Window(1, None, declared=False)


@dataclass(frozen=True)
class Score:
    time_point: TimePoint
    instrument: Instrument
    value: int
    taken_on: date


def _rows(baseline_on: date) -> list[Score]:
    return [Score(BASE, Instrument.ODI, 40, baseline_on), Score(W6, Instrument.ODI, 38, day(40))]


def test_the_flags_judge_only_a_baseline_inside_its_window():
    inside = judged_scores(_rows(day(-90)), SURGERY, BASELINE_WINDOW)
    assert inside == {BASE: {Instrument.ODI: 40}, W6: {Instrument.ODI: 38}}
    outside = judged_scores(_rows(day(-91)), SURGERY, BASELINE_WINDOW)
    assert outside == {W6: {Instrument.ODI: 38}}
    assert judged_scores(_rows(day(-91)), None, BASELINE_WINDOW)[BASE]  # unscheduled: not judged


def test_why_a_baseline_is_taken_again():
    assert stale_baseline_reason(day(-90), SURGERY, BASELINE_WINDOW) is None
    assert stale_baseline_reason(day(-91), SURGERY, BASELINE_WINDOW) == (
        "Baseline older than 90 days before the new surgery date: record it again"
    )
    assert stale_baseline_reason(day(1), SURGERY, BASELINE_WINDOW) == (
        "Baseline taken after the new surgery date: record it again"
    )


@dataclass(frozen=True)
class Session:
    id: int
    session_date: date
    discipline: Discipline = Discipline.PT
    attendance: Attendance = Attendance.ATTENDED
    prehabilitation: bool = False


def test_moving_surgery_lists_follow_ups_leaving_their_window_and_sessions_before_it():
    taken = {BASE: day(-200), W6: day(30), M3: day(100)}
    sessions = [Session(1, day(5)), Session(2, day(-10), prehabilitation=True), Session(3, day(1))]
    assert move_problems(SURGERY, taken, WINDOWS, sessions) == []
    moved = SURGERY + timedelta(days=3)  # 6 weeks now day 27; the session of day 1 before surgery
    problems = move_problems(moved, taken, WINDOWS, sessions)
    assert problems == [
        "the 6-week scores dated 14 Jan 2027 (they must be dated between 15 Jan and 19 Feb 2027 "
        "(days 28–63 after surgery))",
        "the PT session of 16 Dec 2026 (attended, not prehabilitation) before the new surgery date",
    ]
    assert move_refusal(moved, problems).startswith(
        "The surgery date cannot move to 18 Dec 2026 until these are corrected first: the 6-week scores"
    )


def test_clearing_the_surgery_date_is_refused_while_follow_ups_or_post_op_sessions_exist():
    problems = move_problems(None, {BASE: day(-5), W6: day(30)}, WINDOWS, [Session(1, day(5))])
    assert problems == [
        "the 6-week scores dated 14 Jan 2027 (with no surgery date only baseline scores can be kept)",
        "the PT session of 20 Dec 2026 (attended, not prehabilitation) while surgery is unscheduled",
    ]
    assert move_problems(None, {BASE: day(-5)}, WINDOWS, [Session(1, day(-5), prehabilitation=True)]) == []


def test_without_windows_follow_ups_only_stay_after_surgery():
    today_s_rule = {tp: window_of(tp) for tp in TimePoint}
    taken = {W6: day(300)}
    assert move_problems(day(200), taken, today_s_rule, []) == []
    assert move_problems(day(300), taken, today_s_rule, []) == [
        "the 6-week scores dated 11 Oct 2027 (follow-up scores are taken after surgery)"
    ]


# the time point due next: what the Record form offers first

M6, M12 = TimePoint.MONTHS_6, TimePoint.MONTHS_12
ALL_WINDOWS = {**WINDOWS, M6: Window(150, 240), M12: Window(300, 450)}


@pytest.mark.parametrize(
    ("recorded", "today", "due"),
    [
        ((), day(-10), BASE),
        ((), day(100), BASE),  # baseline first while it is missing, even after surgery
        ((BASE,), day(-10), W6),  # no window open yet: the next to open
        ((BASE,), day(40), W6),
        ((BASE, W6), day(40), M3),  # 6 weeks recorded: the next to open
        ((BASE, W6), day(77), M3),  # not baseline, although baseline and 6 weeks are recorded
        ((BASE,), day(77), M3),  # 6 weeks missed (its window has passed): the open 3 months
        ((BASE,), day(65), M3),  # between windows: the next to open, not the one just passed
        ((BASE, W6, M3), day(200), M6),
        ((BASE, W6, M3, M6), day(130), M12),
        ((BASE, W6, M3, M6), day(500), M12),  # every window left has passed: the earliest left
        ((BASE, M3, M6, M12), day(500), W6),
        ((BASE, W6, M3, M6, M12), day(400), None),  # every time point recorded
    ],
)
def test_the_time_point_due_next_is_the_earliest_not_recorded_whose_window_is_open_or_next(
    recorded, today, due
):
    assert next_time_point(set(recorded), SURGERY, today, ALL_WINDOWS) == due


def test_while_surgery_is_unscheduled_only_baseline_is_due():
    assert next_time_point(set(), None, TODAY, ALL_WINDOWS) is BASE
    assert next_time_point({BASE}, None, TODAY, ALL_WINDOWS) is None


def test_without_windows_a_follow_up_is_open_from_the_day_after_surgery():
    assert next_time_point({BASE}, SURGERY, day(0), {}) is W6
    assert next_time_point({BASE, W6}, SURGERY, day(2), {}) is M3
