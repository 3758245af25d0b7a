"""The pre-operative risk tier (clinical rules version 2, section 8): factors counted and named,
answers not yet recorded "not yet known", never a block."""

from types import SimpleNamespace

import pytest

from app.domain.risk import risk_tier
from app.domain.step_options import RiskFactor
from app.domain.vocab import ItemStatus, ValueType
from app.services.protocols import PROTOCOL_DIR, read_protocol_file
from tests.domain.test_protocol_spec import error_of, minimal_step, protocol

SMOKER = RiskFactor("smoking", "smoker", answer="yes")
BMI = RiskFactor("BMI", "BMI {value}", at_least=35)
OPIOIDS = RiskFactor("pre-op opioids", "opioids {value} MME/day", above=0)
PHQ = RiskFactor("PHQ-9", "PHQ-9 {value}", at_least=10)


def answered(factor, value, value_type=ValueType.NUMBER, status=ItemStatus.DONE, waiting=False):
    return SimpleNamespace(risk=factor, value_type=value_type, status=status, value=value, waiting=waiting)


def test_factors_are_counted_and_named_in_the_protocols_order():
    tier = risk_tier(
        [
            answered(SMOKER, "yes", ValueType.YES_NO),
            answered(BMI, "37"),
            answered(PHQ, "12"),
            answered(OPIOIDS, "0"),
            answered(None, None, None),
        ]
    )
    assert tier.count == 3
    assert tier.text == "Risk factors: 3 (smoker, BMI 37, PHQ-9 12)"


@pytest.mark.parametrize(
    ("factor", "value", "present"),
    [(BMI, "34.9", False), (BMI, "35", True), (OPIOIDS, "0", False), (OPIOIDS, "5", True), (PHQ, "9", False)],
)
def test_each_threshold_at_its_edge(factor, value, present):
    assert risk_tier([answered(factor, value)]).count == int(present)


def test_unrecorded_answers_are_not_yet_known_and_not_applicable_ones_absent():
    tier = risk_tier(
        [
            answered(SMOKER, None, ValueType.YES_NO, ItemStatus.OPEN),
            answered(BMI, None, status=ItemStatus.NOT_APPLICABLE),
            answered(PHQ, "14"),
        ]
    )
    assert tier.text == "Risk factors: 1 (PHQ-9 14); not yet known: smoking"
    assert risk_tier([answered(None, None, None, ItemStatus.OPEN)]) is None


def test_an_answer_nobody_is_asked_for_is_not_unknown():
    """HbA1c of a patient who is not diabetic: its step is not required now (section 3)."""
    hba1c = RiskFactor("HbA1c", "HbA1c {value} %", at_least=8)
    tier = risk_tier([answered(hba1c, None, status=ItemStatus.OPEN, waiting=True), answered(PHQ, "3")])
    assert tier.text == "Risk factors: 0"
    tier = risk_tier([answered(hba1c, None, status=ItemStatus.OPEN), answered(PHQ, "3")])
    assert tier.text == "Risk factors: 0; not yet known: HbA1c"


def test_the_default_protocol_declares_the_seven_factors():
    steps = read_protocol_file(PROTOCOL_DIR / "lumbar_fbss.yaml").steps
    names = [s.risk.name for s in steps if s.risk]
    assert sorted(names) == sorted(
        [
            "prior lumbar surgery",
            "PHQ-9",
            "smoking",
            "HbA1c",
            "BMI",
            "pre-op opioids",
            "compensation or litigation",
        ]
    )


@pytest.mark.parametrize(
    ("risk", "message"),
    [
        ({"name": "x", "label": "x", "at_least": 200}, "outside the step's range"),
        ({"name": "x", "label": "x"}, "at_least or above one value"),
        ({"label": "x", "at_least": 1}, "needs its name and its label"),
    ],
)
def test_a_malformed_risk_factor_is_refused(risk, message):
    value = {"type": "number", "label": "N", "min": 0, "max": 100}
    assert message in error_of(protocol(minimal_step(kind="value", value=value, risk=risk)))
