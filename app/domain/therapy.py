"""Therapy sessions: what counts for a sessions step, the pro-rata plan, what a session entry needs.

The "Therapy behind plan" flag built on these is in app/domain/flags.py.

Pure rules on plain values; `today` is passed in.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from app.domain.policy import Action, can
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
    """The plan of a checklist item whose step is of kind sessions: the item holds it, with its
    step's variant for the episode's procedure type applied (the step's own, for an item made
    before items held it)."""
    step = item.step
    count = getattr(item, "session_count", None)
    return SessionsPlan(
        phase=item.phase,
        discipline=step.discipline,
        count=(count if count is not None else step.session_count) or 0,
        from_days=item.sessions_from_days if count is not None else step.sessions_from_days,
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


def correction_problem(actor, session, now: datetime) -> str | None:
    """Why the actor may not correct the session at `now`; None when they may."""
    if session.therapist_id != actor.id:
        return "Only the therapist who logged a session can correct it; add an addendum instead."
    if now - session.created_at > timedelta(hours=CORRECTION_HOURS):
        return (
            f"A session can be corrected for {CORRECTION_HOURS} hours after it is logged; "
            "add an addendum instead."
        )
    return None


def addendum_problem(actor, session, now: datetime) -> str | None:
    """Why the actor may not add to the session at `now`; None when they may."""
    if not can(actor, Action.LOG_SESSION):
        return "Only therapists add to therapy sessions."
    recent = now - session.created_at <= timedelta(hours=CORRECTION_HOURS)
    if session.therapist_id != actor.id and recent:
        return (
            f"For {CORRECTION_HOURS} hours after logging it, only {session.therapist.full_name} "
            "can add to this session."
        )
    return None
