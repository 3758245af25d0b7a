"""Therapy sessions: what counts for a sessions step, its plan, what a session entry needs.

The "Therapy behind plan" flag built on these is in app/domain/flags.py.

Pure rules on plain values; `today` is passed in.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from app.domain.policy import Action, can
from app.domain.vocab import Attendance, Discipline, ItemStatus, Phase, StepKind

MAX_MINUTES = 600
MINUTES_RANGE = f"Enter the minutes, from 1 to {MAX_MINUTES}."
MINUTES_ATTENDED = f"An attended session needs its minutes: enter 1 to {MAX_MINUTES}."
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
    """What a sessions step asks: `count` attended sessions of a discipline inside its window.

    The window runs from `from_days` after surgery (None: surgery day, or any day before surgery
    for a Before step) to `until_days` after surgery (None: the item's due date)."""

    phase: Phase
    discipline: Discipline
    count: int
    from_days: int | None
    due_date: date | None
    required: bool = True
    until_days: int | None = None
    title: str = ""  # the step's title, naming it in the flag


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
        until_days=item.sessions_until_days if count is not None else step.sessions_until_days,
        title=step.title,
    )


def window_start(plan: SessionsPlan, surgery_date: date) -> date | None:
    """First day whose sessions count; None means "any day before surgery" (Before steps)."""
    if plan.from_days is not None:
        return surgery_date + timedelta(days=plan.from_days)
    return surgery_date if plan.phase is not Phase.BEFORE else None


def window_end(plan: SessionsPlan, surgery_date: date) -> date | None:
    """Last day whose sessions count: `until_days` after surgery, else the item's due date."""
    if plan.until_days is not None:
        return surgery_date + timedelta(days=plan.until_days)
    return plan.due_date


def counts_for(plan: SessionsPlan, session: SessionFacts, surgery_date: date | None) -> bool:
    """Whether a session counts toward the step: attended, of its discipline, inside its window;
    a prehabilitation session for a Before step, any other session for an After step."""
    if surgery_date is None:
        return False
    end = window_end(plan, surgery_date)
    if end is None:
        return False
    if session.attendance is not Attendance.ATTENDED or session.discipline is not plan.discipline:
        return False
    if plan.phase is Phase.BEFORE and not session.prehabilitation:
        return False
    if plan.phase is Phase.AFTER and session.prehabilitation:
        return False
    start = window_start(plan, surgery_date)
    if plan.phase is Phase.BEFORE and start is None and session.session_date >= surgery_date:
        return False
    return (start is None or start <= session.session_date) and session.session_date <= end


def attended_count(plan: SessionsPlan, sessions: Iterable[SessionFacts], surgery_date: date | None) -> int:
    """Attended sessions that count toward the step."""
    return sum(counts_for(plan, s, surgery_date) for s in sessions)


# The plan a sessions step is followed against ("Therapy behind plan", CLINICAL-RULES.md §5).
PLAN_MIN_COUNT = 3  # a step of fewer sessions is followed by its due date alone
PLAN_DELAY_DAYS = 14  # the plan starts this many days after the window opens
BEHIND_BY = 2  # flagged when the plan expects this many more sessions than attended


@dataclass(frozen=True)
class PlanDays:
    """The days after surgery a step's plan runs on: its window [`first`, `last`], and the plan
    expecting sessions pro rata from `start` (14 days after the window opens) to `last`."""

    first: int
    last: int

    @property
    def start(self) -> int:
        return self.first + PLAN_DELAY_DAYS

    @property
    def span(self) -> int:
        return self.last - self.start

    def expected(self, count: int, day: int) -> int:
        """Sessions expected by `day` after surgery: none until the plan starts, then pro rata
        (rounded down), all of them from `last` on."""
        elapsed = day - self.start
        if elapsed <= 0:
            return 0
        return count * min(elapsed, self.span) // self.span


def plan_days(plan: SessionsPlan, surgery_date: date | None) -> PlanDays | None:
    """The days of a step's plan; None when it has none: surgery or the window's end unknown,
    fewer than 3 sessions, or a window of 14 days or less (its due date follows it)."""
    if surgery_date is None or plan.count < PLAN_MIN_COUNT:
        return None
    if plan.until_days is not None:
        last = plan.until_days
    elif plan.due_date is not None:
        last = (plan.due_date - surgery_date).days
    else:
        return None
    first = plan.from_days or 0
    if last - first <= PLAN_DELAY_DAYS:
        return None
    return PlanDays(first, last)


def expected_by(plan: SessionsPlan, surgery_date: date | None, today: date) -> int:
    """Sessions the step's plan expects by today (0 for a step without a plan, see `plan_days`)."""
    days = plan_days(plan, surgery_date)
    if days is None or surgery_date is None:
        return 0
    return days.expected(plan.count, (today - surgery_date).days)


def sessions_label(count: int, discipline: Discipline, attended: int) -> str:
    """ "3 of 6 PT sessions" (plural whatever the count, as the protocol's items say it)."""
    return f"{attended} of {count} {discipline.value} sessions"


NAME_LENGTH = 70


def step_name(title: str) -> str:
    """A sessions step's name in a count: its title up to the first bracket, colon, semicolon or
    full stop ("Outpatient PT programme started (discectomy: …)" -> "Outpatient PT programme started")."""
    name = re.split(r"\s*[(:;]|\.(?:\s|$)", title, maxsplit=1)[0].strip() or title.strip()
    return name if len(name) <= NAME_LENGTH else name[: NAME_LENGTH - 1].rstrip() + "…"


def window_words(plan: SessionsPlan, surgery_date: date | None) -> str:
    """The days whose sessions count, from surgery: "days 28–120", "day 0"; "before surgery" for a
    Before step; "" while surgery is not scheduled."""
    if plan.phase is Phase.BEFORE:
        return "before surgery"
    if surgery_date is None:
        return ""
    first = plan.from_days or 0
    end = window_end(plan, surgery_date)
    if end is None:
        return f"from day {first}"
    last = (end - surgery_date).days
    return f"day {first}" if first == last else f"days {first}–{last}"


def count_text(plan: SessionsPlan, attended: int, surgery_date: date | None) -> str:
    """Which step a count is for, and its window: "PT sessions logged against plan: 0 of 8 (days
    28–120)"; the discipline is added when the step's name does not say it ("… 0 of 8 PT …")."""
    name = step_name(plan.title) if plan.title else f"{plan.discipline.value} sessions"
    said = re.search(rf"\b{plan.discipline.value}\b", name)
    count = f"{attended} of {plan.count}" + ("" if said else f" {plan.discipline.value}")
    window = window_words(plan, surgery_date)
    return f"{name}: {count}" + (f" ({window})" if window else "")


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


def sessions_before_surgery(
    sessions: Iterable[SessionFacts], surgery_date: date | None
) -> list[SessionFacts]:
    """The sessions other than prehabilitation dated before the surgery date (all of them while
    surgery is unscheduled), by date: what a surgery date may not leave behind it."""
    return sorted(
        (
            s
            for s in sessions
            if not s.prehabilitation and (surgery_date is None or s.session_date < surgery_date)
        ),
        key=lambda s: (s.session_date, s.id),
    )


@dataclass(frozen=True)
class StepProgress:
    plan: SessionsPlan
    attended: int
    expected: int
    open: bool
    day: int | None = None  # today, in days after surgery
    days: PlanDays | None = None

    @property
    def behind(self) -> bool:
        """An open, required step whose plan expects 2 or more sessions more than attended."""
        return (
            self.open
            and self.plan.required
            and self.days is not None
            and self.day is not None
            and self.expected - self.attended >= BEHIND_BY
        )

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
    """How far a sessions step is, against its plan today."""
    return StepProgress(
        plan=plan,
        attended=attended_count(plan, sessions, surgery_date),
        expected=expected_by(plan, surgery_date, today),
        open=status is ItemStatus.OPEN,
        day=None if surgery_date is None else (today - surgery_date).days,
        days=plan_days(plan, surgery_date),
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
    """What is wrong with a session entry, by field; empty means it may be saved. Minutes may be
    left blank for a missed or cancelled session, not for an attended one."""
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
    if entry.minutes is None:
        if entry.attendance == Attendance.ATTENDED.value:
            problems["minutes"] = MINUTES_ATTENDED
    elif not 1 <= entry.minutes <= MAX_MINUTES:
        problems["minutes"] = MINUTES_RANGE
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
