"""Record outcome scores (ODI, NRS back, NRS leg) at a time point; they complete the protocol's items."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit, clock
from app.domain.flags import Flag, outcome_flags
from app.domain.outcomes import (
    Thresholds,
    judged_scores,
    recording_problems,
    scores_noun,
    stale_baseline_reason,
    value_problem,
    version_token,
)
from app.domain.policy import Action, can
from app.domain.signoff import is_locked
from app.domain.vocab import Instrument, TimePoint
from app.models import ChecklistItem, Episode, OutcomeScore, User
from app.queries.outcomes import episode_scores, outcome_windows
from app.services import checklist, requirements
from app.services.errors import Conflict, InvalidInput, NotPermitted, ServiceError, flush_or_conflict
from app.services.locks import lock_episode, refresh_items


class InvalidScores(InvalidInput):
    """The scores or their date have problems, by form field (the date's: outside its window)."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(problems, "Check the scores:")


@dataclass(frozen=True)
class Recorded:
    """What a recording did, for the message the user sees."""

    corrected: bool
    changed: bool
    item_completed: bool
    flags: list[Flag]  # the outcome flags the episode now raises ("Not improving", "12-month outcome")
    # The conditional items the scores made required, or no longer required (a review the
    # outcome flags call for): app/services/requirements.py.
    requirements: list[requirements.Change]


def record_scores(
    session: Session,
    actor: User,
    episode: Episode,
    time_point: TimePoint,
    taken_on: date,
    odi: int,
    nrs_back: int,
    nrs_leg: int,
    today: date,
    thresholds: Thresholds | None = None,
    expected_version: int = 0,
) -> Recorded:
    """Record (or correct) the three scores of a time point, in the caller's transaction.

    Completes the protocol's value item for the time point (unless its phase is locked),
    and makes the interdisciplinary review required when the episode now raises "Not improving" or
    "12-month outcome".
    """
    if not can(actor, Action.RECORD_OUTCOMES):
        raise NotPermitted("Only surgeons, coordinators and therapists record outcome scores.")
    values = {Instrument.ODI: odi, Instrument.NRS_BACK: nrs_back, Instrument.NRS_LEG: nrs_leg}
    problems = {i.value: p for i, v in values.items() if (p := value_problem(i, v))}
    windows = outcome_windows(session, episode.protocol_version_id)
    if taken_on is None:
        problems["taken_on"] = "Enter the date the scores were taken."
    else:
        dated = recording_problems(time_point, taken_on, episode.surgery_date, today, windows[time_point])
        if dated:
            problems["taken_on"] = " ".join(dated)
    if problems:
        raise InvalidScores(problems)
    signed, closed = lock_episode(session, episode.id)
    if closed:
        raise ServiceError("The episode is closed: its outcome scores can no longer change.")
    refresh_items(session, episode.id)
    rows = {
        r.instrument: r
        for r in session.scalars(
            select(OutcomeScore)
            .where(OutcomeScore.episode_id == episode.id, OutcomeScore.time_point == time_point)
            .execution_options(populate_existing=True)
        )
    }
    what = f"The {scores_noun(time_point).lower()} scores"
    if version_token(rows.values()) != expected_version:
        latest = max(rows.values(), key=lambda r: (r.recorded_at, r.version), default=None)
        raise Conflict(
            what,
            by=latest.recorded_by.full_name if latest else None,
            at=latest.recorded_at if latest else None,
        )
    corrected = bool(rows)
    before = _state(rows)
    now = clock.now()
    for instrument, value in values.items():
        row = rows.get(instrument)
        if row is None:
            row = OutcomeScore(episode_id=episode.id, time_point=time_point, instrument=instrument)
            session.add(row)
            rows[instrument] = row
        elif row.value == value and row.taken_on == taken_on:
            continue
        row.value = value
        row.taken_on = taken_on
        row.recorded_by = actor
        row.recorded_at = now
    after = _state(rows)
    changed = before != after
    if changed:
        flush_or_conflict(session, what)
        audit.record(
            session,
            actor,
            "outcome.correct" if corrected else "outcome.record",
            f"{'Corrected' if corrected else 'Recorded'} {time_point.label.lower()} outcome scores: "
            + ", ".join(f"{i.label} {v}" for i, v in values.items()),
            target_type="outcome_score",
            target_id=rows[Instrument.ODI].id,
            patient_id=episode.patient_id,
            episode_id=episode.id,
            before=before or None,
            after=after,
        )
    completed = _complete_item(session, actor, episode, time_point, str(odi), taken_on, signed, closed)
    judged = judged_scores(
        episode_scores(session, episode.id), episode.surgery_date, windows[TimePoint.BASELINE]
    )
    flags = outcome_flags(judged, thresholds or Thresholds())
    session.flush()
    return Recorded(corrected, changed, completed, flags, requirements.apply(session, [episode.id]))


def _state(rows: dict[Instrument, OutcomeScore]) -> dict:
    if not rows:
        return {}
    state = {i.value: rows[i].value for i in Instrument if i in rows}
    state["taken_on"] = next(iter(rows.values())).taken_on.isoformat()
    return state


def _item(episode: Episode, predicate) -> ChecklistItem | None:
    return next((i for i in episode.items if predicate(i)), None)


def _complete_item(session, actor, episode, time_point, value, taken_on, signed, closed) -> bool:
    """Complete (or correct the value of) the time point's value item, unless its phase is locked;
    it counts as done on the day the scores were taken."""
    item = _item(episode, lambda i: i.step.outcome_time_point is time_point)
    if item is None or is_locked(item.phase, signed, closed):
        return False
    because = f"the {time_point.label.lower()} outcome scores"
    if checklist.complete_by_records(session, actor, item, value, because, on=taken_on):
        return True
    checklist.correct_by_records(session, actor, item, value, because)
    return False


def reopen_stale_baseline(
    session: Session, actor: User, episode: Episode, signed: set
) -> ChecklistItem | None:
    """After the surgery date moved: reopen the baseline item when its scores now fall outside
    the baseline window (never a reason to refuse the move), audited with why; returns it.

    "Not improving" then finds no baseline in the window (`judged_scores`). An item in a
    signed-off phase is left alone, as records leave such items."""
    if episode.surgery_date is None:
        return None
    baseline = [r for r in episode_scores(session, episode.id) if r.time_point is TimePoint.BASELINE]
    if not baseline:
        return None
    window = outcome_windows(session, episode.protocol_version_id)[TimePoint.BASELINE]
    reason = stale_baseline_reason(baseline[0].taken_on, episode.surgery_date, window)
    item = _item(episode, lambda i: i.step.outcome_time_point is TimePoint.BASELINE)
    if reason is None or item is None or is_locked(item.phase, signed, False):
        return None
    return item if checklist.reopen_by_records(session, actor, item, reason) else None
