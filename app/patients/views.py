from flask import render_template, request, url_for
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from app import db
from app.domain.outstanding import page_count
from app.domain.policy import Action
from app.models import Episode, Patient, ProtocolVersion
from app.patients import bp
from app.patients.forms import (
    EditEpisodeForm,
    EditPatientForm,
    NewEpisodeForm,
    PatientSearchForm,
    RegisterPatientForm,
    set_protocol_choices,
)
from app.queries.episodes import episode_summaries
from app.queries.patients import latest_episodes, patient_episodes, patient_page
from app.queries.users import surgeons
from app.services import patients as service
from app.services import protocols
from app.web import get_or_404, require, site_day
from app.web.forms import int_field
from app.web.responses import attempt, saved

PAGE_SIZE = 50


def _surgeon_choices(form) -> None:
    form.surgeon_id.choices = [SelectChoice("", "Choose a surgeon")] + [
        SelectChoice(u.id, u.full_name) for u in surgeons(db.session, active_only=True)
    ]


def _protocol_choices(form) -> None:
    set_protocol_choices(
        form.protocol_version_id, protocols.current_versions(db.session), protocols.protocols_for(db.session)
    )


def _protocol(form) -> ProtocolVersion:
    """The version chosen, or the one meant for the procedure type (refused next to the field)."""
    return protocols.chosen_protocol(
        db.session, form.protocol_version_id.data, form.episode_details().procedure_type
    )


@bp.route("/patients")
@login_required
def index():
    require(Action.VIEW_PATIENTS)
    search = PatientSearchForm(formdata=request.args)
    if not search.validate():
        return render_template("patients/index.html", search=search, patients=[], q="", total=0), 422
    q, page = search.text, search.page_number
    patients, total = patient_page(db.session, q, page, PAGE_SIZE)
    latest = latest_episodes(db.session, [p.id for p in patients])
    summaries = episode_summaries(db.session, [e.id for e in latest.values()], site_day())
    return render_template(
        "patients/index.html",
        search=search,
        patients=patients,
        latest=latest,
        summaries=summaries,
        q=q,
        page=page,
        pages=page_count(total, PAGE_SIZE),
        total=total,
    )


@bp.route("/patients/new", methods=["GET", "POST"])
@login_required
def register():
    require(Action.REGISTER_PATIENT)
    form = RegisterPatientForm()
    _surgeon_choices(form)
    _protocol_choices(form)
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        done = attempt(
            lambda: service.register_patient(
                db.session,
                current_user,
                form.patient_details(),
                form.episode_details(),
                _protocol(form),
                site_day().date,
            ),
            form=form,  # no protocol meant for the procedure type: said next to the field
        )
        if done.ok:
            episode = done.result
            return saved(
                f"Registered {episode.patient.display_name} ({episode.patient.mrn}).",
                url_for("checklist.episode", episode_id=episode.id),
            )
        status = done.status
    return render_template("patients/register.html", form=form), status


@bp.route("/patients/<int:patient_id>")
@login_required
def detail(patient_id: int):
    require(Action.VIEW_PATIENTS)
    patient = get_or_404(Patient, patient_id)
    episodes = patient_episodes(db.session, patient.id)
    summaries = episode_summaries(db.session, [e.id for e in episodes], site_day())
    return render_template("patients/detail.html", patient=patient, episodes=episodes, summaries=summaries)


@bp.route("/patients/<int:patient_id>/edit", methods=["GET", "POST"])
@login_required
def edit(patient_id: int):
    require(Action.EDIT_PATIENT)
    patient = get_or_404(Patient, patient_id)
    form = EditPatientForm(obj=patient, version=patient.version)
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        done = attempt(
            lambda: service.update_patient(
                db.session,
                current_user,
                patient,
                form.patient_details(),
                int_field(form.version.data) or -1,
                site_day().date,
            ),
            "This patient",
        )
        if done.ok:
            message = "Patient details saved." if done.result else "Nothing changed."
            return saved(message, url_for("patients.detail", patient_id=patient.id))
        status = done.status
    return render_template("patients/edit.html", form=form, patient=patient), status


@bp.route("/patients/<int:patient_id>/episodes/new", methods=["GET", "POST"])
@login_required
def new_episode(patient_id: int):
    require(Action.EDIT_EPISODE)
    patient = get_or_404(Patient, patient_id)
    form = NewEpisodeForm()
    _surgeon_choices(form)
    _protocol_choices(form)
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        done = attempt(
            lambda: service.open_episode(
                db.session, current_user, patient, form.episode_details(), _protocol(form)
            ),
            form=form,  # no protocol meant for the procedure type: said next to the field
        )
        if done.ok:
            episode = done.result
            return saved(
                f"Opened episode: {episode.procedure}.", url_for("checklist.episode", episode_id=episode.id)
            )
        status = done.status
    return render_template("patients/episode_form.html", form=form, patient=patient, episode=None), status


@bp.route("/episodes/<int:episode_id>/edit", methods=["GET", "POST"])
@login_required
def edit_episode(episode_id: int):
    require(Action.EDIT_EPISODE)
    episode = get_or_404(Episode, episode_id)
    form = EditEpisodeForm(obj=episode, version=episode.version)
    _surgeon_choices(form)
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        done = attempt(
            lambda: service.update_episode(
                db.session,
                current_user,
                episode,
                form.episode_details(),
                int_field(form.version.data) or -1,
            ),
            "This episode",
            form=form,  # a surgery date that records would not fit, next to the date
        )
        if done.ok:
            message = "Episode saved." if done.result else "Nothing changed."
            return saved(message, url_for("checklist.episode", episode_id=episode.id))
        status = done.status
    return render_template(
        "patients/episode_form.html", form=form, patient=episode.patient, episode=episode
    ), status
