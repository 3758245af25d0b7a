"""Compliance queries: required items of scheduled episodes, classified as the domain's
`item_outcome` does and counted in SQL, so the report runs a fixed number of queries."""

from datetime import date

from sqlalchemy import and_, case, extract, func, or_, select
from sqlalchemy.orm import Session

from app.domain.compliance import Month, Outcome
from app.domain.progress import CLOSED_STATUSES
from app.domain.vocab import EpisodeStatus, Phase
from app.models import ChecklistItem, Episode, ProtocolStep


def outcome_of_item(today: date):
    """`domain.compliance.item_outcome` as a SQL expression (tests hold the two together)."""
    completed = ChecklistItem.status.in_(CLOSED_STATUSES)
    return case(
        (
            and_(
                completed,
                ChecklistItem.completed_on.is_not(None),
                ChecklistItem.completed_on <= ChecklistItem.due_date,
            ),
            Outcome.ON_TIME.value,
        ),
        (completed, Outcome.LATE.value),
        (
            or_(Episode.status == EpisodeStatus.CLOSED, ChecklistItem.due_date < today),
            Outcome.MISSED.value,
        ),
        else_=Outcome.NOT_DUE.value,
    )


def _period(first: Month, last: Month, surgeon_id: int | None) -> list:
    where = [
        ChecklistItem.required.is_(True),
        Episode.surgery_date >= first.first_day(),
        Episode.surgery_date < last.next().first_day(),
    ]
    if surgeon_id is not None:
        where.append(Episode.surgeon_id == surgeon_id)
    return where


def outcome_counts(
    session: Session, first: Month, last: Month, surgeon_id: int | None, today: date
) -> list[tuple[Month, int, Phase, Outcome, int]]:
    """(month of surgery, surgeon id, phase, outcome, number of items), in one query."""
    outcome = outcome_of_item(today).label("outcome")
    year = extract("year", Episode.surgery_date).label("year")
    month = extract("month", Episode.surgery_date).label("month")
    stmt = (
        select(year, month, Episode.surgeon_id, ChecklistItem.phase, outcome, func.count())
        .select_from(ChecklistItem)
        .join(Episode, Episode.id == ChecklistItem.episode_id)
        .where(*_period(first, last, surgeon_id))
        .group_by(year, month, Episode.surgeon_id, ChecklistItem.phase, outcome)
    )
    return [
        (Month(int(y), int(m)), surgeon, Phase(phase), Outcome(result), n)
        for y, m, surgeon, phase, result, n in session.execute(stmt)
    ]


def outcome_counts_by_step(
    session: Session, first: Month, last: Month, surgeon_id: int | None, today: date
) -> list[tuple[str, str, Phase, Outcome, int]]:
    """(step code, title, phase, outcome, number of items), in one query."""
    outcome = outcome_of_item(today).label("outcome")
    stmt = (
        select(ProtocolStep.code, ProtocolStep.title, ChecklistItem.phase, outcome, func.count())
        .select_from(ChecklistItem)
        .join(Episode, Episode.id == ChecklistItem.episode_id)
        .join(ProtocolStep, ProtocolStep.id == ChecklistItem.step_id)
        .where(*_period(first, last, surgeon_id))
        .group_by(ProtocolStep.code, ProtocolStep.title, ChecklistItem.phase, outcome)
    )
    return [
        (code, title, Phase(phase), Outcome(result), n)
        for code, title, phase, result, n in session.execute(stmt)
    ]


def unscheduled_episodes(session: Session, surgeon_id: int | None) -> int:
    """Open episodes with no surgery date: they have no month of surgery, so are not counted."""
    stmt = select(func.count()).where(Episode.surgery_date.is_(None), Episode.status != EpisodeStatus.CLOSED)
    if surgeon_id is not None:
        stmt = stmt.where(Episode.surgeon_id == surgeon_id)
    return session.scalar(stmt) or 0
