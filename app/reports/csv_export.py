"""CSV exports that open cleanly in a spreadsheet and cannot inject formulas.

UTF-8 with a byte-order mark (so spreadsheets read accents right), CRLF line ends, ISO dates,
and every text cell that a spreadsheet would read as a formula (starting with = + - @, a
tab or a carriage return) prefixed with an apostrophe, as OWASP advises.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date

from app.domain.outstanding import days_overdue
from app.domain.risk import RiskTier
from app.domain.schedule import item_state

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 500

OUTSTANDING_HEADER = (
    "MRN",
    "Family name",
    "Given name",
    "Procedure",
    "Surgery date",
    "Surgeon",
    "Phase",
    "Item",
    "Responsible role",
    "Required",
    "Due date",
    "State",
    "Days overdue",
    "Episode safety alerts",
    "Episode risk factors",
    "Episode risk factors named",
)


def safe_cell(value) -> str | int | float:
    """A cell value a spreadsheet shows as text, never runs: formula-like text is neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_chunks(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text in chunks of a few hundred rows: a large export never sits in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow([safe_cell(h) for h in header])
    for n, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(v) for v in row])
        if n % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def outstanding_record(row, today: date, due_soon_days: int, risk: RiskTier | None = None) -> tuple:
    """One outstanding item (a row of outstanding.outstanding_items) as export values, with its
    episode's pre-operative risk tier (clinical rules version 2, section 8)."""
    state = item_state(row.status, row.due_date, today, due_soon_days, row.overdue_from)
    return (
        row.mrn,
        row.family_name,
        row.given_name,
        row.procedure,
        row.surgery_date,
        row.surgeon_name,
        row.phase.label,
        row.title,
        row.role.label,
        row.required,
        row.due_date,
        state.label,
        days_overdue(row.due_date, today, row.overdue_from),
        getattr(row, "safety_alerts", 0) or 0,  # waiting for acknowledgement, in the row's episode
        risk.count if risk else None,  # empty where the protocol declares no risk factor
        risk.detail if risk else None,
    )


COMPLIANCE_HEADER = (
    "Month of surgery",
    "Surgeon",
    "Phase",
    "Required items due",
    "Completed",
    "Completed on time",
    "Completed %",
    "On time %",
    "Not yet due",
)


def _percent(value: float | None) -> float | str:
    return "" if value is None else round(value, 1)


def compliance_record(month, surgeon_name: str, phase, tally) -> tuple:
    """One month x surgeon x phase of the compliance report as export values."""
    return (
        month.key,
        surgeon_name,
        phase.label,
        tally.counted,
        tally.completed,
        tally.on_time,
        _percent(tally.completed_percent),
        _percent(tally.on_time_percent),
        tally.not_due,
    )
