"""Sign off a phase with an electronic signature, revoke it, close an episode."""

from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import audit, clock, passwords
from app.db import site_of
from app.domain.policy import Action, can
from app.domain.signoff import (
    MEANINGS,
    close_blockers,
    content_digest,
    signoff_blockers,
    statement,
)
from app.domain.vocab import EpisodeStatus, Phase
from app.models import Episode, Signoff, User
from app.services.errors import Conflict, NotPermitted, ServiceError, flush_or_conflict
from app.services.locks import lock_episode, refresh_items

MAX_REASON = 500


class SignatureRefused(ServiceError):
    """The password was wrong or signing is locked; the failure itself must be saved."""


def phase_statement(episode: Episode, phase: Phase) -> str:
    patient = episode.patient
    return statement(phase, f"{patient.given_name} {patient.family_name}", patient.mrn, episode.procedure)


def _reason(raw: str | None) -> str:
    text = (raw or "").strip()
    if not text:
        raise ServiceError("Enter a reason.")
    if len(text) > MAX_REASON:
        raise ServiceError(f"Keep the reason to {MAX_REASON} characters.")
    return text


def _audit(session: Session, actor: User, episode: Episode, action: str, summary: str, **kw) -> None:
    audit.record(
        session,
        actor,
        action,
        summary,
        target_type="episode",
        target_id=episode.id,
        patient_id=episode.patient_id,
        episode_id=episode.id,
        **kw,
    )


def sign(
    session: Session,
    actor: User,
    episode: Episode,
    phase: Phase,
    password: str,
    max_failures: int,
    lock_minutes: int,
) -> Signoff:
    """Sign a complete phase; the signer re-enters their password (an electronic signature)."""
    if not can(actor, Action.SIGN_OFF):
        raise NotPermitted("Only surgeons sign off a phase.")
    refuse_if_signing_locked(actor)
    now = clock.now()
    signed, closed = lock_episode(session, episode.id)
    refresh_items(session, episode.id)  # decide on the items as they are now, under the lock
    blockers = signoff_blockers(phase, episode.items, signed, closed)
    if blockers:
        raise ServiceError("Cannot sign off yet: " + "; ".join(blockers))
    if not passwords.verify_password(actor.password_hash, password or "", site_of(session).password_cost):
        _count_failure(session, actor, episode, phase, max_failures, lock_minutes)
        raise SignatureRefused("Wrong password: nothing was signed.")
    actor.signature_failures = 0
    signoff = Signoff(
        episode=episode,
        phase=phase,
        signer_id=actor.id,
        signer_name=actor.full_name,
        signer_role=actor.role,
        meaning=MEANINGS[phase],
        statement=phase_statement(episode, phase),
        content_sha256=content_digest(episode.id, episode.patient_id, phase, episode.items),
        signed_at=now,
    )
    session.add(signoff)
    try:
        flush_or_conflict(session, f"{phase.label} of this episode")
    except IntegrityError:  # another surgeon signed the same phase a moment earlier
        raise Conflict(f"{phase.label} of this episode") from None
    _audit(
        session,
        actor,
        episode,
        "signoff.sign",
        f"Signed off {phase.label}: {MEANINGS[phase]}",
        after={"phase": phase.value, "statement": signoff.statement, "sha256": signoff.content_sha256},
    )
    return signoff


def _count_failure(
    session, actor: User, episode: Episode, phase: Phase, max_failures: int, lock_minutes: int
):
    what = f"signing off {phase.label}"
    _audit(
        session,
        actor,
        episode,
        "signoff.failed",
        count_signature_failure(actor, what, max_failures, lock_minutes),
    )


def refuse_if_signing_locked(actor: User) -> None:
    """Refuse an electronic signature (a sign-off, a protocol's publication) while the signer is
    locked out after too many wrong passwords."""
    if actor.signature_locked_until and actor.signature_locked_until > clock.now():
        raise SignatureRefused(
            "Signing is locked after too many wrong passwords. Try again later or ask an admin."
        )


def count_signature_failure(actor: User, what: str, max_failures: int, lock_minutes: int) -> str:
    """Count a wrong password given to sign `what` (locking signing after `max_failures` in a
    row); the audit summary of the failure."""
    actor.signature_failures += 1
    summary = f"Wrong password when {what} ({actor.signature_failures} in a row)"
    if actor.signature_failures >= max_failures:
        actor.signature_locked_until = clock.now() + timedelta(minutes=lock_minutes)
        actor.signature_failures = 0
        summary += f"; signing locked for {lock_minutes} minutes"
    return summary


def revoke(session: Session, actor: User, episode: Episode, signoff: Signoff, reason: str | None) -> None:
    """Revoke an active sign-off (any surgeon), which unlocks the phase; a reason is required."""
    if not can(actor, Action.SIGN_OFF):
        raise NotPermitted("Only surgeons revoke a sign-off.")
    text = _reason(reason)
    if signoff.revoked_at is not None:
        raise ServiceError("This sign-off was already revoked.")
    if episode.status is EpisodeStatus.CLOSED:
        raise ServiceError("The episode is closed.")
    signoff.revoked_at = clock.now()
    signoff.revoked_by_id = actor.id
    signoff.revoke_reason = text
    flush_or_conflict(session, "This sign-off")
    _audit(
        session,
        actor,
        episode,
        "signoff.revoke",
        f"Revoked the sign-off of {signoff.phase.label} by {signoff.signer_name}",
        before={"signed_by": signoff.signer_name, "signed_at": signoff.signed_at.isoformat()},
        after={"revoked": True},
        reason=text,
    )


def close(session: Session, actor: User, episode: Episode, expected_version: int, reason: str | None) -> None:
    """Close an episode: after-surgery complete, or a documented reason (e.g. transferred)."""
    if not can(actor, Action.CLOSE_EPISODE):
        raise NotPermitted("Only surgeons and coordinators close an episode.")
    if episode.status is EpisodeStatus.CLOSED:
        raise ServiceError("The episode is already closed.")
    if episode.version != expected_version:
        raise Conflict("This episode")
    text = (reason or "").strip() or None
    if close_blockers(episode) and not text:
        raise ServiceError(
            "After surgery is not complete: give a reason for closing (e.g. patient transferred)."
        )
    if text and len(text) > MAX_REASON:
        raise ServiceError(f"Keep the reason to {MAX_REASON} characters.")
    before = {"status": episode.status.value}
    episode.status = EpisodeStatus.CLOSED
    episode.closed_at = clock.now()
    episode.closed_by_id = actor.id
    episode.close_reason = text
    flush_or_conflict(session, "This episode")
    _audit(
        session,
        actor,
        episode,
        "episode.close",
        "Closed the episode",
        before=before,
        after={"status": "closed"},
        reason=text,
    )
