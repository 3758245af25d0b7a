from flask import render_template
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import db
from app.domain.policy import Action, can
from app.main import bp
from app.models import Episode, User
from app.queries import episode_summaries, flagged_episode_ids
from app.web import today, warning_days

HOME_LIMIT = 100


def _home_for_admin():
    users = db.session.scalars(select(User).order_by(User.role, User.full_name)).all()
    return render_template("main/admin_home.html", users=users)


@bp.route("/")
@login_required
def home():
    """Each role's start page: flagged episodes for the care team, users for admins."""
    if can(current_user, Action.VIEW_USERS):
        return _home_for_admin()
    episodes = db.session.scalars(
        select(Episode)
        .options(joinedload(Episode.patient), joinedload(Episode.surgeon))
        .where(Episode.id.in_(flagged_episode_ids(db.session, today(), warning_days())))
        .order_by(Episode.surgery_date, Episode.id)
        .limit(HOME_LIMIT)
    ).all()
    summaries = episode_summaries(db.session, [e.id for e in episodes], today(), warning_days())
    return render_template("main/home.html", episodes=episodes, summaries=summaries)


@bp.route("/health")
def health():
    """Liveness check for load balancers: answers without touching patient data."""
    return {"status": "ok"}
