"""Protocol format 2 (clinical rules version 2): alerts, conditional requirement, procedure
variants, windows and grace — read, checked, and refused with the line of the step at fault."""

import pytest

from app.domain.protocol_spec import ProtocolError, parse_protocol
from app.domain.step_options import Alert, Raises, RequiredIf, Variant
from app.domain.vocab import Procedure, Role, ValueType
from app.services.protocols import PROTOCOL_DIR, parse_protocol_text, read_protocol_file
from tests.domain.test_protocol_spec import error_of, minimal_step, protocol

FLAGS = frozenset({"not_improving", "safety"})


def yes_no(code="pre_q", **overrides):
    return minimal_step(
        **{"code": code, "kind": "value", "value": {"type": "yes_no", "label": "Answer"}, **overrides}
    )


def number(code="pre_n", **overrides):
    value = {"type": "number", "label": "HbA1c", "unit": "%", "min": 3, "max": 20}
    return minimal_step(**{"code": code, "kind": "value", "value": value, **overrides})


def sessions(code="post_pt", **overrides):
    step = {"phase": "after", "role": "therapist", "due": 120, "kind": "sessions"}
    step["sessions"] = {"discipline": "PT", "count": 8, "from": 28, "until": 120}
    step.update(overrides)
    return minimal_step(code=code, **step)


def parsed(*steps):
    return parse_protocol(protocol(*steps), flag_codes=FLAGS)


def only(spec, code):
    return next(s for s in spec.steps if s.code == code)


# alerts


def test_a_yes_no_alert_is_read_and_raised_by_its_answer_only():
    alert = {
        "when": {"answer": "no"},
        "flag": "Level not confirmed",
        "blocks": True,
        "acknowledged_by": ["surgeon"],
    }
    step = only(parsed(yes_no(phase="during", due=0, alert=alert)), "pre_q")
    assert step.alert == Alert(
        "Level not confirmed", answer="no", blocks=True, acknowledged_by=(Role.SURGEON,)
    )
    assert step.alert.raised_by(ValueType.YES_NO, "no")
    assert not step.alert.raised_by(ValueType.YES_NO, "yes")
    assert not step.alert.raised_by(ValueType.YES_NO, None)


@pytest.mark.parametrize(("value", "raised"), [("7.9", False), ("8", True), ("8.0", True), ("11.5", True)])
def test_a_number_alert_is_raised_at_its_threshold_and_above(value, raised):
    alert = {"when": {"at_least": 8.0}, "flag": "HbA1c ≥ 8 %", "acknowledged_by": ["surgeon", "anaesthetist"]}
    step = only(parsed(number(alert=alert)), "pre_n")
    assert step.alert.acknowledged_by == (Role.SURGEON, Role.ANAESTHETIST)
    assert step.alert.raised_by(ValueType.NUMBER, value) is raised


@pytest.mark.parametrize(
    ("step", "alert", "message"),
    [
        (
            minimal_step(),
            {"when": {}, "flag": "x", "acknowledged_by": ["surgeon"]},
            "only a value step has an alert",
        ),
        (
            number(),
            {"when": {"at_least": 25}, "flag": "x", "acknowledged_by": ["surgeon"]},
            "outside the step's range",
        ),
        (
            number(),
            {"when": {}, "flag": "x", "acknowledged_by": ["surgeon"]},
            "at_least or at_most one value",
        ),
        (
            yes_no(),
            {"when": {"answer": "maybe"}, "flag": "x", "acknowledged_by": ["surgeon"]},
            "answer yes or no",
        ),
        (yes_no(), {"when": {"answer": "no"}, "acknowledged_by": ["surgeon"]}, "needs its flag text"),
        (yes_no(), {"when": {"answer": "no"}, "flag": "x"}, "needs acknowledged_by"),
        (yes_no(), {"when": {"answer": "no"}, "flag": "x", "acknowledged_by": ["admin"]}, "admin cannot"),
        (
            yes_no(phase="after", due=1),
            {"when": {"answer": "yes"}, "flag": "x", "blocks": True, "acknowledged_by": ["surgeon"]},
            "only a Before- or During-surgery alert can block",
        ),
    ],
)
def test_a_malformed_alert_is_refused_saying_why(step, alert, message):
    assert message in error_of(protocol({**step, "alert": alert}))


# conditional requirement


def test_required_if_names_an_earlier_yes_no_step_or_flags():
    spec = parsed(
        yes_no("pre_diabetes"),
        number("pre_hba1c", required_if={"step": "pre_diabetes", "answer": "yes"}),
        minimal_step(code="post_review", phase="after", due=180, required_if={"flags": ["not_improving"]}),
    )
    assert only(spec, "pre_hba1c").required_if == RequiredIf(step="pre_diabetes", answer="yes")
    assert only(spec, "post_review").required_if == RequiredIf(flags=("not_improving",))


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            (number("pre_n", required_if={"step": "pre_later", "answer": "yes"}), yes_no("pre_later")),
            "which comes later",
        ),
        ((number("pre_n", required_if={"step": "pre_none", "answer": "yes"}),), "which does not exist"),
        (
            (number("pre_a"), number("pre_b", required_if={"step": "pre_a", "answer": "yes"})),
            "not a yes/no step",
        ),
        ((yes_no("pre_a"), number("pre_b", required_if={"step": "pre_a"})), "the answer (yes or no)"),
        ((number("pre_n", required_if={"flags": ["no_such_flag"]}),), "cannot name: no_such_flag"),
        ((number("pre_n", required_if={"flags": []}),), "a list of flag codes"),
    ],
)
def test_a_condition_that_cannot_hold_is_refused(steps, message):
    with pytest.raises(ProtocolError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_protocol(protocol(*steps), flag_codes=FLAGS)


# the flag a step's value raises


def opioids(code="post_opioid_90d", **overrides):
    value = {"type": "number", "label": "Opioid dose", "unit": "MME/day", "min": 0, "max": 2000}
    step = {"phase": "after", "due": 90, "kind": "value", "value": value}
    return minimal_step(**{"code": code, **step, **overrides})


STEP_FLAGS = frozenset({"still_on_opioids"})


def test_a_number_step_declares_the_flag_its_value_raises():
    spec = parse_protocol(
        protocol(opioids(raises={"flag": "still_on_opioids", "above": 0})),
        flag_codes=FLAGS | STEP_FLAGS,
        step_flag_codes=STEP_FLAGS,
    )
    step = only(spec, "post_opioid_90d")
    assert step.raises == Raises("still_on_opioids", 0)
    assert step.columns()["raises"] == {"flag": "still_on_opioids", "above": 0}
    assert not step.raises.raised_by("0") and step.raises.raised_by("0.5") and step.raises.raised_by("30")
    assert not step.raises.raised_by(None) and not step.raises.raised_by("")
    assert Raises.from_json(step.columns()["raises"]) == step.raises


def test_above_defaults_to_0():
    step = only(parse_protocol(protocol(opioids(raises={"flag": "still_on_opioids"}))), "post_opioid_90d")
    assert step.raises == Raises("still_on_opioids", 0)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (yes_no(raises={"flag": "still_on_opioids"}), "only a number step raises a flag"),
        (minimal_step(raises={"flag": "still_on_opioids"}), "only a number step raises a flag"),
        (opioids(raises={"above": 0}), "raises names a flag"),
        (opioids(raises="still_on_opioids"), "raises names a flag"),
        (opioids(raises={"flag": "still_on_opioids", "at_least": 1}), "raises takes only flag and above"),
        (opioids(raises={"flag": "still_on_opioids", "above": 2000}), "outside the step's range"),
        (opioids(raises={"flag": "still_on_opioids", "above": -1}), "outside the step's range"),
        (opioids(raises={"flag": "still_on_opioids", "above": "none"}), "raises above must be a number"),
    ],
)
def test_a_malformed_raises_is_refused_saying_why(step, message):
    assert message in error_of(protocol(step))


def test_a_step_raises_only_a_flag_that_step_values_raise_and_only_one_step_raises_it():
    def error(*steps):
        with pytest.raises(ProtocolError) as caught:
            parse_protocol(protocol(*steps), flag_codes=FLAGS | STEP_FLAGS, step_flag_codes=STEP_FLAGS)
        return str(caught.value)

    assert "raises not_improving, which is not a flag a step's value raises (still_on_opioids)" in error(
        opioids(raises={"flag": "not_improving"})
    )
    assert "still_on_opioids is already raised by step post_a" in error(
        opioids("post_a", raises={"flag": "still_on_opioids"}),
        opioids("post_b", raises={"flag": "still_on_opioids"}),
    )


def test_the_shipped_flags_that_step_values_raise_are_registered_flags():
    from app.domain.flags import RULES, STEP_VALUE_FLAGS

    assert {rule.code for rule in RULES} >= STEP_VALUE_FLAGS
    message = "raises no_such_flag, which is not a flag a step's value raises"
    with pytest.raises(ProtocolError, match=message):
        parse_protocol_text(
            "slug: t\nname: T\nsteps:\n"
            "  - {phase: before, code: pre_a, title: A, role: nurse, required: true, due: -1, kind: check}\n"
            "  - {phase: during, code: intra_a, title: A, role: nurse, required: true, due: 0, kind: check}\n"
            "  - {phase: after, code: post_a, title: A, role: nurse, required: true, due: 90, kind: value,\n"
            "     value: {type: number, min: 0, max: 10}, raises: {flag: no_such_flag}}\n"
        )


# procedure variants and windows


def test_a_sessions_step_has_a_window_and_variants_by_procedure():
    step = only(parsed(sessions(variants={"fusion": {"due": 180, "from": 70, "until": 180}})), "post_pt")
    assert (step.sessions_from_days, step.sessions_until_days, step.due_offset_days) == (28, 120, 120)
    assert step.variants == {Procedure.FUSION: Variant(due=180, sessions_from=70, sessions_until=180)}


def test_only_for_limits_a_step_to_procedure_types():
    step = only(parsed(minimal_step(code="pre_f", only_for=["fusion", "decompression"])), "pre_f")
    assert step.only_for == (Procedure.FUSION, Procedure.DECOMPRESSION)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (sessions(due=100), "due at the end of its window (120)"),
        (
            sessions(sessions={"discipline": "PT", "count": 8, "from": 130, "until": 120}, due=120),
            "is after until",
        ),
        (sessions(variants={"fusion": {"due": 150, "until": 180}}), "the fusion variant is due at the end"),
        (sessions(variants={"spinal": {"due": 150}}), "'spinal' is not one of discectomy"),
        (minimal_step(variants={"fusion": {"count": 3}}), "a check step's variant may set only due"),
        (minimal_step(only_for=["knee"]), "'knee' is not one of"),
        (minimal_step(due=3), "a Before-surgery step cannot be due after surgery"),
        (minimal_step(grace=-1), "grace must be a whole number of 0 or more"),
        (number(value={"type": "number", "min": 10, "max": 5}), "min (10) is above max (5)"),
    ],
)
def test_a_malformed_step_is_refused_saying_why(step, message):
    assert message in error_of(protocol(step))


def _outcome_step(window, due=42):
    value = {"type": "number", "label": "ODI", "min": 0, "max": 100, "outcome": "6w"}
    return minimal_step(
        code="post_fu", phase="after", due=due, kind="value", value=value, window=window, grace=14
    )


def test_an_outcome_step_has_a_window_that_holds_its_due_day_and_grace():
    step = only(parsed(_outcome_step({"from": 28, "until": 63})), "post_fu")
    assert (step.window_from_days, step.window_until_days, step.grace_days) == (28, 63, 14)
    assert "does not contain the due day (70)" in error_of(
        protocol(_outcome_step({"from": 28, "until": 63}, due=70))
    )
    assert "only an outcome step" in error_of(protocol(minimal_step(window={"from": 1, "until": 2})))


# files: line numbers, and version 1 unchanged


def test_every_problem_in_a_file_names_its_line():
    text = """slug: t
name: T
steps:
  - {phase: before, code: pre_a, title: A, role: nurse, required: true, due: -1, kind: check}
  - phase: during
    code: intra_b
    title: B
    role: porter
    required: true
    due: 0
    kind: check
"""
    with pytest.raises(ProtocolError, match=r"^line 5: step 2 \(intra_b\): 'porter' is not one of"):
        parse_protocol_text(text)


def test_a_file_that_is_not_yaml_names_the_line():
    with pytest.raises(ProtocolError, match=r"^line 4: not valid YAML"):
        parse_protocol_text("slug: t\nname: T\nsteps: [unclosed\n  - x: {\n")


def test_the_version_1_file_keeps_its_fingerprint():
    """Format 2's new fields, at their defaults, do not change a version-1 file's fingerprint:
    loading it again publishes nothing."""
    spec = read_protocol_file(PROTOCOL_DIR / "archive" / "lumbar_fbss_v1.yaml")
    assert spec.content_sha256 == "1b56014661ea27853599326d2e6065f6d01aa8db5d70a0f3765e825120731c46"


def test_a_phase_without_steps_is_refused():
    steps = [minimal_step(), minimal_step(code="post_a", phase="after", due=1)]
    message = error_of({"slug": "t", "name": "T", "steps": steps})
    assert message == "the During surgery phase has no steps"


def test_a_condition_names_only_flags_that_change_when_the_episode_changes():
    """A flag raised as days pass (an overdue item, therapy behind plan) would make a step required
    on a day nothing is written, when nobody stores the requirement: refused, saying which may be named."""
    from app.domain.flags import CONDITION_FLAGS, RULES

    assert {"safety", "not_improving", "still_on_opioids", "twelve_month_outcome"} == CONDITION_FLAGS
    assert {rule.code for rule in RULES} >= CONDITION_FLAGS
    text = (
        "slug: t\nname: T\nsteps:\n"
        "  - {phase: before, code: pre_a, title: A, role: nurse, required: true, due: -1, kind: check}\n"
        "  - {phase: during, code: intra_a, title: A, role: nurse, required: true, due: 0, kind: check}\n"
        "  - {phase: after, code: post_a, title: A, role: nurse, required: false, due: 90, kind: check,\n"
        "     required_if: {flags: [%s]}}\n"
    )
    for code in ("therapy_behind", "incomplete_postop", "preop_unsigned"):
        with pytest.raises(
            ProtocolError,
            match=f"line 6: step 3 .post_a.: required_if names flags a condition cannot name: {code}",
        ):
            parse_protocol_text(text % code)
    assert parse_protocol_text(text % "not_improving, still_on_opioids").steps[2].required_if == RequiredIf(
        flags=("not_improving", "still_on_opioids")
    )
