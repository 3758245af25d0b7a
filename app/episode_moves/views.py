"""Move an episode to another protocol version (preview, then move), or many episodes at once."""

from flask import abort, flash, render_template, request, url_for
from flask_login import current_user, login_required

from app import db
from app.domain.outstanding import page_count
from app.domain.policy import Action
from app.domain.vocab import VersionStatus
from app.episode_moves import bp
from app.episode_moves.forms import MoveForm, episode_choices, record_id
from app.episode_moves.presenter import preview_of, version_choices
from app.queries.episode_moves import episodes_to_move, published_versions, version_with_steps
from app.services import episode_moves as service
from app.web import load_episode, require, site_day
from app.web.forms import ButtonForm, page_number
from app.web.responses import REFUSED, attempt, saved

CHOOSE = "Choose a protocol version from the list."
NOT_LISTED = "Choose the episodes to move from the list."


def _target(raw, default=None):
    """The version a request names (any status: the plan says why a draft will not do), the
    default when it names none, or None with the message to show when it names none that exists."""
    if raw is None:
        return (version_with_steps(db.session, default.id) if default else None), None
    version_id = record_id(raw)
    target = version_with_steps(db.session, version_id) if version_id else None
    return target, (None if target else CHOOSE)


def _episode_page(episode, raw_target, form: MoveForm | None = None, problem: str | None = None, status=200):
    choices, default = version_choices(published_versions(db.session), episode)
    target, message = _target(raw_target, default)
    problem = problem or message
    preview = None
    if target is not None:
        preview = preview_of(service.preview(db.session, episode, target), target, site_day())
        form = form or MoveForm(formdata=None)
        form.to.data, form.version.data = target.id, episode.version
    return render_template(
        "episode_moves/episode.html",
        episode=episode,
        choices=choices,
        target=target,
        preview=preview,
        form=form,
        problem=problem,
    ), (REFUSED if problem and status == 200 else status)


@bp.route("/episodes/<int:episode_id>/protocol", methods=["GET", "POST"])
@login_required
def episode(episode_id: int):
    """The episode's protocol version and, for the version chosen, what moving would change; a
    POST moves it."""
    require(Action.MOVE_EPISODE)
    episode = load_episode(episode_id)
    if request.method == "GET":
        return _episode_page(episode, request.args.get("to"))
    form = MoveForm()
    target_id, version = record_id(form.to.data), record_id(form.version.data)
    target = version_with_steps(db.session, target_id) if target_id else None
    if not form.validate_on_submit() or target is None or version is None:
        return _episode_page(episode, None, form, CHOOSE, REFUSED)
    done = attempt(
        lambda: service.move(db.session, current_user, episode, target, version),
        "This episode",
        on_form=(service.MoveRefused,),  # the page says why, with the preview
    )
    if done.ok:
        message = f"Moved to {target.label}: {done.result.counts}."
        return saved(message, url_for("checklist.episode", episode_id=episode_id))
    return _episode_page(load_episode(episode_id), str(target_id), status=done.status)


# Episodes per page of the bulk move (each with its preview worked out).
PER_PAGE = 50


def _bulk_page(target, result=None, problem: str | None = None, status=200):
    page = page_number(request.args.get("page", "1")) or 1
    episodes, total = [], 0
    if target.status is VersionStatus.PUBLISHED:
        episodes, total = episodes_to_move(db.session, target, page, PER_PAGE)
    rows = [(e, service.preview(db.session, e, target)) for e in episodes]
    return render_template(
        "episode_moves/bulk.html",
        target=target,
        rows=rows,
        result=result,
        problem=problem,
        page=page,
        pages=page_count(total, PER_PAGE),
        total=total,
    ), status


@bp.route("/protocols/versions/<int:version_id>/move-episodes", methods=["GET", "POST"])
@login_required
def bulk(version_id: int):
    """The open episodes on other versions of a protocol, each with what moving it to this version
    would change; a POST moves those ticked, each on its own."""
    require(Action.MOVE_EPISODE)
    require(Action.VIEW_PATIENTS)
    target = version_with_steps(db.session, version_id)
    if target is None:
        abort(404)
    if request.method == "GET":
        return _bulk_page(target)
    if not ButtonForm().validate_on_submit():
        abort(400)
    wanted = episode_choices(request.form.getlist("episode"))
    if not wanted:
        problem = (
            "Choose the episodes to move from the list." if wanted is None else "Tick the episodes to move."
        )
        return _bulk_page(target, problem=problem, status=REFUSED)
    result = service.move_many(db.session, current_user, target, wanted)
    target = version_with_steps(db.session, version_id)
    if not result.moved:
        return _bulk_page(target, result, status=409 if result.conflicted and not result.refused else REFUSED)
    moved = len(result.moved)
    message = f"Moved {moved} episode{'s' if moved != 1 else ''} to {target.label}."
    here = url_for("episode_moves.bulk", version_id=version_id)
    flash(message, "success")
    return saved(message, here, page=_bulk_page(target, result))
