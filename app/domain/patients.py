"""Rules for patient identifiers and dates."""

import re
from datetime import date

MRN_RE = re.compile(r"^[A-Z0-9]{4,20}$")
OLDEST_AGE_YEARS = 130


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
    if today.year - dob.year > OLDEST_AGE_YEARS:
        return "Check the date of birth: that would make the patient older than 130."
    return None
