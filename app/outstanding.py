"""Outstanding items across all open episodes: the dashboard's, the export's and the overdue
report's queries. Each returns a Select (callers paginate, count or stream) or runs a fixed
number of queries whatever the data size.

An item is outstanding while it is open, its episode is not closed and its phase is not
signed off (a signed phase is locked: nobody can act on what is left open in it).
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, case, func, nulls_last, select
from sqlalchemy.orm import Session, aliased

from app.domain.outstanding import OPEN_STATES, OutstandingFilters, state_window
from app.domain.vocab import EpisodeStatus, ItemState, ItemStatus
from app.models import ChecklistItem, Episode, Patient, ProtocolStep, Signoff, User
from app.queries import patient_matches

Surgeon = aliased(User, name="surgeon")

# What one row of the list, the export and the report shows.
ROW_COLUMNS = (
    ChecklistItem.id.label("item_id"),
    ChecklistItem.phase,
    ChecklistItem.role,
    ChecklistItem.required,
    ChecklistItem.due_date,
    ChecklistItem.status,
    ProtocolStep.title,
    Episode.id.label("episode_id"),
    Episode.procedure,
    Episode.surgery_date,
    Patient.id.label("patient_id"),
    Patient.mrn,
    Patient.family_name,
    Patient.given_name,
    Surgeon.full_name.label("surgeon_name"),
)


def _phase_signed():
    return (
        select(Signoff.id)
        .where(
            Signoff.episode_id == ChecklistItem.episode_id,
            Signoff.phase == ChecklistItem.phase,
            Signoff.revoked_at.is_(None),
        )
        .exists()
    )


def _in_window(state: ItemState, today: date, due_soon_days: int):
    window = state_window(state, today, due_soon_days)
    if not window.scheduled:
        return ChecklistItem.due_date.is_(None)
    bounds = []
    if window.first is not None:
        bounds.append(ChecklistItem.due_date >= window.first)
    if window.last is not None:
        bounds.append(ChecklistItem.due_date <= window.last)
    return and_(*bounds)


def state_of_item(today: date, due_soon_days: int):
    """The state of an open item as a SQL expression (its value is the ItemState's)."""
    return case(
        *((_in_window(state, today, due_soon_days), state.value) for state in OPEN_STATES[:-1]),
        else_=ItemState.UNSCHEDULED.value,
    )


def _conditions(
    filters: OutstandingFilters, today: date, due_soon_days: int, flagged: set[int] | None
) -> list:
    where = [
        ChecklistItem.status == ItemStatus.OPEN,
        Episode.status != EpisodeStatus.CLOSED,
        ~_phase_signed(),
    ]
    if filters.phase is not None:
        where.append(ChecklistItem.phase == filters.phase)
    if filters.state is not None:
        where.append(_in_window(filters.state, today, due_soon_days))
    if filters.role is not None:
        where.append(ChecklistItem.role == filters.role)
    if filters.surgeon_id is not None:
        where.append(Episode.surgeon_id == filters.surgeon_id)
    if filters.due_from is not None:
        where.append(ChecklistItem.due_date >= filters.due_from)
    if filters.due_to is not None:
        where.append(ChecklistItem.due_date <= filters.due_to)
    if filters.required_only:
        where.append(ChecklistItem.required.is_(True))
    if filters.flagged_only:
        where.append(Episode.id.in_(sorted(flagged or ())))
    if filters.patient.strip():
        where.append(patient_matches(filters.patient))
    return where


def _joined(stmt: Select, with_details: bool) -> Select:
    stmt = stmt.join(Episode, Episode.id == ChecklistItem.episode_id)
    if with_details:
        stmt = (
            stmt.join(ProtocolStep, ProtocolStep.id == ChecklistItem.step_id)
            .join(Surgeon, Surgeon.id == Episode.surgeon_id)
            .join(Patient, Patient.id == Episode.patient_id)
        )
    return stmt


def _needs_patient(filters: OutstandingFilters) -> bool:
    return bool(filters.patient.strip())


def outstanding_items(
    filters: OutstandingFilters, today: date, due_soon_days: int, flagged: set[int] | None = None
) -> Select:
    """The outstanding items that pass the filters, overdue first, then by due date
    (items with no due date last). `flagged` holds the flagged episodes' ids."""
    stmt = _joined(select(*ROW_COLUMNS).select_from(ChecklistItem), with_details=True)
    return stmt.where(*_conditions(filters, today, due_soon_days, flagged)).order_by(
        nulls_last(ChecklistItem.due_date.asc()), ChecklistItem.id
    )


def state_counts(
    db: Session,
    filters: OutstandingFilters,
    today: date,
    due_soon_days: int,
    flagged: set[int] | None = None,
) -> dict[ItemState, int]:
    """How many outstanding items are in each state, with every filter but the state (one query)."""
    state = state_of_item(today, due_soon_days).label("state")
    stmt = _joined(select(state, func.count()).select_from(ChecklistItem), with_details=False)
    if _needs_patient(filters):
        stmt = stmt.join(Patient, Patient.id == Episode.patient_id)
    stmt = stmt.where(*_conditions(filters.without_state(), today, due_soon_days, flagged)).group_by(state)
    counts = dict.fromkeys(OPEN_STATES, 0)
    for value, n in db.execute(stmt):
        counts[ItemState(value)] = n
    return counts


@dataclass(frozen=True)
class EpisodeGroup:
    """One episode's outstanding items that pass the filters, counted by state."""

    episode_id: int
    items: int
    overdue: int
    due_soon: int
    first_due: date | None


def episode_groups(
    filters: OutstandingFilters, today: date, due_soon_days: int, flagged: set[int] | None = None
) -> Select:
    """One row per episode with outstanding items that pass the filters: the most overdue items
    first, then the earliest due."""
    overdue = _in_window(ItemState.OVERDUE, today, due_soon_days)
    due_soon = _in_window(ItemState.DUE_SOON, today, due_soon_days)
    first_due = func.min(ChecklistItem.due_date)
    overdue_count = func.sum(case((overdue, 1), else_=0))
    stmt = _joined(
        select(
            ChecklistItem.episode_id,
            func.count().label("items"),
            overdue_count.label("overdue"),
            func.sum(case((due_soon, 1), else_=0)).label("due_soon"),
            first_due.label("first_due"),
        ).select_from(ChecklistItem),
        with_details=False,
    )
    if _needs_patient(filters):
        stmt = stmt.join(Patient, Patient.id == Episode.patient_id)
    return (
        stmt.where(*_conditions(filters, today, due_soon_days, flagged))
        .group_by(ChecklistItem.episode_id)
        .order_by(overdue_count.desc(), nulls_last(first_due.asc()), ChecklistItem.episode_id)
    )


def group_rows(db: Session, stmt: Select, limit: int, offset: int) -> list[EpisodeGroup]:
    """A page of episode groups."""
    return [
        EpisodeGroup(r.episode_id, r.items, int(r.overdue or 0), int(r.due_soon or 0), r.first_due)
        for r in db.execute(stmt.limit(limit).offset(offset))
    ]


def count_rows(db: Session, stmt: Select) -> int:
    """How many rows a Select returns (for pagination)."""
    return db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def items_of_episodes(
    filters: OutstandingFilters,
    episode_ids: list[int],
    today: date,
    due_soon_days: int,
    flagged: set[int] | None = None,
) -> Select:
    """The outstanding items (passing the filters) of some episodes, in the list's order."""
    return outstanding_items(filters, today, due_soon_days, flagged).where(
        ChecklistItem.episode_id.in_(episode_ids)
    )
