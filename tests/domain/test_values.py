"""Validating values entered for `value` steps: the messages are what the user sees."""

from types import SimpleNamespace

import pytest

from app.domain.values import MAX_TEXT_VALUE, ValueProblem, clean_value, range_text
from app.domain.vocab import ValueType


def spec(value_type, unit=None, min_value=None, max_value=None):
    return SimpleNamespace(value_type=value_type, unit=unit, min_value=min_value, max_value=max_value)


NRS = spec(ValueType.NUMBER, None, 0, 10)
HBA1C = spec(ValueType.NUMBER, "%", 3, 20)
BLOOD_LOSS = spec(ValueType.NUMBER, "mL", 0, None)
YES_NO = spec(ValueType.YES_NO)
TIME = spec(ValueType.TIME)
TEXT = spec(ValueType.TEXT)


def problem(value_spec, raw) -> str:
    with pytest.raises(ValueProblem) as caught:
        clean_value(value_spec, raw)
    return str(caught.value)


# numbers: NRS 0-10


@pytest.mark.parametrize(("raw", "stored"), [("0", "0"), ("10", "10"), ("5", "5"), (" 7 ", "7")])
def test_nrs_accepts_whole_numbers_in_range_including_edges(raw, stored):
    assert clean_value(NRS, raw) == stored


@pytest.mark.parametrize("raw", ["-1", "11", "10.5", "-0.1"])
def test_nrs_refuses_numbers_outside_0_to_10(raw):
    assert problem(NRS, raw) == "Enter a number from 0 to 10."


def test_number_with_decimal_comma_is_accepted_as_decimal_point():
    assert clean_value(NRS, "7,5") == "7.5"


def test_number_with_decimal_point_is_stored_plainly():
    assert clean_value(NRS, "7.50") == "7.5"
    assert clean_value(NRS, "7.0") == "7"


@pytest.mark.parametrize("raw", ["abc", "7 points", "1,2,3", "seven"])
def test_number_refuses_text(raw):
    assert problem(NRS, raw) == "Enter a number from 0 to 10."


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf", "Infinity"])
def test_number_refuses_nan_and_infinity(raw):
    assert problem(NRS, raw) == "Enter a number from 0 to 10."


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_empty_value_is_refused(raw):
    assert problem(NRS, raw) == "Enter a value."


# numbers: HbA1c 3-20 %


@pytest.mark.parametrize(("raw", "stored"), [("3", "3"), ("20", "20"), ("7,8", "7.8"), ("6.5", "6.5")])
def test_hba1c_accepts_3_to_20_percent(raw, stored):
    assert clean_value(HBA1C, raw) == stored


@pytest.mark.parametrize("raw", ["2.9", "20.1", "0", "65"])
def test_hba1c_refuses_outside_3_to_20_and_names_the_unit(raw):
    assert problem(HBA1C, raw) == "Enter a number from 3 to 20 %."


# numbers: blood loss mL, no maximum


@pytest.mark.parametrize(("raw", "stored"), [("0", "0"), ("350", "350"), ("25000", "25000")])
def test_blood_loss_accepts_zero_and_any_larger_amount(raw, stored):
    assert clean_value(BLOOD_LOSS, raw) == stored


def test_blood_loss_refuses_negative_amount():
    assert problem(BLOOD_LOSS, "-1") == "Enter a number 0 mL or more."


# range_text


@pytest.mark.parametrize(
    ("value_spec", "text"),
    [
        (NRS, "from 0 to 10"),
        (HBA1C, "from 3 to 20 %"),
        (BLOOD_LOSS, "0 mL or more"),
        (spec(ValueType.NUMBER, "kg", None, 300), "up to 300 kg"),
        (spec(ValueType.NUMBER), "any number"),
        (spec(ValueType.NUMBER, "mL"), "any number mL"),
        (spec(ValueType.NUMBER, None, 0.5, 2.25), "from 0.5 to 2.25"),
    ],
)
def test_range_text_describes_the_accepted_range(value_spec, text):
    assert range_text(value_spec) == text


def test_number_without_limits_accepts_any_finite_number():
    assert clean_value(spec(ValueType.NUMBER), "-12.5") == "-12.5"


# yes / no


@pytest.mark.parametrize(("raw", "stored"), [("yes", "yes"), ("YES", "yes"), (" No ", "no"), ("nO", "no")])
def test_yes_no_is_case_insensitive_and_stored_lower_case(raw, stored):
    assert clean_value(YES_NO, raw) == stored


@pytest.mark.parametrize("raw", ["maybe", "y", "n", "true", "1"])
def test_yes_no_refuses_anything_else(raw):
    assert problem(YES_NO, raw) == "Choose yes or no."


# time HH:MM


@pytest.mark.parametrize("raw", ["00:00", "08:45", "23:59", "12:30"])
def test_time_accepts_hh_mm(raw):
    assert clean_value(TIME, raw) == raw


@pytest.mark.parametrize("raw", ["24:00", "8:45", "08:60", "0845", "08:45:00", "noon", "8.45"])
def test_time_refuses_anything_but_hh_mm(raw):
    assert problem(TIME, raw) == "Enter a time as HH:MM, e.g. 08:45."


# text


def test_text_is_stored_trimmed():
    assert clean_value(TEXT, "  L4-L5  ") == "L4-L5"


def test_text_at_the_limit_is_accepted():
    assert clean_value(TEXT, "x" * MAX_TEXT_VALUE) == "x" * MAX_TEXT_VALUE


def test_text_over_the_limit_is_refused():
    assert problem(TEXT, "x" * (MAX_TEXT_VALUE + 1)) == "Keep the value to 200 characters."


def test_step_without_value_type_takes_no_value():
    assert problem(spec(None), "5") == "This step does not take a value."


def test_value_problem_is_a_value_error():
    assert issubclass(ValueProblem, ValueError)
