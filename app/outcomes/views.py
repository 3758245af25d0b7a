"""Outcome scores of an episode: the table by time point, recording a time point, correcting one."""

from flask import abort, render_template, request, url_for
from flask_login import current_user, login_required

from app import db
from app.domain.outcomes import next_time_point, scores_noun
from app.domain.policy import Action, can
from app.domain.vocab import TimePoint
from app.outcomes import bp
from app.outcomes.forms import ScoresForm
from app.queries.outcomes import episode_scores, outcome_windows
from app.services import outcomes as service
from app.services.errors import Conflict
from app.web import load_episode, require, site_day
from app.web.forms import int_field
from app.web.panels.outcomes import OutcomePanel, outcome_panel
from app.web.responses import CONFLICT, attempt, saved
from app.web.templating import fmt_datetime


def _render(
    episode, form: ScoresForm | None = None, status: int = 200, asked: str | None = None, entered=None
):
    """The page. Without `form`, a new one: the recorded scores of the time point `asked` for
    (?time_point=6w, from its Correct button), or the Record form set to `asked` or to the time
    point due next. `entered`: the form the user sent, not saved (a conflict), to show beside it."""
    panel = outcome_panel(episode, episode_scores(db.session, episode.id), site_day())
    may_record = can(current_user, Action.RECORD_OUTCOMES) and not panel.closed
    if form is None:
        form = _new_form(episode, panel, next((tp for tp in TimePoint if tp.value == asked), None))
    form.mark_recorded(panel.recorded)
    return render_template(
        "outcomes/scores.html",
        episode=episode,
        panel=panel,
        form=form,
        may_record=may_record,
        correcting=form.correcting,
        entered=entered,
    ), status


def _new_form(episode, panel: OutcomePanel, asked: TimePoint | None) -> ScoresForm:
    form = ScoresForm(formdata=None)
    row = panel.row(asked) if asked else None
    if row is not None:
        form.time_point.data, form.taken_on.data, form.version.data = asked.value, row.taken_on, row.version
        form.odi.data, form.nrs_back.data, form.nrs_leg.data = (c.value for c in row.cells)
        return form
    windows = outcome_windows(db.session, episode.protocol_version_id)
    due = asked or next_time_point(panel.recorded, episode.surgery_date, site_day().date, windows)
    form.time_point.data = due.value if due else None  # None: nothing left to record
    return form


def _conflict(conflict: Conflict, version: int) -> str:
    """ "The 6-week scores were already recorded by X at … — shown below; correct them if needed"."""
    what = "already recorded" if version == 0 else "changed"
    by = conflict.by or "someone else"
    when = f" at {fmt_datetime(conflict.at)}" if conflict.at else ""
    return f"{conflict.what} were {what} by {by}{when} — shown below; correct them if needed."


@bp.route("/episodes/<int:episode_id>/outcomes", methods=["GET", "POST"])
@login_required
def scores(episode_id: int):
    episode = load_episode(episode_id)
    if request.method == "GET":
        return _render(episode, asked=request.args.get("time_point"))
    require(Action.RECORD_OUTCOMES)
    form = ScoresForm()
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
        f"The {scores_noun(time_point).lower()} scores",
        form=form,  # a date outside its window, next to the date
        say=lambda conflict: _conflict(conflict, version),
    )
    if done.status == CONFLICT:  # the scores recorded meanwhile, with their version: correct them
        return _render(load_episode(episode_id), None, CONFLICT, asked=time_point.value, entered=form)
    if not done.ok:
        return _render(load_episode(episode_id), form, done.status)
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
