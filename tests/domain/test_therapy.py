"""Therapy rules: which sessions count for a step, its plan, the behind-plan flag (CLINICAL-RULES.md
§5), entry checks."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import count

import pytest

from app.domain.flags import (
    EpisodeFacts,
    behind_from,
    episode_flags,
    missed_in_a_row,
    therapy_flag,
    therapy_flag_from,
)
from app.domain.site import SiteDay
from app.domain.therapy import (
    SessionInput,
    SessionsPlan,
    attended_count,
    count_text,
    expected_by,
    plan_days,
    plan_of,
    satisfied,
    session_problems,
    sessions_text,
    step_name,
    step_progress,
    window_words,
)
from app.domain.vocab import Attendance, Discipline, ItemStatus, Phase, StepKind

SURGERY = date(2026, 6, 1)
PT, OT = Discipline.PT, Discipline.OT
ATTENDED, MISSED = Attendance.ATTENDED, Attendance.MISSED
BY_PATIENT, BY_CLINIC = Attendance.CANCELLED_BY_PATIENT, Attendance.CANCELLED_BY_CLINIC
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


def plan(
    count=8, discipline=PT, from_days=14, due=90, phase=Phase.AFTER, required=True, until=None, title=""
) -> SessionsPlan:
    return SessionsPlan(
        phase, discipline, count, from_days, SURGERY + timedelta(days=due), required, until, title
    )


# The worked examples of CLINICAL-RULES.md §5: post_pt_adherence, 8 PT sessions, days 28-120
# (Discectomy, Decompression, Other) or days 70-180 (Fusion), due at the window's end.
DISCECTOMY = plan(count=8, from_days=28, due=120)
FUSION = plan(count=8, from_days=70, due=180)


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


def test_window_ends_on_until_days_after_surgery_when_the_step_sets_it():
    sessions = [S(30), S(60), S(61), S(90)]
    assert attended_count(plan(until=60), sessions, SURGERY) == 2  # a session after `until` does not count
    assert attended_count(plan(until=None), sessions, SURGERY) == 4  # else the due date ends it


def test_prehabilitation_never_counts_for_an_after_surgery_step():
    sessions = [S(20, prehabilitation=True), S(21)]
    assert attended_count(plan(), sessions, SURGERY) == 1
    assert attended_count(plan(count=1, from_days=None, due=1), [S(0, prehabilitation=True)], SURGERY) == 0


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


# --- the plan ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (0, 0),
        (28, 0),  # the window opens
        (42, 0),  # the plan starts 14 days later
        (61, 1),  # 8 * 19 / 78 = 1.9
        (62, 2),  # 8 * 20 / 78 = 2.05
        (100, 5),  # 8 * 58 / 78 = 5.9
        (120, 8),  # the window's end
        (200, 8),  # after it: the whole plan
    ],
)
def test_expected_sessions_from_14_days_after_the_window_opens_to_its_end(today, expected):
    assert expected_by(DISCECTOMY, SURGERY, on(today)) == expected


def test_a_step_of_fewer_than_3_sessions_or_a_window_of_14_days_or_less_has_no_plan():
    assert plan_days(plan(count=2, from_days=28, due=120), SURGERY) is None
    assert plan_days(plan(count=1, from_days=0, due=1), SURGERY) is None
    assert plan_days(plan(count=8, from_days=28, due=42), SURGERY) is None  # exactly 14 days
    assert plan_days(plan(count=8, from_days=28, due=43), SURGERY) is not None
    assert plan_days(plan(count=8, from_days=28, due=120, until=42), SURGERY) is None  # `until` ends it
    assert plan_days(DISCECTOMY, None) is None
    assert expected_by(plan(count=2, from_days=28, due=120), SURGERY, on(400)) == 0


def test_a_window_without_from_days_opens_on_surgery_day():
    days = plan_days(plan(from_days=None, due=90), SURGERY)
    assert (days.first, days.start, days.last) == (0, 14, 90)


def progress(p: SessionsPlan, sessions, today: int, status=ItemStatus.OPEN):
    return step_progress(p, status, sessions, SURGERY, on(today))


def attended(*days: int) -> list[S]:
    return [S(d) for d in days]


# --- behind plan: the worked examples of §5 -------------------------------------------------


@pytest.mark.parametrize(
    ("today", "sessions", "expected", "behind"),
    [
        (42, [], 0, False),
        (61, [], 1, False),  # one session of slack
        (62, [], 2, True),
        (100, attended(30, 40, 50, 60, 70), 5, False),
        (100, attended(30, 40, 50, 60), 5, False),  # 1 behind: within the slack
        (100, attended(30, 40, 50), 5, True),
    ],
)
def test_discectomy_adherence_is_behind_plan_when_2_or_more_sessions_behind(
    today, sessions, expected, behind
):
    p = progress(DISCECTOMY, sessions, today)
    assert (p.attended, p.expected, p.behind) == (len(sessions), expected, behind)


def test_a_fusion_patient_without_sessions_is_behind_plan_from_day_108():
    assert not progress(FUSION, [], 84).behind  # the plan starts
    assert not progress(FUSION, [], 107).behind
    assert progress(FUSION, [], 108).expected == 2
    assert progress(FUSION, [], 108).behind
    assert behind_from(FUSION, 0, SURGERY) == on(108)


def test_the_first_day_behind_plan_is_the_first_day_the_live_rule_says_so():
    assert behind_from(DISCECTOMY, 0, SURGERY) == on(62)
    assert behind_from(DISCECTOMY, 3, SURGERY) == on(42 + 49)  # 8 * 49 / 78 = 5.03
    assert behind_from(DISCECTOMY, 6, SURGERY) == on(120)  # expected reaches 8 at the window's end
    assert behind_from(DISCECTOMY, 7, SURGERY) is None  # never 2 behind
    assert therapy_flag_from([DISCECTOMY, FUSION], [], SURGERY) == on(62)
    for n in range(0, 9):
        first = behind_from(DISCECTOMY, n, SURGERY)
        sessions = attended(*range(30, 30 + n))
        for day in range(0, 200):
            assert progress(DISCECTOMY, sessions, day).behind is (first is not None and on(day) >= first)


def test_a_step_of_2_sessions_or_a_window_of_14_days_is_never_behind_plan():
    for short_or_small in (plan(count=2, from_days=28, due=120), plan(count=8, from_days=28, due=42)):
        assert not any(progress(short_or_small, [], day).behind for day in range(0, 400))
        assert behind_from(short_or_small, 0, SURGERY) is None
    mobilise = plan(count=1, from_days=0, due=1)
    assert not progress(mobilise, [], 30).behind  # its due date and "Incomplete post-op steps" follow it


def test_sessions_after_until_do_not_count_toward_the_plan():
    p = plan(count=8, from_days=28, due=120, until=100)
    late = attended(30, 40, 50, 101, 110, 115)
    assert progress(p, late, 100).attended == 3
    assert progress(p, late, 100).behind  # 8 expected by day 100, the plan's end


def test_prehabilitation_sessions_never_count_toward_the_plan():
    prehab = [S(d, prehabilitation=True) for d in (30, 40, 50, 60, 70)]
    assert progress(DISCECTOMY, prehab, 100).attended == 0
    assert progress(DISCECTOMY, prehab, 100).behind


def test_only_an_open_required_step_is_behind_plan():
    assert progress(DISCECTOMY, attended(30, 40), 100).label == "2 of 8 PT sessions"
    assert not progress(DISCECTOMY, [], 100, ItemStatus.DONE).behind
    assert not progress(DISCECTOMY, [], 100, ItemStatus.NOT_APPLICABLE).behind
    optional = plan(count=8, from_days=28, due=120, required=False)
    assert not progress(optional, [], 200).behind
    assert behind_from(optional, 0, SURGERY) is None


# --- missed in a row and the flag -------------------------------------------------------


def test_two_latest_sessions_of_a_discipline_missed_or_cancelled_by_the_patient():
    assert missed_in_a_row([S(20), S(25, attendance=MISSED), S(22, attendance=MISSED)])
    assert missed_in_a_row([S(20), S(22, attendance=BY_PATIENT), S(25, attendance=MISSED)])
    assert not missed_in_a_row([S(25, attendance=MISSED), S(20, attendance=MISSED), S(30)])
    assert not missed_in_a_row([S(25, attendance=MISSED)])
    assert not missed_in_a_row([S(25, attendance=MISSED), S(24, attendance=BY_CLINIC)])


def test_a_session_cancelled_by_the_clinic_neither_counts_nor_breaks_the_run():
    assert missed_in_a_row([S(20, attendance=MISSED), S(22, attendance=BY_CLINIC), S(25, attendance=MISSED)])


def test_a_later_attended_session_of_that_discipline_clears_it():
    missed = [S(20, attendance=MISSED), S(22, attendance=MISSED)]
    assert not missed_in_a_row([*missed, S(25)])
    assert missed_in_a_row([*missed, S(25, OT)])  # another discipline does not
    assert missed_in_a_row([*missed, S(25), S(26, attendance=MISSED), S(27, attendance=MISSED)])


def test_sessions_of_different_disciplines_are_not_in_a_row():
    assert not missed_in_a_row([S(20, attendance=MISSED), S(22, OT, attendance=MISSED)])
    assert missed_in_a_row([S(20, attendance=MISSED), S(21, OT), S(22, attendance=MISSED)])


def test_prehabilitation_sessions_never_count_as_missed_in_a_row():
    prehab = [
        S(-20, attendance=MISSED, prehabilitation=True),
        S(-10, attendance=MISSED, prehabilitation=True),
    ]
    assert not missed_in_a_row(prehab)
    assert not missed_in_a_row([S(20, attendance=MISSED), S(25, attendance=MISSED, prehabilitation=True)])
    assert missed_in_a_row([S(20, attendance=MISSED), S(21, prehabilitation=True), S(22, attendance=MISSED)])


def test_same_day_sessions_are_ordered_by_id():
    first_missed, then_attended = S(25, attendance=MISSED), S(25)
    assert not missed_in_a_row([then_attended, first_missed, S(20, attendance=MISSED)])


def test_sessions_missed_in_a_row_raise_the_flag_whatever_the_day():
    sessions = [S(20, attendance=MISSED), S(22, attendance=MISSED)]
    assert therapy_flag_from([DISCECTOMY], sessions, SURGERY) == date.min
    assert therapy_flag_from([], sessions, None) == date.min


def test_flag_names_the_step_attended_expected_and_the_rule():
    flag = therapy_flag([progress(DISCECTOMY, [], 62)], [])
    assert (flag.code, flag.label) == ("therapy_behind", "Therapy behind plan")
    assert flag.text == (
        "Therapy behind plan (PT sessions: 0 attended, 2 expected by day 62"
        " — 2 or more behind the plan that started on day 42)"
    )
    titled = plan(count=8, from_days=28, due=120, title="PT sessions logged against plan.")
    assert therapy_flag([progress(titled, attended(30, 40, 50), 200)], []).detail == (
        "PT sessions logged against plan: 3 attended, 8 expected by day 120"
        " — 2 or more behind the plan that started on day 42"
    )


def test_flag_says_which_discipline_missed_sessions_in_a_row():
    sessions = [S(20), S(21, attendance=MISSED), S(22, attendance=MISSED)]
    flag = therapy_flag([progress(DISCECTOMY, sessions, 22)], sessions)
    assert flag.text == "Therapy behind plan (2 PT sessions missed in a row)"
    sessions = [S(21, OT, attendance=BY_PATIENT), S(22, OT, attendance=MISSED), S(23, OT, attendance=MISSED)]
    assert therapy_flag([], sessions).detail == "3 OT sessions missed or cancelled by the patient in a row"
    sessions = [S(21, attendance=BY_PATIENT), S(22, attendance=BY_PATIENT)]
    assert therapy_flag([], sessions).detail == "2 PT sessions cancelled by the patient in a row"


def test_flag_with_both_rules_says_both():
    sessions = [S(60, attendance=MISSED), S(61, attendance=MISSED)]
    assert therapy_flag([progress(DISCECTOMY, sessions, 62)], sessions).detail == (
        "PT sessions: 0 attended, 2 expected by day 62 — 2 or more behind the plan that started on day 42; "
        "2 PT sessions missed in a row"
    )


def test_no_flag_when_on_plan():
    sessions = attended(30, 40, 50, 60, 70)
    assert therapy_flag([progress(DISCECTOMY, sessions, 100)], sessions) is None


@dataclass
class Step:
    kind: StepKind = StepKind.SESSIONS
    discipline: Discipline | None = PT
    session_count: int | None = 6
    sessions_from_days: int | None = 14
    title: str = "PT sessions logged against plan."
    sessions_until_days: int | None = None


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


def test_plan_of_an_item_reads_its_steps_window_and_title():
    item = Item(Step(session_count=8))
    assert plan_of(item) == plan(count=8, from_days=14, due=90, title="PT sessions logged against plan.")
    step = Step(session_count=8)
    step.sessions_until_days = 60  # a step with an `until`
    assert plan_of(Item(step)).until_days == 60


def test_plan_of_an_item_holding_its_plan_reads_the_items_own_variant():
    item = Item(Step(session_count=8))
    item.session_count, item.sessions_from_days, item.sessions_until_days = 10, 70, 180  # a fusion's
    plan = plan_of(item)
    assert (plan.count, plan.from_days, plan.until_days) == (10, 70, 180)


def test_episode_flag_from_items_and_none_when_closed():
    items = [Item(Step(session_count=8)), Item(Step(kind=StepKind.CHECK, discipline=None))]
    plans = [plan_of(i) for i in items if i.step.kind is StepKind.SESSIONS]
    facts = EpisodeFacts(SURGERY, True, False, plans=plans, sessions=[S(20)])
    assert episode_flags(facts, SiteDay(on(51))) == []  # 8 * 23 / 62 = 2.97: 1 behind
    (flag,) = episode_flags(facts, SiteDay(on(52)))  # 8 * 24 / 62 = 3.1: 2 behind
    assert flag.detail == (
        "PT sessions logged against plan: 1 attended, 3 expected by day 52"
        " — 2 or more behind the plan that started on day 28"
    )
    closed = EpisodeFacts(SURGERY, True, True, plans=plans, sessions=[S(20)])
    assert episode_flags(closed, SiteDay(on(52))) == []


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
        ({"minutes": None}, "minutes", "An attended session needs its minutes: enter 1 to 600."),
        ({"minutes": 0, "attendance": "missed"}, "minutes", "Enter the minutes, from 1 to 600."),
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


@pytest.mark.parametrize("attendance", ["missed", "cancelled_by_patient", "cancelled_by_clinic"])
def test_a_missed_or_cancelled_session_may_leave_its_minutes_blank(attendance):
    assert session_problems(entry(minutes=None, attendance=attendance), SURGERY, on(10)) == {}
    assert session_problems(entry(minutes=30, attendance=attendance), SURGERY, on(10)) == {}


def test_prehabilitation_may_be_dated_before_surgery_or_while_unscheduled():
    assert session_problems(entry(session_date=on(-3), prehabilitation=True), SURGERY, on(10)) == {}
    assert session_problems(entry(prehabilitation=True), None, on(10)) == {}
    assert session_problems(entry(), None, on(10)) == {
        "session_date": "Surgery is not yet scheduled: only a prehabilitation session can be logged."
    }


# --- which item a count is for --------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "name"),
    [
        (
            "Outpatient PT programme started (discectomy, decompression: weeks 4–6; fusion: weeks 10–13).",
            "Outpatient PT programme started",
        ),
        (
            "PT sessions logged against plan (8 sessions in days 28–120; fusion: days 70–180).",
            "PT sessions logged against plan",
        ),
        ("OT session: ADLs, bend-lift-twist precautions, equipment.", "OT session"),
        (
            "First mobilisation with PT (day 0–1); early catheter removal and oral intake.",
            "First mobilisation with PT",
        ),
        (
            "Prehabilitation / PT baseline assessment and home exercise plan.",
            "Prehabilitation / PT baseline assessment and home exercise plan",
        ),
        ("Walk " + "a" * 80, "Walk " + "a" * 64 + "…"),
    ],
)
def test_a_step_is_named_by_its_title_up_to_the_first_bracket_colon_or_full_stop(title, name):
    assert step_name(title) == name


def test_a_count_names_its_step_and_the_days_its_sessions_count():
    adherence = plan(count=8, from_days=28, due=120, title="PT sessions logged against plan (8 sessions).")
    assert count_text(adherence, 3, SURGERY) == "PT sessions logged against plan: 3 of 8 (days 28–120)"
    ot = plan(count=1, discipline=OT, from_days=None, due=2, title="OT session: ADLs.")
    assert count_text(ot, 0, SURGERY) == "OT session: 0 of 1 (days 0–2)"
    unnamed = plan(count=2, from_days=0, due=0, title="Walking programme")
    assert count_text(unnamed, 1, SURGERY) == "Walking programme: 1 of 2 PT (day 0)"  # the discipline, unsaid
    assert count_text(adherence, 0, None) == "PT sessions logged against plan: 0 of 8"  # surgery unscheduled


def test_a_before_surgery_count_says_so():
    prehab = plan(count=1, from_days=-90, due=-7, phase=Phase.BEFORE, title="Prehabilitation / PT baseline.")
    assert window_words(prehab, SURGERY) == "before surgery"
    assert count_text(prehab, 1, SURGERY) == "Prehabilitation / PT baseline: 1 of 1 (before surgery)"
