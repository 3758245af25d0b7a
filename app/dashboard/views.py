from flask import flash, render_template, request
from flask_login import current_user, login_required

from app import db
from app.dashboard import bp
from app.dashboard.filters_box import filters_box
from app.dashboard.forms import OutstandingFilterForm
from app.dashboard.presenter import outstanding_csv, outstanding_page
from app.domain.policy import Action, can
from app.queries.episode_moves import move_targets
from app.queries.users import surgeons
from app.services.exports import record_export
from app.web import csv_download, require, site_day
from app.web.templating import keep_nav_flag_count
from app.web.urls import url_maker


def _filter_form(data) -> OutstandingFilterForm:
    form = OutstandingFilterForm(formdata=data)
    form.set_surgeons(surgeons(db.session))
    return form


def _kept(form: OutstandingFilterForm, data) -> dict[str, str]:
    """The filter values of a request (the page aside), to build links that keep them."""
    return {name: data.get(name) for name in form._fields if name != "page" and data.get(name)}


@bp.route("/dashboard")
@login_required
def index():
    """Every outstanding item of every open episode, overdue first, with filters and counts."""
    require(Action.VIEW_PATIENTS)
    form = _filter_form(request.args)
    listing = None
    if form.validate():
        listing = outstanding_page(db.session, form.filters(), form.page_number, form.by_episode, site_day())
        keep_nav_flag_count(listing.flagged)  # counted with the page's figures: no query of its own
    # The protocols some open episode is behind: the link to move them (one query).
    behind = move_targets(db.session) if can(current_user, Action.MOVE_EPISODE) else []
    return render_template(
        "dashboard/index.html",
        form=form,
        listing=listing,
        kept=_kept(form, request.args),
        filters_box=filters_box(form, request.args),
        move_targets=behind,
        episode_url=url_maker("checklist.episode", "episode_id"),  # a link per row: the route once
    )


@bp.route("/dashboard/export.csv", methods=["POST"])
@login_required
def export():
    """The outstanding items of the current filter as CSV, streamed; the export is audited."""
    require(Action.EXPORT_OUTSTANDING)
    form = _filter_form(request.form)
    if not form.validate():
        flash("Nothing was exported: correct the filters first.", "danger")
        kept = _kept(form, request.form)
        box = filters_box(form, request.form)
        return render_template(
            "dashboard/index.html", form=form, listing=None, kept=kept, filters_box=box
        ), 422
    filters = form.filters()
    record_export(
        db.session,
        current_user,
        "Exported outstanding items as CSV",
        filters.describe(form.surgeon_name()),
        "export.outstanding",
    )
    db.session.commit()  # the export is on record before its first row leaves
    day = site_day()
    return csv_download(outstanding_csv(filters, day), f"outstanding-items-{day.date.isoformat()}.csv")
