"""What lists read instead of working out: when each episode raises its flags
(models.EpisodeFlagDate), and which of its items are outstanding (ChecklistItem.outstanding).

Every ORM change to an episode, its items, sign-offs, therapy sessions or outcome scores marks
the episode (app/services/stored_flags_hook.py); just before the transaction commits, its
conditional items' requirement is brought in line with their conditions
(app/services/requirements.py), then both are worked out again from the rules of
app/domain/flags.py and stored in `episode_flag_date`, in the same transaction. Lists then count
and filter flagged episodes with two indexed comparisons, whatever the number of episodes. Bulk
loads that bypass the ORM, and a change of the "Not improving" settings, call `refresh_all`
(`flask refresh-flags`). docs/flags.md tells the whole mechanism.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app import audit
from app.db import site_of
from app.domain.flags import RULES, stored_dates
from app.domain.requirement import is_waiting
from app.domain.vocab import ItemStatus, Phase
from app.models import ChecklistItem, Episode, EpisodeFlagDate, FlagDateTally, OutstandingTally
from app.queries import list_param
from app.queries.flags import EpisodeState, episode_states, flag_facts, item_rows, open_alerts
from app.services import requirements

STORED_COLUMNS = tuple(dict.fromkeys(rule.stored for rule in RULES))

BATCH = 500


@dataclass
class _WorkedOut:
    dates: dict[int, Mapping[str, date | None]]  # the stored first days of the flags
    alerting: list[int]  # the items whose safety alert waits
    waiting: list[int]  # the open conditional items not required now: never outstanding


def flag_dates(session: Session, episode_ids: list[int]) -> dict[int, Mapping[str, date | None]]:
    """Work out the stored first days of some episodes' flags from what the database holds now
    (four queries), by the rules of app/domain/flags.py."""
    return _worked_out(session, episode_ids, item_rows(session, episode_ids)).dates


def _worked_out(session: Session, episode_ids: list[int], items: dict[int, list], facts=None) -> _WorkedOut:
    site = site_of(session)
    facts = flag_facts(session, episode_ids, items) if facts is None else facts
    alerting = sorted(  # a closed episode raises no flags, safety included
        item_id for e, rows in items.items() if not facts[e].closed for item_id, _ in open_alerts(rows)
    )
    waiting = sorted(
        r.id for rows in items.values() for r in rows if is_waiting(r.required_if, r.required, r.status)
    )
    return _WorkedOut({e: stored_dates(f, site) for e, f in facts.items()}, alerting, waiting)


def refresh(session: Session, episode_ids: Iterable[int]) -> None:
    """Store the requirement of conditional items, the flag dates, outstanding items and open
    safety alerts of some episodes afresh (in the caller's transaction)."""
    ids = sorted(set(episode_ids))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        items = item_rows(session, batch)
        states = episode_states(session, batch)
        facts = flag_facts(session, batch, items, states)
        if requirements.apply(session, batch, states, items, facts):
            items = item_rows(session, batch)  # the requirements changed what "overdue" counts
            facts = flag_facts(session, batch, items, states)
        worked_out = _worked_out(session, batch, items, facts)
        dates = worked_out.dates
        params = _outstanding_params(batch, states, worked_out.waiting)
        session.execute(_MARK_ITEMS, {**params, "alerting": worked_out.alerting})
        if dates:
            rows = [{"episode_id": e, **columns} for e, columns in dates.items()]
            session.execute(_UPSERT[session.get_bind().dialect.name], rows)


# The statements of a refresh are built once (each tick runs them): lists go in as parameters.
_item = ChecklistItem.__table__


# Items are outstanding exactly when they are open, required now if their step is conditional,
# their episode is open and their phase is not signed off (a Core UPDATE: item versions do not
# change). Which episodes are open and which of their phases are signed (`episode_states`, read
# first) go in as lists of ids: correlated subqueries there led PostgreSQL to hash every open
# episode and sign-off of the site for each refresh.
_OUTSTANDING = and_(
    _item.c.status == ItemStatus.OPEN,
    _item.c.episode_id.in_(list_param("open_ids")),
    _item.c.id.notin_(list_param("waiting")),
    *(
        ~and_(_item.c.phase == phase, _item.c.episode_id.in_(list_param(f"signed_{phase.value}")))
        for phase in Phase
    ),
)
_ALERT_OPEN = _item.c.id.in_(list_param("alerting"))  # the items whose safety alert waits
# Both marks in one statement (one round trip), and only the rows that change: a tick rewrites
# one row, not the episode's forty. The tallies' triggers compare old and new values.
_MARK_ITEMS = (
    update(_item)
    .where(
        _item.c.episode_id.in_(list_param("episode_ids")),
        or_(_item.c.outstanding != _OUTSTANDING, _item.c.alert_open != _ALERT_OPEN),
    )
    .values(outstanding=_OUTSTANDING, alert_open=_ALERT_OPEN)
)


def _outstanding_params(
    episode_ids: list[int], states: Mapping[int, EpisodeState], waiting: list[int]
) -> dict:
    signed: dict[Phase, list[int]] = {phase: [] for phase in Phase}
    for episode_id, state in states.items():
        for phase in state.signed:
            signed[phase].append(episode_id)
    return {
        "episode_ids": episode_ids,
        "open_ids": sorted(e for e, state in states.items() if not state.closed),
        "waiting": waiting,
        **{f"signed_{phase.value}": ids for phase, ids in signed.items()},
    }


def _upsert(insert):
    """INSERT ... ON CONFLICT (episode_id) DO UPDATE, in a database's own words."""
    stmt = insert(EpisodeFlagDate)
    return stmt.on_conflict_do_update(
        index_elements=[EpisodeFlagDate.episode_id],
        set_={column: stmt.excluded[column] for column in STORED_COLUMNS},
    )


_UPSERT = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


def refresh_all(session: Session) -> int:
    """Store the flag date of every episode afresh, and count the tallies again; returns how
    many episodes."""
    ids = list(session.scalars(select(Episode.id)))
    refresh(session, ids)
    recount_tallies(session)
    return len(ids)


def recount_tallies(session: Session) -> None:
    """Count the tallies again from their rows: outstanding items (`OutstandingTally`) and
    episodes per pair of flag dates (`FlagDateTally`). The triggers keep them in step; this
    repairs them should the triggers ever have been bypassed."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": audit.CHAIN_LOCK_KEY})
    item, dates = ChecklistItem.__table__, EpisodeFlagDate.__table__
    item_key = (item.c.due_date, item.c.overdue_from, item.c.phase, item.c.role, item.c.required)
    date_key = (dates.c.flagged_from, dates.c.unsigned_surgery_on)
    _recount(session, OutstandingTally.__table__, item_key, "items", item.c.outstanding)
    _recount(session, FlagDateTally.__table__, date_key, "episodes", or_(*(c.isnot(None) for c in date_key)))


def _recount(session: Session, tally, key, count_column: str, counted) -> None:
    """Fill `tally` afresh: one row per value of `key` among the rows where `counted` holds."""
    session.execute(delete(tally))
    session.execute(
        insert(tally).from_select(
            [c.name for c in key] + [count_column],
            select(*key, func.count()).where(counted).group_by(*key),
        )
    )


def refresh_missing(session: Session) -> int:
    """Store the flag date of the episodes that have none yet (after a migration or a bulk load)."""
    missing = select(EpisodeFlagDate.episode_id).where(EpisodeFlagDate.episode_id == Episode.id).exists()
    ids = list(session.scalars(select(Episode.id).where(~missing)))
    refresh(session, ids)
    return len(ids)
