"""Error pages: plain words, no tracebacks, the database left clean."""

import logging
import uuid

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError

from app import db, ratelimit

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        db.session.rollback()
        return render_template(
            "errors/error.html",
            code=400,
            title="Form expired",
            message="The form was out of date or incomplete. Go back, reload the page and try again.",
        ), 400

    for code, title, message in (
        (400, "Bad request", "The request could not be understood."),
        (403, "Not allowed", "Your role does not allow this."),
        (404, "Not found", "There is nothing at this address."),
        (405, "Not allowed", "This address does not accept that kind of request."),
        (413, "Too large", "What you sent is too large."),
    ):
        app.register_error_handler(code, _simple(code, title, message))

    @app.errorhandler(429)
    def _too_many_attempts(error):
        db.session.rollback()
        wait = ratelimit.retry_after_seconds()
        log.warning("login attempts limited (%s) from %r", error.description, request.remote_addr)
        return (
            render_template(
                "errors/error.html",
                code=429,
                title="Too many attempts",
                message=(
                    "There were too many attempts to log in from this computer or to this account. "
                    f"Wait {wait} second{'' if wait == 1 else 's'}, then try again."
                ),
            ),
            429,
            {"Retry-After": str(wait)},
        )

    @app.errorhandler(OperationalError)
    def _db_busy(error):
        db.session.rollback()
        ref = uuid.uuid4().hex[:12]
        log.error("database error (ref %s): %s", ref, error.orig)
        return (
            render_template(
                "errors/error.html",
                code=503,
                title="Busy",
                message=f"The database is busy. Nothing was saved; try again in a moment. (ref {ref})",
            ),
            503,
            {"Retry-After": "2"},
        )

    @app.errorhandler(500)
    def _server_error(error):
        db.session.rollback()
        ref = uuid.uuid4().hex[:12]
        log.error("unexpected error (ref %s)", ref, exc_info=getattr(error, "original_exception", None))
        return render_template(
            "errors/error.html",
            code=500,
            title="Something went wrong",
            message=f"Nothing was saved. If this happens again, report reference {ref}.",
        ), 500


def _simple(code: int, title: str, message: str):
    def handler(_error):
        db.session.rollback()
        return render_template("errors/error.html", code=code, title=title, message=message), code

    return handler
