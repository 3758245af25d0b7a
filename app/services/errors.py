"""Errors a service raises; views turn them into messages."""

from datetime import datetime

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError


class ServiceError(Exception):
    """The operation was refused; the message is shown to the user."""


class Conflict(ServiceError):
    """Someone else changed the record first (lost-update protection)."""

    def __init__(self, what: str, by: str | None = None, at: datetime | None = None):
        self.what, self.by, self.at = what, by, at
        super().__init__(f"{what} was changed by someone else — review and try again.")


class InvalidInput(ServiceError):
    """The input has problems; `problems` maps each form field to its message."""

    def __init__(self, problems: dict[str, str], summary: str = "Check the form:"):
        self.problems = problems
        super().__init__(f"{summary} " + " ".join(problems.values()))


class NotPermitted(ServiceError):
    """The user's role may not do this."""


def flush_or_conflict(session: Session, what: str) -> None:
    """Write the pending changes now; a row another transaction changed first is a Conflict."""
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(what) from None
