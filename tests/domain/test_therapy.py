"""Therapy rules: which sessions count for a step, the pro-rata plan, the behind-plan flag, entry checks."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import count

import pytest

from app.domain.flags import EpisodeFacts, episode_flags, missed_in_a_row, therapy_flag
from app.domain.site import SiteDay
from app.domain.therapy import (
    SessionInput,
    SessionsPlan,
    attended_count,
    expected_by,
    plan_of,
    satisfied,
    session_problems,
    sessions_text,
    step_progress,
)
from app.domain.vocab import Attendance, Discipline, ItemStatus, Phase, StepKind

SURGERY = date(2026, 6, 1)
PT, OT = Discipline.PT, Discipline.OT
ATTENDED, MISSED = Attendance.ATTENDED, Attendance.MISSED
_ids = count(1)


@dataclass
class S:
    day: int  # days from surgery
    discipline: Discipline = PT
    attendance: Attendance = ATTENDED
    prehabilitation: bool = False
    id: int = field(default_factory=lambda: next(_ids))

    @property
    def session_date(self) -> date:
        return SURGERY + timedelta(days=self.day)


def plan(count=8, discipline=PT, from_days=14, due=90, phase=Phase.AFTER, required=True) -> SessionsPlan:
    return SessionsPlan(phase, discipline, count, from_days, SURGERY + timedelta(days=due), required)


def on(day: int) -> date:
    return SURGERY + timedelta(days=day)


# --- counting -------------------------------------------------------------------------


def test_only_attended_sessions_of_the_steps_discipline_count():
    sessions = [
        S(20),
        S(21, OT),
        S(22, attendance=MISSED),
        S(23, attendance=Attendance.CANCELLED_BY_PATIENT),
        S(24, attendance=Attendance.CANCELLED_BY_CLINIC),
        S(25),
    ]
    assert attended_count(plan(), sessions, SURGERY) == 2
    assert attended_count(plan(discipline=OT), sessions, SURGERY) == 1


def test_window_runs_from_surgery_plus_from_days_to_the_due_date_inclusive():
    sessions = [S(13), S(14), S(90), S(91)]
    assert attended_count(plan(), sessions, SURGERY) == 2


def test_window_without_from_days_starts_on_surgery_day_after_surgery():
    sessions = [S(-1, prehabilitation=True), S(0), S(1), S(2)]
    assert attended_count(plan(count=1, from_days=None, due=1), sessions, SURGERY) == 2


def test_before_surgery_step_counts_only_prehabilitation_sessions():
    before = plan(count=1, from_days=-90, due=-14, phase=Phase.BEFORE)
    assert attended_count(before, [S(-30)], SURGERY) == 0
    assert attended_count(before, [S(-30, prehabilitation=True)], SURGERY) == 1
    assert attended_count(before, [S(-10, prehabilitation=True)], SURGERY) == 0  # after its due date


def test_before_surgery_step_without_from_days_counts_anything_before_surgery():
    before = plan(count=1, from_days=None, due=-1, phase=Phase.BEFORE)
    assert attended_count(before, [S(-400, prehabilitation=True)], SURGERY) == 1
    assert attended_count(before, [S(0, prehabilitation=True)], SURGERY) == 0


def test_nothing_counts_while_surgery_is_unscheduled():
    assert attended_count(plan(), [S(20)], None) == 0


def test_satisfied_when_the_count_is_reached():
    assert satisfied(plan(count=2), [S(20)], SURGERY) is None
    assert satisfied(plan(count=2), [S(20), S(30)], SURGERY) == 2


# --- pro-rata plan ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (0, 0),  # before the window starts
        (14, 0),  # window starts
        (33, 2),  # 8 * 19 / 76 = 2.0
        (52, 4),  # 8 * 38 / 76 = 4.0
        (51, 3),  # rounded down
        (90, 8),  # due date
        (200, 8),  # after the due date: the whole plan
    ],
)
def test_expected_sessions_pro_rata_over_the_window(today, expected):
    assert expected_by(plan(), SURGERY, on(today)) == expected


def test_a_one_day_window_expects_everything_on_its_due_date():
    mobilise = plan(count=1, from_days=0, due=1)
    assert expected_by(mobilise, SURGERY, on(0)) == 0
    assert expected_by(mobilise, SURGERY, on(1)) == 1


def test_behind_when_fewer_attended_than_expected_and_still_open():
    progress = step_progress(plan(), ItemStatus.OPEN, [S(20), S(30)], SURGERY, on(52))
    assert (progress.attended, progress.expected, progress.behind) == (2, 4, True)
    assert progress.label == "2 of 8 PT sessions"
    assert not step_progress(plan(), ItemStatus.DONE, [S(20)], SURGERY, on(52)).behind
    assert not step_progress(plan(), ItemStatus.NOT_APPLICABLE, [], SURGERY, on(52)).behind
    on_plan = [S(d) for d in (20, 25, 30, 35)]
    assert not step_progress(plan(), ItemStatus.OPEN, on_plan, SURGERY, on(52)).behind


def test_an_optional_step_is_never_behind():
    optional = plan(count=1, discipline=OT, from_days=0, due=2, required=False)
    assert not step_progress(optional, ItemStatus.OPEN, [], SURGERY, on(10)).behind


# --- missed in a row and the flag -------------------------------------------------------


def test_two_most_recent_sessions_missed():
    assert missed_in_a_row([S(20), S(25, attendance=MISSED), S(22, attendance=MISSED)])
    assert not missed_in_a_row([S(25, attendance=MISSED), S(20, attendance=MISSED), S(30)])
    assert not missed_in_a_row([S(25, attendance=MISSED)])
    assert not missed_in_a_row([S(25, attendance=MISSED), S(24, attendance=Attendance.CANCELLED_BY_CLINIC)])


def test_same_day_sessions_are_ordered_by_id():
    first_missed, then_attended = S(25, attendance=MISSED), S(25)
    assert not missed_in_a_row([then_attended, first_missed, S(20, attendance=MISSED)])


def test_flag_says_which_plan_is_behind_with_numbers():
    progress = [step_progress(plan(), ItemStatus.OPEN, [S(20), S(30)], SURGERY, on(52))]
    flag = therapy_flag(progress, [S(20), S(30)])
    assert (flag.code, flag.label) == ("therapy_behind", "Therapy behind plan")
    assert flag.text == "Therapy behind plan (PT: 2 of 4 sessions expected by now)"


def test_flag_for_two_missed_sessions_in_a_row():
    sessions = [S(20), S(21, attendance=MISSED), S(22, attendance=MISSED)]
    progress = [step_progress(plan(), ItemStatus.OPEN, sessions, SURGERY, on(22))]
    assert therapy_flag(progress, sessions).text == "Therapy behind plan (2 missed sessions in a row)"


def test_no_flag_when_on_plan():
    sessions = [S(d) for d in (20, 25, 30, 35)]
    assert therapy_flag([step_progress(plan(), ItemStatus.OPEN, sessions, SURGERY, on(52))], sessions) is None


@dataclass
class Step:
    kind: StepKind = StepKind.SESSIONS
    discipline: Discipline | None = PT
    session_count: int | None = 6
    sessions_from_days: int | None = 14


@dataclass
class Item:
    step: Step
    phase: Phase = Phase.AFTER
    required: bool = True
    status: ItemStatus = ItemStatus.OPEN
    due_date: date | None = on(90)


def test_sessions_text_for_an_item():
    sessions = [S(20), S(21), S(22, OT), S(23)]
    assert sessions_text(Item(Step()), sessions, SURGERY) == "3 of 6 PT sessions"
    assert (
        sessions_text(Item(Step(discipline=OT, session_count=1)), sessions, SURGERY) == "1 of 1 OT sessions"
    )
    assert sessions_text(Item(Step(kind=StepKind.CHECK, discipline=None)), sessions, SURGERY) == ""


def test_episode_flag_from_items_and_none_when_closed():
    items = [Item(Step(session_count=8)), Item(Step(kind=StepKind.CHECK, discipline=None))]
    plans = [plan_of(i) for i in items if i.step.kind is StepKind.SESSIONS]
    (flag,) = episode_flags(
        EpisodeFacts(SURGERY, True, False, plans=plans, sessions=[S(20)]), SiteDay(on(52))
    )
    assert flag.detail == "PT: 1 of 4 sessions expected by now"
    assert (
        episode_flags(EpisodeFacts(SURGERY, True, True, plans=plans, sessions=[S(20)]), SiteDay(on(52))) == []
    )


# --- entry checks -------------------------------------------------------------------------


def entry(**changes) -> SessionInput:
    values = dict(
        session_date=on(5),
        discipline="PT",
        minutes=45,
        attendance="attended",
        pain_before=6,
        pain_after=4,
        activities="Gait training",
        home_exercise_plan=True,
        prehabilitation=False,
    )
    return SessionInput(**{**values, **changes})


def test_a_good_entry_has_no_problems():
    assert session_problems(entry(), SURGERY, on(10)) == {}
    assert session_problems(entry(pain_before=None, pain_after=None, minutes=600), SURGERY, on(10)) == {}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"session_date": on(11)}, "session_date", "The session date cannot be in the future."),
        (
            {"session_date": on(-3)},
            "session_date",
            "The date is before surgery: only a prehabilitation session can be dated before surgery.",
        ),
        ({"minutes": 0}, "minutes", "Enter the minutes, from 1 to 600."),
        ({"minutes": 601}, "minutes", "Enter the minutes, from 1 to 600."),
        ({"pain_before": 11}, "pain_before", "Enter a pain score from 0 to 10, or leave it blank."),
        ({"pain_after": -1}, "pain_after", "Enter a pain score from 0 to 10, or leave it blank."),
        ({"discipline": "XX"}, "discipline", "Choose PT or OT."),
        (
            {"attendance": "late"},
            "attendance",
            "Choose attended, missed, cancelled by patient or cancelled by clinic.",
        ),
        ({"activities": "x" * 2001}, "activities", "Keep what was done to 2000 characters."),
    ],
)
def test_entry_problems(changes, field, message):
    assert session_problems(entry(**changes), SURGERY, on(10)) == {field: message}


def test_prehabilitation_may_be_dated_before_surgery_or_while_unscheduled():
    assert session_problems(entry(session_date=on(-3), prehabilitation=True), SURGERY, on(10)) == {}
    assert session_problems(entry(prehabilitation=True), None, on(10)) == {}
    assert session_problems(entry(), None, on(10)) == {
        "session_date": "Surgery is not yet scheduled: only a prehabilitation session can be logged."
    }
