"""A new version's changes in a clinician's words."""

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from app.domain.protocol_diff import FieldChange, VersionDiff, diff_versions
from app.services.protocols import PROTOCOL_DIR, read_protocol_file

STEPS = read_protocol_file(PROTOCOL_DIR / "lumbar_fbss.yaml").steps


def _step(code):
    return next(s for s in STEPS if s.code == code)


def test_the_same_steps_make_no_change():
    diff = diff_versions(STEPS, STEPS, "A", "A")
    assert diff.empty and diff.counts == "No step changed"


def test_added_removed_and_changed_steps_are_named_with_their_fields_in_words():
    first, second = STEPS[0], STEPS[1]
    changed = replace(second, due_offset_days=second.due_offset_days - 7, required=not second.required)
    extra = replace(first, code="pre_new", title="New step")
    diff = diff_versions(STEPS, (extra, changed, *STEPS[2:]))
    assert [s.code for s in diff.added] == ["pre_new"]
    assert [s.code for s in diff.removed] == [first.code]
    (step,) = diff.changed
    assert step.code == second.code and step.phase == "Before surgery"
    due = next(f for f in step.fields if f.label == "Due")
    assert due.before.endswith("days before surgery") and due.after.endswith("days before surgery")
    assert (
        FieldChange("Required", "yes" if second.required else "no", "no" if second.required else "yes")
        in step.fields
    )
    assert diff.counts == "Steps: 1 added, 1 removed, 1 changed"


def test_an_alert_change_reads_as_words_not_json():
    hba1c = _step("pre_hba1c")
    lower = replace(hba1c, alert=replace(hba1c.alert, at_least=7.5, blocks=False))
    (step,) = diff_versions(STEPS, [lower if s.code == "pre_hba1c" else s for s in STEPS]).changed
    assert FieldChange("Alert raised at or above", "8", "7.5") in step.fields
    assert FieldChange("Alert blocks sign-off", "yes", "no") in step.fields


def test_swapping_two_steps_of_a_phase_is_a_move_and_an_insertion_is_not():
    a, b = STEPS[0], STEPS[1]
    swapped = diff_versions(STEPS, (b, a, *STEPS[2:]))
    assert {s.code for s in swapped.moved} == {a.code, b.code} and not swapped.changed
    inserted = diff_versions(STEPS, (replace(a, code="x_new"), *STEPS))
    assert not inserted.moved


def test_the_diff_is_kept_as_json_and_read_back():
    diff = diff_versions(
        STEPS, (replace(STEPS[0], title="Changed"), *STEPS[2:]), "Old", "New", ["fusion"], []
    )
    assert VersionDiff.from_json(diff.to_json()) == diff
    assert diff.name == FieldChange("Name", "Old", "New")
    assert diff.procedures == FieldChange("Meant for", "Fusion", "none")


@given(st.lists(st.sampled_from(range(len(STEPS))), unique=True, max_size=8), st.integers(-60, 60))
def test_every_step_is_accounted_for_once(dropped, shift):
    """Whatever is removed and retimed, each step is added, removed, changed or the same."""
    new = [replace(s, due_offset_days=s.due_offset_days + shift) if n % 2 else s for n, s in enumerate(STEPS)]
    new = [s for n, s in enumerate(new) if n not in dropped]
    diff = diff_versions(STEPS, new)
    assert {s.code for s in diff.removed} == {STEPS[n].code for n in dropped}
    assert not diff.added
    changed = {s.code for s in diff.changed}
    expected = {s.code for n, s in enumerate(STEPS) if n % 2 and n not in dropped and shift}
    assert changed == expected
