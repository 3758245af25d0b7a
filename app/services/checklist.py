"""Work a checklist item: mark done, not applicable, reopen, add a note."""

from datetime import date

from sqlalchemy.orm import Session

from app import audit, clock
from app.db import site_of
from app.domain.alerts import acknowledgement_problem, item_open_alert
from app.domain.policy import Action, can
from app.domain.signoff import is_locked
from app.domain.text import shortened
from app.domain.values import ValueProblem, clean_value
from app.domain.vocab import ItemStatus, StepKind
from app.models import ChecklistItem, ItemNote, User
from app.services.errors import Conflict, NotPermitted, ServiceError, flush_or_conflict
from app.services.locks import lock_episode

MAX_REASON = 500
MAX_NOTE = 2000


def _state(item: ChecklistItem) -> dict:
    return {"status": item.status.value, "value": item.value, "reason": item.reason}


def _start_over(item: ChecklistItem) -> None:
    """A new answer, or none: an earlier acknowledgement of its safety alert no longer holds."""
    item.alert_acknowledged_by = None
    item.alert_acknowledged_at = None
    item.alert_acknowledgement = None


def _permit(actor: User, item: ChecklistItem) -> None:
    if not can(actor, Action.WORK_ITEM, item):
        raise NotPermitted(f"Only the {item.role.label.lower()} responsible can change this item.")


def _unlocked(session: Session, item: ChecklistItem, notes_only: bool = False) -> None:
    """Refuse changes to a signed-off phase or a closed episode (notes: closed episode only)."""
    signed, closed = lock_episode(session, item.episode_id)
    # Read the item again under the lock: a change committed since the page loaded it (on
    # PostgreSQL, between that read and the lock) is then refused by _check, naming who and when.
    session.refresh(item)
    if closed:
        raise ServiceError("The episode is closed: its checklist can no longer change.")
    if not notes_only and is_locked(item.phase, signed, closed):
        raise ServiceError(
            f"{item.phase.label} is signed off: a surgeon must revoke the sign-off before its items change."
        )


def _check(item: ChecklistItem, expected_version: int) -> None:
    """Refuse a change made from an out-of-date page (someone changed the item since)."""
    if item.version != expected_version:
        who = item.updated_by.full_name if item.updated_by else "someone else"
        raise Conflict(f"“{short_title(item)}”", by=who, at=item.updated_at)


def _text(raw: str | None, what: str, limit: int) -> str:
    text = (raw or "").strip()
    if not text:
        raise ServiceError(f"Enter a {what}.")
    if len(text) > limit:
        raise ServiceError(f"Keep the {what} to {limit} characters.")
    return text


def short_title(item: ChecklistItem) -> str:
    """The item's step title, short enough for an audit summary or a message."""
    return shortened(item.step.title)


def _completed(session: Session, item: ChecklistItem, actor: User, on: date | None = None) -> None:
    """Record who completed the item, when, and on which local day (for "on time"): today, or
    the day of the records that completed it."""
    item.completed_by = actor
    item.completed_at = clock.now()
    item.completed_on = on or site_of(session).local_date(item.completed_at)


def _apply(
    session: Session,
    actor: User,
    item: ChecklistItem,
    action: str,
    verb: str,
    before: dict,
    reason: str | None = None,
) -> None:
    now = clock.now()
    with session.no_autoflush:  # load first, so a stale write surfaces below as a Conflict
        episode = item.episode
        what = f"“{short_title(item)}”"
    item.updated_by = actor
    item.updated_at = now
    flush_or_conflict(session, what)
    audit.record(
        session,
        actor,
        action,
        f"{verb}: {short_title(item)}",
        target_type="checklist_item",
        target_id=item.id,
        patient_id=episode.patient_id,
        episode_id=episode.id,
        before=before,
        after=_state(item),
        reason=reason,
    )


def mark_done(
    session: Session,
    actor: User,
    item: ChecklistItem,
    expected_version: int,
    value: str | None = None,
    note: str | None = None,
) -> None:
    """Mark an open item done (with its value for value steps), and add the note if there is one."""
    _permit(actor, item)
    _unlocked(session, item)
    step = item.step
    if note and note.strip():
        _text(note, "note", MAX_NOTE)
    if step.kind is StepKind.SESSIONS:
        raise ServiceError("This item is completed by logged therapy sessions, not by a tick.")
    if step.outcome_time_point is not None:
        raise ServiceError(
            f"This item is completed by recording the {step.outcome_time_point.label.lower()} "
            "outcome scores, not by a tick."
        )
    cleaned = None
    if step.kind is StepKind.VALUE:
        try:
            cleaned = clean_value(step, value)
        except ValueProblem as problem:
            raise ServiceError(str(problem)) from None
    _check(item, expected_version)
    if item.status is not ItemStatus.OPEN:
        raise ServiceError("This item is not open; reopen it first.")
    before = _state(item)
    item.status = ItemStatus.DONE
    item.value = cleaned
    item.reason = None
    _start_over(item)
    _completed(session, item, actor)
    _apply(session, actor, item, "item.done", "Marked done", before)
    if note and note.strip():
        _add_note(session, actor, item, note)


def mark_not_applicable(
    session: Session, actor: User, item: ChecklistItem, expected_version: int, reason: str | None
) -> None:
    """Mark an open item not applicable; a reason is required."""
    _permit(actor, item)
    _unlocked(session, item)
    text = _text(reason, "reason", MAX_REASON)
    _check(item, expected_version)
    if item.status is not ItemStatus.OPEN:
        raise ServiceError("This item is not open; reopen it first.")
    before = _state(item)
    item.status = ItemStatus.NOT_APPLICABLE
    item.value = None
    item.reason = text
    _completed(session, item, actor)
    _apply(session, actor, item, "item.not_applicable", "Marked not applicable", before, text)


def reopen(
    session: Session, actor: User, item: ChecklistItem, expected_version: int, reason: str | None
) -> None:
    """Reopen a done or not-applicable item; a reason is required."""
    _permit(actor, item)
    _unlocked(session, item)
    text = _text(reason, "reason", MAX_REASON)
    _check(item, expected_version)
    if item.status is ItemStatus.OPEN:
        raise ServiceError("This item is already open.")
    before = _state(item)
    item.status = ItemStatus.OPEN
    item.value = None
    item.reason = None
    _start_over(item)
    item.completed_by = None
    item.completed_at = None
    item.completed_on = None
    _apply(session, actor, item, "item.reopen", "Reopened", before, text)


def acknowledge_alert(
    session: Session, actor: User, item: ChecklistItem, expected_version: int, text: str | None
) -> None:
    """Record a user's acknowledgement of the safety alert the item's answer raised: the plan,
    at least 10 characters, by a user of one of the alert's acknowledging roles."""
    alert = item.step.alert_spec
    if alert is None or not can(actor, Action.ACKNOWLEDGE_ALERT, alert):
        who = " or ".join(r.label.lower() for r in alert.acknowledged_by) if alert else "nobody"
        raise NotPermitted(f"Only a {who} can acknowledge this alert.")
    _unlocked(session, item, notes_only=True)  # also in a signed phase: its answers stand
    body = (text or "").strip()
    _check(item, expected_version)
    problem = acknowledgement_problem(item_open_alert(item), actor.role, body)
    if problem:
        raise ServiceError(problem)
    before = {"acknowledgement": None}
    item.alert_acknowledged_by = actor
    item.alert_acknowledged_at = clock.now()
    item.alert_acknowledgement = body
    item.updated_by = actor
    item.updated_at = item.alert_acknowledged_at
    flush_or_conflict(session, f"“{short_title(item)}”")
    episode = item.episode
    audit.record(
        session,
        actor,
        "item.alert_acknowledged",
        f"Acknowledged the safety alert “{alert.flag}”: {short_title(item)}",
        target_type="checklist_item",
        target_id=item.id,
        patient_id=episode.patient_id,
        episode_id=episode.id,
        before=before,
        after={"acknowledgement": body, "alert": alert.flag, "value": item.value},
        reason=body,
    )


def add_note(
    session: Session, actor: User, item: ChecklistItem, expected_version: int, text: str | None
) -> None:
    """Add a note to an item (also in a signed-off phase; not once the episode is closed)."""
    _permit(actor, item)
    _unlocked(session, item, notes_only=True)
    _check(item, expected_version)
    _add_note(session, actor, item, text)


def _add_note(session: Session, actor: User, item: ChecklistItem, raw: str | None) -> None:
    text = _text(raw, "note", MAX_NOTE)
    note = ItemNote(item=item, author=actor, created_at=clock.now(), text=text)
    session.add(note)
    session.flush()
    episode = item.episode
    audit.record(
        session,
        actor,
        "item.note",
        f"Added a note: {short_title(item)}",
        target_type="checklist_item",
        target_id=item.id,
        patient_id=episode.patient_id,
        episode_id=episode.id,
        after={"note": text},
    )


def complete_by_records(
    session: Session,
    actor: User,
    item: ChecklistItem,
    value: str | None,
    because: str,
    on: date | None = None,
) -> bool:
    """Mark an open item done because records satisfy it (therapy sessions, outcome scores).

    Used by the services that log those records, in their transaction; audited with what
    satisfied it. `on` is the day of those records (the last session needed, the day scores
    were taken), so a late entry of an on-time session is not late. Returns False when the
    item was not open (nothing to do).
    """
    if item.status is not ItemStatus.OPEN:
        return False
    before = _state(item)
    item.status = ItemStatus.DONE
    item.value = value
    item.reason = None
    _completed(session, item, actor, on)
    _apply(session, actor, item, "item.satisfied", f"Completed by {because}", before)
    return True


def correct_by_records(
    session: Session, actor: User, item: ChecklistItem, value: str | None, because: str
) -> bool:
    """Update the value of an item the records completed, after those records were corrected.

    Returns False when there is nothing to change (not done, or the same value).
    """
    if item.status is not ItemStatus.DONE or item.value == value:
        return False
    before = _state(item)
    item.value = value
    _start_over(item)
    _apply(session, actor, item, "item.corrected", f"Value corrected from {because}", before)
    return True


def reopen_by_records(session: Session, actor: User, item: ChecklistItem, reason: str) -> bool:
    """Reopen a done item whose records no longer satisfy it (the surgery date moved), in the
    caller's transaction; audited with the reason. Returns False when it was not done."""
    if item.status is not ItemStatus.DONE:
        return False
    before = _state(item)
    item.status = ItemStatus.OPEN
    item.value = None
    item.reason = None
    item.completed_by = None
    item.completed_at = None
    item.completed_on = None
    _apply(session, actor, item, "item.unsatisfied", "Reopened", before, reason)
    return True
