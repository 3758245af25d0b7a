"""The episode on paper: a summary to print, each print recorded in the audit trail."""

from flask import render_template
from flask_login import current_user, login_required

from app import db
from app.checklist import bp
from app.checklist.presenter import episode_view
from app.queries.outcomes import episode_scores
from app.queries.therapy import episode_sessions
from app.services.exports import record_print
from app.web import load_episode, site_day
from app.web.panels.outcomes import outcome_panel
from app.web.panels.therapy import session_counts


@bp.route("/episodes/<int:episode_id>/summary", methods=["POST"])
@login_required
def summary(episode_id: int):
    """The episode's summary for printing: a POST, as printing discloses the record and is
    audited like an export, on record before the page leaves."""
    episode = load_episode(episode_id)
    user = current_user._get_current_object()
    printed = record_print(db.session, user, episode)
    db.session.commit()
    with db.read_unit():
        day = site_day()
        scores = episode_scores(db.session, episode.id)
        sessions = episode_sessions(db.session, episode.id)
        return render_template(
            "checklist/summary.html",
            view=episode_view(episode, user, day, sessions, scores),
            sessions=sessions,
            counts=session_counts(episode, sessions),
            outcomes=outcome_panel(episode, scores, day),
            printed_by=user,
            printed_at=printed.at,
        )
