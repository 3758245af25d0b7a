"""Helpers shared by the views: today's date, loading with 404/403, committing."""

from datetime import date

from flask import abort, current_app
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from app import clock, db
from app.domain.policy import Action, can
from app.services.errors import Conflict


def today() -> date:
    return clock.today(current_app.config["TIMEZONE"])


def require(action: Action, target=None) -> None:
    """Stop with 403 unless the current user may take the action."""
    if not can(current_user, action, target):
        abort(403)


def get_or_404(model, ident):
    record = db.session.get(model, ident)
    if record is None:
        abort(404)
    return record


def commit(what: str = "This record") -> None:
    """Commit the unit of work; a concurrent change becomes a Conflict."""
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(what) from None


def int_field(raw) -> int | None:
    """Read a hidden integer field; None when missing or tampered with."""
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None
