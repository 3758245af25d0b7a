"""Log a therapy session, correct it within 24 hours, add an addendum after."""

from flask import abort, render_template, request, url_for
from flask_login import current_user, login_required

from app import clock, db
from app.domain.policy import Action
from app.domain.therapy import addendum_problem, correction_problem
from app.models import Episode, TherapySession
from app.queries.therapy import episode_with_patient, session_of_episode
from app.services import therapy as service
from app.therapy import bp
from app.therapy.forms import AddendumForm, SessionForm
from app.web import require, site_day
from app.web.forms import int_field
from app.web.panels.therapy import place
from app.web.responses import CONFLICT, attempt, saved, saved_beside
from app.web.templating import fmt_date, fmt_time


def load_for_sessions(episode_id: int) -> Episode:
    """The episode, for a user who may log sessions (else 403/404)."""
    require(Action.LOG_SESSION)
    episode = episode_with_patient(db.session, episode_id)
    if episode is None:
        abort(404)
    return episode


def load_session(episode: Episode, session_id: int) -> TherapySession:
    """A session of this episode (a session of another episode is not found here)."""
    session = session_of_episode(db.session, episode.id, session_id)
    if session is None:
        abort(404)
    return session


def _back(episode_id: int, session_id: int | None = None) -> str:
    anchor = f"session-{session_id}" if session_id else "therapy"
    return url_for("checklist.episode", episode_id=episode_id, _anchor=anchor)


def _saved(verb: str, session: TherapySession, completed):
    """Commit, and say what was saved and which items it completed: at the top of the Therapy
    section, where the counts of its sessions items are (the top of the page is out of view)."""
    done = "".join(f" Done: {item.step.title[:80]} ({item.value})." for item in completed)
    what = f"{session.discipline.value} session on {fmt_date(session.session_date)}"
    message = f"{verb}: {what} — {fmt_time(clock.now())}.{done}"
    return saved_beside(message, _back(session.episode_id), place(session.episode_id))


@bp.route("/episodes/<int:episode_id>/sessions/new", methods=["GET", "POST"])
@login_required
def new_session(episode_id: int):
    episode = load_for_sessions(episode_id)
    form = SessionForm()
    if request.method == "GET":
        form.session_date.data = site_day().date
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        entry = form.entry()
        done = attempt(
            lambda: service.log_session(db.session, current_user, episode, entry, site_day().date),
            "This session",
            form=form,
        )
        if done.ok:
            return _saved("Session logged", *done.result)
        status = done.status
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
            done = attempt(
                lambda: service.correct_session(
                    db.session, current_user, session, version, entry, site_day().date
                ),
                "This session",
                form=form,
            )
            if done.ok:
                return _saved("Session corrected", session, done.result)
            status = done.status
            episode = load_for_sessions(episode_id)
            session = load_session(episode, session_id)
            if status == CONFLICT:
                form.version.data = session.version
    return _session_page(episode, session, form, AddendumForm(formdata=None), status)


def _session_page(episode, session, form, addendum_form, status: int):
    """A logged session: its correction form (within 24 hours) or its addendum form (after)."""
    return render_template(
        "therapy/session_form.html",
        episode=episode,
        form=form,
        session=session,
        problem=correction_problem(current_user, session, clock.now()),
        addendum_problem=addendum_problem(current_user, session, clock.now()),
        addendum_form=addendum_form,
    ), status


@bp.route("/episodes/<int:episode_id>/sessions/<int:session_id>/addendum", methods=["POST"])
@login_required
def add_addendum(episode_id: int, session_id: int):
    episode = load_for_sessions(episode_id)
    session = load_session(episode, session_id)
    form = AddendumForm()
    what = f"{session.discipline.value} session on {fmt_date(session.session_date)}"
    status = 422
    if form.validate_on_submit():
        done = attempt(lambda: service.add_addendum(db.session, current_user, session, form.text.data), what)
        if done.ok:
            message = f"Addendum added to the {what} — {fmt_time(clock.now())}."
            return saved(message, _back(episode_id, session_id))
        status = done.status
        episode = load_for_sessions(episode_id)
        session = load_session(episode, session_id)
    return _session_page(episode, session, SessionForm(obj=session, formdata=None), form, status)
