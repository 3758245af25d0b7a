"""Therapy sessions: what counts for a sessions step, the pro-rata plan, the behind-plan flag.

Pure rules on plain values; `today` is passed in.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from app.domain.progress import Flag
from app.domain.vocab import Attendance, Discipline, ItemStatus, Phase, StepKind

MAX_MINUTES = 600
MAX_PAIN = 10
MAX_ACTIVITIES = 2000
MAX_ADDENDUM = 2000
# A therapist may correct their own session for this long after logging it.
CORRECTION_HOURS = 24


class SessionFacts(Protocol):
    id: int
    session_date: date
    discipline: Discipline
    attendance: Attendance
    prehabilitation: bool


@dataclass(frozen=True)
class SessionsPlan:
    """What a sessions step asks: `count` attended sessions of a discipline by the due date."""

    phase: Phase
    discipline: Discipline
    count: int
    from_days: int | None
    due_date: date | None
    required: bool = True


def plan_of(item) -> SessionsPlan:
    """The plan of a checklist item whose step is of kind sessions."""
    step = item.step
    return SessionsPlan(
        phase=item.phase,
        discipline=step.discipline,
        count=step.session_count or 0,
        from_days=step.sessions_from_days,
        due_date=item.due_date,
        required=item.required,
    )


def window_start(plan: SessionsPlan, surgery_date: date) -> date | None:
    """First day whose sessions count; None means "any day before surgery" (Before steps)."""
    if plan.from_days is not None:
        return surgery_date + timedelta(days=plan.from_days)
    return surgery_date if plan.phase is not Phase.BEFORE else None


def counts_for(plan: SessionsPlan, session: SessionFacts, surgery_date: date | None) -> bool:
    """Whether an attended session counts toward the step (its discipline, inside its window)."""
    if surgery_date is None or plan.due_date is None:
        return False
    if session.attendance is not Attendance.ATTENDED or session.discipline is not plan.discipline:
        return False
    if plan.phase is Phase.BEFORE and not session.prehabilitation:
        return False
    start = window_start(plan, surgery_date)
    if plan.phase is Phase.BEFORE and start is None and session.session_date >= surgery_date:
        return False
    return (start is None or start <= session.session_date) and session.session_date <= plan.due_date


def attended_count(plan: SessionsPlan, sessions: Iterable[SessionFacts], surgery_date: date | None) -> int:
    """Attended sessions that count toward the step."""
    return sum(counts_for(plan, s, surgery_date) for s in sessions)


def expected_by(plan: SessionsPlan, surgery_date: date | None, today: date) -> int:
    """Sessions the plan expects by today, pro rata over the step's window (rounded down)."""
    if surgery_date is None or plan.due_date is None:
        return 0
    start = window_start(plan, surgery_date)
    if start is None:  # open-ended window: nothing expected before the due date, all of it after
        return plan.count if today >= plan.due_date else 0
    elapsed = max(0, (min(today, plan.due_date) - start).days)
    length = max(1, (plan.due_date - start).days)
    return min(plan.count, plan.count * elapsed // length)


def sessions_label(count: int, discipline: Discipline, attended: int) -> str:
    """ "3 of 6 PT sessions" (plural whatever the count, as the protocol's items say it)."""
    return f"{attended} of {count} {discipline.value} sessions"


def sessions_text(item, sessions: Iterable[SessionFacts], surgery_date: date | None) -> str:
    """What a sessions item shows ("3 of 6 PT sessions"); empty for other items."""
    step = item.step
    if step.kind is not StepKind.SESSIONS or step.discipline is None:
        return ""
    plan = plan_of(item)
    return sessions_label(plan.count, plan.discipline, attended_count(plan, sessions, surgery_date))


def satisfied(plan: SessionsPlan, sessions: Iterable[SessionFacts], surgery_date: date | None) -> int | None:
    """The attended count when it reaches the plan's count, else None."""
    attended = attended_count(plan, sessions, surgery_date)
    return attended if plan.count > 0 and attended >= plan.count else None


def satisfied_on(
    plan: SessionsPlan, sessions: Iterable[SessionFacts], surgery_date: date | None
) -> date | None:
    """The day the plan's count was reached: the date of its last needed counting session."""
    counting = sorted(s.session_date for s in sessions if counts_for(plan, s, surgery_date))
    return counting[plan.count - 1] if plan.count > 0 and len(counting) >= plan.count else None


@dataclass(frozen=True)
class StepProgress:
    plan: SessionsPlan
    attended: int
    expected: int
    open: bool

    @property
    def behind(self) -> bool:
        """An open, required step with fewer attended sessions than the plan expects by now."""
        return self.open and self.plan.required and self.attended < self.expected

    @property
    def label(self) -> str:
        return sessions_label(self.plan.count, self.plan.discipline, self.attended)


def step_progress(
    plan: SessionsPlan,
    status: ItemStatus,
    sessions: Iterable[SessionFacts],
    surgery_date: date | None,
    today: date,
) -> StepProgress:
    """How far a sessions step is, against its pro-rata plan today."""
    return StepProgress(
        plan=plan,
        attended=attended_count(plan, sessions, surgery_date),
        expected=expected_by(plan, surgery_date, today),
        open=status is ItemStatus.OPEN,
    )


def missed_in_a_row(sessions: Iterable[SessionFacts], n: int = 2) -> bool:
    """Whether the episode's `n` most recent sessions (by date, then id) were all missed."""
    latest = sorted(sessions, key=lambda s: (s.session_date, s.id), reverse=True)[:n]
    return len(latest) == n and all(s.attendance is Attendance.MISSED for s in latest)


def therapy_flag(progress: Iterable[StepProgress], sessions: Iterable[SessionFacts]) -> Flag | None:
    """The "Therapy behind plan" flag, saying which rule fired with its numbers."""
    sessions = list(sessions)
    details = [
        f"{p.plan.discipline.value}: {p.attended} of {p.expected} sessions expected by now"
        for p in sorted(progress, key=lambda p: (p.plan.due_date or date.max, p.plan.discipline))
        if p.behind
    ][:1]
    if missed_in_a_row(sessions):
        details.append("2 missed sessions in a row")
    if not details:
        return None
    return Flag("therapy_behind", "Therapy behind plan", "; ".join(details))


def episode_therapy_flag(
    items: Iterable, sessions: Iterable[SessionFacts], surgery_date: date | None, today: date, closed: bool
) -> Flag | None:
    """The flag from an episode's items (with steps) and sessions; a closed episode raises none."""
    if closed:
        return None
    sessions = list(sessions)
    progress = [
        step_progress(plan_of(i), i.status, sessions, surgery_date, today)
        for i in items
        if i.step.kind is StepKind.SESSIONS
    ]
    return therapy_flag(progress, sessions)


@dataclass(frozen=True)
class SessionInput:
    """A session as the therapist entered it, before it is checked."""

    session_date: date | None
    discipline: str | None
    minutes: int | None
    attendance: str | None
    pain_before: int | None
    pain_after: int | None
    activities: str
    home_exercise_plan: bool
    prehabilitation: bool


def session_problems(entry: SessionInput, surgery_date: date | None, today: date) -> dict[str, str]:
    """What is wrong with a session entry, by field; empty means it may be saved."""
    problems: dict[str, str] = {}
    when = entry.session_date
    if when is None:
        problems["session_date"] = "Enter a date as YYYY-MM-DD."
    elif when > today:
        problems["session_date"] = "The session date cannot be in the future."
    elif not entry.prehabilitation and (surgery_date is None or when < surgery_date):
        problems["session_date"] = (
            "Surgery is not yet scheduled: only a prehabilitation session can be logged."
            if surgery_date is None
            else "The date is before surgery: only a prehabilitation session can be dated before surgery."
        )
    if entry.discipline not in {d.value for d in Discipline}:
        problems["discipline"] = "Choose PT or OT."
    if entry.minutes is None or not 1 <= entry.minutes <= MAX_MINUTES:
        problems["minutes"] = f"Enter the minutes, from 1 to {MAX_MINUTES}."
    if entry.attendance not in {a.value for a in Attendance}:
        problems["attendance"] = "Choose attended, missed, cancelled by patient or cancelled by clinic."
    for name in ("pain_before", "pain_after"):
        value = getattr(entry, name)
        if value is not None and not 0 <= value <= MAX_PAIN:
            problems[name] = f"Enter a pain score from 0 to {MAX_PAIN}, or leave it blank."
    if len(entry.activities or "") > MAX_ACTIVITIES:
        problems["activities"] = f"Keep what was done to {MAX_ACTIVITIES} characters."
    return problems


def behind_from(plan: SessionsPlan, attended: int, surgery_date: date | None) -> date | None:
    """The first day on which an open, required step with `attended` sessions is behind its
    pro-rata plan (`expected_by` then exceeds `attended`), or None if it never will be."""
    if surgery_date is None or plan.due_date is None or not plan.required or attended >= plan.count:
        return None
    start = window_start(plan, surgery_date)
    if start is None:  # open-ended window: everything is expected on the due date
        return plan.due_date
    length = max(1, (plan.due_date - start).days)
    needed = -(-(attended + 1) * length // plan.count)  # fewest elapsed days to expect one more
    if needed > (plan.due_date - start).days:
        return None
    return start + timedelta(days=needed)


def therapy_flag_from(
    open_plans: Iterable[SessionsPlan], sessions: Iterable[SessionFacts], surgery_date: date | None
) -> date | None:
    """The first day "Therapy behind plan" is raised, with the plans of the episode's open
    sessions items and its sessions; from then on it stays raised until they change. None when
    it never is."""
    sessions = list(sessions)
    if missed_in_a_row(sessions):
        return date.min
    days = [
        behind_from(plan, attended_count(plan, sessions, surgery_date), surgery_date) for plan in open_plans
    ]
    return min((d for d in days if d is not None), default=None)
