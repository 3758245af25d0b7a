"""A draft's steps: add, change, move up or down, remove."""

from flask import redirect, render_template, request
from flask_login import current_user, login_required

from app import db
from app.domain.protocol_format import spec_of_step, step_data
from app.domain.vocab import Phase
from app.protocol_admin import bp
from app.protocol_admin.forms import LockedForm, StepForm, fill_step_form, step_raw
from app.protocol_admin.views import _locked, load_draft, step_of, version_url
from app.services import protocol_drafts as service
from app.services.errors import InvalidInput
from app.web.responses import attempt, saved


def _step_page(draft, form, step, status: int):
    return render_template("protocols/step_form.html", v=draft, form=form, step=step), status


def _save(draft, step=None):
    form = StepForm()
    if not form.validate_on_submit():
        return _step_page(draft, form, step, 422)
    expected = form.lock_version()
    raw, problems = step_raw(form)
    if problems or expected is None:
        form.show_problems(problems or {"code": "The form was incomplete: reload the page."})
        return _step_page(draft, form, step, 422)
    done = attempt(
        lambda: service.save_step(db.session, current_user, draft, expected, raw, step),
        "This draft",
        on_form=(Exception,),
    )
    if done.ok:
        s = done.result
        verb = "Added" if step is None else "Saved"
        return saved(f"{verb} step {s.code}.", version_url(draft, _anchor=f"step-{s.code}"))
    if isinstance(done.error, InvalidInput):
        form.show_problems(done.error.problems)
    else:
        form.form_errors.append(str(done.error))
    draft = load_draft(draft.id)
    form.lock.data = str(draft.lock_version) if done.status == 409 else form.lock.data
    return _step_page(draft, form, step, done.status)


@bp.route("/versions/<int:version_id>/steps/new", methods=["GET", "POST"])
@login_required
def new_step(version_id: int):
    draft = load_draft(version_id)
    if request.method == "POST":
        return _save(draft)
    form = StepForm(lock=draft.lock_version)
    phase = request.args.get("phase", "")
    form.phase.data = phase if phase in {p.value for p in Phase} else Phase.AFTER.value
    form.required.data = True
    form.due.data = "0"
    return _step_page(draft, form, None, 200)


@bp.route("/versions/<int:version_id>/steps/<int:step_id>/edit", methods=["GET", "POST"])
@login_required
def edit_step(version_id: int, step_id: int):
    draft = load_draft(version_id)
    step = step_of(draft, step_id)
    if request.method == "POST":
        return _save(draft, step)
    form = StepForm(lock=draft.lock_version)
    fill_step_form(form, step_data(spec_of_step(step)))
    return _step_page(draft, form, step, 200)


@bp.route("/versions/<int:version_id>/steps/<int:step_id>/move", methods=["POST"])
@login_required
def move_step(version_id: int, step_id: int):
    draft = load_draft(version_id)
    step = step_of(draft, step_id)
    expected = _locked(LockedForm())
    up = request.form.get("direction") == "up"
    done = attempt(
        lambda: service.move_step(db.session, current_user, draft, expected, step, up), "This draft"
    )
    if done.ok:
        return saved(
            f"Moved {step.code} {'up' if up else 'down'}.", version_url(draft, _anchor=f"step-{step.code}")
        )
    return redirect(version_url(draft, _anchor=f"step-{step.code}")), 303


@bp.route("/versions/<int:version_id>/steps/<int:step_id>/remove", methods=["POST"])
@login_required
def remove_step(version_id: int, step_id: int):
    draft = load_draft(version_id)
    step = step_of(draft, step_id)
    code = step.code
    expected = _locked(LockedForm())
    done = attempt(lambda: service.remove_step(db.session, current_user, draft, expected, step), "This draft")
    if done.ok:
        return saved(f"Removed step {code}.", version_url(draft, _anchor=f"phase-{step.phase.value}"))
    return redirect(version_url(draft)), 303
