from flask import render_template, request
from flask_login import login_required
from sqlalchemy import select

from app import db
from app.dashboard import bp
from app.dashboard.compliance_report import build_report
from app.dashboard.forms import ComplianceFilterForm
from app.domain.compliance import HIGH_COMPLIANCE_PERCENT, Month
from app.domain.policy import Action
from app.domain.vocab import Role
from app.exports import COMPLIANCE_HEADER, compliance_record, csv_chunks
from app.models import User
from app.web import csv_download, require, site_day


def _report():
    """The filter form and, when it is valid, the report it asks for."""
    require(Action.VIEW_COMPLIANCE)
    surgeons = list(
        db.session.scalars(select(User).where(User.role == Role.SURGEON).order_by(User.full_name))
    )
    form = ComplianceFilterForm(formdata=request.args)
    form.set_surgeons(surgeons)
    if not form.period_valid(Month.of(site_day().date)):
        return form, None
    first, last = form.period(Month.of(site_day().date))
    form.start.data, form.end.data = first, last  # show the period the report covers
    names = {u.id: u.full_name for u in surgeons}
    return form, build_report(db.session, first, last, form.surgeon.data, names, site_day().date)


@bp.route("/dashboard/compliance")
@login_required
def compliance():
    """Compliance with the protocol per month of surgery, surgeon and phase; the items most late."""
    form, report = _report()
    args = {k: v for k, v in request.args.items() if k in ("start", "end", "surgeon") and v}
    return render_template(
        "dashboard/compliance.html", form=form, report=report, args=args, high=HIGH_COMPLIANCE_PERCENT
    )


@bp.route("/dashboard/compliance.csv")
@login_required
def compliance_csv():
    """The compliance report's figures (no patient data) as CSV."""
    form, report = _report()
    if report is None:
        page = render_template(
            "dashboard/compliance.html", form=form, report=None, args={}, high=HIGH_COMPLIANCE_PERCENT
        )
        return page, 400
    rows = (compliance_record(*row) for row in report.detail)
    return csv_download(
        csv_chunks(COMPLIANCE_HEADER, rows), f"compliance-{report.first.key}-to-{report.last.key}.csv"
    )
