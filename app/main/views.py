from flask import current_app, redirect, render_template, url_for
from flask_login import current_user, login_required

from app import db
from app.domain.policy import Action, can
from app.domain.vocab import Role
from app.main import bp
from app.queries import worklists
from app.queries.episodes import episode_summaries
from app.web import site_day
from app.web.worklist import worklist


@bp.route("/")
@login_required
def home():
    """Each role's start page: the work waiting for it."""
    if can(current_user, Action.MANAGE_USERS):  # the users list, without importing its blueprint
        return current_app.view_functions["admin.users"]()
    role = current_user.role
    if role is Role.SURGEON:
        return _home_for_surgeon()
    if role is Role.THERAPIST:
        return _home_for_therapist()
    if role is Role.COORDINATOR:
        return _home_for_coordinator()
    return _home_for_items(role)


def _summaries(*episode_lists):
    ids = {e.id for episodes in episode_lists for e in episodes}
    return episode_summaries(db.session, sorted(ids), site_day())


def _home_for_surgeon():
    me = current_user.id
    alerts = worklists.with_safety_alerts(db.session, me)
    awaiting = worklists.awaiting_signoff(db.session, me)
    soon = worklists.surgery_soon(db.session, me, site_day().date)
    flagged = worklists.flagged(db.session, site_day(), surgeon_id=me)
    summaries = _summaries(alerts, awaiting, soon, flagged)
    ready = [e for e in awaiting if summaries[e.id].ready_to_sign]
    awaiting = ready + [e for e in awaiting if not summaries[e.id].ready_to_sign]
    return render_template(
        "main/home_surgeon.html",
        alerts=alerts,
        awaiting=awaiting,
        soon=soon,
        flagged=flagged,
        summaries=summaries,
    )


def _home_for_items(role):
    items = worklists.open_items_for_role(db.session, role)
    day = site_day()
    groups = worklist(items, _summaries([i.episode for i in items]), day, current_user)
    return render_template(
        "main/home_items.html", groups=groups, count=len(items), today=day.date, answers={}
    )


def _home_for_therapist():
    caseload = worklists.therapy_caseload(db.session, site_day().date)
    summaries = _summaries([row.episode for row in caseload])
    return render_template("main/home_therapist.html", caseload=caseload, summaries=summaries)


def _home_for_coordinator():
    return redirect(url_for("dashboard.index"))


@bp.route("/health")
def health():
    """Liveness check for load balancers: answers without touching patient data."""
    return {"status": "ok"}
