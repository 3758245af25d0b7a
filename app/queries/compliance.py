"""Compliance queries: required items of scheduled episodes, classified as the domain's
`item_outcome` does and counted in SQL, so the report runs a fixed number of queries. Each
count can be narrowed to one surgeon and to episodes on one protocol version."""

from datetime import date

from sqlalchemy import and_, case, extract, func, or_, select
from sqlalchemy.orm import Session

from app.domain.compliance import Month, Outcome, ReportVersion
from app.domain.progress import CLOSED_STATUSES
from app.domain.vocab import EpisodeStatus, Phase, VersionStatus
from app.models import ChecklistItem, Episode, ProtocolStep, ProtocolTemplate, ProtocolVersion


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


def _episodes(surgeon_id: int | None, version_id: int | None) -> list:
    """Episodes of one surgeon and on one protocol version (None: any)."""
    where = []
    if surgeon_id is not None:
        where.append(Episode.surgeon_id == surgeon_id)
    if version_id is not None:
        where.append(Episode.protocol_version_id == version_id)
    return where


def _period(first: Month, last: Month, surgeon_id: int | None, version_id: int | None) -> list:
    return [
        ChecklistItem.required.is_(True),
        Episode.surgery_date >= first.first_day(),
        Episode.surgery_date < last.next().first_day(),
        *_episodes(surgeon_id, version_id),
    ]


def outcome_counts(
    session: Session,
    first: Month,
    last: Month,
    surgeon_id: int | None,
    today: date,
    version_id: int | None = None,
) -> list[tuple[Month, int, Phase, Outcome, int]]:
    """(month of surgery, surgeon id, phase, outcome, number of items), in one query."""
    outcome = outcome_of_item(today).label("outcome")
    year = extract("year", Episode.surgery_date).label("year")
    month = extract("month", Episode.surgery_date).label("month")
    stmt = (
        select(year, month, Episode.surgeon_id, ChecklistItem.phase, outcome, func.count())
        .select_from(ChecklistItem)
        .join(Episode, Episode.id == ChecklistItem.episode_id)
        .where(*_period(first, last, surgeon_id, version_id))
        .group_by(year, month, Episode.surgeon_id, ChecklistItem.phase, outcome)
    )
    return [
        (Month(int(y), int(m)), surgeon, Phase(phase), Outcome(result), n)
        for y, m, surgeon, phase, result, n in session.execute(stmt)
    ]


def outcome_counts_by_step(
    session: Session,
    first: Month,
    last: Month,
    surgeon_id: int | None,
    today: date,
    version_id: int | None = None,
) -> list[tuple[str, str, Phase, Outcome, int]]:
    """(step code, title, phase, outcome, number of items), in one query."""
    outcome = outcome_of_item(today).label("outcome")
    stmt = (
        select(ProtocolStep.code, ProtocolStep.title, ChecklistItem.phase, outcome, func.count())
        .select_from(ChecklistItem)
        .join(Episode, Episode.id == ChecklistItem.episode_id)
        .join(ProtocolStep, ProtocolStep.id == ChecklistItem.step_id)
        .where(*_period(first, last, surgeon_id, version_id))
        .group_by(ProtocolStep.code, ProtocolStep.title, ChecklistItem.phase, outcome)
    )
    return [
        (code, title, Phase(phase), Outcome(result), n)
        for code, title, phase, result, n in session.execute(stmt)
    ]


def unscheduled_episodes(session: Session, surgeon_id: int | None, version_id: int | None = None) -> int:
    """Open episodes with no surgery date: they have no month of surgery, so are not counted."""
    stmt = select(func.count()).where(
        Episode.surgery_date.is_(None),
        Episode.status != EpisodeStatus.CLOSED,
        *_episodes(surgeon_id, version_id),
    )
    return session.scalar(stmt) or 0


def report_versions(session: Session) -> list[ReportVersion]:
    """The protocol versions a report can be narrowed to: every numbered one (published or
    retired; a draft has no number and no episodes), by protocol name, newest first, in one query."""
    stmt = (
        select(ProtocolVersion.id, ProtocolTemplate.name, ProtocolVersion.number, ProtocolTemplate.slug)
        .join(ProtocolTemplate, ProtocolTemplate.id == ProtocolVersion.template_id)
        .where(ProtocolVersion.number.is_not(None), ProtocolVersion.status != VersionStatus.DRAFT)
        .order_by(ProtocolTemplate.name, ProtocolTemplate.id, ProtocolVersion.number.desc())
    )
    return [ReportVersion(*row) for row in session.execute(stmt)]
