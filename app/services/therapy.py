"""Log, correct and add to therapy sessions; sessions steps complete themselves when satisfied."""

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app import audit, clock
from app.domain.policy import Action, can
from app.domain.signoff import is_locked
from app.domain.therapy import (
    MAX_ADDENDUM,
    SessionInput,
    addendum_problem,
    correction_problem,
    plan_of,
    satisfied,
    satisfied_on,
    session_problems,
    sessions_label,
)
from app.domain.vocab import Attendance, Discipline, ItemStatus, StepKind
from app.models import ChecklistItem, Episode, ProtocolStep, SessionAddendum, TherapySession, User
from app.services.checklist import complete_by_records, reopen_by_records
from app.services.errors import Conflict, InvalidInput, NotPermitted, ServiceError, flush_or_conflict
from app.services.locks import lock_episode

CLOSED = "The episode is closed: its therapy sessions can no longer change."


class InvalidSession(InvalidInput):
    """The session entry has problems, by form field."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(problems, "Check the session:")


def _permit(actor: User) -> None:
    if not can(actor, Action.LOG_SESSION):
        raise NotPermitted("Only therapists log therapy sessions.")


def _open_episode(session: Session, episode: Episode) -> set:
    signed, closed = lock_episode(session, episode.id)
    if closed:
        raise ServiceError(CLOSED)
    return signed


def _checked(entry: SessionInput, surgery_date: date | None, today: date) -> None:
    problems = session_problems(entry, surgery_date, today)
    if problems:
        raise InvalidSession(problems)


def _state(s: TherapySession) -> dict:
    return {
        "session_date": s.session_date.isoformat(),
        "discipline": s.discipline.value,
        "minutes": s.minutes,
        "attendance": s.attendance.value,
        "pain_before": s.pain_before,
        "pain_after": s.pain_after,
        "activities": s.activities,
        "home_exercise_plan": s.home_exercise_plan,
        "prehabilitation": s.prehabilitation,
    }


def _fill(s: TherapySession, entry: SessionInput) -> None:
    s.session_date = entry.session_date
    s.discipline = Discipline(entry.discipline)
    s.minutes = entry.minutes
    s.attendance = Attendance(entry.attendance)
    s.pain_before = entry.pain_before
    s.pain_after = entry.pain_after
    s.activities = (entry.activities or "").strip()
    s.home_exercise_plan = bool(entry.home_exercise_plan)
    s.prehabilitation = bool(entry.prehabilitation)


def _describe(s: TherapySession) -> str:
    return f"{s.discipline.value} session on {s.session_date.isoformat()} ({s.attendance.label.lower()})"


def log_session(
    session: Session, actor: User, episode: Episode, entry: SessionInput, today: date
) -> tuple[TherapySession, list[ChecklistItem]]:
    """Log a session on an episode; returns it and the sessions items it completed."""
    _permit(actor)
    signed = _open_episode(session, episode)
    _checked(entry, episode.surgery_date, today)
    therapy_session = TherapySession(episode=episode, therapist=actor, created_at=clock.now())
    _fill(therapy_session, entry)
    session.add(therapy_session)
    session.flush()
    audit.record(
        session,
        actor,
        "session.logged",
        f"Logged a {_describe(therapy_session)}",
        target_type="therapy_session",
        target_id=therapy_session.id,
        patient_id=episode.patient_id,
        episode_id=episode.id,
        after=_state(therapy_session),
    )
    return therapy_session, satisfy_items(session, actor, episode, signed)


def correct_session(
    session: Session,
    actor: User,
    therapy_session: TherapySession,
    expected_version: int,
    entry: SessionInput,
    today: date,
) -> list[ChecklistItem]:
    """Correct one's own session within 24 hours of logging it; returns the items it completed."""
    _permit(actor)
    problem = correction_problem(actor, therapy_session, clock.now())
    if problem:
        raise NotPermitted(problem)
    if therapy_session.version != expected_version:
        at = therapy_session.updated_at or therapy_session.created_at
        raise Conflict("This session", by=therapy_session.therapist.full_name, at=at)
    episode = therapy_session.episode
    signed = _open_episode(session, episode)
    _checked(entry, episode.surgery_date, today)
    before = _state(therapy_session)
    _fill(therapy_session, entry)
    after = _state(therapy_session)
    if after == before:
        return []
    therapy_session.updated_at = clock.now()
    flush_or_conflict(session, "This session")
    changed = [k for k in after if after[k] != before[k]]
    audit.record(
        session,
        actor,
        "session.corrected",
        f"Corrected a {_describe(therapy_session)}: {', '.join(k.replace('_', ' ') for k in changed)}",
        target_type="therapy_session",
        target_id=therapy_session.id,
        patient_id=episode.patient_id,
        episode_id=episode.id,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    return satisfy_items(session, actor, episode, signed)


def add_addendum(
    session: Session, actor: User, therapy_session: TherapySession, text: str | None
) -> SessionAddendum:
    """Add a note to a session (its therapist, or any therapist once 24 hours have passed)."""
    problem = addendum_problem(actor, therapy_session, clock.now())
    if problem:
        raise NotPermitted(problem)
    body = (text or "").strip()
    if not body:
        raise ServiceError("Enter the addendum text.")
    if len(body) > MAX_ADDENDUM:
        raise ServiceError(f"Keep the addendum to {MAX_ADDENDUM} characters.")
    episode = therapy_session.episode
    _open_episode(session, episode)
    addendum = SessionAddendum(session=therapy_session, author=actor, created_at=clock.now(), text=body)
    session.add(addendum)
    session.flush()
    audit.record(
        session,
        actor,
        "session.addendum",
        f"Added an addendum to a {_describe(therapy_session)}",
        target_type="therapy_session",
        target_id=therapy_session.id,
        patient_id=episode.patient_id,
        episode_id=episode.id,
        after={"addendum": body},
    )
    return addendum


def reopen_unsatisfied(
    session: Session, actor: User, episode: Episode, signed: set, reason: str
) -> list[ChecklistItem]:
    """Reopen the episode's done sessions items that its sessions no longer satisfy (after the
    surgery date moved, their windows moved with it), audited with the reason.

    Items in a signed-off phase are left alone."""
    items, sessions = _sessions_items(session, episode.id, ItemStatus.DONE)
    if not items:
        return []
    return [
        item
        for item in items
        if not is_locked(item.phase, signed, False)
        and satisfied(plan_of(item), sessions, episode.surgery_date) is None
        and reopen_by_records(session, actor, item, reason)
    ]


def _sessions_items(session: Session, episode_id: int, status: ItemStatus):
    """An episode's sessions items in one status (with their steps, in checklist order), and its
    sessions; no sessions are read when there is no such item."""
    items = session.scalars(
        select(ChecklistItem)
        .join(ProtocolStep, ProtocolStep.id == ChecklistItem.step_id)
        .options(joinedload(ChecklistItem.step))
        .where(
            ChecklistItem.episode_id == episode_id,
            ChecklistItem.status == status,
            ProtocolStep.kind == StepKind.SESSIONS,
        )
        .order_by(ChecklistItem.position)
    ).all()
    if not items:
        return [], []
    return items, session.scalars(select(TherapySession).where(TherapySession.episode_id == episode_id)).all()


def satisfy_items(session: Session, actor: User, episode: Episode, signed: set) -> list[ChecklistItem]:
    """Complete the episode's open sessions items that its attended sessions now satisfy.

    Items in a signed-off phase are left alone; a completed item stays completed.
    """
    items, sessions = _sessions_items(session, episode.id, ItemStatus.OPEN)
    if not items:
        return []
    completed = []
    for item in items:
        if is_locked(item.phase, signed, False):
            continue
        plan = plan_of(item)
        attended = satisfied(plan, sessions, episode.surgery_date)
        if attended is None:
            continue
        value = sessions_label(plan.count, plan.discipline, attended)
        because = f"{attended} attended {plan.discipline.value} session{'s' if attended != 1 else ''}"
        on = satisfied_on(plan, sessions, episode.surgery_date)
        if complete_by_records(session, actor, item, value, because, on=on):
            completed.append(item)
    return completed
