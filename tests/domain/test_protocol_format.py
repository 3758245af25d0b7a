"""The file format written back: export then import gives the identical protocol."""

from dataclasses import replace

from app.domain.flags import CONDITION_FLAGS, STEP_VALUE_FLAGS
from app.domain.protocol_format import number, protocol_data, spec_of_step, step_data
from app.domain.protocol_spec import StepSpec, parse_protocol
from app.services.protocols import PROTOCOL_DIR, read_protocol_file


def _shipped():
    return [read_protocol_file(p) for p in sorted(PROTOCOL_DIR.glob("*.yaml"))]


def test_every_shipped_protocol_reads_back_identical_from_its_data():
    for spec in _shipped():
        again = parse_protocol(protocol_data(spec, spec.procedures), None, CONDITION_FLAGS, STEP_VALUE_FLAGS)
        assert again == spec
        assert again.content_sha256 == spec.content_sha256


class _Row:
    """A stored step's columns, as the database gives them back (numbers as floats)."""

    def __init__(self, step: StepSpec):
        for name, value in step.columns().items():
            if name in ("min_value", "max_value") and value is not None:
                value = float(value)
            setattr(self, name, value.value if hasattr(value, "value") else value)


def test_a_stored_step_reads_back_as_the_step_it_was():
    for spec in _shipped():
        for step in spec.steps:
            assert spec_of_step(_Row(step)) == step, step.code


def test_whole_floats_are_written_as_whole_numbers():
    assert number(3.0) == 3 and isinstance(number(3.0), int)
    assert number(6.5) == 6.5 and number(None) is None


def test_only_what_a_step_sets_is_written():
    spec = _shipped()[0]
    check = next(s for s in spec.steps if s.kind.value == "check" and not s.alert and not s.required_if)
    data = step_data(replace(check, grace_days=0, variants={}, only_for=()))
    assert set(data) <= {"phase", "code", "title", "guidance", "role", "required", "due", "kind"}
