"""Every flag an episode can raise, each rule in its two forms side by side.

- The **live** form says whether the flag is raised today and with what words (the episode page,
  every list, the outcome and therapy panels).
- The **first-day** form says from which day it is raised, given the episode as it is now.
  Between two changes to an episode its flags only ever switch on as days pass (an item becomes
  overdue, surgery comes near, sessions fall behind), so that date, stored when the episode
  changes (app/services/stored_flags.py), says whether the episode is flagged on any later day:
  lists count and filter flagged episodes in SQL with it.

Adding a flag: write its two forms here, register it in `RULES`, and give
tests/domain/test_flags.py a way to make facts that raise it (the parity test then checks the
two forms agree on every day for a year). docs/flags.md tells the whole mechanism.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import SimpleNamespace

from app.domain.alerts import item_open_alert
from app.domain.outcomes import (
    Scores,
    Thresholds,
    change_from_baseline,
    improvement,
    judged_scores,
    window_for,
)
from app.domain.progress import ItemFacts
from app.domain.signoff import active_signoffs
from app.domain.site import Site, SiteDay
from app.domain.step_options import Raises
from app.domain.therapy import (
    BEHIND_BY,
    SessionFacts,
    SessionsPlan,
    StepProgress,
    attended_count,
    plan_days,
    plan_of,
    step_progress,
)
from app.domain.vocab import (
    Attendance,
    Discipline,
    EpisodeStatus,
    Instrument,
    ItemStatus,
    Phase,
    StepKind,
    TimePoint,
)

SHORT_DETAIL = 24  # characters of a flag's detail a list shows beside its label


@dataclass(frozen=True)
class Flag:
    code: str
    label: str
    detail: str
    # `text` reads "Label: detail" rather than "Label (detail)": for a detail that is a verdict
    # with brackets of its own ("12-month outcome: Failure (ODI 35 > 31)").
    colon: bool = False
    # A warning to act on soon (shown amber), not a danger (shown red).
    amber: bool = False

    @property
    def text(self) -> str:
        if not self.detail:
            return self.label
        return f"{self.label}: {self.detail}" if self.colon else f"{self.label} ({self.detail})"

    @property
    def short(self) -> str:
        """The label with the head of its detail when that is short ("Not improving (6 weeks)",
        "Incomplete post-op steps (3 overdue)"), else the label alone: for lists, where `text`
        is shown on demand."""
        head = self.detail.split(":", 1)[0].strip()
        return f"{self.label} ({head})" if head and len(head) <= SHORT_DETAIL else self.label


@dataclass(frozen=True)
class StepValue:
    """The recorded value of a done item whose step declares the flag it raises (`raises` in the
    protocol, app.domain.step_options.Raises), with the step's unit."""

    raises: Raises
    value: str | None
    unit: str | None = None


def step_values(rows: Iterable) -> list[StepValue]:
    """The values of the done items whose step raises a flag; each row has `raises` (the step's
    JSON), `status`, `value` and `unit`."""
    return [
        StepValue(Raises.from_json(r.raises), r.value, r.unit)
        for r in rows
        if r.raises and r.status is ItemStatus.DONE and r.value is not None
    ]


@dataclass(frozen=True)
class EpisodeFacts:
    """What the flag rules read of one episode: plain values, from loaded objects or query rows."""

    surgery_date: date | None
    preop_signed: bool
    closed: bool
    items: Sequence[ItemFacts] = ()
    plans: Sequence[SessionsPlan] = ()  # of the episode's open sessions items
    sessions: Sequence[SessionFacts] = ()
    # The baseline only when dated inside its window (`judged_scores`): moved surgery leaves an
    # older baseline out, and "Not improving" finds none.
    scores: Scores = field(default_factory=dict)
    # The flag texts of the safety alerts raised and not yet acknowledged (app/domain/alerts.py).
    alerts: Sequence[str] = ()
    values: Sequence[StepValue] = ()  # of the done items whose step raises a flag

    @classmethod
    def of_episode(cls, episode, sessions: Sequence[SessionFacts], score_rows: Iterable) -> "EpisodeFacts":
        """The facts of a loaded episode (its items with their steps, and its sign-offs), with its
        sessions and outcome-score rows."""
        return cls(
            surgery_date=episode.surgery_date,
            preop_signed=Phase.BEFORE in active_signoffs(episode),
            closed=episode.status is EpisodeStatus.CLOSED,
            items=episode.items,
            plans=[
                plan_of(i)
                for i in episode.items
                if i.step.kind is StepKind.SESSIONS and i.status is ItemStatus.OPEN
            ],
            sessions=sessions,
            scores=judged_scores(
                score_rows,
                episode.surgery_date,
                window_for(TimePoint.BASELINE, (i.step for i in episode.items)),
            ),
            alerts=[alert.flag for i in episode.items if (alert := item_open_alert(i)) is not None],
            values=step_values(
                SimpleNamespace(raises=i.step.raises, status=i.status, value=i.value, unit=i.step.unit)
                for i in episode.items
            ),
        )


@dataclass(frozen=True)
class FlagRule:
    """One flag: its live form (today's flag, or None) and its first-day form.

    `stored` names the column of `episode_flag_date` its first day goes into: `flagged_from` for
    a flag raised from a day on; `unsigned_surgery_on` for "Pre-op not signed off", stored as the
    surgery date because the day it is raised depends on the site's warning days."""

    code: str
    label: str
    today: Callable[[EpisodeFacts, SiteDay], Flag | None]
    first_day: Callable[[EpisodeFacts, Site], date | None]  # the settings, not today
    stored: str = "flagged_from"


# --- Safety ----------------------------------------------------------------------------------

SAFETY_CODE = "safety"


def safety_flag(alerts: Sequence[str]) -> Flag | None:
    """ "Safety: Level not confirmed on imaging; ..." while an alert waits for acknowledgement;
    shown before every other flag. A recorded answer does not change by itself: raised from the
    first day, or never, until the item changes or the alert is acknowledged."""
    if not alerts:
        return None
    return Flag(SAFETY_CODE, "Safety", "; ".join(dict.fromkeys(alerts)), colon=True)


SAFETY = FlagRule(
    SAFETY_CODE,
    "Safety",
    today=lambda facts, day: safety_flag(facts.alerts),
    first_day=lambda facts, site: date.min if facts.alerts else None,
)


# --- Incomplete post-op steps ---------------------------------------------------------------


def is_postop_overdue(item: ItemFacts, today: date) -> bool:
    """A required After-surgery item still open past its due date and grace days."""
    return (
        item.phase is Phase.AFTER
        and item.required
        and item.status is ItemStatus.OPEN
        and item.overdue_from is not None
        and item.overdue_from <= today
    )


def postop_flag(overdue_count: int) -> Flag | None:
    """The "Incomplete post-op steps" flag for a number of overdue post-op items."""
    if overdue_count <= 0:
        return None
    return Flag("incomplete_postop", "Incomplete post-op steps", f"{overdue_count} overdue")


def postop_overdue_from(items: Iterable[ItemFacts]) -> date | None:
    """The first day a required After-surgery item is overdue (after its due date and grace)."""
    days = [
        i.overdue_from
        for i in items
        if i.phase is Phase.AFTER
        and i.required
        and i.status is ItemStatus.OPEN
        and i.overdue_from is not None
    ]
    return min(days, default=None)


INCOMPLETE_POSTOP = FlagRule(
    "incomplete_postop",
    "Incomplete post-op steps",
    today=lambda facts, day: postop_flag(sum(is_postop_overdue(i, day.date) for i in facts.items)),
    first_day=lambda facts, site: postop_overdue_from(facts.items),
)


# --- Pre-op not signed off ------------------------------------------------------------------


def preop_flag(surgery_date: date | None, preop_signed: bool, today: date, warning_days: int) -> Flag | None:
    """The "Pre-op not signed off" flag: surgery within the warning window or past, unsigned."""
    if preop_signed or surgery_date is None:
        return None
    days = (surgery_date - today).days
    if days > warning_days:
        return None
    when = "surgery passed" if days < 0 else "surgery today" if days == 0 else f"surgery in {days} days"
    if days == 1:
        when = "surgery tomorrow"
    return Flag("preop_unsigned", "Pre-op not signed off", when)


def unsigned_surgery_on(surgery_date: date | None, preop_signed: bool) -> date | None:
    """The surgery date while Before surgery is unsigned: "Pre-op not signed off" is raised from
    `warning_days` before it (see `preop_flagged`)."""
    return None if preop_signed else surgery_date


def preop_flagged(unsigned_surgery: date | None, today: date, warning_days: int) -> bool:
    """Whether "Pre-op not signed off" is raised today, from its stored surgery date."""
    return unsigned_surgery is not None and (unsigned_surgery - today).days <= warning_days


PREOP_UNSIGNED = FlagRule(
    "preop_unsigned",
    "Pre-op not signed off",
    today=lambda facts, day: preop_flag(facts.surgery_date, facts.preop_signed, day.date, day.warning_days),
    first_day=lambda facts, site: unsigned_surgery_on(facts.surgery_date, facts.preop_signed),
    stored="unsigned_surgery_on",
)


# --- Therapy behind plan --------------------------------------------------------------------


MISSED_IN_A_ROW = 2
_NOT_ATTENDED = (Attendance.MISSED, Attendance.CANCELLED_BY_PATIENT)


def missed_runs(sessions: Iterable[SessionFacts], n: int = MISSED_IN_A_ROW) -> dict[Discipline, list]:
    """For each discipline whose latest post-operative sessions (by date, then id) include `n` or
    more in a row missed or cancelled by the patient, those sessions, oldest first.

    A session cancelled by the clinic is passed over (it neither counts nor breaks the run); an
    attended session ends it; prehabilitation sessions are not looked at."""
    runs: dict[Discipline, list] = {}
    for s in sorted(sessions, key=lambda s: (s.session_date, s.id)):
        if s.prehabilitation or s.attendance is Attendance.CANCELLED_BY_CLINIC:
            continue
        run = runs.setdefault(s.discipline, [])
        if s.attendance is Attendance.ATTENDED:
            run.clear()
        elif s.attendance in _NOT_ATTENDED:
            run.append(s)
    return {d: run for d, run in runs.items() if len(run) >= n}


def missed_in_a_row(sessions: Iterable[SessionFacts], n: int = MISSED_IN_A_ROW) -> bool:
    """Whether some discipline's latest post-operative sessions include `n` or more in a row
    missed or cancelled by the patient, with no attended session of it since (`missed_runs`)."""
    return bool(missed_runs(sessions, n))


def _missed_detail(discipline: Discipline, run: list) -> str:
    kinds = {s.attendance for s in run}
    how = (
        "missed"
        if kinds == {Attendance.MISSED}
        else "cancelled by the patient"
        if kinds == {Attendance.CANCELLED_BY_PATIENT}
        else "missed or cancelled by the patient"
    )
    return f"{len(run)} {discipline.value} sessions {how} in a row"


def _behind_detail(p: StepProgress) -> str:
    """ "PT sessions: 0 attended, 2 expected by day 62 — 2 or more behind the plan that started
    on day 42" (the step's title in place of "PT sessions" when it has one)."""
    name = p.plan.title.strip().rstrip(".") or f"{p.plan.discipline.value} sessions"
    days = p.days  # a step behind its plan has its days, and a day after surgery
    return (
        f"{name}: {p.attended} attended, {p.expected} expected by day {min(p.day, days.last)} — "
        f"{BEHIND_BY} or more behind the plan that started on day {days.start}"
    )


def therapy_flag(progress: Iterable[StepProgress], sessions: Iterable[SessionFacts]) -> Flag | None:
    """The "Therapy behind plan" flag, saying which rule fired with its numbers: the first step
    (by due date) behind its plan, and each discipline with sessions missed in a row."""
    details = [
        _behind_detail(p)
        for p in sorted(progress, key=lambda p: (p.plan.due_date or date.max, p.plan.discipline))
        if p.behind
    ][:1]
    details += [_missed_detail(d, run) for d, run in sorted(missed_runs(sessions).items())]
    if not details:
        return None
    return Flag("therapy_behind", "Therapy behind plan", "; ".join(details))


def _therapy_today(facts: EpisodeFacts, day: SiteDay) -> Flag | None:
    progress = [
        step_progress(plan, ItemStatus.OPEN, facts.sessions, facts.surgery_date, day.date)
        for plan in facts.plans
    ]
    return therapy_flag(progress, facts.sessions)


def behind_from(plan: SessionsPlan, attended: int, surgery_date: date | None) -> date | None:
    """The first day on which an open step with `attended` sessions is behind its plan (the plan
    then expects 2 or more sessions more), or None if it never will be: an optional step, one
    without a plan (`plan_days`), or one with fewer than 2 sessions still to attend."""
    days = plan_days(plan, surgery_date)
    if days is None or surgery_date is None or not plan.required:
        return None
    flagged_at = attended + BEHIND_BY  # the sessions expected when it is flagged
    if flagged_at > plan.count:
        return None
    # expected = floor(count * elapsed / span) reaches flagged_at at the fewest elapsed days
    # with count * elapsed >= flagged_at * span; flagged_at <= count, so within the span.
    elapsed = -(-flagged_at * days.span // plan.count)
    return surgery_date + timedelta(days=days.start + elapsed)


def therapy_flag_from(
    open_plans: Iterable[SessionsPlan], sessions: Iterable[SessionFacts], surgery_date: date | None
) -> date | None:
    """The first day "Therapy behind plan" is raised, with the plans of the episode's open
    sessions items and its sessions; from then on it stays raised until they change. None when
    it never is; `date.min` with sessions missed in a row (raised whatever the day)."""
    sessions = list(sessions)
    if missed_in_a_row(sessions):
        return date.min
    days = [
        behind_from(plan, attended_count(plan, sessions, surgery_date), surgery_date) for plan in open_plans
    ]
    return min((d for d in days if d is not None), default=None)


THERAPY_BEHIND = FlagRule(
    "therapy_behind",
    "Therapy behind plan",
    today=_therapy_today,
    first_day=lambda facts, site: therapy_flag_from(facts.plans, facts.sessions, facts.surgery_date),
)


# --- Not improving --------------------------------------------------------------------------

NOT_IMPROVING_CODE = "not_improving"


def outcome_flag(scores: Scores, thresholds: Thresholds) -> Flag | None:
    """The "Not improving" flag at the latest of 6 weeks, 3 months and 6 months, or None.

    Fires when an arm that applies (`app.domain.outcomes.improvement`: ODI from a baseline of 20,
    NRS of the dominant pain site from a baseline of 3) improved by less than its MCID in points
    and in per cent. The detail names every arm that fired, with its numbers. No baseline, or a
    baseline too low for any arm: no flag (the outcome panel says why). Scores do not change as
    days pass: raised from the first day, or never, until they change.
    """
    judgement = improvement(scores, thresholds)
    if judgement is None or not judgement.failed:
        return None
    reasons = "; ".join(arm.reason for arm in judgement.failed)
    return Flag(NOT_IMPROVING_CODE, "Not improving", f"{judgement.time_point.label}: {reasons}")


NOT_IMPROVING = FlagRule(
    NOT_IMPROVING_CODE,
    "Not improving",
    today=lambda facts, day: outcome_flag(facts.scores, day.thresholds),
    first_day=lambda facts, site: date.min if outcome_flag(facts.scores, site.thresholds) else None,
)


# --- 12-month outcome -----------------------------------------------------------------------

TWELVE_MONTH_CODE = "twelve_month_outcome"


def twelve_month_flag(scores: Scores, t: Thresholds) -> Flag | None:
    """The "12-month outcome" flag from the 12-month ODI (Alhaug 2021 cut-offs), or None.

    ODI above the failure cut-off: "Failure (ODI 35 > 31)"; above the worsening cut-off too, and
    not improved from baseline by the ODI MCID (or no baseline): "Worsening (ODI 44 > 39)"; above
    the failure cut-off having improved by the MCID: "Failure (ODI 44 > 31) despite improvement
    from 78". At or below the failure cut-off: no flag. Raised from the first day, or never.
    """
    odi = scores.get(TimePoint.MONTHS_12, {}).get(Instrument.ODI)
    if odi is None or odi <= t.odi_failure_12m:
        return None
    change = change_from_baseline(scores, TimePoint.MONTHS_12, Instrument.ODI)
    if change is not None and not change.below(t.odi_points, t.odi_percent):
        verdict = f"Failure (ODI {odi} > {t.odi_failure_12m}) despite improvement from {change.baseline}"
    elif odi > t.odi_worsening_12m:
        verdict = f"Worsening (ODI {odi} > {t.odi_worsening_12m})"
    else:
        verdict = f"Failure (ODI {odi} > {t.odi_failure_12m})"
    return Flag(TWELVE_MONTH_CODE, "12-month outcome", verdict, colon=True)


TWELVE_MONTH_OUTCOME = FlagRule(
    TWELVE_MONTH_CODE,
    "12-month outcome",
    today=lambda facts, day: twelve_month_flag(facts.scores, day.thresholds),
    first_day=lambda facts, site: date.min if twelve_month_flag(facts.scores, site.thresholds) else None,
)


def outcome_flags(scores: Scores, thresholds: Thresholds) -> list[Flag]:
    """The outcome-score flags an episode raises ("Not improving", "12-month outcome"), in order."""
    return [
        flag
        for flag in (outcome_flag(scores, thresholds), twelve_month_flag(scores, thresholds))
        if flag is not None
    ]


# --- Still on opioids at 3 months -----------------------------------------------------------

STILL_ON_OPIOIDS_CODE = "still_on_opioids"


def step_value_flag(code: str, label: str, values: Iterable[StepValue]) -> Flag | None:
    """The flag `code` when the recorded value of the step that raises it is above its threshold:
    "<label> (<value> <unit>)". A recorded value does not change by itself: raised from the first
    day, or never, until it changes."""
    for v in values:
        if v.raises.flag == code and v.raises.raised_by(v.value):
            return Flag(code, label, f"{v.value} {v.unit or ''}".strip(), amber=True)
    return None


def opioid_flag(values: Iterable[StepValue]) -> Flag | None:
    """ "Still on opioids at 3 months (30 MME/day)": the dose recorded on the protocol's step that
    raises `still_on_opioids` is above its threshold (0). Clinical rules v2 section 4 (CANSECO)."""
    return step_value_flag(STILL_ON_OPIOIDS_CODE, "Still on opioids at 3 months", values)


STILL_ON_OPIOIDS = FlagRule(
    STILL_ON_OPIOIDS_CODE,
    "Still on opioids at 3 months",
    today=lambda facts, day: opioid_flag(facts.values),
    first_day=lambda facts, site: date.min if opioid_flag(facts.values) else None,
)

# The flags a protocol step's recorded value may raise (`raises: {flag: ..., above: ...}`).
STEP_VALUE_FLAGS = frozenset({STILL_ON_OPIOIDS_CODE})

# The flags a step's `required_if` may name: those that change only when the episode changes,
# never as days pass (raised from the first day, or never), so that the requirement they make,
# stored when the episode changes (app/services/requirements.py), is right on every later day.
CONDITION_FLAGS = frozenset({SAFETY_CODE, NOT_IMPROVING_CODE, STILL_ON_OPIOIDS_CODE, TWELVE_MONTH_CODE})


# --- every flag -----------------------------------------------------------------------------

# In the order flags are shown.
RULES: tuple[FlagRule, ...] = (
    SAFETY,
    INCOMPLETE_POSTOP,
    PREOP_UNSIGNED,
    THERAPY_BEHIND,
    NOT_IMPROVING,
    STILL_ON_OPIOIDS,
    TWELVE_MONTH_OUTCOME,
)


# Each flag's name, as lists and the "Not required now" of a conditional step say it.
FLAG_LABELS = {rule.code: rule.label for rule in RULES}


def episode_flags(facts: EpisodeFacts, day: SiteDay) -> list[Flag]:
    """Every flag an episode raises today (a closed episode raises none)."""
    if facts.closed:
        return []
    return [flag for rule in RULES if (flag := rule.today(facts, day)) is not None]


def stored_dates(facts: EpisodeFacts, site: Site) -> Mapping[str, date | None]:
    """What `episode_flag_date` holds for an episode: for each stored column, the first day of
    its flags (the earliest, where several flags share it). A closed episode raises none."""
    columns = {rule.stored: None for rule in RULES}
    if facts.closed:
        return columns
    for rule in RULES:
        first = rule.first_day(facts, site)
        if first is not None and (columns[rule.stored] is None or first < columns[rule.stored]):
            columns[rule.stored] = first
    return columns


def flagged_on(dates: Mapping[str, date | None], day: SiteDay) -> bool:
    """Whether stored dates (`stored_dates`) say the episode is flagged on `day`: the SQL of
    app/queries/flags.py asks the same of the table."""
    flagged_from = dates.get("flagged_from")
    return (flagged_from is not None and flagged_from <= day.date) or preop_flagged(
        dates.get("unsigned_surgery_on"), day.date, day.warning_days
    )
