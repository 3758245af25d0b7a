"""Conditional requirement (clinical rules version 2, section 3): a step required only while
another step's answer or a flag says so (`required_if` in the protocol).

While its condition is false an open item is "Not required now: <why>" and never overdue. From
the day the condition holds it is required: due on its own due date, or `REVIEW_DAYS` after that
day when its own due date has already passed (a review asked for at 6 months is not overdue the
moment it is asked for). When the condition turns false again before the item was worked, it goes
back to not required; an item already done or not applicable stays as it is.

The requirement is stored on the item (`required`, `required_since`) by
app/services/requirements.py whenever the episode changes: the flags a condition may name
(`app.domain.flags.CONDITION_FLAGS`) and the answers it may name never change as days pass, so
a change to the episode is the only moment a condition can turn.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from app.domain.step_options import RequiredIf
from app.domain.vocab import ItemStatus

REVIEW_DAYS = 14


@dataclass(frozen=True)
class Answer:
    """The state of the item of a step a condition names."""

    status: ItemStatus
    value: str | None


def condition_holds(condition: RequiredIf, answers: Mapping[str, Answer], raised: Iterable[str]) -> bool:
    """Whether the condition holds: its step is done with its answer, or one of its flags (by
    code) is among the raised ones."""
    if condition.step:
        answer = answers.get(condition.step)
        return (
            answer is not None
            and answer.status is ItemStatus.DONE
            and (answer.value or "").strip().lower() == (condition.answer or "").lower()
        )
    return bool(set(condition.flags) & set(raised))


@dataclass(frozen=True)
class Requirement:
    """Whether an item is required, and since which day (None while it is not)."""

    required: bool
    since: date | None


def next_requirement(holds: bool, status: ItemStatus, now: Requirement, today: date) -> Requirement:
    """What a conditional item's requirement becomes given whether its condition holds today: an
    open item follows the condition (required from today when it starts to hold, keeping the day
    it was first required while it goes on holding); a worked item stays as it is."""
    if status is not ItemStatus.OPEN:
        return now
    if not holds:
        return Requirement(False, None)
    return Requirement(True, now.since if now.required and now.since else today)


def required_due(own_due: date | None, since: date | None) -> date | None:
    """The due date of a conditional item required since `since`: its own due date, or
    `REVIEW_DAYS` after `since` when its own due date was already past that day."""
    if own_due is None or since is None or own_due >= since:
        return own_due
    return since + timedelta(days=REVIEW_DAYS)


def is_waiting(required_if, required: bool, status: ItemStatus) -> bool:
    """Whether an item shows "Not required now": open, its step conditional (`required_if`, the
    parsed RequiredIf or its JSON) and its condition not holding."""
    return bool(required_if) and not required and status is ItemStatus.OPEN


def answer_name(title: str, value_label: str | None) -> str:
    """What a condition calls the step it names: its value's label ("Diabetic"), or its title."""
    return value_label or title.rstrip(".")


def condition_words(condition: RequiredIf, step_title: str | None, flag_labels: Mapping[str, str]) -> str:
    """The condition in words: "when “Diabetic” is yes" (`step_title`: the named step's
    `answer_name`), or "while “Not improving” or “Still on opioids at 3 months” is raised" (the
    flags by their labels)."""
    if condition.step:
        return f"when “{step_title or condition.step}” is {condition.answer}"
    names = [f"“{flag_labels.get(code, code)}”" for code in condition.flags]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"while {listed} is raised"
