"""Sign off a phase (electronic signature), revoke a sign-off, close an episode."""

from flask import abort, current_app, flash, render_template, request, url_for
from flask_login import current_user, login_required

from app import db
from app.checklist import bp
from app.checklist.forms import CloseEpisodeForm, ReasonForm, SignForm
from app.checklist.views import episode_page
from app.domain.policy import Action
from app.domain.risk import risk_of_items
from app.domain.signoff import MEANINGS, SIGNABLE_PHASES, active_signoffs, close_blockers, signoff_blockers
from app.domain.vocab import EpisodeStatus, Phase
from app.services import signoffs as service
from app.web import load_checklist, load_episode, require
from app.web.forms import int_field
from app.web.responses import attempt, saved


def _phase(value: str) -> Phase:
    try:
        phase = Phase(value)
    except ValueError:
        abort(404)
    if phase not in SIGNABLE_PHASES:
        abort(404)
    return phase


def _back_to(episode_id: int, phase: Phase) -> str:
    return url_for("checklist.episode", episode_id=episode_id, _anchor=f"phase-{phase.value}")


@bp.route("/episodes/<int:episode_id>/sign/<phase>", methods=["GET", "POST"])
@login_required
def sign(episode_id: int, phase: str):
    """Show what is signed and ask for the password; sign on POST."""
    require(Action.SIGN_OFF)
    signed_phase = _phase(phase)
    episode = load_episode(episode_id)
    form = SignForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        config = current_app.config
        done = attempt(
            lambda: service.sign(
                db.session,
                current_user,
                episode,
                signed_phase,
                form.password.data,
                config["SIGNATURE_MAX_FAILURES"],
                config["SIGNATURE_LOCK_MINUTES"],
            ),
            keep=(service.SignatureRefused,),  # the failure count and its audit event stay
        )
        if done.ok:
            return saved(f"Signed off {signed_phase.label}.", _back_to(episode_id, signed_phase))
        status = done.status
        if isinstance(done.error, service.SignatureRefused):
            form.password.errors.append(str(done.error))
    episode = load_episode(episode_id)
    active = active_signoffs(episode)
    blockers = signoff_blockers(
        signed_phase, episode.items, set(active), episode.status is EpisodeStatus.CLOSED
    )
    return render_template(
        "checklist/sign.html",
        episode=episode,
        risk=risk_of_items(episode.items),
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
    back = _back_to(episode_id, signoff.phase)
    if not form.validate_on_submit():
        flash(
            form.reason.errors[0] if form.reason.errors else "Enter a reason to revoke a sign-off.", "danger"
        )
        return episode_page(episode, status=422)
    done = attempt(lambda: service.revoke(db.session, current_user, episode, signoff, form.reason.data))
    if done.ok:
        return saved(f"Revoked the sign-off of {signoff.phase.label}: its items can change again.", back)
    return episode_page(load_checklist(episode_id), status=done.status)


@bp.route("/episodes/<int:episode_id>/close", methods=["GET", "POST"])
@login_required
def close(episode_id: int):
    require(Action.CLOSE_EPISODE)
    episode = load_episode(episode_id)
    form = CloseEpisodeForm(version=episode.version)
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        done = attempt(
            lambda: service.close(
                db.session, current_user, episode, int_field(form.version.data) or -1, form.reason.data
            ),
            "This episode",
        )
        if done.ok:
            return saved("Episode closed.", url_for("checklist.episode", episode_id=episode_id))
        status = done.status
        episode = load_episode(episode_id)
    return render_template(
        "checklist/close.html", episode=episode, form=form, blockers=close_blockers(episode)
    ), status
