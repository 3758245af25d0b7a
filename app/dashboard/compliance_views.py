from flask import render_template, request
from flask_login import login_required

from app import db
from app.dashboard import bp
from app.dashboard.forms import ComplianceFilterForm
from app.domain.compliance import HIGH_COMPLIANCE_PERCENT, Month, percent_text
from app.domain.policy import Action
from app.queries.compliance import report_versions
from app.queries.users import surgeons
from app.reports import compliance as report_of
from app.web import csv_download, require, site_day


def _report():
    """The filter form and, when it is valid, the report it asks for."""
    require(Action.VIEW_COMPLIANCE)
    form = ComplianceFilterForm(formdata=request.args)
    form.set_surgeons(surgeons(db.session))
    form.set_versions(report_versions(db.session))
    if not form.period_valid(Month.of(site_day().date)):
        return form, None
    first, last = form.period(Month.of(site_day().date))
    form.start.data, form.end.data = first, last  # show the period the report covers
    return form, report_of.build_report(
        db.session,
        first,
        last,
        form.surgeon.data,
        form.surgeon_names,
        site_day().date,
        form.chosen_version(),
    )


def _report_args(form) -> dict[str, str]:
    """The filters of the report shown, for its links (the CSV): the protocol version as its id,
    and left out when it was refused on its field, as it is from the report."""
    args = {k: v for k, v in request.args.items() if k in ("start", "end", "surgeon") and v}
    version = form.chosen_version()
    if version is not None:
        args["version"] = str(version.id)
    return args


def _page(form, report, args) -> str:
    """The report page, or its filters alone when there is no report."""
    return render_template(
        "dashboard/compliance.html",
        form=form,
        report=report,
        args=args,
        high=HIGH_COMPLIANCE_PERCENT,
        percent=percent_text,
    )


@bp.route("/dashboard/compliance")
@login_required
def compliance():
    """Compliance with the protocol per month of surgery, surgeon and phase; the items most late."""
    form, report = _report()
    return _page(form, report, _report_args(form))


@bp.route("/dashboard/compliance.csv")
@login_required
def compliance_csv():
    """The compliance report's figures (no patient data) as CSV."""
    form, report = _report()
    if report is None or form.version.errors:  # never all versions' figures for a version asked for
        return _page(form, report, _report_args(form)), 400
    version = f"-{report.version.file_key}" if report.version else ""
    return csv_download(
        report_of.compliance_csv(report), f"compliance-{report.first.key}-to-{report.last.key}{version}.csv"
    )
