"""Create users and check their passwords, with per-account lockout."""

import re
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import audit, clock, passwords
from app.domain.vocab import Role
from app.models import User
from app.services.errors import ServiceError

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def create_user(
    db: Session, actor: User | None, username: str, full_name: str, role: Role, password: str
) -> User:
    """Create an account; refuses duplicate usernames and weak passwords."""
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise ServiceError("Usernames are 2-64 characters: lower-case letters, digits, . _ -")
    if not full_name.strip():
        raise ServiceError("Enter the user's full name.")
    if db.scalar(select(func.count()).select_from(User).where(User.username == username)):
        raise ServiceError(f"The username {username!r} is taken.")
    problem = passwords.password_problem(password, username)
    if problem:
        raise ServiceError(problem)
    user = User(
        username=username,
        full_name=full_name.strip(),
        role=role,
        password_hash=passwords.hash_password(password),
        active=True,
        failed_logins=0,
        created_at=clock.now(),
    )
    db.add(user)
    db.flush()
    audit.record(
        db,
        actor,
        "user.create",
        f"Created user {username} ({role.label})",
        target_type="user",
        target_id=user.id,
        after={"username": username, "full_name": user.full_name, "role": role.value},
    )
    return user


def authenticate(
    db: Session, username: str, password: str, max_failures: int, lock_minutes: int
) -> User | None:
    """Return the user when the password is right and the account open; count failures."""
    user = db.scalar(select(User).where(User.username == username.strip().lower()))
    now = clock.now()
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if user is None:
        audit.record(
            db,
            None,
            "auth.login_failed",
            "Failed login for an unknown username",
            target_type="user",
            actor_name="unknown",
        )
        return None
    locked = user.locked_until is not None and user.locked_until > now
    if ok and user.active and not locked:
        user.failed_logins = 0
        user.locked_until = None
        if passwords.needs_rehash(user.password_hash):
            user.password_hash = passwords.hash_password(password)
        audit.record(
            db, user, "auth.login", f"{user.username} logged in", target_type="user", target_id=user.id
        )
        return user
    why = "inactive account" if not user.active else "locked account" if locked else "wrong password"
    if not ok:
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + timedelta(minutes=lock_minutes)
            why += f"; locked for {lock_minutes} minutes"
    audit.record(
        db,
        user,
        "auth.login_failed",
        f"Failed login for {user.username}: {why}",
        target_type="user",
        target_id=user.id,
    )
    return None
