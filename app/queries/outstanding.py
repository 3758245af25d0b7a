"""Outstanding items across all open episodes: the dashboard's, the export's and the overdue
report's queries. Each returns a Select (callers paginate, count or stream) or runs a fixed
number of queries whatever the data size.

The statements are built once for each filter and day (`_once`, a bounded cache): the same
first page of the dashboard then reuses its statements and their cache keys, whose building cost
more Python than running them.

An item is outstanding while it is open, its episode is not closed and its phase is not
signed off (a signed phase is locked: nobody can act on what is left open in it); the
`outstanding` column, kept in step on every change (app/services/stored_flags.py), says so with an index.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache, wraps

from sqlalchemy import Select, and_, bindparam, case, func, nulls_last, or_, select, true
from sqlalchemy.orm import Session, aliased

from app.domain.outstanding import OPEN_STATES, OutstandingFilters, state_window
from app.domain.site import SiteDay
from app.domain.vocab import ItemState
from app.models import ChecklistItem, Episode, OutstandingTally, Patient, ProtocolStep, User
from app.queries import episode_ids_param
from app.queries.flags import alerting_count, alerting_episodes, flagged_count, flagged_episodes
from app.queries.patients import patient_matches

Surgeon = aliased(User, name="surgeon")


def _once(build):
    """A statement built from hashable filters and the site's day, kept for the next request:
    what it holds depends on nothing else (statements are immutable, shared between threads
    safely). A search for a patient is built afresh each time: no name or MRN stays in memory."""
    kept = lru_cache(maxsize=256)(build)

    @wraps(build)
    def built(*args):
        if any(isinstance(a, OutstandingFilters) and a.patient.strip() for a in args):
            return build(*args)
        return kept(*args)

    return built


# What one row of the list, the export and the report shows.
ROW_COLUMNS = (
    ChecklistItem.id.label("item_id"),
    ChecklistItem.phase,
    ChecklistItem.role,
    ChecklistItem.required,
    ChecklistItem.due_date,
    ChecklistItem.overdue_from,
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


def _in_window(state: ItemState, today: date, due_soon_days: int, table=ChecklistItem):
    """The condition "shows `state` today" on the due dates of `table` (items, or the tally)."""
    window = state_window(state, today, due_soon_days)
    due, overdue = table.due_date, table.overdue_from
    if not window.scheduled:
        return due.is_(None)
    bounds = []
    if window.first is not None:
        bounds.append(due >= window.first)
    if window.last is not None:
        bounds.append(due <= window.last)
    if window.overdue_first is not None:
        bounds.append(overdue >= window.overdue_first)
    if window.overdue_last is not None:
        bounds.append(overdue <= window.overdue_last)
    return and_(*bounds)


def _conditions(filters: OutstandingFilters, day: SiteDay) -> list:
    today, due_soon_days = day.date, day.due_soon_days
    where = [ChecklistItem.outstanding == true()]
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
        where.append(ChecklistItem.episode_id.in_(flagged_episodes(day)))
    if filters.safety_only:
        where.append(ChecklistItem.episode_id.in_(alerting_episodes()))
    if filters.patient.strip():
        where.append(patient_matches(filters.patient))
    return where


def _joined(stmt: Select, filters: OutstandingFilters) -> Select:
    """Join what the filters read beyond the item (nothing, for most: the counts stay on one index)."""
    if filters.surgeon_id is not None or filters.patient.strip():
        stmt = stmt.join(Episode, Episode.id == ChecklistItem.episode_id)
    if filters.patient.strip():
        stmt = stmt.join(Patient, Patient.id == Episode.patient_id)
    return stmt


@_once
def outstanding_items(filters: OutstandingFilters, day: SiteDay) -> Select:
    """The outstanding items that pass the filters, overdue first, then by due date
    (items with no due date last)."""
    stmt = (
        select(*ROW_COLUMNS)
        .select_from(ChecklistItem)
        .join(Episode, Episode.id == ChecklistItem.episode_id)
        .join(ProtocolStep, ProtocolStep.id == ChecklistItem.step_id)
        .join(Surgeon, Surgeon.id == Episode.surgeon_id)
        .join(Patient, Patient.id == Episode.patient_id)
    )
    return stmt.where(*_conditions(filters, day)).order_by(
        nulls_last(ChecklistItem.due_date.asc()), ChecklistItem.id
    )


@_once
def outstanding_items_to_export(filters: OutstandingFilters, day: SiteDay) -> Select:
    """`outstanding_items` with, for each row, how many safety alerts of its episode wait for
    acknowledgement (the export's last column)."""
    alerting = aliased(ChecklistItem, name="alerting")
    waiting = (
        select(func.count())
        .select_from(alerting)
        .where(alerting.episode_id == ChecklistItem.episode_id, alerting.alert_open == true())
        .scalar_subquery()
    )
    return outstanding_items(filters, day).add_columns(waiting.label("safety_alerts"))


@dataclass(frozen=True)
class DashboardCounts:
    """The figures at the top of the dashboard."""

    states: dict[ItemState, int]  # outstanding items in each state, every filter but the state
    quick: list[int]  # the items each quick filter shows
    alerting: int  # episodes with a safety alert waiting for acknowledgement
    flagged: int  # episodes flagged today (the navigation bar's count)


def dashboard_counts(
    session: Session, filters: OutstandingFilters, quick: Sequence[OutstandingFilters], day: SiteDay
) -> DashboardCounts:
    """How many outstanding items are in each state, with every filter but the state; the
    `tally_totals` of the quick filters; `alerting_episode_count` and `flagged_episode_count`:
    in one query, one round trip to the database instead of four.

    Filters on the kind of item and its due date only (the first page, most views) sum the
    tally's rows, one per due date and kind of item, whatever the number of patients; the
    others count the items themselves, each state's due-date range read off the index.
    """
    filters, quick = filters.without_state(), tuple(quick)
    row = session.execute(_dashboard_counts(filters, quick, day)).one()
    wanted = len(OPEN_STATES) + len(quick)
    if _on_tally(filters):
        summed, places = _tally_sums(filters, quick)
        figures, rest = [row[place] for place in places], row[len(summed) :]
    else:
        figures, rest = row[:wanted], row[wanted:]
    return DashboardCounts(
        states=dict(zip(OPEN_STATES, figures[: len(OPEN_STATES)], strict=True)),
        quick=[int(n) for n in figures[len(OPEN_STATES) :]],
        alerting=int(rest[0] or 0),
        flagged=int(rest[1] or 0),
    )


def _tally_sums(
    filters: OutstandingFilters, quick: tuple[OutstandingFilters, ...]
) -> tuple[tuple[OutstandingFilters, ...], list[int]]:
    """The filters summed on the tally for the items per state (with `filters`) and for the quick
    filters, each once (on the first page, the states "Overdue" and "Due today" are quick filters
    too), and the place of each figure (the states, then the quick filters) among them."""
    wanted = tuple(replace(filters, state=state) for state in OPEN_STATES) + quick
    summed = tuple(dict.fromkeys(wanted))
    return summed, [summed.index(f) for f in wanted]


@_once
def _dashboard_counts(
    filters: OutstandingFilters, quick: tuple[OutstandingFilters, ...], day: SiteDay
) -> Select:
    episodes = (alerting_count().scalar_subquery(), flagged_count(day).scalar_subquery())
    if _on_tally(filters):  # every sum in one pass over the tally's rows
        return _tally_totals(_tally_sums(filters, quick)[0], day).add_columns(*episodes)
    states, totals = _item_state_counts(filters, day).subquery(), _tally_totals(quick, day).subquery()
    return select(*states.c, *totals.c, *episodes).select_from(states.join(totals, true()))


def _item_state_counts(filters: OutstandingFilters, day: SiteDay) -> Select:
    """Outstanding items in each state, counted on the items (filters the tally does not keep)."""
    where = _conditions(filters, day)

    def count(state: ItemState):
        stmt = select(func.count()).select_from(ChecklistItem)
        return (
            _joined(stmt, filters)
            .where(*where, _in_window(state, day.date, day.due_soon_days))
            .scalar_subquery()
        )

    return select(*(count(state) for state in OPEN_STATES))


def _on_tally(filters: OutstandingFilters) -> bool:
    """Whether the filters read only the kind of item and its due date (what the tally keeps)."""
    return (
        filters.surgeon_id is None
        and not filters.flagged_only
        and not filters.safety_only
        and not filters.patient.strip()
    )


def _tally_where(filters: OutstandingFilters) -> list:
    """The filters but the state, on the tally's rows."""
    tally = OutstandingTally
    where = []
    if filters.phase is not None:
        where.append(tally.phase == filters.phase)
    if filters.role is not None:
        where.append(tally.role == filters.role)
    if filters.required_only:
        where.append(tally.required.is_(True))
    if filters.due_from is not None:
        where.append(tally.due_date >= filters.due_from)
    if filters.due_to is not None:
        where.append(tally.due_date <= filters.due_to)
    return where


def tally_totals(session: Session, many: Sequence[OutstandingFilters], day: SiteDay) -> list[int]:
    """How many outstanding items pass each of several filters on the kind of item, its due date
    and its state (the dashboard's quick filters), in one query that sums the tally's rows."""
    return [int(n) for n in session.execute(_tally_totals(tuple(many), day)).one()]


@_once
def _tally_totals(many: tuple[OutstandingFilters, ...], day: SiteDay) -> Select:
    tally = OutstandingTally

    def total(filters: OutstandingFilters):
        if not _on_tally(filters):
            raise ValueError(f"{filters} reads more than the tally keeps")
        where = _tally_where(filters)
        if filters.state is not None:
            where.append(_in_window(filters.state, day.date, day.due_soon_days, tally))
        return func.coalesce(func.sum(case((and_(true(), *where), tally.items))), 0)

    return select(*(total(f) for f in many))


@dataclass(frozen=True)
class EpisodeGroup:
    """One episode's outstanding items that pass the filters, counted by state."""

    episode_id: int
    items: int
    overdue: int
    due_soon: int
    first_due: date | None


@_once
def episode_groups(filters: OutstandingFilters, day: SiteDay) -> Select:
    """One row per episode with outstanding items that pass the filters: the most overdue items
    first, then the earliest due."""
    overdue = _in_window(ItemState.OVERDUE, day.date, day.due_soon_days)
    due_soon = or_(  # due now (in grace), today or soon: everything due but not yet overdue
        *(
            _in_window(s, day.date, day.due_soon_days)
            for s in (ItemState.DUE_NOW, ItemState.DUE_TODAY, ItemState.DUE_SOON)
        )
    )
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
        filters,
    )
    return (
        stmt.where(*_conditions(filters, day))
        .group_by(ChecklistItem.episode_id)
        .order_by(overdue_count.desc(), nulls_last(first_due.asc()), ChecklistItem.episode_id)
    )


def group_page(
    session: Session, filters: OutstandingFilters, day: SiteDay, limit: int, offset: int
) -> list[EpisodeGroup]:
    """A page of `episode_groups`."""
    return [
        EpisodeGroup(r.episode_id, r.items, int(r.overdue or 0), int(r.due_soon or 0), r.first_due)
        for r in session.execute(_group_page(filters, day), {"limit": limit, "offset": offset})
    ]


@_once
def _group_page(filters: OutstandingFilters, day: SiteDay) -> Select:
    return _paged(episode_groups(filters, day))


def group_count(session: Session, filters: OutstandingFilters, day: SiteDay) -> int:
    """How many `episode_groups` there are (for pagination)."""
    return session.scalar(_group_count(filters, day)) or 0


@_once
def _group_count(filters: OutstandingFilters, day: SiteDay) -> Select:
    return _counted(episode_groups(filters, day))


def _paged(stmt: Select) -> Select:
    """A statement's rows from `offset`, at most `limit` (bound parameters)."""
    return stmt.limit(bindparam("limit")).offset(bindparam("offset"))


def _counted(stmt: Select) -> Select:
    return select(func.count()).select_from(stmt.order_by(None).subquery())


def count_rows(session: Session, stmt: Select) -> int:
    """How many rows a Select returns."""
    return session.scalar(_counted(stmt)) or 0


@_once
def _of_episodes(filters: OutstandingFilters, day: SiteDay) -> Select:
    return outstanding_items(filters, day).where(ChecklistItem.episode_id.in_(episode_ids_param()))


def item_page(session: Session, filters: OutstandingFilters, day: SiteDay, limit: int, offset: int) -> list:
    """A page of the outstanding items that pass the filters, in the list's order."""
    return list(session.execute(_item_page(filters, day), {"limit": limit, "offset": offset}))


@_once
def _item_page(filters: OutstandingFilters, day: SiteDay) -> Select:
    return _paged(outstanding_items(filters, day))


def items_by_episode(
    session: Session, filters: OutstandingFilters, episode_ids: list[int], day: SiteDay
) -> dict:
    """The outstanding items (passing the filters) of some episodes, by episode, in the list's order."""
    items: dict[int, list] = {i: [] for i in episode_ids}
    for row in session.execute(_of_episodes(filters, day), {"episode_ids": list(episode_ids)}):
        items[row.episode_id].append(row)
    return items
