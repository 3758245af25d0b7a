"""What a protocol step asks of one episode: whether it applies to the episode's procedure type,
and its due date, first overdue day and sessions plan once the step's variant for that type is
applied, and for a conditional step the day it was required (clinical rules version 2, sections
1, 3 and 5)."""

from dataclasses import dataclass
from datetime import date

from app.domain.requirement import required_due
from app.domain.schedule import due_date, overdue_from
from app.domain.step_options import Variants
from app.domain.vocab import Procedure, StepKind


@dataclass(frozen=True)
class ItemPlan:
    """The dates and sessions plan an item holds, as written on the checklist item."""

    due_date: date | None
    overdue_from: date | None
    session_count: int | None
    sessions_from_days: int | None
    sessions_until_days: int | None

    def values(self) -> dict:
        return dict(self.__dict__)


def applies(step, procedure: Procedure) -> bool:
    """Whether the step is part of the pathway of this procedure type (`only_for`)."""
    return Variants.from_json(None, step.only_for).applies_to(procedure)


def item_plan(
    step, procedure: Procedure, surgery_date: date | None, required_since: date | None = None
) -> ItemPlan:
    """The step's due date and sessions plan for an episode of this procedure type and surgery
    date (`step`: a ProtocolStep). A conditional step (`required_if`) not required now is never
    overdue; required since a day, it is due on its own due date or 14 days after that day
    (app/domain/requirement.py)."""
    variant = step.variants_spec.for_procedure(procedure)
    offset = step.due_offset_days if variant.due is None else variant.due
    due = due_date(surgery_date, offset)
    if step.required_if:
        due = required_due(due, required_since)
    never_overdue = bool(step.required_if) and required_since is None
    sessions = step.kind is StepKind.SESSIONS
    return ItemPlan(
        due_date=due,
        overdue_from=None if never_overdue else overdue_from(due, step.grace_days or 0),
        session_count=(variant.count or step.session_count) if sessions else None,
        sessions_from_days=(
            variant.sessions_from if variant.sessions_from is not None else step.sessions_from_days
        )
        if sessions
        else None,
        sessions_until_days=(
            variant.sessions_until if variant.sessions_until is not None else step.sessions_until_days
        )
        if sessions
        else None,
    )
