from flask import Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app import db
from app.dashboard import bp
from app.dashboard.forms import OutstandingFilterForm
from app.dashboard.presenter import outstanding_page
from app.domain.policy import Action
from app.domain.vocab import Role
from app.exports import OUTSTANDING_HEADER, csv_chunks, outstanding_record
from app.models import User
from app.outstanding import outstanding_items
from app.services.exports import record_export
from app.web import attempt, require, site_day

FILTER_FIELDS = (
    "phase",
    "state",
    "role",
    "surgeon",
    "due_from",
    "due_to",
    "required",
    "flagged",
    "q",
    "view",
)


def _filter_form(data) -> OutstandingFilterForm:
    form = OutstandingFilterForm(formdata=data)
    form.set_surgeons(
        db.session.scalars(select(User).where(User.role == Role.SURGEON).order_by(User.full_name))
    )
    return form


def _kept(data) -> dict[str, str]:
    """The filter values of a request, to build links that keep them."""
    return {k: data.get(k) for k in FILTER_FIELDS if data.get(k)}


@bp.route("/dashboard")
@login_required
def index():
    """Every outstanding item of every open episode, overdue first, with filters and counts."""
    require(Action.VIEW_PATIENTS)
    form = _filter_form(request.args)
    listing = None
    if form.validate():
        listing = outstanding_page(db.session, form.filters(), form.page_number, form.by_episode, site_day())
    return render_template("dashboard/index.html", form=form, listing=listing, kept=_kept(request.args))


@bp.route("/dashboard/export.csv", methods=["POST"])
@login_required
def export():
    """The outstanding items of the current filter as CSV, streamed; the export is audited."""
    require(Action.EXPORT_OUTSTANDING)
    form = _filter_form(request.form)
    if not form.validate():
        flash("Nothing was exported: correct the filters first.", "danger")
        return redirect(url_for(".index", **_kept(request.form)))
    filters = form.filters()
    surgeon = db.session.get(User, filters.surgeon_id) if filters.surgeon_id else None
    ok, _ = attempt(
        lambda: record_export(
            db.session,
            current_user,
            "Exported outstanding items as CSV",
            filters.describe(surgeon.full_name if surgeon else None),
            "export.outstanding",
        )
    )
    if not ok:
        return redirect(url_for(".index", **_kept(request.form)))
    day = site_day()

    def generate():
        with db.read_unit():  # the audit is committed: read without holding SQLite's write lock
            stmt = outstanding_items(filters, day)
            rows = db.session.execute(stmt.execution_options(yield_per=1000))
            try:
                yield from csv_chunks(
                    OUTSTANDING_HEADER, (outstanding_record(r, day.date, day.due_soon_days) for r in rows)
                )
            finally:  # also when the download is cut short: no server-side cursor is left open
                rows.close()

    filename = f"outstanding-items-{day.date.isoformat()}.csv"
    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
