"""Validate a value entered for a `value` step against its type, unit and range."""

import math
import re
from typing import Protocol

from app.domain.vocab import ValueType

MAX_TEXT_VALUE = 200
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class ValueSpec(Protocol):
    value_type: ValueType | None
    unit: str | None
    min_value: float | None
    max_value: float | None


class ValueProblem(ValueError):
    """The entered value does not fit the step; the message is shown to the user."""


def _fmt(number: float) -> str:
    return f"{number:g}"


def range_text(spec: ValueSpec) -> str:
    """Describe the accepted range, e.g. "from 0 to 10" or "0 or more mL"."""
    unit = f" {spec.unit}" if spec.unit else ""
    lo, hi = spec.min_value, spec.max_value
    if lo is not None and hi is not None:
        return f"from {_fmt(lo)} to {_fmt(hi)}{unit}"
    if lo is not None:
        return f"{_fmt(lo)}{unit} or more"
    if hi is not None:
        return f"up to {_fmt(hi)}{unit}"
    return f"any number{unit}".rstrip()


def clean_value(spec: ValueSpec, raw: str | None) -> str:
    """Return the value in its stored form, or raise ValueProblem saying what is wrong."""
    text = (raw or "").strip()
    if not text:
        raise ValueProblem("Enter a value.")
    if spec.value_type is ValueType.NUMBER:
        return _clean_number(spec, text)
    if spec.value_type is ValueType.YES_NO:
        if text.lower() not in ("yes", "no"):
            raise ValueProblem("Choose yes or no.")
        return text.lower()
    if spec.value_type is ValueType.TIME:
        if not _TIME.match(text):
            raise ValueProblem("Enter a time as HH:MM, e.g. 08:45.")
        return text
    if spec.value_type is ValueType.TEXT:
        if len(text) > MAX_TEXT_VALUE:
            raise ValueProblem(f"Keep the value to {MAX_TEXT_VALUE} characters.")
        return text
    raise ValueProblem("This step does not take a value.")


def _clean_number(spec: ValueSpec, text: str) -> str:
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        raise ValueProblem(f"Enter a number {range_text(spec)}.") from None
    if not math.isfinite(number):
        raise ValueProblem(f"Enter a number {range_text(spec)}.")
    too_low = spec.min_value is not None and number < spec.min_value
    too_high = spec.max_value is not None and number > spec.max_value
    if too_low or too_high:
        raise ValueProblem(f"Enter a number {range_text(spec)}.")
    return _fmt(number)
