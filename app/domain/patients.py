"""Rules for patient identifiers and dates."""

import re
from datetime import date

from app.domain.schedule import day_text

MRN_RE = re.compile(r"^[A-Z0-9]{4,20}$")
EARLIEST_BIRTH = date(1900, 1, 1)
# A surgery date further than this from today is a typing error (e.g. 2062 for 2026).
SURGERY_YEARS = 5


def normalize_mrn(raw: str) -> str:
    """MRNs compare upper-case, without surrounding spaces."""
    return raw.strip().upper()


def mrn_problem(mrn: str) -> str | None:
    if not MRN_RE.match(mrn):
        return "An MRN is 4 to 20 letters and digits, no spaces or symbols."
    return None


def birth_date_problem(dob: date, today: date) -> str | None:
    if dob > today:
        return "The date of birth cannot be in the future."
    if dob < EARLIEST_BIRTH:
        return f"Check the date of birth: enter a date from {day_text(EARLIEST_BIRTH)}."
    return None


def _years_from(day: date, years: int) -> date:
    """The same calendar day `years` later (or earlier); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def surgery_window(today: date) -> tuple[date, date]:
    """The surgery dates Periop takes: within SURGERY_YEARS of today, either side."""
    return _years_from(today, -SURGERY_YEARS), _years_from(today, SURGERY_YEARS)


def surgery_date_problem(surgery: date | None, today: date) -> str | None:
    """Why a surgery date is not plausible (None: it is, or it is not yet known)."""
    if surgery is None:
        return None
    first, last = surgery_window(today)
    if not first <= surgery <= last:
        return (
            f"Check the surgery date: enter a date within {SURGERY_YEARS} years of today "
            f"({day_text(first)} to {day_text(last)})."
        )
    return None
