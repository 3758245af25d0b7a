"""Sign off a phase (electronic signature), revoke a sign-off, close an episode."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app import db
from app.checklist import bp
from app.checklist.forms import CloseEpisodeForm, ReasonForm, SignForm
from app.domain.policy import Action
from app.domain.signoff import MEANINGS, SIGNABLE_PHASES, signoff_blockers
from app.domain.vocab import EpisodeStatus, Phase
from app.services import signoffs as service
from app.services.errors import ServiceError
from app.web import attempt, int_field, load_episode, require


def _phase(value: str) -> Phase:
    try:
        phase = Phase(value)
    except ValueError:
        abort(404)
    if phase not in SIGNABLE_PHASES:
        abort(404)
    return phase


def _back(episode_id: int, phase: Phase):
    return redirect(url_for("checklist.episode", episode_id=episode_id, _anchor=f"phase-{phase.value}"))


@bp.route("/episodes/<int:episode_id>/sign/<phase>", methods=["GET", "POST"])
@login_required
def sign(episode_id: int, phase: str):
    """Show what is signed and ask for the password; sign on POST."""
    require(Action.SIGN_OFF)
    signed_phase = _phase(phase)
    episode = load_episode(episode_id)
    form = SignForm()
    status = 200
    if form.validate_on_submit():
        config = current_app.config
        try:
            service.sign(
                db.session,
                current_user,
                episode,
                signed_phase,
                form.password.data,
                config["SIGNATURE_MAX_FAILURES"],
                config["SIGNATURE_LOCK_MINUTES"],
            )
            db.session.commit()
        except service.SignatureRefused as exc:
            db.session.commit()  # keep the failure count and its audit event
            form.password.errors.append(str(exc))
            status = 422
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return _back(episode_id, signed_phase)
        else:
            flash(f"Signed off {signed_phase.label}.", "success")
            return _back(episode_id, signed_phase)
    elif request.method == "POST":
        status = 422
    episode = load_episode(episode_id)
    active = service.active_signoffs(episode)
    blockers = signoff_blockers(
        signed_phase, episode.items, set(active), episode.status is EpisodeStatus.CLOSED
    )
    return render_template(
        "checklist/sign.html",
        episode=episode,
        phase=signed_phase,
        form=form,
        blockers=blockers,
        statement=service.phase_statement(episode, signed_phase),
        meaning=MEANINGS[signed_phase],
    ), status


@bp.route("/episodes/<int:episode_id>/signoffs/<int:signoff_id>/revoke", methods=["POST"])
@login_required
def revoke(episode_id: int, signoff_id: int):
    require(Action.SIGN_OFF)
    episode = load_episode(episode_id)
    signoff = next((s for s in episode.signoffs if s.id == signoff_id), None)
    if signoff is None:
        abort(404)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash("Enter a reason (at most 500 characters) to revoke a sign-off.", "danger")
        return _back(episode_id, signoff.phase)
    ok, _ = attempt(lambda: service.revoke(db.session, current_user, episode, signoff, form.reason.data))
    if ok:
        flash(f"Revoked the sign-off of {signoff.phase.label}: its items can change again.", "success")
    return _back(episode_id, signoff.phase)


@bp.route("/episodes/<int:episode_id>/close", methods=["GET", "POST"])
@login_required
def close(episode_id: int):
    require(Action.CLOSE_EPISODE)
    episode = load_episode(episode_id)
    form = CloseEpisodeForm(version=episode.version)
    if form.validate_on_submit():
        ok, _ = attempt(
            lambda: service.close(
                db.session, current_user, episode, int_field(form.version.data) or -1, form.reason.data
            ),
            "This episode",
        )
        if ok:
            flash("Episode closed.", "success")
            return redirect(url_for("checklist.episode", episode_id=episode_id))
        episode = load_episode(episode_id)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "checklist/close.html", episode=episode, form=form, blockers=service.close_blockers(episode)
    ), status
