"""What lists read instead of working out: when each episode raises its flags
(models.EpisodeFlagDate), and which of its items are outstanding (ChecklistItem.outstanding).

Every ORM change to an episode, its items, sign-offs, therapy sessions or outcome scores marks
the episode; just before the transaction commits, both are worked out again from the domain
rules (app/domain/progress.py, therapy.py, outcomes.py) and stored in `episode_flag_date`, in the
same transaction. Lists then count and filter flagged episodes with two indexed comparisons,
whatever the number of episodes. Bulk loads that bypass the ORM, and a change of the "Not
improving" settings, call `refresh_all` (`flask refresh-flags`).
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import Select, and_, delete, func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from app import audit
from app.db import site_of
from app.domain.progress import flagged_from, postop_overdue_from, unsigned_surgery_on
from app.domain.site import SiteDay
from app.domain.therapy import SessionsPlan, therapy_flag_from
from app.domain.vocab import EpisodeStatus, ItemStatus, Phase, StepKind
from app.models import (
    ChecklistItem,
    Episode,
    EpisodeFlagDate,
    FlagDateTally,
    OutstandingTally,
    ProtocolStep,
    Signoff,
)

BATCH = 500


def _flagged_today(dates, today: date, warning_days: int):
    """Whether a pair of flag dates (of `EpisodeFlagDate` or `FlagDateTally`) is flagged today."""
    return or_(
        dates.flagged_from <= today,
        dates.unsigned_surgery_on <= today + timedelta(days=warning_days),
    )


def flagged_episodes(day: SiteDay) -> Select:
    """The ids of the episodes flagged today."""
    return select(EpisodeFlagDate.episode_id).where(
        _flagged_today(EpisodeFlagDate, day.date, day.warning_days)
    )


def flagged_episode_count(db: Session, day: SiteDay) -> int:
    """How many episodes `flagged_episodes` holds (the red count in the navigation bar), in one
    query that sums the tally of flag dates: a few rows, whatever the number of episodes."""
    total = func.coalesce(func.sum(FlagDateTally.episodes), 0)
    flagged = _flagged_today(FlagDateTally, day.date, day.warning_days)
    return int(db.scalar(select(total).where(flagged)) or 0)


def flag_dates(db: Session, episode_ids: list[int]) -> dict[int, tuple[date | None, date | None]]:
    """Work out (flagged_from, unsigned_surgery_on) of some episodes from what the database holds
    now (four queries)."""
    from app.queries import outcome_flags, preop_signed, session_rows  # queries imports this module

    ids = sorted(set(episode_ids))
    facts = db.execute(
        select(Episode.id, Episode.status, Episode.surgery_date, preop_signed()).where(Episode.id.in_(ids))
    ).all()
    items: dict[int, list] = defaultdict(list)
    plans: dict[int, list[SessionsPlan]] = defaultdict(list)
    for row in db.execute(
        select(
            ChecklistItem.episode_id,
            ChecklistItem.phase,
            ChecklistItem.required,
            ChecklistItem.status,
            ChecklistItem.due_date,
            ProtocolStep.kind,
            ProtocolStep.discipline,
            ProtocolStep.session_count,
            ProtocolStep.sessions_from_days,
        )
        .join(ProtocolStep, ProtocolStep.id == ChecklistItem.step_id)
        .where(ChecklistItem.episode_id.in_(ids))
    ):
        items[row.episode_id].append(row)
        if row.kind is StepKind.SESSIONS and row.status is ItemStatus.OPEN:
            plans[row.episode_id].append(
                SessionsPlan(
                    row.phase,
                    row.discipline,
                    row.session_count or 0,
                    row.sessions_from_days,
                    row.due_date,
                    row.required,
                )
            )
    sessions = session_rows(db, ids)
    not_improving = outcome_flags(db, ids, site_of(db).thresholds)
    dates = {}
    for episode_id, status, surgery_date, signed in facts:
        closed = status is EpisodeStatus.CLOSED
        first_day = flagged_from(
            closed,
            (
                postop_overdue_from(items[episode_id]),
                therapy_flag_from(plans[episode_id], sessions[episode_id], surgery_date),
                date.min if episode_id in not_improving else None,
            ),
        )
        dates[episode_id] = (first_day, unsigned_surgery_on(surgery_date, bool(signed), closed))
    return dates


def refresh(db: Session, episode_ids: Iterable[int]) -> None:
    """Store the flag dates and outstanding items of some episodes afresh (in the caller's
    transaction)."""
    ids = sorted(set(episode_ids))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        dates = flag_dates(db, batch)
        db.execute(_mark_outstanding(db, batch))
        if dates:
            rows = [
                {"episode_id": e, "flagged_from": first, "unsigned_surgery_on": surgery}
                for e, (first, surgery) in dates.items()
            ]
            db.execute(_upsert(db), rows)


def _mark_outstanding(db: Session, episode_ids: list[int]):
    """Mark the items of some episodes outstanding exactly when they are open, their episode is
    open and their phase is not signed off (a Core UPDATE: item versions do not change).

    Which episodes are open and which of their phases are signed is read first (one query) and
    written into the UPDATE as lists of ids: correlated subqueries there led PostgreSQL to hash
    every open episode and sign-off of the site for each refresh."""
    item = ChecklistItem.__table__
    open_ids: set[int] = set()
    signed: dict[Phase, list[int]] = defaultdict(list)
    for episode_id, status, phase in db.execute(
        select(Episode.id, Episode.status, Signoff.phase)
        .outerjoin(Signoff, and_(Signoff.episode_id == Episode.id, Signoff.revoked_at.is_(None)))
        .where(Episode.id.in_(episode_ids))
    ):
        if status is not EpisodeStatus.CLOSED:
            open_ids.add(episode_id)
        if phase is not None:
            signed[phase].append(episode_id)
    outstanding = and_(
        item.c.status == ItemStatus.OPEN,
        item.c.episode_id.in_(sorted(open_ids)),
        *(~and_(item.c.phase == phase, item.c.episode_id.in_(ids)) for phase, ids in signed.items()),
    )
    # Only the rows that change: a tick rewrites one row, not the episode's forty.
    return (
        update(item)
        .where(item.c.episode_id.in_(episode_ids), item.c.outstanding != outstanding)
        .values(outstanding=outstanding)
    )


def _upsert(db: Session):
    """INSERT ... ON CONFLICT (episode_id) DO UPDATE, in the database's own words."""
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(EpisodeFlagDate)
    return stmt.on_conflict_do_update(
        index_elements=[EpisodeFlagDate.episode_id],
        set_={
            "flagged_from": stmt.excluded.flagged_from,
            "unsigned_surgery_on": stmt.excluded.unsigned_surgery_on,
        },
    )


def refresh_all(db: Session) -> int:
    """Store the flag date of every episode afresh, and count the tallies again; returns how
    many episodes."""
    ids = list(db.scalars(select(Episode.id)))
    refresh(db, ids)
    recount_tallies(db)
    return len(ids)


def recount_tallies(db: Session) -> None:
    """Count the tallies again from their rows: outstanding items (`OutstandingTally`) and
    episodes per pair of flag dates (`FlagDateTally`). The triggers keep them in step; this
    repairs them should the triggers ever have been bypassed."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": audit.CHAIN_LOCK_KEY})
    item, dates = ChecklistItem.__table__, EpisodeFlagDate.__table__
    item_key = (item.c.due_date, item.c.phase, item.c.role, item.c.required)
    date_key = (dates.c.flagged_from, dates.c.unsigned_surgery_on)
    _recount(db, OutstandingTally.__table__, item_key, "items", item.c.outstanding)
    _recount(db, FlagDateTally.__table__, date_key, "episodes", or_(*(c.isnot(None) for c in date_key)))


def _recount(db: Session, tally, key, count_column: str, counted) -> None:
    """Fill `tally` afresh: one row per value of `key` among the rows where `counted` holds."""
    db.execute(delete(tally))
    db.execute(
        insert(tally).from_select(
            [c.name for c in key] + [count_column],
            select(*key, func.count()).where(counted).group_by(*key),
        )
    )


def refresh_missing(db: Session) -> int:
    """Store the flag date of the episodes that have none yet (after a migration or a bulk load)."""
    missing = select(EpisodeFlagDate.episode_id).where(EpisodeFlagDate.episode_id == Episode.id).exists()
    ids = list(db.scalars(select(Episode.id).where(~missing)))
    refresh(db, ids)
    return len(ids)
