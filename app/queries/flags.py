"""Reads for the flags: the facts the rules of app/domain/flags.py read, for many episodes in a
fixed number of queries, and the episodes flagged today from their stored first days
(`episode_flag_date`, kept in step by app/services/stored_flags.py)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import Select, and_, func, or_, select, true
from sqlalchemy.orm import Session

from app.domain.alerts import open_alert
from app.domain.flags import EpisodeFacts, step_values
from app.domain.outcomes import judged_scores, window_for
from app.domain.site import SiteDay
from app.domain.step_options import Alert
from app.domain.therapy import SessionsPlan
from app.domain.vocab import EpisodeStatus, ItemStatus, Phase, StepKind, TimePoint
from app.models import (
    ChecklistItem,
    Episode,
    EpisodeFlagDate,
    FlagDateTally,
    OutcomeScore,
    ProtocolStep,
    Signoff,
)
from app.queries import episode_ids_param, rows_by_episode
from app.queries.therapy import session_rows


def _flagged_today(dates, today: date, warning_days: int):
    """Whether a pair of flag dates (of `EpisodeFlagDate` or `FlagDateTally`) is flagged today:
    the SQL form of `app.domain.flags.flagged_on`."""
    return or_(
        dates.flagged_from <= today,
        dates.unsigned_surgery_on <= today + timedelta(days=warning_days),
    )


def flagged_episodes(day: SiteDay) -> Select:
    """The ids of the episodes flagged today."""
    return select(EpisodeFlagDate.episode_id).where(
        _flagged_today(EpisodeFlagDate, day.date, day.warning_days)
    )


def alerting_episodes() -> Select:
    """The ids of the episodes with a safety alert waiting for acknowledgement."""
    # `== true()`, as the partial index says it: SQLite would not use the index for `IS 1`.
    return select(ChecklistItem.episode_id).where(ChecklistItem.alert_open == true()).distinct()


def alerting_count() -> Select:
    """How many episodes have a safety alert waiting for acknowledgement (an indexed count)."""
    return select(func.count()).select_from(alerting_episodes().subquery())


_ALERTING_COUNT = alerting_count()  # built once


def alerting_episode_count(session: Session) -> int:
    """`alerting_count`, run (one query)."""
    return int(session.scalar(_ALERTING_COUNT) or 0)


@lru_cache(maxsize=16)
def flagged_count(day: SiteDay) -> Select:
    """How many episodes `flagged_episodes` holds, summed from the tally of flag dates (a few
    rows, whatever the number of episodes); the day's dates in the statement, built once a day."""
    total = func.coalesce(func.sum(FlagDateTally.episodes), 0)
    return select(total).where(_flagged_today(FlagDateTally, day.date, day.warning_days))


def flagged_episode_count(session: Session, day: SiteDay) -> int:
    """`flagged_count`, run: the red count in the navigation bar (one query)."""
    return int(session.scalar(flagged_count(day)) or 0)


def preop_signed():
    """True where the episode's Before-surgery phase has an active sign-off."""
    return (
        select(Signoff.id)
        .where(
            Signoff.episode_id == Episode.id,
            Signoff.phase == Phase.BEFORE,
            Signoff.revoked_at.is_(None),
        )
        .exists()
    )


_ITEM_ROWS = (
    select(
        ChecklistItem.id,
        ChecklistItem.episode_id,
        ChecklistItem.phase,
        ChecklistItem.required,
        ChecklistItem.status,
        ChecklistItem.due_date,
        ChecklistItem.overdue_from,
        ProtocolStep.kind,
        ProtocolStep.discipline,
        ChecklistItem.session_count,
        ChecklistItem.sessions_from_days,
        ChecklistItem.sessions_until_days,
        ProtocolStep.title,
        ChecklistItem.value,
        ProtocolStep.value_type,
        ProtocolStep.alert,
        ProtocolStep.risk,
        ChecklistItem.alert_acknowledged_at,
        ProtocolStep.unit,
        ProtocolStep.raises,
        ProtocolStep.outcome_time_point,
        ProtocolStep.window_from_days,
        ProtocolStep.window_until_days,
        ProtocolStep.code,
        ProtocolStep.required_if,
        ProtocolStep.value_label,
        ChecklistItem.required_since,
    )
    .join(ProtocolStep, ProtocolStep.id == ChecklistItem.step_id)
    .where(ChecklistItem.episode_id.in_(episode_ids_param()))
)


def item_rows(session: Session, episode_ids: list[int]) -> dict[int, list]:
    """The items of many episodes as plain rows, with what their step says of sessions and of the
    flag its value raises (one query)."""
    return rows_by_episode(session, _ITEM_ROWS, episode_ids)


@dataclass(frozen=True)
class EpisodeState:
    """Whether an episode is closed, which of its phases are signed off, and its surgery date."""

    closed: bool
    signed: frozenset[Phase]
    surgery_date: date | None = None


_EPISODE_STATES = (
    select(Episode.id, Episode.status, Episode.surgery_date, Signoff.phase)
    .outerjoin(Signoff, and_(Signoff.episode_id == Episode.id, Signoff.revoked_at.is_(None)))
    .where(Episode.id.in_(episode_ids_param()))
)


def episode_states(session: Session, episode_ids: list[int]) -> dict[int, EpisodeState]:
    """The state of some episodes (one query)."""
    episodes: dict[int, tuple] = {}
    signed: dict[int, set[Phase]] = defaultdict(set)
    for episode_id, status, surgery_date, phase in session.execute(
        _EPISODE_STATES, {"episode_ids": list(episode_ids)}
    ):
        episodes[episode_id] = (status is EpisodeStatus.CLOSED, surgery_date)
        if phase is not None:
            signed[episode_id].add(phase)
    return {e: EpisodeState(c, frozenset(signed[e]), d) for e, (c, d) in episodes.items()}


_SCORE_ROWS = select(
    OutcomeScore.episode_id,
    OutcomeScore.time_point,
    OutcomeScore.instrument,
    OutcomeScore.value,
    OutcomeScore.taken_on,
).where(OutcomeScore.episode_id.in_(episode_ids_param()))


def score_rows(session: Session, episode_ids: list[int]) -> dict[int, list]:
    """The outcome scores of many episodes as plain rows, with the day each was taken (one query)."""
    return rows_by_episode(session, _SCORE_ROWS, episode_ids)


def _open_plans(items: list) -> list[SessionsPlan]:
    """The plans of the open sessions items, as `app.domain.therapy.plan_of` makes them."""
    return [
        SessionsPlan(
            phase=r.phase,
            discipline=r.discipline,
            count=r.session_count or 0,
            from_days=r.sessions_from_days,
            due_date=r.due_date,
            required=r.required,
            until_days=r.sessions_until_days,  # None: the window ends on the due date
            title=r.title,
        )
        for r in items
        if r.kind is StepKind.SESSIONS and r.status is ItemStatus.OPEN
    ]


def flag_facts(
    session: Session,
    episode_ids: list[int],
    items: dict[int, list] | None = None,
    states: dict[int, EpisodeState] | None = None,
) -> dict[int, EpisodeFacts]:
    """What the flag rules read of many episodes, in four queries (two when the caller has
    already read `item_rows` and `episode_states`)."""
    ids = sorted(set(episode_ids))
    if not ids:
        return {}
    items = item_rows(session, ids) if items is None else items
    states = episode_states(session, ids) if states is None else states
    ids_set = set(ids)
    sessions = session_rows(session, ids)
    scores = score_rows(session, ids)
    return {
        episode_id: EpisodeFacts(
            surgery_date=state.surgery_date,
            preop_signed=Phase.BEFORE in state.signed,
            closed=state.closed,
            items=items[episode_id],
            plans=_open_plans(items[episode_id]),
            sessions=sessions[episode_id],
            scores=judged_scores(
                scores[episode_id], state.surgery_date, window_for(TimePoint.BASELINE, items[episode_id])
            ),
            alerts=[alert.flag for _, alert in open_alerts(items[episode_id])],
            values=step_values(items[episode_id]),
        )
        for episode_id, state in states.items()
        if episode_id in ids_set
    }


def open_alerts(items: list) -> list[tuple[int, Alert]]:
    """The items (rows of `item_rows`) whose safety alert waits for acknowledgement, with it."""
    found = []
    for r in items:
        if not r.alert:  # most steps raise none
            continue
        alert = open_alert(
            Alert.from_json(r.alert), r.value_type, r.status, r.value, r.alert_acknowledged_at is not None
        )
        if alert is not None:
            found.append((r.id, alert))
    return found
