"""Two-step login: set up (or set up again) a second factor, check a login code, admin reset.

Each function is one unit of work with its audit event; the caller commits. The TOTP secret
and the codes are never audited or logged; recovery codes are stored only as SHA-256 hashes and
returned to the caller to show once.
"""

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app import audit, clock
from app.domain import second_factor as rules
from app.domain.accounts import login_locked
from app.models import RecoveryCode, User
from app.services.errors import ServiceError, flush_or_conflict
from app.services.users import (
    check_version,
    confirm_own_password,
    count_failure,
    end_sessions,
    require_admin,
)


class WrongCode(ServiceError):
    """The code typed to confirm a new second factor was not the app's code of now."""


@dataclass(frozen=True)
class CodeCheck:
    """What a login code was: accepted or not, a recovery code, and whether the account is now locked."""

    accepted: bool
    recovery_code: bool = False
    codes_left: int | None = None
    locked: bool = False


def enrolled(user: User) -> bool:
    """Whether the user has a second factor."""
    return user.totp_secret is not None


def recovery_codes_left(session: Session, user_id: int) -> int:
    """How many of the user's recovery codes are still unused."""
    return session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )


def enrol(
    session: Session,
    user: User,
    secret: str,
    code: str,
    password: str,
    keep_session_id: str | None,
    max_failures: int,
    lock_minutes: int,
) -> tuple[list[str], int]:
    """Store a new second factor once its first code and the password are right.

    Replaces any earlier secret and recovery codes and ends the user's other sessions. Returns
    the new recovery codes (to show once) and how many sessions ended. A wrong password is
    counted like a failed login and raises WrongPassword (the caller commits that count); a
    wrong code raises WrongCode and changes nothing.
    """
    confirm_own_password(
        session,
        user,
        password,
        (max_failures, lock_minutes),
        "user.enrol_second_factor_failed",
        f"Failed two-step login set-up for {user.username}: wrong password",
        "The password is wrong.",
    )
    now = clock.now()
    step = rules.accepted_step(secret, code, now, None)
    if step is None:
        raise WrongCode(
            "That is not the code your app shows now. Check that you scanned this page's QR code, "
            "then enter the newest code."
        )
    again = enrolled(user)
    before = {
        "two_step": again,
        "enrolled_at": user.totp_enrolled_at,
        "recovery_codes_left": recovery_codes_left(session, user.id),
    }
    user.totp_secret = secret
    user.totp_enrolled_at = now
    user.totp_last_step = step  # the confirming code cannot be used again to log in
    flush_or_conflict(session, "Your account")
    codes = _replace_recovery_codes(session, user.id)
    ended = end_sessions(session, user.id, keep=keep_session_id)
    audit.record(
        session,
        user,
        "user.enrol_second_factor",
        f"{user.username} {'set up two-step login again' if again else 'set up two-step login'}; "
        f"{len(codes)} new recovery codes; {_sessions(ended)} ended",
        target_type="user",
        target_id=user.id,
        before=before,
        after={"two_step": True, "enrolled_at": now, "recovery_codes_left": len(codes)},
    )
    return codes, ended


def check_login_code(
    session: Session, user: User, code: str, max_failures: int, lock_minutes: int
) -> CodeCheck:
    """Check the second step of a login: a code of the user's app (once) or an unused recovery code.

    A right code clears the failure count and is audited as the login; a wrong one is counted and
    audited like a wrong password (same counter, same lock).
    """
    now = clock.now()
    locked = login_locked(user.locked_until, now)
    if not user.active or locked or not enrolled(user):
        why = "inactive account" if not user.active else "locked account" if locked else "no second factor"
        _failed(session, user, why)
        return CodeCheck(False, locked=locked)
    step = rules.accepted_step(user.totp_secret, code, now, user.totp_last_step)
    if step is not None:
        user.totp_last_step = step
        _logged_in(session, user, "with a code from their app")
        return CodeCheck(True)
    if rules.looks_like_recovery_code(code) and _use_recovery_code(session, user.id, code, now):
        left = recovery_codes_left(session, user.id)
        audit.record(
            session,
            user,
            "auth.recovery_code_used",
            f"{user.username} used a recovery code; {left} left",
            target_type="user",
            target_id=user.id,
            after={"recovery_codes_left": left},
        )
        _logged_in(session, user, "with a recovery code")
        return CodeCheck(True, recovery_code=True, codes_left=left)
    why = "wrong code"
    locks = count_failure(user, now, max_failures, lock_minutes)
    if locks:
        why += f"; locked for {lock_minutes} minutes"
    _failed(session, user, why)
    return CodeCheck(False, locked=locks)


def reset(session: Session, actor: User, user: User, expected_version: int) -> int | None:
    """Remove a user's second factor and recovery codes and end their sessions (an admin's action).

    Returns how many sessions ended, or None when the user had no second factor.
    """
    require_admin(actor)
    if user.id == actor.id:
        raise ServiceError("To set up your own two-step login again, use Two-step login.")
    left = recovery_codes_left(session, user.id)
    if not enrolled(user) and not left:
        return None  # the same click twice
    check_version(session, user, expected_version)
    before = {"two_step": enrolled(user), "enrolled_at": user.totp_enrolled_at, "recovery_codes_left": left}
    user.totp_secret = None
    user.totp_enrolled_at = None
    user.totp_last_step = None
    flush_or_conflict(session, f"The account {user.username}")
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    ended = end_sessions(session, user.id)
    audit.record(
        session,
        actor,
        "user.reset_second_factor",
        f"Reset the two-step login of {user.username}; {_sessions(ended)} ended",
        target_type="user",
        target_id=user.id,
        before=before,
        after={"two_step": False, "enrolled_at": None, "recovery_codes_left": 0},
    )
    return ended


# --- helpers -------------------------------------------------------------------------------


def _replace_recovery_codes(session: Session, user_id: int) -> list[str]:
    """Delete the user's recovery codes and store new ones, hashed; return the new ones in clear."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = rules.new_recovery_codes()
    now = clock.now()
    session.add_all(
        RecoveryCode(user_id=user_id, code_hash=rules.recovery_code_hash(c), created_at=now) for c in codes
    )
    session.flush()
    return codes


def _use_recovery_code(session: Session, user_id: int, code: str, now) -> bool:
    """Mark the matching unused recovery code used; False when there is none (or it was just used)."""
    match = session.scalar(
        select(RecoveryCode.id)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == rules.recovery_code_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .limit(1)
    )
    if match is None:
        return False
    marked = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == match, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return marked.rowcount == 1


def _logged_in(session: Session, user: User, how: str) -> None:
    user.failed_logins = 0
    user.locked_until = None
    audit.record(
        session, user, "auth.login", f"{user.username} logged in {how}", target_type="user", target_id=user.id
    )


def _failed(session: Session, user: User, why: str) -> None:
    audit.record(
        session,
        user,
        "auth.login_failed",
        f"Failed login for {user.username}: {why}",
        target_type="user",
        target_id=user.id,
    )


def _sessions(count: int) -> str:
    return f"{count} session{'' if count == 1 else 's'}"
