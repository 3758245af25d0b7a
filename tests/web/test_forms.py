"""The base form and shared fields: control characters and dates refused in one place."""

from datetime import date

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, StringField, TextAreaField

from app.domain.text import CONTROL_MESSAGE
from app.web.forms import DATE_MESSAGE, RANGE_MESSAGE, Form, IsoDateField, parse_date


class Sample(Form):
    class Meta:
        csrf = False

    name = StringField("Name")
    note = TextAreaField("Note")
    hidden = HiddenField()
    day = IsoDateField("Day")


def sample(app, **values) -> Sample:
    with app.test_request_context():
        form = Sample(formdata=MultiDict(values))
        form.validate()
        return form


@pytest.mark.parametrize("field", ["name", "note", "hidden", "day"])
def test_every_text_field_refuses_nul(app, field):
    form = sample(app, **{field: "a\x00b"})
    assert form.errors == {field: [CONTROL_MESSAGE]}


def test_notes_keep_line_breaks(app):
    form = sample(app, note="first line\r\nsecond line")
    assert form.errors == {}
    assert form.note.data == "first line\r\nsecond line"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-06-17", date(2026, 6, 17)),
        (" 17 Jun 2026 ", date(2026, 6, 17)),
        ("3 feb 1950", date(1950, 2, 3)),
    ],
)
def test_dates_are_read_as_yyyy_mm_dd_or_day_month_year(typed, expected):
    assert parse_date(typed) == expected


@pytest.mark.parametrize(
    "typed", ["２０２６-０６-１７", "2026-6-17", "17/06/2026", "2026-02-30", "today", "2026-06-17x"]
)
def test_other_ways_of_writing_a_date_are_refused_with_how_to_write_it(app, typed):
    assert sample(app, day=typed).errors == {"day": [DATE_MESSAGE]}


@pytest.mark.parametrize("typed", ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31"])
def test_dates_outside_1900_to_2199_are_refused(app, typed):
    assert sample(app, day=typed).errors == {"day": [RANGE_MESSAGE]}


def test_a_refused_date_is_shown_as_typed(app):
    form = sample(app, day="9999-12-31")
    assert form.day.data is None
    assert form.day._value() == "9999-12-31"


def test_each_form_token_field_is_a_distinct_token_that_needs_no_escaping(app):
    """The one-time token field is written without escaping: its token must be URL-safe only."""
    import re as _re

    from app.web import once

    with app.test_request_context("/"):
        fields = [str(once.form_token_field()) for _ in range(200)]
    tokens = [
        _re.fullmatch(r'<input type="hidden" name="form_token" value="([^"]*)">', f).group(1) for f in fields
    ]
    assert len(set(tokens)) == len(tokens)
    assert all(once.TOKEN_RE.fullmatch(t) for t in tokens)
