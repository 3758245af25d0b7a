"""The second shipped protocol, app/protocols/cervical_acdf.yaml: anterior cervical discectomy and
fusion, read and checked as load-protocols reads it."""

from collections import Counter

import pytest

from app.domain.step_options import RequiredIf
from app.domain.vocab import CLINICAL_ROLES, Discipline, Phase, Procedure, Role, StepKind, ValueType
from app.services.protocols import PROTOCOL_DIR, read_protocol_file

CERVICAL = PROTOCOL_DIR / "cervical_acdf.yaml"


@pytest.fixture(scope="module")
def cervical():
    return read_protocol_file(CERVICAL)  # every rule of the format checked, with the flag codes


def order_of(step) -> int:
    return [Phase.BEFORE, Phase.DURING, Phase.AFTER].index(step.phase)


def by_code(spec, code):
    return next(s for s in spec.steps if s.code == code)


def test_it_loads_as_its_own_protocol_meant_for_acdf(cervical):
    assert cervical.slug == "cervical-acdf"
    assert cervical.name == "Cervical spine surgery (ACDF)"
    assert cervical.procedures == (Procedure.ACDF,)


def test_its_steps_run_before_during_after_in_order_with_unique_codes(cervical):
    assert Counter(s.phase for s in cervical.steps) == {Phase.BEFORE: 16, Phase.DURING: 11, Phase.AFTER: 22}
    assert [s.position for s in cervical.steps] == list(range(1, len(cervical.steps) + 1))
    order = [order_of(s) for s in cervical.steps]
    assert order == sorted(order)
    codes = [s.code for s in cervical.steps]
    assert len(set(codes)) == len(codes)


def test_every_step_is_done_by_a_clinical_role_and_ends_with_its_sources(cervical):
    for step in cervical.steps:
        assert step.role in CLINICAL_ROLES, step.code
        assert step.title.strip(), step.code
        assert "Sources: " in step.guidance, step.code
        sources = step.guidance[step.guidance.index("Sources: ") :]
        assert sources.endswith(".") and "Sources: " not in sources[1:], step.code  # the last sentence


def test_no_step_records_the_lumbar_outcome_scores(cervical):
    """Neck disability and neck and arm pain are plain value steps: the app's outcome scores (ODI,
    NRS back and leg) and the flags computed from them are lumbar."""
    assert all(s.outcome_time_point is None and s.window_from_days is None for s in cervical.steps)
    assert all(s.raises is None for s in cervical.steps)


@pytest.mark.parametrize(
    ("code", "label", "low", "high", "due", "grace"),
    [
        ("pre_ndi", "NDI", 0, 100, -14, 0),
        ("pre_nrs_neck", "NRS neck", 0, 10, -14, 0),
        ("pre_nrs_arm", "NRS arm", 0, 10, -14, 0),
        ("post_ndi_6w", "NDI", 0, 100, 42, 14),
        ("post_nrs_neck_6w", "NRS neck", 0, 10, 42, 14),
        ("post_nrs_arm_6w", "NRS arm", 0, 10, 42, 14),
        ("post_ndi_3m", "NDI", 0, 100, 90, 14),
        ("post_nrs_neck_3m", "NRS neck", 0, 10, 90, 14),
        ("post_nrs_arm_3m", "NRS arm", 0, 10, 90, 14),
        ("post_ndi_12m", "NDI", 0, 100, 365, 14),
        ("post_nrs_neck_12m", "NRS neck", 0, 10, 365, 14),
        ("post_nrs_arm_12m", "NRS arm", 0, 10, 365, 14),
    ],
)
def test_neck_disability_and_pain_are_recorded_before_and_at_6_weeks_3_and_12_months(
    cervical, code, label, low, high, due, grace
):
    step = by_code(cervical, code)
    assert (step.kind, step.value_type, step.value_label) == (StepKind.VALUE, ValueType.NUMBER, label)
    assert (step.min_value, step.max_value, step.due_offset_days, step.grace_days) == (low, high, due, grace)
    assert step.required and step.role is Role.COORDINATOR


# step: (answer or number threshold, phase whose sign-off it blocks or None, roles that acknowledge)
ALERTS = {
    "pre_hba1c": (8.0, Phase.BEFORE, (Role.SURGEON,)),
    "pre_anticoag": ("yes", Phase.BEFORE, (Role.SURGEON, Role.ANAESTHETIST)),
    "pre_airway": ("yes", Phase.BEFORE, (Role.ANAESTHETIST,)),
    "pre_voice_swallow": ("yes", Phase.BEFORE, (Role.SURGEON,)),
    "intra_level_xray": ("no", Phase.DURING, (Role.SURGEON,)),
    "post_airway_watch": ("yes", None, (Role.SURGEON, Role.ANAESTHETIST)),
    "post_swallow_screen": ("no", None, (Role.SURGEON,)),
    "post_neuro_c5": ("yes", None, (Role.SURGEON,)),
    "post_pain_managed": (7, None, (Role.SURGEON, Role.ANAESTHETIST)),
    "post_wound_check": ("yes", None, (Role.SURGEON,)),
    "post_review_6w": ("yes", None, (Role.SURGEON,)),
}


def test_its_safety_alerts_are_these_and_only_after_surgery_alerts_do_not_block(cervical):
    alerts = {s.code: s for s in cervical.steps if s.alert}
    assert alerts.keys() == ALERTS.keys()
    for code, (when, blocks, roles) in ALERTS.items():
        alert = alerts[code].alert
        assert (alert.answer if isinstance(when, str) else alert.at_least) == when, code
        assert alert.blocks is (blocks is not None), code
        assert blocks is None or alerts[code].phase is blocks, code
        assert alert.acknowledged_by == roles, code


def test_the_level_is_confirmed_on_fluoroscopy_before_discectomy_or_the_during_sign_off_waits(cervical):
    step = by_code(cervical, "intra_level_xray")
    assert step.phase is Phase.DURING and step.required and step.value_type is ValueType.YES_NO
    assert step.alert.raised_by(ValueType.YES_NO, "no") and not step.alert.raised_by(ValueType.YES_NO, "yes")
    assert step.alert.flag == "Level not confirmed on imaging"


def test_the_airway_is_watched_in_the_first_hours_and_a_yes_is_acknowledged_not_blocking(cervical):
    step = by_code(cervical, "post_airway_watch")
    assert (step.phase, step.due_offset_days, step.role) == (Phase.AFTER, 0, Role.NURSE)
    assert step.alert.raised_by(ValueType.YES_NO, "yes") and not step.alert.blocks


@pytest.mark.parametrize(
    ("code", "condition"),
    [
        ("pre_hba1c", RequiredIf(step="pre_diabetes", answer="yes")),
        ("pre_mjoa", RequiredIf(step="pre_myelopathy", answer="yes")),
        ("post_anticoag_restart", RequiredIf(step="pre_anticoag", answer="yes")),
    ],
)
def test_conditional_steps_are_required_only_when_an_earlier_answer_says_so(cervical, code, condition):
    step = by_code(cervical, code)
    assert step.required is False and step.required_if == condition
    assert "Required only when" in step.guidance


def test_physiotherapy_is_one_pt_session_in_weeks_6_to_12(cervical):
    (step,) = [s for s in cervical.steps if s.kind is StepKind.SESSIONS]
    assert step.code == "post_pt" and step.role is Role.THERAPIST and step.required
    assert (step.discipline, step.session_count) == (Discipline.PT, 1)
    assert (step.sessions_from_days, step.sessions_until_days, step.due_offset_days) == (42, 84, 84)


def test_the_cervical_specific_points_are_there(cervical):
    codes = {s.code for s in cervical.steps}
    assert {
        "pre_dx_correlation",
        "pre_conservative_care",
        "pre_smoking",
        "pre_airway",
        "pre_voice_swallow",
        "pre_swallow_voice_counselling",
        "intra_sign_in",
        "intra_time_out",
        "intra_ionm",
        "intra_cuff_pressure",
        "intra_haemostasis_drain",
        "post_swallow_screen",
        "post_voice_check",
        "post_xray",
        "post_opioid_plan",
    } <= codes
    assert by_code(cervical, "pre_airway").role is Role.ANAESTHETIST
    assert not by_code(cervical, "intra_ionm").required  # where used
