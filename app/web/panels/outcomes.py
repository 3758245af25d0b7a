"""What the outcome-scores table and the episode page's outcome panel show."""

from dataclasses import dataclass
from datetime import date

from app.domain.flags import Flag, outcome_flags
from app.domain.outcomes import (
    BASELINE_MISSING,
    BASELINE_TOO_LOW,
    Change,
    baseline_missing,
    baseline_too_low,
    change_from_baseline,
    judged_scores,
    score_map,
    version_token,
    window_for,
)
from app.domain.site import SiteDay
from app.domain.vocab import EpisodeStatus, Instrument, TimePoint
from app.models import Episode, OutcomeScore, User


@dataclass(frozen=True)
class Cell:
    instrument: Instrument
    value: int | None
    change: Change | None


@dataclass(frozen=True)
class Row:
    time_point: TimePoint
    taken_on: date
    recorded_by: User
    cells: list[Cell]
    version: int


@dataclass(frozen=True)
class OutcomePanel:
    rows: list[Row]
    flags: list[Flag]  # "Not improving", "12-month outcome"; none on a closed episode
    notice: str | None  # "Baseline missing: ...", "Baseline too low to judge improvement"
    closed: bool

    @property
    def recorded(self) -> set[TimePoint]:
        return {r.time_point for r in self.rows}

    def row(self, time_point: TimePoint) -> Row | None:
        return next((r for r in self.rows if r.time_point is time_point), None)


def outcome_panel(episode: Episode, rows: list[OutcomeScore], day: SiteDay) -> OutcomePanel:
    """The episode's scores (`episode_scores`) by time point with the change from baseline, its
    outcome flags and notice."""
    scores = score_map(rows)
    # What the flags judge: the baseline only when dated inside its window (the surgery date may
    # have moved since it was taken).
    baseline = window_for(TimePoint.BASELINE, (i.step for i in episode.items))
    judged = judged_scores(rows, episode.surgery_date, baseline)
    by_time: dict[TimePoint, list[OutcomeScore]] = {}
    for row in rows:
        by_time.setdefault(row.time_point, []).append(row)
    table = [
        Row(
            time_point=tp,
            taken_on=by_time[tp][0].taken_on,
            recorded_by=max(by_time[tp], key=lambda r: (r.recorded_at, r.version)).recorded_by,
            cells=[Cell(i, scores[tp].get(i), change_from_baseline(judged, tp, i)) for i in Instrument],
            version=version_token(by_time[tp]),
        )
        for tp in TimePoint
        if tp in by_time
    ]
    closed = episode.status is EpisodeStatus.CLOSED
    if baseline_missing(judged, episode.surgery_date, day.date):
        notice = BASELINE_MISSING
    elif baseline_too_low(judged, day.thresholds):
        notice = BASELINE_TOO_LOW
    else:
        notice = None
    return OutcomePanel(
        rows=table,
        flags=[] if closed else outcome_flags(judged, day.thresholds),
        notice=notice,
        closed=closed,
    )
