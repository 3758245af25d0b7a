"""User accounts: create, deactivate, reset, change role, change password; login with lockout.

Each function is one unit of work with its audit event; the caller commits. Temporary
passwords are returned to the caller to show once: they are never stored in clear, logged
or audited.
"""

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import audit, clock, passwords
from app.db import site_of
from app.domain.accounts import login_locked
from app.domain.password_strength import password_problem
from app.domain.policy import Action, can
from app.domain.vocab import Role
from app.models import AuditEvent, User, UserSession
from app.services.errors import Conflict, NotPermitted, ServiceError, flush_or_conflict

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class WrongPassword(ServiceError):
    """The current password given was wrong; the failure is counted (the caller commits it)."""


def create_user(
    session: Session,
    actor: User | None,
    username: str,
    full_name: str,
    role: Role,
    password: str,
    *,
    must_change_password: bool = False,
) -> User:
    """Create an account; refuses duplicate usernames and passwords the password rule refuses."""
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise ServiceError("Usernames are 2-64 characters: lower-case letters, digits, . _ -")
    if not full_name.strip():
        raise ServiceError("Enter the user's full name.")
    taken = f"The username {username!r} is taken."
    if session.scalar(select(func.count()).select_from(User).where(User.username == username)):
        raise ServiceError(taken)
    problem = password_problem(password, username, full_name)
    if problem:
        raise ServiceError(problem)
    user = User(
        username=username,
        full_name=full_name.strip(),
        role=role,
        password_hash=passwords.hash_password(password, site_of(session).password_cost),
        active=True,
        failed_logins=0,
        must_change_password=must_change_password,
        created_at=clock.now(),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # created by someone else since the check above
        raise ServiceError(taken) from None
    audit.record(
        session,
        actor,
        "user.create",
        f"Created user {username} ({role.label})",
        target_type="user",
        target_id=user.id,
        after={"username": username, "full_name": user.full_name, "role": role.value},
    )
    return user


def create_account(
    session: Session, actor: User, username: str, full_name: str, role: Role
) -> tuple[User, str]:
    """Create an account with a temporary password; return the user and the password to show once."""
    require_admin(actor)
    password = passwords.temporary_password(username.strip().lower(), full_name)
    user = create_user(session, actor, username, full_name, role, password, must_change_password=True)
    return user, password


def deactivate(session: Session, actor: User, user: User, expected_version: int) -> int | None:
    """Deactivate an account and end its sessions; return how many ended (None: already inactive)."""
    require_admin(actor)
    if user.id == actor.id:
        raise ServiceError("You cannot deactivate your own account.")
    if not user.active:
        return None  # the same click twice
    check_version(session, user, expected_version)
    user.active = False
    flush_or_conflict(session, _what(user))
    ended = end_sessions(session, user.id)
    audit.record(
        session,
        actor,
        "user.deactivate",
        f"Deactivated user {user.username}; {_sessions(ended)} ended",
        target_type="user",
        target_id=user.id,
        before={"active": True},
        after={"active": False},
    )
    return ended


def activate(session: Session, actor: User, user: User, expected_version: int) -> bool:
    """Let a deactivated account log in again; False when it was already active."""
    require_admin(actor)
    if user.active:
        return False
    check_version(session, user, expected_version)
    user.active = True
    flush_or_conflict(session, _what(user))
    audit.record(
        session,
        actor,
        "user.activate",
        f"Activated user {user.username}",
        target_type="user",
        target_id=user.id,
        before={"active": False},
        after={"active": True},
    )
    return True


def reset_password(session: Session, actor: User, user: User, expected_version: int) -> str:
    """Give the account a new temporary password, unlock it and end its sessions; return the password."""
    require_admin(actor)
    if user.id == actor.id:
        raise ServiceError("To change your own password, use Change password.")
    check_version(session, user, expected_version)
    before = {
        "must_change_password": user.must_change_password,
        "failed_logins": user.failed_logins,
        "locked_until": user.locked_until,
    }
    password = passwords.temporary_password(user.username, user.full_name)
    user.password_hash = passwords.hash_password(password, site_of(session).password_cost)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    flush_or_conflict(session, _what(user))
    ended = end_sessions(session, user.id)
    audit.record(
        session,
        actor,
        "user.reset_password",
        f"Reset the password of {user.username}; {_sessions(ended)} ended",
        target_type="user",
        target_id=user.id,
        before=before,
        after={"must_change_password": True, "failed_logins": 0, "locked_until": None},
    )
    return password


def change_role(session: Session, actor: User, user: User, role: Role, expected_version: int) -> bool:
    """Give the account another role; False when it already has it."""
    require_admin(actor)
    if user.id == actor.id:
        raise ServiceError("You cannot change your own role; ask another admin.")
    if user.role is role:
        return False
    check_version(session, user, expected_version)
    before = user.role
    user.role = role
    lead = user.edits_protocols and role is not Role.SURGEON
    if lead:  # a clinical lead is a surgeon: another role ends it
        user.edits_protocols = False
    flush_or_conflict(session, _what(user))
    audit.record(
        session,
        actor,
        "user.change_role",
        f"Changed the role of {user.username} from {before.label} to {role.label}",
        target_type="user",
        target_id=user.id,
        before={"role": before.value, **({"edits_protocols": True} if lead else {})},
        after={"role": role.value, **({"edits_protocols": False} if lead else {})},
    )
    return True


def set_protocol_lead(session: Session, actor: User, user: User, grant: bool, expected_version: int) -> bool:
    """Make a surgeon a clinical lead, who edits protocols, or withdraw it; False when unchanged."""
    require_admin(actor)
    if grant and user.role is not Role.SURGEON:
        raise ServiceError("Only a surgeon can be made a clinical lead.")
    if user.edits_protocols == grant:
        return False
    check_version(session, user, expected_version)
    user.edits_protocols = grant
    flush_or_conflict(session, _what(user))
    audit.record(
        session,
        actor,
        "user.protocol_lead",
        f"{'Made' if grant else 'Withdrew'} {user.username} {'a' if grant else 'as'} clinical lead",
        target_type="user",
        target_id=user.id,
        before={"edits_protocols": not grant},
        after={"edits_protocols": grant},
    )
    return True


def confirm_own_password(
    session: Session,
    user: User,
    password: str,
    lockout: tuple[int, int],
    action: str,
    summary: str,
    refusal: str,
) -> None:
    """Check a user's own password before a change to their account (ASVS 7.5.1).

    A wrong one counts like a failed login (lockout = max failures, lock minutes), is audited
    as `action` with `summary`, and raises WrongPassword(refusal): the caller commits the count.
    """
    now = clock.now()
    if login_locked(user.locked_until, now):
        raise WrongPassword("Too many wrong passwords: try again later.")
    if not passwords.verify_password(user.password_hash, password, site_of(session).password_cost):
        count_failure(user, now, *lockout)
        audit.record(session, user, action, summary, target_type="user", target_id=user.id)
        raise WrongPassword(refusal)


def change_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    keep_session_id: str | None,
    max_failures: int,
    lock_minutes: int,
) -> int:
    """Set the user's own password and end their other sessions; return how many ended.

    A weak new password changes nothing. A wrong current password is counted like a failed
    login and raises WrongPassword; the caller commits that count and its audit event.
    """
    problem = password_problem(new, user.username, user.full_name)
    if problem:
        raise ServiceError(problem)
    confirm_own_password(
        session,
        user,
        current,
        (max_failures, lock_minutes),
        "user.password_change_failed",
        f"Failed password change for {user.username}: wrong current password",
        "The current password is wrong.",
    )
    if new == current:
        raise ServiceError("Choose a new password, not the one you have now.")
    before = {"must_change_password": user.must_change_password}
    user.password_hash = passwords.hash_password(new, site_of(session).password_cost)
    user.must_change_password = False
    user.failed_logins = 0
    flush_or_conflict(session, "Your account")
    ended = end_sessions(session, user.id, keep=keep_session_id)
    audit.record(
        session,
        user,
        "user.change_password",
        f"{user.username} changed their password; {_sessions(ended)} ended",
        target_type="user",
        target_id=user.id,
        before=before,
        after={"must_change_password": False},
    )
    return ended


def end_sessions(session: Session, user_id: int, keep: str | None = None) -> int:
    """Revoke the user's live server-side sessions (all but `keep`); return how many."""
    stmt = (
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep)
    return session.execute(stmt).rowcount


def authenticate(
    session: Session, username: str, password: str, max_failures: int, lock_minutes: int
) -> User | None:
    """Return the user when the password is right and the account open; count failures.

    A user with a second factor is returned too, but is not logged in yet: the caller asks for
    the code (services/second_factor.check_login_code), which then clears the failure count.
    """
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    now = clock.now()
    cost = site_of(session).password_cost
    ok = passwords.verify_password(user.password_hash if user else None, password, cost)
    if user is None:
        audit.record(
            session,
            None,
            "auth.login_failed",
            "Failed login for an unknown username",
            target_type="user",
            actor_name="unknown",
        )
        return None
    locked = login_locked(user.locked_until, now)
    if ok and user.active and not locked:
        if passwords.needs_rehash(user.password_hash, cost):
            user.password_hash = passwords.hash_password(password, cost)
        if user.totp_secret is not None:
            # Half a login: the failure count stands until the code is right too.
            audit.record(
                session,
                user,
                "auth.login_password",
                f"{user.username} gave the right password; asked for the two-step code",
                target_type="user",
                target_id=user.id,
            )
            return user
        user.failed_logins = 0
        user.locked_until = None
        audit.record(
            session, user, "auth.login", f"{user.username} logged in", target_type="user", target_id=user.id
        )
        return user
    why = "inactive account" if not user.active else "locked account" if locked else "wrong password"
    if not ok and count_failure(user, now, max_failures, lock_minutes):
        why += f"; locked for {lock_minutes} minutes"
    audit.record(
        session,
        user,
        "auth.login_failed",
        f"Failed login for {user.username}: {why}",
        target_type="user",
        target_id=user.id,
    )
    return None


# --- helpers (require_admin, count_failure and check_version serve services/second_factor.py too)


def require_admin(actor: User) -> None:
    """Refuse anyone who may not manage users."""
    if not can(actor, Action.MANAGE_USERS):
        raise NotPermitted("Only an admin can manage users.")


def _what(user: User) -> str:
    return f"The account {user.username}"


def _sessions(count: int) -> str:
    return f"{count} session{'' if count == 1 else 's'}"


def count_failure(user: User, now: datetime, max_failures: int, lock_minutes: int) -> bool:
    """Count a wrong password (or two-step code); return True when this one locks the account."""
    user.failed_logins += 1
    if user.failed_logins >= max_failures:
        user.locked_until = now + timedelta(minutes=lock_minutes)
        return True
    return False


def check_version(session: Session, user: User, expected_version: int) -> None:
    """Refuse a change made from an out-of-date page, saying who changed the account last."""
    if user.version == expected_version:
        return
    last = session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.target_type == "user",
            AuditEvent.target_id == user.id,
            AuditEvent.action != "auth.logout",  # the only user event that changes no account data
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    raise Conflict(_what(user), by=last.actor_name if last else None, at=last.at if last else None)
