"""Outcome scores of an episode: the table by time point, and recording or correcting them."""

from flask import abort, render_template, request, url_for
from flask_login import current_user, login_required

from app import db
from app.domain.policy import Action, can
from app.domain.vocab import TimePoint
from app.outcomes import bp
from app.outcomes.forms import ScoresForm
from app.queries.outcomes import episode_scores
from app.services import outcomes as service
from app.web import load_episode, require, site_day
from app.web.forms import int_field
from app.web.panels.outcomes import outcome_panel
from app.web.responses import CONFLICT, attempt, saved


def _render(episode, form: ScoresForm, status: int = 200):
    panel = outcome_panel(episode, episode_scores(db.session, episode.id), site_day())
    may_record = can(current_user, Action.RECORD_OUTCOMES) and not panel.closed
    return render_template(
        "outcomes/scores.html", episode=episode, panel=panel, form=form, may_record=may_record
    ), status


def _correcting(episode, form: ScoresForm) -> None:
    """Fill the form with a time point's recorded scores (?time_point=6w), to correct them."""
    time_point = next((tp for tp in TimePoint if tp.value == request.args.get("time_point")), None)
    row = (
        outcome_panel(episode, episode_scores(db.session, episode.id), site_day()).row(time_point)
        if time_point
        else None
    )
    if row is None:
        return
    form.time_point.data, form.taken_on.data, form.version.data = time_point.value, row.taken_on, row.version
    form.odi.data, form.nrs_back.data, form.nrs_leg.data = (c.value for c in row.cells)


@bp.route("/episodes/<int:episode_id>/outcomes", methods=["GET", "POST"])
@login_required
def scores(episode_id: int):
    episode = load_episode(episode_id)
    form = ScoresForm()
    if request.method == "GET":
        _correcting(episode, form)
        return _render(episode, form)
    require(Action.RECORD_OUTCOMES)
    if not form.validate_on_submit():
        return _render(episode, form, 422)
    version = int_field(form.version.data)
    if version is None:
        abort(400)
    time_point = TimePoint(form.time_point.data)
    done = attempt(
        lambda: service.record_scores(
            db.session,
            current_user,
            episode,
            time_point,
            form.taken_on.data,
            form.odi.data,
            form.nrs_back.data,
            form.nrs_leg.data,
            site_day().date,
            site_day().thresholds,
            version,
        ),  # fmt: skip
        f"The {time_point.label.lower()} scores",
        verb="were",
        form=form,  # a date outside its window, next to the date
    )
    if not done.ok:
        refreshed = ScoresForm(formdata=None) if done.status == CONFLICT else form
        return _render(load_episode(episode_id), refreshed, done.status)
    return saved(_message(time_point, done.result), url_for("outcomes.scores", episode_id=episode_id))


def _message(time_point: TimePoint, done: service.Recorded) -> str:
    verb = "Corrected" if done.corrected else "Recorded"
    parts = [f"{verb}: {time_point.label} outcome scores" if done.changed else "Nothing changed"]
    if done.item_completed:
        parts.append("the protocol item is done")
    for change in done.requirements:
        parts.append(
            f"{'now required' if change.required else 'no longer required'}: {change.title} ({change.why})"
        )
    return " — ".join(parts) + "."
