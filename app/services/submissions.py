"""One-time form tokens that were used, each with the answer given (app/web/once.py)."""

from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from app.models import FormSubmission

# A form is out of date long before this (its CSRF token lasts an hour): older rows can go.
KEEP_FOR = timedelta(days=2)


_FIND = select(FormSubmission).where(FormSubmission.token == bindparam("token"))  # every POST: built once


def find(session: Session, token: str) -> FormSubmission | None:
    """The use of a one-time token, if it was used."""
    return session.scalar(_FIND, {"token": token})


def record(
    session: Session,
    token: str,
    user_id: int,
    fingerprint: str,
    now: datetime,
    answer: tuple[str, str, str],
) -> None:
    """Mark a token used, in the transaction of the change it made; answer = (message, category, location)."""
    message, category, location = answer
    session.add(
        FormSubmission(
            token=token,
            user_id=user_id,
            fingerprint=fingerprint,
            created_at=now,
            message=message[:500],
            category=category,
            location=location[:500],
        )
    )


def prune(session: Session, now: datetime) -> int:
    """Forget the tokens used longer ago than KEEP_FOR; return how many."""
    result = session.execute(delete(FormSubmission).where(FormSubmission.created_at < now - KEEP_FOR))
    return result.rowcount or 0
