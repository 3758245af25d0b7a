"""Protocols and their versions: the list, a version's page (a draft's editor), new drafts,
import and export, review and publish, retire, discard."""

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from app import audit, db
from app.domain.policy import Action, can
from app.domain.protocol_diff import VersionDiff
from app.domain.vocab import Phase, Procedure, VersionStatus
from app.models import ProtocolStep, ProtocolTemplate, ProtocolVersion
from app.protocol_admin import bp
from app.protocol_admin.forms import ImportForm, LockedForm, NewDraftForm, ProceduresForm, PublishForm
from app.services import protocol_drafts as service
from app.services.signoffs import SignatureRefused
from app.web import require
from app.web.responses import attempt, saved


def load_version(version_id: int) -> ProtocolVersion:
    """A version with its protocol and steps (one query each), for a user who may read protocols."""
    require(Action.VIEW_PROTOCOLS)
    version = db.session.scalar(
        select(ProtocolVersion)
        .options(selectinload(ProtocolVersion.steps), selectinload(ProtocolVersion.template))
        .where(ProtocolVersion.id == version_id)
    )
    if version is None:
        abort(404)
    return version


def load_draft(version_id: int) -> ProtocolVersion:
    require(Action.EDIT_PROTOCOLS)
    version = load_version(version_id)
    if version.status is not VersionStatus.DRAFT:
        abort(404)
    return version


def version_url(version: ProtocolVersion, **kw) -> str:
    return url_for("protocols.version", version_id=version.id, **kw)


def _templates() -> list[ProtocolTemplate]:
    return list(
        db.session.scalars(
            select(ProtocolTemplate)
            .options(selectinload(ProtocolTemplate.versions).selectinload(ProtocolVersion.published_by))
            .order_by(ProtocolTemplate.name)
        )
    )


@bp.route("")
@login_required
def index():
    require(Action.VIEW_PROTOCOLS)
    templates = _templates()
    versions = [v for t in templates for v in t.versions]
    return render_template(
        "protocols/index.html",
        templates=templates,
        in_use=service.open_episodes_on(db.session, [v.id for v in versions]),
        new_form=_new_draft_form(templates),
        form=LockedForm(),
        editor=can(current_user, Action.EDIT_PROTOCOLS),
        VersionStatus=VersionStatus,
    )


def _new_draft_form(templates) -> NewDraftForm:
    form = NewDraftForm()
    choices = [SelectChoice("blank", "Blank: a new protocol")]
    for t in templates:
        for v in sorted(t.versions, key=lambda v: (v.number is None, -(v.number or 0))):
            if v.number is not None:
                choices.append(SelectChoice(str(v.id), f"{v.label} — a draft of its next version"))
    form.source.choices = choices
    return form


@bp.route("/drafts", methods=["POST"])
@login_required
def new_draft():
    require(Action.EDIT_PROTOCOLS)
    form = _new_draft_form(_templates())
    if form.validate_on_submit():
        source = None
        if form.source.data != "blank":
            source = db.session.get(ProtocolVersion, int(form.source.data))
        name = (form.name.data or "").strip() or None
        if source is None and not name:
            form.name.errors.append("Enter the name of the new protocol.")
        else:
            template = None if name else (source.template if source else None)
            done = attempt(lambda: service.start_draft(db.session, current_user, source, template, name))
            if done.ok:
                return saved(
                    "Draft started: add, change, reorder or remove its steps.", version_url(done.result)
                )
    return _index_again(form)


def _index_again(form):
    templates = _templates()
    versions = [v for t in templates for v in t.versions]
    return render_template(
        "protocols/index.html",
        templates=templates,
        in_use=service.open_episodes_on(db.session, [v.id for v in versions]),
        new_form=form,
        form=LockedForm(),
        editor=True,
        VersionStatus=VersionStatus,
    ), 422


@bp.route("/versions/<int:version_id>")
@login_required
def version(version_id: int):
    v = load_version(version_id)
    if v.is_draft and not can(current_user, Action.EDIT_PROTOCOLS):
        abort(404)  # a draft is the lead's work in progress
    steps = sorted(v.steps, key=lambda s: (list(Phase).index(s.phase), s.position))
    by_phase = {phase: [s for s in steps if s.phase is phase] for phase in Phase}
    return render_template(
        "protocols/version.html",
        v=v,
        by_phase=by_phase,
        problems=service.problems(v) if v.is_draft else [],
        changes=VersionDiff.from_json(v.changes) if v.changes else None,
        against=(v.changes or {}).get("against"),
        in_use=service.open_episodes_on(db.session, [v.id]).get(v.id, 0),
        form=LockedForm(lock=v.lock_version),
        procedures_form=ProceduresForm(procedures=v.template.procedure_types or []),
        editor=can(current_user, Action.EDIT_PROTOCOLS),
        Phase=Phase,
        Procedure=Procedure,
    )


@bp.route("/versions/<int:version_id>/export", methods=["POST"])
@login_required
def export(version_id: int):
    """The version as a YAML file; a POST, as every export is (it is audited)."""
    v = load_version(version_id)
    if not LockedForm().validate_on_submit():
        abort(400)
    if v.is_draft and not can(current_user, Action.EDIT_PROTOCOLS):
        abort(404)
    text = service.export_yaml(v)
    audit.record(
        db.session,
        current_user,
        "protocol.export",
        f"Exported {v.label} as YAML",
        target_type="protocol_version",
        target_id=v.id,
    )
    db.session.commit()
    name = f"{v.template.slug}-{'draft' if v.number is None else f'v{v.number}'}.yaml"
    return Response(
        text,
        mimetype="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_file():
    require(Action.EDIT_PROTOCOLS)
    form = ImportForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        done = attempt(
            lambda: service.import_draft(db.session, current_user, form.text.data), on_form=(Exception,)
        )
        if done.ok:
            return saved("Imported as a draft: review it, then publish.", version_url(done.result))
        status = done.status
        form.text.errors.append(str(done.error))
    return render_template("protocols/import.html", form=form), status


@bp.route("/versions/<int:version_id>/procedures", methods=["POST"])
@login_required
def procedures(version_id: int):
    require(Action.EDIT_PROTOCOLS)
    v = load_version(version_id)
    form = ProceduresForm()
    if form.validate_on_submit():
        chosen = [Procedure(p) for p in form.procedures.data or []]
        done = attempt(lambda: service.set_procedures(db.session, current_user, v.template, chosen))
        if done.ok:
            return saved(f"{v.template.name}: meant for saved.", version_url(v))
    return saved_nothing(v)


def saved_nothing(v: ProtocolVersion):
    flash("Nothing was saved: the form was incomplete.", "danger")
    return redirect(version_url(v)), 303


@bp.route("/versions/<int:version_id>/review", methods=["GET", "POST"])
@login_required
def review(version_id: int):
    """The draft's changes against the version it came from; publishing needs the password."""
    draft = load_draft(version_id)
    form = PublishForm(lock=draft.lock_version) if request.method == "GET" else PublishForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        expected = form.lock_version()
        if expected is None:
            abort(400)
        config = current_app.config
        done = attempt(
            lambda: service.publish(
                db.session,
                current_user,
                draft,
                expected,
                form.password.data,
                config["SIGNATURE_MAX_FAILURES"],
                config["SIGNATURE_LOCK_MINUTES"],
            ),
            "This draft",
            verb="was",
            keep=(SignatureRefused,),
        )
        if done.ok:
            v = done.result
            return saved(
                f"Published {v.label}: new episodes use it. "
                "Episodes already open keep their version until moved.",
                version_url(v),
            )
        status = done.status
        if isinstance(done.error, SignatureRefused):
            form.password.errors.append(str(done.error))
        draft = load_version(version_id)
        if not draft.is_draft:
            return saved_nothing(draft)
    return render_template(
        "protocols/review.html",
        v=draft,
        diff=service.changes_of(draft),
        problems=service.problems(draft),
        form=form,
        meaning=service.MEANING,
    ), status


def _locked(form: LockedForm) -> int:
    if not form.validate_on_submit() or form.lock_version() is None:
        abort(400)
    return form.lock_version()


@bp.route("/versions/<int:version_id>/retire", methods=["POST"])
@login_required
def retire(version_id: int):
    require(Action.EDIT_PROTOCOLS)
    v = load_version(version_id)
    expected = _locked(LockedForm())
    done = attempt(lambda: service.retire(db.session, current_user, v, expected), "This version")
    if done.ok:
        return saved(f"Retired {v.label}: no new episode can use it.", url_for("protocols.index"))
    return redirect(url_for("protocols.index")), 303


@bp.route("/versions/<int:version_id>/discard", methods=["POST"])
@login_required
def discard(version_id: int):
    draft = load_draft(version_id)
    expected = _locked(LockedForm())
    label = draft.label
    done = attempt(lambda: service.discard(db.session, current_user, draft, expected), "This draft")
    if done.ok:
        return saved(f"Discarded the draft {label}.", url_for("protocols.index"))
    return redirect(version_url(draft)), 303


def step_of(draft: ProtocolVersion, step_id: int) -> ProtocolStep:
    step = next((s for s in draft.steps if s.id == step_id), None)
    if step is None:
        abort(404)
    return step
