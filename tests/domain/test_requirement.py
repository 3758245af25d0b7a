"""Conditional requirement (clinical rules version 2, section 3), without a database: when a
condition holds, what an item's requirement becomes, and its due date once required."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.flags import FLAG_LABELS
from app.domain.pathway import item_plan
from app.domain.requirement import (
    REVIEW_DAYS,
    Answer,
    Requirement,
    answer_name,
    condition_holds,
    condition_words,
    is_waiting,
    next_requirement,
    required_due,
)
from app.domain.schedule import item_state
from app.domain.step_options import RequiredIf, Variants
from app.domain.vocab import ItemState, ItemStatus, Procedure, StepKind

TODAY = date(2026, 6, 17)
DIABETIC = RequiredIf(step="pre_diabetes", answer="yes")
REVIEW = RequiredIf(flags=("not_improving", "still_on_opioids", "twelve_month_outcome"))


@pytest.mark.parametrize(
    ("answer", "holds"),
    [
        (Answer(ItemStatus.DONE, "yes"), True),
        (Answer(ItemStatus.DONE, "Yes "), True),
        (Answer(ItemStatus.DONE, "no"), False),
        (Answer(ItemStatus.OPEN, None), False),  # not answered yet
        (Answer(ItemStatus.NOT_APPLICABLE, None), False),
        (None, False),  # the episode has no such item (a step of another pathway)
    ],
)
def test_a_step_condition_holds_only_while_the_step_is_done_with_its_answer(answer, holds):
    answers = {} if answer is None else {"pre_diabetes": answer}
    assert condition_holds(DIABETIC, answers, set()) is holds


def test_a_flag_condition_holds_while_one_of_its_flags_is_raised():
    assert not condition_holds(REVIEW, {}, set())
    assert not condition_holds(REVIEW, {}, {"therapy_behind", "safety"})
    for code in REVIEW.flags:
        assert condition_holds(REVIEW, {}, {code})


def test_an_open_item_is_required_from_the_day_its_condition_holds_and_keeps_that_day():
    waiting = Requirement(False, None)
    required = next_requirement(True, ItemStatus.OPEN, waiting, TODAY)
    assert required == Requirement(True, TODAY)
    later = TODAY + timedelta(days=30)
    assert next_requirement(True, ItemStatus.OPEN, required, later) == required  # still since TODAY


def test_an_open_item_goes_back_to_not_required_when_its_condition_turns_false():
    required = Requirement(True, TODAY)
    assert next_requirement(False, ItemStatus.OPEN, required, TODAY) == Requirement(False, None)


@pytest.mark.parametrize("status", [ItemStatus.DONE, ItemStatus.NOT_APPLICABLE])
@pytest.mark.parametrize("holds", [True, False])
@pytest.mark.parametrize("now", [Requirement(True, TODAY), Requirement(False, None)])
def test_a_worked_item_stays_as_it_is(status, holds, now):
    assert next_requirement(holds, status, now, TODAY + timedelta(days=3)) == now


def test_a_required_item_without_its_day_gets_today():
    """An item made required by version 1's rule (no day stored) is required from today."""
    assert next_requirement(True, ItemStatus.OPEN, Requirement(True, None), TODAY) == Requirement(True, TODAY)


# the due date once required


def test_due_on_its_own_due_date_when_that_is_still_ahead():
    own = TODAY + timedelta(days=20)
    assert required_due(own, TODAY) == own
    assert required_due(TODAY, TODAY) == TODAY  # due today: not moved


def test_due_14_days_on_when_its_own_due_date_has_passed():
    """A review asked for at 6 months is not overdue the moment it is asked for."""
    assert REVIEW_DAYS == 14
    assert required_due(TODAY - timedelta(days=1), TODAY) == TODAY + timedelta(days=14)
    assert required_due(date(2025, 8, 30), TODAY) == date(2026, 7, 1)


def test_not_required_or_unscheduled_keeps_its_own_due_date():
    assert required_due(TODAY - timedelta(days=5), None) == TODAY - timedelta(days=5)
    assert required_due(None, TODAY) is None


@given(
    own=st.one_of(st.none(), st.dates(date(2024, 1, 1), date(2028, 1, 1))),
    since=st.one_of(st.none(), st.dates(date(2024, 1, 1), date(2028, 1, 1))),
)
def test_once_required_an_item_is_never_due_before_the_day_it_was_required(own, since):
    due = required_due(own, since)
    if own is None:
        assert due is None
    elif since is None:
        assert due == own
    else:
        assert due >= since and due in (own, since + timedelta(days=REVIEW_DAYS))


# the plan of a conditional item, and what the user sees


class Step:
    """A conditional After-surgery step, due 90 days after surgery, with 3 grace days."""

    kind = StepKind.CHECK
    due_offset_days = 90
    grace_days = 3
    required_if = REVIEW.to_json()
    only_for = None
    session_count = sessions_from_days = sessions_until_days = None

    @property
    def variants_spec(self):
        return Variants.from_json(None, None)


def test_a_conditional_item_not_required_is_never_overdue():
    plan = item_plan(Step(), Procedure.DISCECTOMY, date(2026, 1, 1))
    assert plan.due_date == date(2026, 4, 1) and plan.overdue_from is None
    state = item_state(ItemStatus.OPEN, plan.due_date, TODAY, 3, plan.overdue_from, waiting=True)
    assert state is ItemState.NOT_REQUIRED and state.label == "Not required now"


def test_a_conditional_item_required_after_its_due_date_is_due_14_days_on_with_its_grace():
    plan = item_plan(Step(), Procedure.DISCECTOMY, date(2026, 1, 1), required_since=TODAY)
    assert plan.due_date == date(2026, 7, 1) and plan.overdue_from == date(2026, 7, 5)
    assert item_state(ItemStatus.OPEN, plan.due_date, TODAY, 3, plan.overdue_from) is ItemState.PENDING
    day = date(2026, 7, 5)
    assert item_state(ItemStatus.OPEN, plan.due_date, day, 3, plan.overdue_from) is ItemState.OVERDUE


def test_a_conditional_item_required_before_its_due_date_keeps_it():
    plan = item_plan(Step(), Procedure.DISCECTOMY, date(2026, 4, 1), required_since=TODAY)
    assert plan.due_date == date(2026, 6, 30) and plan.overdue_from == date(2026, 7, 4)


def test_waiting_is_an_open_conditional_item_not_required():
    assert is_waiting(DIABETIC, False, ItemStatus.OPEN)
    assert is_waiting(DIABETIC.to_json(), False, ItemStatus.OPEN)
    assert not is_waiting(DIABETIC, True, ItemStatus.OPEN)
    assert not is_waiting(DIABETIC, False, ItemStatus.DONE)
    assert not is_waiting(None, False, ItemStatus.OPEN)  # an optional step: "Optional", as ever


def test_the_condition_in_words():
    name = answer_name("Diabetes status recorded (known diabetes).", "Diabetic")
    assert condition_words(DIABETIC, name, FLAG_LABELS) == "when “Diabetic” is yes"
    assert answer_name("Anticoagulant recorded.", None) == "Anticoagulant recorded"
    assert condition_words(REVIEW, None, FLAG_LABELS) == (
        "while “Not improving”, “Still on opioids at 3 months” or “12-month outcome” is raised"
    )
    assert condition_words(RequiredIf(flags=("safety",)), None, FLAG_LABELS) == "while “Safety” is raised"
