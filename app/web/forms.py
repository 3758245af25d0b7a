"""The base of every form, and the fields several blueprints share.

Every text a form takes (fields, searches, hidden values) is checked in one place, here:
control characters such as NUL are refused with a message next to the field, so nothing the
database cannot store (PostgreSQL refuses NUL) gets past a form.
"""

import re
from datetime import date, datetime

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import StopValidation

from app.domain.text import text_problem

DATE_MESSAGE = "Enter a date as YYYY-MM-DD."
# The dates any date field takes; fields and services narrow this (date of birth, surgery date).
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2199, 12, 31)
RANGE_MESSAGE = "Enter a date from 1900 to 2199."
# Lists are paged; no list has this many pages (and an offset beyond it is out of any range).
MAX_PAGE = 100_000
PAGE_MESSAGE = f"Enter a page number from 1 to {MAX_PAGE}."
_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_WRITTEN = re.compile(r"[0-9]{1,2} [A-Za-z]{3} [0-9]{4}", re.ASCII)


class PlainText:
    """Refuse control characters (line breaks and tabs are allowed in multi-line text)."""

    def __init__(self, multiline: bool) -> None:
        self.multiline = multiline

    def __call__(self, form, field) -> None:
        problem = text_problem(field.data if isinstance(field.data, str) else None, self.multiline)
        if problem is None and field.raw_data:
            raw = field.raw_data[0]
            problem = text_problem(raw if isinstance(raw, str) else None, self.multiline)
        if problem:
            field.errors = []
            raise StopValidation(problem)


class CheckedElsewhereField(HiddenField):
    """A hidden value that the code reading it checks itself (a return address after login): a
    control character in it makes it unusable, not the form wrong."""


class Form(FlaskForm):
    """Every form of Periop: its text fields refuse control characters before anything else."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            field = unbound_field.bind(form=form, **options)
            if isinstance(field, StringField) and not isinstance(field, CheckedElsewhereField):
                field.validators = [PlainText(isinstance(field, TextAreaField)), *field.validators]
            return field

    def show_problems(self, problems: dict[str, str]) -> None:
        """Put a service's problems (`InvalidInput.problems`) next to their fields."""
        for name, message in problems.items():
            self[name].errors = [*self[name].errors, message]


def parse_date(raw: str) -> date:
    """Read "2026-11-24" or "24 Nov 2026" (ASCII digits only); ValueError with a message otherwise."""
    text = raw.strip()
    try:
        if _ISO.fullmatch(text):
            value = date.fromisoformat(text)
        elif _WRITTEN.fullmatch(text):
            value = datetime.strptime(text.title(), "%d %b %Y").date()
        else:
            raise ValueError(DATE_MESSAGE)
    except ValueError:
        raise ValueError(DATE_MESSAGE) from None
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(RANGE_MESSAGE)
    return value


def page_number(raw) -> int | None:
    """A page number typed in a URL, or None when it is not one (ASCII digits, 1 to MAX_PAGE)."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_PAGE)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_PAGE else None


class IsoDateField(StringField):
    """A date typed as YYYY-MM-DD (or "24 Nov 2026"), from 1900 to 2199; data is a date or None."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"placeholder": "YYYY-MM-DD"})
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist:
            return  # not sent: keep the value the form was made with
        raw = valuelist[0].strip()
        self.raw_data = [raw]  # blank is missing, for InputRequired too
        self.data = None
        if raw and text_problem(raw) is None:
            self.data = parse_date(raw)  # a ValueError becomes the field's message

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if isinstance(self.data, date) else ""


class ButtonForm(Form):
    """An empty form for button-only actions: it carries the CSRF token."""


def int_or_typed(value):
    """Coerce a choice to an integer; a value that is not one is kept as typed, so validation names it."""
    number = int_field(value)
    return (value or None) if number is None else number


def int_field(raw) -> int | None:
    """Read a hidden integer field; None when missing or tampered with."""
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None
