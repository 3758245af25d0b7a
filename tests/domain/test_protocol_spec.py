"""Reading the protocol file: the shipped protocol and the errors a bad file raises."""

import copy
from collections import Counter
from dataclasses import replace

import pytest
import yaml

from app.domain.protocol_spec import ProtocolError, parse_protocol
from app.domain.step_options import Raises, RequiredIf, Variant
from app.domain.vocab import Discipline, Phase, Procedure, Role, StepKind, ValueType
from app.services.protocols import PROTOCOL_DIR, parse_protocol_text, read_protocol_file

SHIPPED = PROTOCOL_DIR / "lumbar_fbss.yaml"


@pytest.fixture(scope="module")
def shipped():
    return read_protocol_file(SHIPPED)


def by_code(spec, code):
    return next(s for s in spec.steps if s.code == code)


def minimal_step(**overrides):
    step = {
        "phase": "before",
        "code": "pre_one",
        "title": "One",
        "role": "nurse",
        "required": True,
        "due": -1,
        "kind": "check",
    }
    step.update(overrides)
    return step


def protocol(*steps):
    """A protocol of these steps, with a filler step for each phase they leave empty (a phase
    without steps is refused)."""
    steps = list(steps) or [minimal_step()]
    covered = {s.get("phase") for s in steps if isinstance(s, dict)}
    fillers = [
        minimal_step(phase=phase, code=f"filler_{phase}", due={"before": -1, "during": 0, "after": 1}[phase])
        for phase in ("before", "during", "after")
        if phase not in covered
    ]
    return {"slug": "test", "name": "Test protocol", "steps": steps + fillers}


def error_of(data) -> str:
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(data)
    return str(caught.value)


# the shipped protocol


def test_shipped_protocol_has_45_steps(shipped):
    """Version 2: version 1's 39 steps and pre_diabetes, pre_anticoag, post_neuro_obs,
    post_voiding, post_anticoag_restart, post_opioid_90d (CLINICAL-RULES.md sections 2 to 4)."""
    assert shipped.slug == "lumbar-fbss"
    assert shipped.name == "Lumbar spine surgery — FBSS prevention"
    assert len(shipped.steps) == 45


def test_shipped_protocol_has_16_11_18_steps_per_phase(shipped):
    counts = Counter(s.phase for s in shipped.steps)
    assert counts == {Phase.BEFORE: 16, Phase.DURING: 11, Phase.AFTER: 18}


def test_shipped_phases_are_in_order_and_positions_run_1_to_45(shipped):
    assert [s.position for s in shipped.steps] == list(range(1, 46))
    order = [Phase.BEFORE, Phase.DURING, Phase.AFTER]
    phases = [order.index(s.phase) for s in shipped.steps]
    assert phases == sorted(phases)


def test_shipped_step_codes_are_unique(shipped):
    codes = [s.code for s in shipped.steps]
    assert len(set(codes)) == len(codes)


def test_shipped_steps_have_titles_and_no_admin_role(shipped):
    for step in shipped.steps:
        assert step.title.strip(), step.code
        assert step.role is not Role.ADMIN, step.code


@pytest.mark.parametrize(
    ("code", "condition"),
    [
        ("pre_hba1c", "Required only when the patient is diabetic"),
        ("post_anticoag_restart", "Required only when the patient was on an anticoagulant"),
        ("post_idt_review", "Required only while 'Not improving', 'Still on opioids at 3 months'"),
    ],
)
def test_conditional_steps_are_optional_with_their_condition_declared_and_in_the_guidance(
    shipped, code, condition
):
    """Version 2 declares the condition (required_if); the step is not required until it holds."""
    step = by_code(shipped, code)
    assert step.required is False
    assert step.required_if is not None
    assert condition in step.guidance


def test_sessions_steps_have_discipline_and_count(shipped):
    sessions = [s for s in shipped.steps if s.kind is StepKind.SESSIONS]
    assert {s.code for s in sessions} == {
        "pre_prehab",
        "post_mobilise",
        "post_ot_adl",
        "post_pt_start",
        "post_pt_adherence",
    }
    for step in sessions:
        assert isinstance(step.discipline, Discipline), step.code
        assert step.session_count is not None and step.session_count >= 1, step.code
        assert step.value_type is None, step.code
    assert by_code(shipped, "post_pt_adherence").session_count == 8
    assert by_code(shipped, "post_ot_adl").discipline is Discipline.OT


def test_value_steps_have_types(shipped):
    values = [s for s in shipped.steps if s.kind is StepKind.VALUE]
    assert values
    for step in values:
        assert isinstance(step.value_type, ValueType), step.code
        assert step.value_label, step.code
        assert step.discipline is None and step.session_count is None, step.code


def test_check_steps_carry_no_value_or_sessions(shipped):
    for step in (s for s in shipped.steps if s.kind is StepKind.CHECK):
        assert step.value_type is None and step.discipline is None, step.code


def test_number_value_steps_have_a_range(shipped):
    for step in (s for s in shipped.steps if s.value_type is ValueType.NUMBER):
        assert step.min_value is not None, step.code
        assert step.max_value is None or step.max_value > step.min_value, step.code


def test_shipped_value_steps_match_the_clinical_ranges(shipped):
    hba1c = by_code(shipped, "pre_hba1c")
    assert (hba1c.value_type, hba1c.unit, hba1c.min_value, hba1c.max_value) == (ValueType.NUMBER, "%", 3, 20)
    pain = by_code(shipped, "post_pain_managed")
    assert (pain.min_value, pain.max_value) == (0, 10)
    assert by_code(shipped, "intra_antibiotic").value_type is ValueType.TIME
    assert by_code(shipped, "pre_smoking").value_type is ValueType.YES_NO
    assert by_code(shipped, "pre_dx_correlation").value_type is ValueType.TEXT


def test_shipped_due_offsets(shipped):
    assert by_code(shipped, "pre_smoking").due_offset_days == -28
    assert by_code(shipped, "intra_time_out").due_offset_days == 0
    assert by_code(shipped, "post_fu_12m").due_offset_days == 365


# parse_protocol: what a good minimal file gives


def test_minimal_protocol_parses_with_defaults():
    spec = parse_protocol(protocol())
    step = spec.steps[0]  # then a filler step for each other phase
    assert [s.phase for s in spec.steps] == [Phase.BEFORE, Phase.DURING, Phase.AFTER]
    assert step.position == 1
    assert (step.grace_days, step.alert, step.required_if, step.variants, step.only_for) == (
        0,
        None,
        None,
        {},
        (),
    )
    assert step.guidance == ""
    assert step.role is Role.NURSE
    assert step.kind is StepKind.CHECK
    assert step.due_offset_days == -1


def test_value_step_fields_are_read():
    spec = parse_protocol(
        protocol(
            minimal_step(
                kind="value", value={"type": "number", "unit": "mL", "min": 0, "max": 5, "label": "Loss"}
            )
        )
    )
    step = spec.steps[0]
    assert (step.value_type, step.unit, step.min_value, step.max_value, step.value_label) == (
        ValueType.NUMBER,
        "mL",
        0,
        5,
        "Loss",
    )


# parse_protocol: errors


@pytest.mark.parametrize("field", ["phase", "code", "title", "role", "required", "due", "kind"])
def test_missing_field_is_refused_naming_the_step(field):
    step = minimal_step(code="pre_x")
    del step[field]
    message = error_of(protocol(minimal_step(), step))
    if field == "code":
        assert message == "step 2 (?): missing code"
    else:
        assert message == f"step 2 (pre_x): missing {field}"


def test_several_missing_fields_are_listed_in_order():
    step = minimal_step(code="pre_x")
    del step["title"], step["due"]
    assert error_of(protocol(step)) == "step 1 (pre_x): missing due, title"


def test_unknown_role_is_refused_naming_the_step_and_allowed_roles():
    message = error_of(protocol(minimal_step(code="pre_x", role="porter")))
    assert message.startswith("step 1 (pre_x): 'porter' is not one of surgeon, anaesthetist")


@pytest.mark.parametrize(("field", "bad"), [("phase", "someday"), ("kind", "tick")])
def test_unknown_phase_or_kind_is_refused(field, bad):
    message = error_of(protocol(minimal_step(code="pre_x", **{field: bad})))
    assert message.startswith(f"step 1 (pre_x): {bad!r} is not one of")


def test_duplicate_code_is_refused_naming_the_code():
    message = error_of(protocol(minimal_step(code="pre_a"), minimal_step(code="pre_a")))
    assert message == "duplicate step code pre_a (also step 1)"


@pytest.mark.parametrize("sessions", [None, {"discipline": "PT"}, {"discipline": "PT", "count": 0}])
def test_sessions_without_a_count_are_refused(sessions):
    step = minimal_step(code="post_pt", kind="sessions")
    if sessions is not None:
        step["sessions"] = sessions
    assert error_of(protocol(step)) == "step 1 (post_pt): sessions need a count of 1 or more"


def test_sessions_with_unknown_discipline_are_refused():
    step = minimal_step(code="post_pt", kind="sessions", sessions={"discipline": "XX", "count": 1})
    assert error_of(protocol(step)).startswith("step 1 (post_pt): 'XX' is not one of PT, OT")


def test_value_step_without_type_is_refused():
    message = error_of(protocol(minimal_step(code="pre_v", kind="value")))
    assert message.startswith("step 1 (pre_v): None is not one of number")


@pytest.mark.parametrize(("field", "bad"), [("due", "soon"), ("due", 1.5), ("required", "yes")])
def test_due_must_be_whole_and_required_boolean(field, bad):
    message = error_of(protocol(minimal_step(code="pre_x", **{field: bad})))
    assert message == "step 1 (pre_x): due must be a whole number and required true or false"


@pytest.mark.parametrize(
    "data",
    [None, [], {"name": "x", "steps": []}, {"slug": "x", "steps": []}, {"slug": "", "name": "x"}],
)
def test_protocol_needs_slug_and_name(data):
    assert error_of(data) == "a protocol needs a slug, a name and steps"


@pytest.mark.parametrize("steps", [None, []])
def test_protocol_needs_at_least_one_step(steps):
    assert error_of({"slug": "x", "name": "X", "steps": steps}) == "a protocol needs at least one step"


def test_protocol_error_is_a_value_error():
    assert issubclass(ProtocolError, ValueError)


# content_sha256


def test_content_sha256_is_stable_for_the_same_content():
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    assert parse_protocol(raw).content_sha256 == parse_protocol(copy.deepcopy(raw)).content_sha256


def test_content_sha256_changes_when_a_step_changes(shipped):
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    raw["steps"][0]["title"] += " (revised)"
    assert parse_protocol(raw).content_sha256 != shipped.content_sha256


def test_content_sha256_changes_when_an_offset_or_requirement_changes(shipped):
    changed_due = replace(shipped, steps=(replace(shipped.steps[0], due_offset_days=-15), *shipped.steps[1:]))
    changed_req = replace(shipped, steps=(replace(shipped.steps[0], required=False), *shipped.steps[1:]))
    hashes = {shipped.content_sha256, changed_due.content_sha256, changed_req.content_sha256}
    assert len(hashes) == 3


def test_content_sha256_changes_when_the_name_changes(shipped):
    assert replace(shipped, name="Other").content_sha256 != shipped.content_sha256


def test_content_sha256_is_a_hex_sha256(shipped):
    assert len(shipped.content_sha256) == 64
    int(shipped.content_sha256, 16)


# procedures: the procedure types a protocol is meant for


def test_procedures_are_read_as_procedure_types_in_their_order():
    data = {**protocol(), "procedures": ["fusion", "discectomy"]}
    assert parse_protocol(data).procedures == (Procedure.FUSION, Procedure.DISCECTOMY)


def test_a_protocol_without_procedures_is_meant_for_none():
    assert parse_protocol(protocol()).procedures == ()


def test_the_shipped_protocol_is_meant_for_the_lumbar_procedure_types(shipped):
    lumbar = (Procedure.DISCECTOMY, Procedure.DECOMPRESSION, Procedure.FUSION, Procedure.OTHER)
    assert shipped.procedures == lumbar


@pytest.mark.parametrize(
    ("procedures", "message"),
    [
        (
            ["fusion", "laminectomy"],
            "procedures: 'laminectomy' is not a procedure type "
            "(the types are discectomy, decompression, fusion, other, acdf)",
        ),
        (["ACDF", "tlif"], "procedures: 'ACDF', 'tlif' are not procedure types"),
        ([], "procedures must be a list of procedure types (discectomy, decompression, fusion, other, acdf)"),
        ("fusion", "procedures must be a list of procedure types"),
        ({"fusion": 1}, "procedures must be a list of procedure types"),
        (["fusion", "fusion"], "procedures: a procedure type is listed twice"),
    ],
)
def test_bad_procedures_are_refused_with_the_known_types(procedures, message):
    assert message in error_of({**protocol(), "procedures": procedures})


def test_the_procedures_line_leaves_the_shipped_files_fingerprint_as_it_was(shipped):
    """Sites that loaded the file before it said its procedures get no new version from it."""
    text = SHIPPED.read_text(encoding="utf-8")
    line = "procedures: [discectomy, decompression, fusion, other]\n"
    assert line in text
    assert parse_protocol_text(text.replace(line, "")).content_sha256 == shipped.content_sha256


def test_procedures_are_not_part_of_the_fingerprint(shipped):
    """They are kept on the protocol, not its versions: adding, changing or dropping them publishes
    no new version."""
    assert replace(shipped, procedures=()).content_sha256 == shipped.content_sha256
    assert replace(shipped, procedures=(Procedure.ACDF,)).content_sha256 == shipped.content_sha256


# version 2 of the shipped protocol (CLINICAL-RULES.md sections 2 to 6)

V1 = PROTOCOL_DIR / "archive" / "lumbar_fbss_v1.yaml"

NEW_IN_V2 = {
    "pre_diabetes",
    "pre_anticoag",
    "post_neuro_obs",
    "post_voiding",
    "post_anticoag_restart",
    "post_opioid_90d",
}

# step: (answer or number threshold, flag text, phase whose sign-off it blocks or None, roles)
ALERTS = {
    "intra_level_xray": ("no", "Level not confirmed on imaging", Phase.DURING, {Role.SURGEON}),
    "intra_dura_check": ("yes", "Incidental durotomy: repair and plan", Phase.DURING, {Role.SURGEON}),
    "pre_hba1c": (8.0, "HbA1c ≥ 8 %: optimise or document decision", Phase.BEFORE, {Role.SURGEON}),
    "pre_anticoag": (
        "yes",
        "Anticoagulant/antiplatelet: hold plan",
        Phase.BEFORE,
        {Role.SURGEON, Role.ANAESTHETIST},
    ),
    "post_recovery_review": ("yes", "New deficit or complication", None, {Role.SURGEON}),
    "post_neuro_obs": ("yes", "New deficit on neuro checks", None, {Role.SURGEON}),
    "post_voiding": ("no", "Not voiding: urinary retention", None, {Role.SURGEON}),
    "post_pain_managed": (7, "Pain not controlled (NRS ≥ 7)", None, {Role.SURGEON, Role.ANAESTHETIST}),
    "post_wound_check": ("yes", "Wound problem", None, {Role.SURGEON}),
}


def test_version_2_is_version_1_with_six_new_steps_same_slug_and_name(shipped):
    v1 = read_protocol_file(V1)
    assert (shipped.slug, shipped.name) == (v1.slug, v1.name)
    assert len(v1.steps) == 39
    assert {s.code for s in shipped.steps} - {s.code for s in v1.steps} == NEW_IN_V2
    assert {s.code for s in v1.steps} <= {s.code for s in shipped.steps}
    assert shipped.content_sha256 != v1.content_sha256
    for step in (by_code(shipped, c) for c in NEW_IN_V2):
        assert step.title.strip() and "Sources: " in step.guidance, step.code


def test_version_2_has_every_alert_of_the_table_and_no_other(shipped):
    assert {s.code for s in shipped.steps if s.alert} == set(ALERTS)
    for code, (when, flag, blocks, roles) in ALERTS.items():
        step = by_code(shipped, code)
        alert = step.alert
        assert alert.flag == flag, code
        if isinstance(when, str):
            assert (step.value_type, alert.answer) == (ValueType.YES_NO, when), code
        else:
            assert (step.value_type, alert.at_least, alert.at_most) == (ValueType.NUMBER, when, None), code
        assert alert.blocks is (blocks is not None), code
        if blocks is not None:
            assert step.phase is blocks, code
        assert set(alert.acknowledged_by) == roles, code


def test_version_2_alerts_fire_on_the_answers_of_the_table(shipped):
    raised = lambda code, value: by_code(shipped, code).alert.raised_by(  # noqa: E731
        by_code(shipped, code).value_type, value
    )
    assert raised("intra_level_xray", "no") and not raised("intra_level_xray", "yes")
    assert raised("pre_hba1c", "8") and not raised("pre_hba1c", "7.9")
    assert raised("post_pain_managed", "7") and not raised("post_pain_managed", "6")
    assert raised("post_voiding", "no") and not raised("post_voiding", "yes")


def test_version_2_conditional_requirements(shipped):
    assert by_code(shipped, "pre_hba1c").required_if == RequiredIf(step="pre_diabetes", answer="yes")
    assert by_code(shipped, "post_anticoag_restart").required_if == RequiredIf(
        step="pre_anticoag", answer="yes"
    )
    assert by_code(shipped, "post_idt_review").required_if == RequiredIf(
        flags=("not_improving", "still_on_opioids", "twelve_month_outcome")
    )
    assert [s.code for s in shipped.steps if s.required_if] == [
        "pre_hba1c",
        "post_anticoag_restart",
        "post_idt_review",
    ]
    diabetes = by_code(shipped, "pre_diabetes")
    assert (diabetes.role, diabetes.due_offset_days, diabetes.value_type) == (
        Role.NURSE,
        -30,
        ValueType.YES_NO,
    )
    restart = by_code(shipped, "post_anticoag_restart")
    assert (restart.title, restart.role, restart.due_offset_days, restart.kind) == (
        "Anticoagulant/antiplatelet restart plan documented",
        Role.SURGEON,
        2,
        StepKind.CHECK,
    )


def test_version_2_opioid_step_raises_still_on_opioids(shipped):
    step = by_code(shipped, "post_opioid_90d")
    assert (step.role, step.due_offset_days, step.value_type, step.unit) == (
        Role.SURGEON,
        90,
        ValueType.NUMBER,
        "MME/day",
    )
    assert (step.min_value, step.max_value) == (0, 2000)
    assert step.raises == Raises("still_on_opioids", 0)
    assert [s.code for s in shipped.steps if s.raises] == ["post_opioid_90d"]


def test_version_2_sessions_windows_and_fusion_variants(shipped):
    def window(code):
        s = by_code(shipped, code)
        return (s.sessions_from_days, s.sessions_until_days, s.due_offset_days, s.session_count)

    assert window("post_mobilise") == (0, 1, 1, 1)
    assert window("post_pt_start") == (28, 42, 42, 1)
    assert window("post_pt_adherence") == (28, 120, 120, 8)
    assert by_code(shipped, "post_mobilise").variants == {}
    assert by_code(shipped, "post_pt_start").variants == {
        Procedure.FUSION: Variant(due=91, sessions_from=70, sessions_until=91)
    }
    assert by_code(shipped, "post_pt_adherence").variants == {
        Procedure.FUSION: Variant(due=180, sessions_from=70, sessions_until=180)
    }


@pytest.mark.parametrize(
    ("code", "window", "due", "grace"),
    [
        ("pre_baseline_prom", (-90, 0), -14, 0),
        ("post_fu_6w", (28, 63), 42, 14),
        ("post_fu_3m", (70, 120), 90, 14),
        ("post_fu_6m", (150, 240), 180, 14),
        ("post_fu_12m", (300, 450), 365, 14),
    ],
)
def test_version_2_outcome_windows_and_grace(shipped, code, window, due, grace):
    step = by_code(shipped, code)
    assert (step.window_from_days, step.window_until_days) == window
    assert (step.due_offset_days, step.grace_days) == (due, grace)


def test_version_2_wound_check_has_3_days_grace(shipped):
    assert by_code(shipped, "post_wound_check").grace_days == 3
