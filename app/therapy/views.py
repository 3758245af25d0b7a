"""Log a therapy session, correct it within 24 hours, add an addendum after."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import clock, db
from app.domain.policy import Action
from app.models import Episode, TherapySession
from app.services import therapy as service
from app.services.errors import Conflict, ServiceError
from app.templating import conflict_message, fmt_date, fmt_time
from app.therapy import bp
from app.therapy.forms import AddendumForm, SessionForm
from app.web import attempt, commit, int_field, require, today


def load_for_sessions(episode_id: int) -> Episode:
    """The episode, for a user who may log sessions (else 403/404)."""
    require(Action.LOG_SESSION)
    episode = db.session.scalar(
        select(Episode).options(joinedload(Episode.patient)).where(Episode.id == episode_id)
    )
    if episode is None:
        abort(404)
    return episode


def load_session(episode: Episode, session_id: int) -> TherapySession:
    """A session of this episode (a session of another episode is not found here)."""
    session = db.session.scalar(
        select(TherapySession)
        .options(joinedload(TherapySession.therapist))
        .where(TherapySession.id == session_id, TherapySession.episode_id == episode.id)
    )
    if session is None:
        abort(404)
    return session


def _back(episode_id: int, session_id: int | None = None):
    anchor = f"session-{session_id}" if session_id else "therapy"
    return redirect(url_for("checklist.episode", episode_id=episode_id, _anchor=anchor))


def _saved(verb: str, session: TherapySession, completed) -> None:
    done = "".join(f" Done: {item.step.title[:80]} ({item.value})." for item in completed)
    what = f"{session.discipline.value} session on {fmt_date(session.session_date)}"
    flash(f"{verb}: {what} — {fmt_time(clock.now())}.{done}", "success")


def _save(call, form: SessionForm) -> tuple[bool, int]:
    """Run a service call and commit; put its problems on the form. Returns (saved, status)."""
    try:
        result = call()
        commit("This session")
    except service.InvalidSession as exc:
        db.session.rollback()
        form.show_problems(exc.problems)
        return False, 422
    except Conflict as exc:
        db.session.rollback()
        flash(conflict_message(exc), "warning")
        return False, 409
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return False, 422
    return True, result


@bp.route("/episodes/<int:episode_id>/sessions/new", methods=["GET", "POST"])
@login_required
def new_session(episode_id: int):
    episode = load_for_sessions(episode_id)
    form = SessionForm()
    if request.method == "GET":
        form.session_date.data = today()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        entry = form.entry()
        ok, result = _save(
            lambda: service.log_session(db.session, current_user, episode, entry, today()), form
        )
        if ok:
            session, completed = result
            _saved("Session logged", session, completed)
            return _back(episode_id, session.id)
        status = result
        episode = load_for_sessions(episode_id)
    return render_template("therapy/session_form.html", episode=episode, form=form, session=None), status


@bp.route("/episodes/<int:episode_id>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@login_required
def edit_session(episode_id: int, session_id: int):
    episode = load_for_sessions(episode_id)
    session = load_session(episode, session_id)
    form = SessionForm(obj=session if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        version = int_field(form.version.data)
        if version is None:
            abort(400)
        status = 422
        if form.validate_on_submit():
            entry = form.entry()
            ok, result = _save(
                lambda: service.correct_session(db.session, current_user, session, version, entry, today()),
                form,
            )
            if ok:
                _saved("Session corrected", session, result)
                return _back(episode_id, session.id)
            status = result
            episode = load_for_sessions(episode_id)
            session = load_session(episode, session_id)
            if status == 409:
                form.version.data = session.version
    return render_template(
        "therapy/session_form.html",
        episode=episode,
        form=form,
        session=session,
        problem=service.correction_problem(current_user, session),
        addendum_problem=service.addendum_problem(current_user, session),
        addendum_form=AddendumForm(formdata=None),
    ), status


@bp.route("/episodes/<int:episode_id>/sessions/<int:session_id>/addendum", methods=["POST"])
@login_required
def add_addendum(episode_id: int, session_id: int):
    episode = load_for_sessions(episode_id)
    session = load_session(episode, session_id)
    form = AddendumForm()
    if not form.validate_on_submit():
        errors = [e for field in (form.text, form.csrf_token) for e in field.errors]
        flash(errors[0] if errors else "Enter the addendum text.", "danger")
        return _back(episode_id, session_id)
    what = f"{session.discipline.value} session on {fmt_date(session.session_date)}"
    ok, _ = attempt(lambda: service.add_addendum(db.session, current_user, session, form.text.data), what)
    if ok:
        flash(f"Addendum added to the {what} — {fmt_time(clock.now())}.", "success")
    return _back(episode_id, session_id)
