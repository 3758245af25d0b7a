"""Template filters and the values every page needs."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g
from flask_login import current_user

from app import db
from app.domain.policy import Action, can
from app.domain.protocol_diff import due_words
from app.domain.schedule import day_text
from app.domain.vocab import CLINICAL_ROLES, ItemState, Phase, Procedure, Role
from app.queries.flags import flagged_episode_count
from app.web import site_day
from app.web.badges import state_badge
from app.web.forms import ButtonForm

CLOCK = "%H:%M %Z"  # a moment's time at the site, with its zone: "22:40 GMT"


def _local(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value).date()  # the day, as day_text keeps it (not each moment)
    return day_text(value)


def fmt_time(value: datetime | None) -> str:
    """ "22:40 GMT": the site's local time, with its zone (a clinician reading a record made on
    another site, or across a clock change, knows which hour it was)."""
    return "" if value is None else format(_local(value), CLOCK)


def fmt_datetime(value: datetime | None) -> str:
    """ "24 Nov 2026 22:40 GMT" (the moment made local once)."""
    if value is None:
        return ""
    local = _local(value)
    return f"{day_text(local.date())} {local:{CLOCK}}"


def conflict_message(exc, verb: str = "was", review: str = "review and try again") -> str:
    """Say who changed a record first, and when: "… was changed by X at 17 Jun 2026 12:00 — …"."""
    when = f" at {fmt_datetime(exc.at)}" if exc.at else ""
    return f"{exc.what} {verb} changed by {exc.by or 'someone else'}{when} — {review}."


def nav_flag_count() -> int:
    """The flagged episodes, as the navigation bar counts them: once per request."""
    if "nav_flag_count" not in g:
        g.nav_flag_count = flagged_episode_count(db.session, site_day())
    return g.nav_flag_count


def keep_nav_flag_count(count: int) -> None:
    """The flagged episodes, counted already by this request's page (the dashboard's figures)."""
    g.nav_flag_count = count


def init_app(app: Flask) -> None:
    app.add_template_filter(fmt_date, "date")
    app.add_template_filter(fmt_time, "time")
    app.add_template_filter(fmt_datetime, "datetime")
    app.add_template_filter(lambda value: Procedure(value).label, "procedure_label")
    app.add_template_filter(due_words, "due_words")
    app.add_template_filter(lambda value: f"{value:g}" if isinstance(value, float) else str(value), "number")

    # Globals are visible in imported macros too (context-processor values are not).
    app.jinja_env.globals.update(
        can=lambda action, target=None: can(current_user, action, target),
        Action=Action,
        Phase=Phase,
        ItemState=ItemState,
        state_badge=state_badge,
        Role=Role,
    )

    @app.context_processor
    def _per_request():
        values = {"button_form": ButtonForm(formdata=None), "nav_flag_count": 0}
        if current_user.is_authenticated and current_user.role in CLINICAL_ROLES:
            values["nav_flag_count"] = nav_flag_count()
        return values
