"""Outcome-score rules: change from baseline, whether improvement can be judged and how, what a
recording needs (the "Not improving" and "12-month outcome" flags are in app/domain/flags.py).

Lower scores are better on every instrument (ODI, NRS back, NRS leg), so an improvement is
baseline minus follow-up. Thresholds are CLINICAL.md §5.3 (Ostelo 2008 MCIDs, Alhaug 2021
12-month cut-offs) with the floors of CLINICAL-RULES §7, passed in from configuration.
"""

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from app.domain.schedule import day_text
from app.domain.vocab import Instrument, TimePoint

Scores = Mapping[TimePoint, Mapping[Instrument, int]]

# Every follow-up: 6 weeks or later.
FOLLOW_UPS = tuple(tp for tp in TimePoint if tp.days >= TimePoint.WEEKS_6.days)
# The follow-ups "Not improving" is judged at (12 months has its own flag, "12-month outcome").
IMPROVEMENT_FOLLOW_UPS = (TimePoint.WEEKS_6, TimePoint.MONTHS_3, TimePoint.MONTHS_6)
BASELINE_MISSING = "Baseline missing: without baseline scores the change cannot be checked against the MCID."
BASELINE_TOO_LOW = "Baseline too low to judge improvement"


@dataclass(frozen=True)
class Thresholds:
    """The minimal clinically important differences, the baseline floors below which an MCID is
    not judged, and the 12-month cut-offs (configuration)."""

    odi_points: int = 10
    odi_percent: int = 30
    nrs_points: int = 2
    nrs_percent: int = 30
    odi_failure_12m: int = 31
    odi_worsening_12m: int = 39
    odi_floor: int = 20
    nrs_floor: int = 3

    @classmethod
    def from_config(cls, config: Mapping) -> "Thresholds":
        return cls(
            odi_points=config["MCID_ODI_POINTS"],
            odi_percent=config["MCID_ODI_PERCENT"],
            nrs_points=config["MCID_NRS_POINTS"],
            nrs_percent=config["MCID_NRS_PERCENT"],
            odi_failure_12m=config["ODI_FAILURE_12M"],
            odi_worsening_12m=config["ODI_WORSENING_12M"],
            odi_floor=config["MCID_ODI_FLOOR"],
            nrs_floor=config["MCID_NRS_FLOOR"],
        )


@dataclass(frozen=True)
class Change:
    """A follow-up score against its baseline: points and per cent (None when baseline is 0)."""

    baseline: int
    value: int

    @property
    def points(self) -> int:
        return self.value - self.baseline

    @property
    def percent(self) -> float | None:
        return None if self.baseline == 0 else 100 * self.points / self.baseline

    @property
    def improvement(self) -> int:
        """Points better than baseline (negative when worse): lower scores are better."""
        return self.baseline - self.value

    @property
    def text(self) -> str:
        """The change as shown in the table: "−4 (−10%)", "0 (0%)", "+3"."""
        sign = "+" if self.points > 0 else "−" if self.points < 0 else ""
        shown = f"{sign}{abs(self.points)}"
        if self.percent is None:
            return shown
        pct = round(abs(self.percent))
        return f"{shown} ({sign if pct else ''}{pct}%)"

    def below(self, points: int, percent: int) -> bool:
        """Improved by less than `points` and by less than `percent` % (strictly; exact is not below).

        With a baseline of 0 there is no per cent: the points alone decide.
        """
        if self.improvement >= points:
            return False
        # improvement / baseline < percent / 100, in integers so an exact 30 % is not below.
        return self.baseline == 0 or self.improvement * 100 < percent * self.baseline

    def describe(self, name: str) -> str:
        """ "ODI 40 → 36, improved 4 points (10%)"."""
        verb = "improved" if self.improvement >= 0 else "worsened"
        amount = abs(self.improvement)
        unit = "point" if amount == 1 else "points"
        pct = "" if self.baseline == 0 else f" ({round(abs(100 * self.improvement / self.baseline))}%)"
        return f"{name} {self.baseline} → {self.value}, {verb} {amount} {unit}{pct}"


def change_from_baseline(scores: Scores, time_point: TimePoint, instrument: Instrument) -> Change | None:
    """The change of one score from baseline, or None without both."""
    if time_point is TimePoint.BASELINE:
        return None
    baseline = scores.get(TimePoint.BASELINE, {}).get(instrument)
    value = scores.get(time_point, {}).get(instrument)
    if baseline is None or value is None:
        return None
    return Change(baseline, value)


def latest_follow_up(scores: Scores) -> TimePoint | None:
    """The latest of 6 weeks, 3 months and 6 months that has scores: where "Not improving" is
    judged (12 months is not among them)."""
    present = [tp for tp in IMPROVEMENT_FOLLOW_UPS if scores.get(tp)]
    return present[-1] if present else None


def dominant_pain(baseline: Mapping[Instrument, int]) -> Instrument | None:
    """The pain site with the higher baseline NRS, leg when equal; None unless both are recorded
    (the app records the three scores together)."""
    back, leg = baseline.get(Instrument.NRS_BACK), baseline.get(Instrument.NRS_LEG)
    if back is None or leg is None:
        return None
    return Instrument.NRS_BACK if back > leg else Instrument.NRS_LEG


@dataclass(frozen=True)
class Arm:
    """One arm of "Not improving" that applies: an instrument's change against its MCID."""

    name: str  # "ODI", "NRS leg"
    change: Change
    points: int
    percent: int

    @property
    def fails(self) -> bool:
        """Improved by less than the MCID, in points and in per cent (exact is enough)."""
        return self.change.below(self.points, self.percent)

    @property
    def reason(self) -> str:
        """ "ODI 40 → 36, improved 4 points (10%), below 10 points and 30%"."""
        return f"{self.change.describe(self.name)}, below {self.points} points and {self.percent}%"


@dataclass(frozen=True)
class Improvement:
    """Improvement from baseline at the latest follow-up that "Not improving" looks at, by the
    arms that apply there: ODI when its baseline is at least the ODI floor; NRS of the dominant
    pain site when its baseline is at least the NRS floor. No arm: the baseline is too low."""

    time_point: TimePoint
    arms: tuple[Arm, ...]

    @property
    def judged(self) -> bool:
        return bool(self.arms)

    @property
    def failed(self) -> tuple[Arm, ...]:
        return tuple(arm for arm in self.arms if arm.fails)


def improvement(scores: Scores, t: Thresholds) -> Improvement | None:
    """The improvement at the latest of 6 weeks, 3 months and 6 months, or None without such a
    follow-up or without baseline scores."""
    tp = latest_follow_up(scores)
    baseline = scores.get(TimePoint.BASELINE)
    if tp is None or not baseline:
        return None
    arms = []
    odi = change_from_baseline(scores, tp, Instrument.ODI)
    if odi is not None and odi.baseline >= t.odi_floor:
        arms.append(Arm("ODI", odi, t.odi_points, t.odi_percent))
    site = dominant_pain(baseline)
    pain = change_from_baseline(scores, tp, site) if site is not None else None
    if pain is not None and pain.baseline >= t.nrs_floor:
        name = "NRS leg" if site is Instrument.NRS_LEG else "NRS back"
        arms.append(Arm(name, pain, t.nrs_points, t.nrs_percent))
    return Improvement(tp, tuple(arms))


def baseline_too_low(scores: Scores, t: Thresholds) -> bool:
    """Baseline and a follow-up that "Not improving" looks at are recorded, but no arm applies."""
    judgement = improvement(scores, t)
    return judgement is not None and not judgement.judged


def baseline_missing(scores: Scores, surgery_date: date | None = None, today: date | None = None) -> bool:
    """No baseline scores although follow-ups exist (or surgery has passed, when dates are given)."""
    if scores.get(TimePoint.BASELINE):
        return False
    if any(scores.get(tp) for tp in FOLLOW_UPS):
        return True
    return surgery_date is not None and today is not None and surgery_date < today


def score_map(rows) -> dict[TimePoint, dict[Instrument, int]]:
    """Scores by time point and instrument, as the domain rules take them."""
    scores: dict[TimePoint, dict[Instrument, int]] = {}
    for row in rows:
        scores.setdefault(row.time_point, {})[row.instrument] = row.value
    return scores


def version_token(rows) -> int:
    """The version a form carries for a time point: 0 when nothing is recorded yet.

    The sum of the rows' versions grows whenever any of the three scores changes.
    """
    return sum(row.version for row in rows)


@dataclass(frozen=True)
class Window:
    """The days from surgery on which a time point's scores may be dated, both ends included
    (CLINICAL-RULES §6): the outcome step's window in protocol data. `declared` False is today's
    rule for a protocol version without windows: baseline on or before the surgery day
    (`from_days` None: no first day), follow-ups after it (`until_days` None: no last day)."""

    from_days: int | None
    until_days: int | None
    declared: bool = True

    def first(self, surgery_date: date) -> date | None:
        return None if self.from_days is None else surgery_date + timedelta(days=self.from_days)

    def last(self, surgery_date: date) -> date | None:
        return None if self.until_days is None else surgery_date + timedelta(days=self.until_days)

    def holds(self, taken_on: date, surgery_date: date) -> bool:
        first, last = self.first(surgery_date), self.last(surgery_date)
        return (first is None or first <= taken_on) and (last is None or taken_on <= last)


def window_of(time_point: TimePoint, from_days: int | None = None, until_days: int | None = None) -> Window:
    """A time point's window from its outcome step's days; today's rule without them."""
    if from_days is not None and until_days is not None:
        return Window(from_days, until_days)
    if time_point is TimePoint.BASELINE:
        return Window(None, 0, declared=False)
    return Window(1, None, declared=False)


def window_for(time_point: TimePoint, steps: Iterable) -> Window:
    """The window of a time point from a version's steps (objects or rows with
    `outcome_time_point`, `window_from_days`, `window_until_days`): its first outcome step's."""
    step = next((s for s in steps if s.outcome_time_point is time_point), None)
    if step is None:
        return window_of(time_point)
    return window_of(time_point, step.window_from_days, step.window_until_days)


def next_time_point(
    recorded: Collection[TimePoint],
    surgery_date: date | None,
    today: date,
    windows: Mapping[TimePoint, Window],
) -> TimePoint | None:
    """The time point due next, which the Record form offers first: baseline while it is missing;
    else the earliest follow-up not yet recorded whose window is open today, else the next one to
    open, else (every window left has passed) the earliest not recorded. None when every time
    point is recorded, or when baseline is and surgery is not scheduled (nothing else can be)."""
    if TimePoint.BASELINE not in recorded:
        return TimePoint.BASELINE
    left = [tp for tp in FOLLOW_UPS if tp not in recorded]
    if surgery_date is None or not left:
        return None
    window = {tp: windows.get(tp) or window_of(tp) for tp in left}
    open_now = [tp for tp in left if window[tp].holds(today, surgery_date)]
    upcoming = [tp for tp in left if (first := window[tp].first(surgery_date)) is not None and today < first]
    return (open_now or upcoming or left)[0]


def scores_noun(time_point: TimePoint) -> str:
    """ "Baseline", "6-week", "12-month": the time point before "scores"."""
    if time_point is TimePoint.BASELINE:
        return "Baseline"
    number, unit = time_point.label.split()
    return f"{number}-{unit.rstrip('s')}"


def _days_text(window: Window) -> str:
    first, last = window.from_days, window.until_days
    if first >= 0:
        return f"days {first}–{last} after surgery"
    if last == 0:
        return f"from {-first} days before surgery to the day of surgery"
    if last < 0:
        return f"from {-first} to {-last} days before surgery"
    return f"from {-first} days before to {last} days after surgery"


def _between(first: date, last: date) -> str:
    """ "between 12 Jan and 16 Feb 2027" (the year once when both share it)."""
    start = f"{first.day} {first:%b}" if first.year == last.year else day_text(first)
    return f"between {start} and {day_text(last)}"


def window_text(window: Window, surgery_date: date) -> str:
    """ "between 12 Jan and 16 Feb 2027 (days 28–63 after surgery)" (a declared window)."""
    first, last = window.first(surgery_date), window.last(surgery_date)
    return f"{_between(first, last)} ({_days_text(window)})"


def window_problem(time_point: TimePoint, taken_on: date, surgery_date: date, window: Window) -> str | None:
    """Why scores of this time point cannot be dated `taken_on` with this surgery date."""
    if window.holds(taken_on, surgery_date):
        return None
    if window.declared:
        return f"{scores_noun(time_point)} scores must be dated {window_text(window, surgery_date)}."
    if time_point is TimePoint.BASELINE:
        return f"Baseline scores are taken before surgery: on or before {day_text(surgery_date)}."
    return f"Follow-up scores are taken after surgery: after {day_text(surgery_date)}."


UNSCHEDULED = (
    "While surgery is not scheduled only baseline scores can be recorded: schedule the surgery first."
)


def recording_problems(
    time_point: TimePoint,
    taken_on: date,
    surgery_date: date | None,
    today: date,
    window: Window | None = None,
) -> list[str]:
    """Why scores for this time point cannot be recorded with this date; empty means they can.

    `window`: the time point's window in the episode's protocol version (`window_for`); None
    or undeclared keeps today's rule (baseline on or before surgery, follow-ups after it).
    While surgery is unscheduled only baseline scores can be recorded."""
    problems = []
    if taken_on > today:
        problems.append("The date taken cannot be in the future.")
    if surgery_date is None:
        if time_point is not TimePoint.BASELINE:
            problems.append(UNSCHEDULED)
        return problems
    problem = window_problem(time_point, taken_on, surgery_date, window or window_of(time_point))
    if problem:
        problems.append(problem)
    return problems


def judged_scores(
    rows, surgery_date: date | None, baseline: Window
) -> dict[TimePoint, dict[Instrument, int]]:
    """The scores the outcome flags and the change from baseline judge (rows with `time_point`,
    `instrument`, `value` and `taken_on`): a baseline dated outside its window (the surgery date
    moved since it was taken) is left out, so "Not improving" says "Baseline missing" until it
    is taken again. One place for the episode page, the lists and the stored flags."""
    return score_map(
        r
        for r in rows
        if r.time_point is not TimePoint.BASELINE
        or surgery_date is None
        or baseline.holds(r.taken_on, surgery_date)
    )


def stale_baseline_reason(taken_on: date, surgery_date: date, window: Window) -> str | None:
    """Why a baseline taken on `taken_on` must be taken again for this surgery date (its item is
    reopened with these words); None when it still falls in its window."""
    if window.holds(taken_on, surgery_date):
        return None
    first = window.first(surgery_date)
    if first is not None and taken_on < first:
        return f"Baseline older than {-window.from_days} days before the new surgery date: record it again"
    return "Baseline taken after the new surgery date: record it again"


def follow_ups_outside(
    taken: Mapping[TimePoint, date], surgery_date: date | None, windows: Mapping[TimePoint, Window]
) -> list[str]:
    """The recorded follow-up scores (6 weeks to 12 months; `taken`: the date of each time
    point's scores) that a surgery date would leave outside their window, in words."""
    problems = []
    for tp in FOLLOW_UPS:
        taken_on = taken.get(tp)
        if taken_on is None:
            continue
        dated = f"the {scores_noun(tp)} scores dated {day_text(taken_on)}"
        if surgery_date is None:
            problems.append(f"{dated} (with no surgery date only baseline scores can be kept)")
            continue
        window = windows.get(tp) or window_of(tp)
        if window.holds(taken_on, surgery_date):
            continue
        if window.declared:
            problems.append(f"{dated} (they must be dated {window_text(window, surgery_date)})")
        else:
            problems.append(f"{dated} (follow-up scores are taken after surgery)")
    return problems


def value_problem(instrument: Instrument, value) -> str | None:
    """An instrument needs a whole number from 0 to its maximum."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= instrument.maximum:
        return None
    return f"{instrument.label}: enter a whole number from 0 to {instrument.maximum}."


def value_problems(values: Mapping[Instrument, int | None]) -> list[str]:
    """Every instrument needs a whole number from 0 to its maximum."""
    return [p for instrument in Instrument if (p := value_problem(instrument, values.get(instrument)))]
