"""A protocol's steps in the file format (the format of app/protocols/lumbar_fbss.yaml), the
inverse of app/domain/protocol_spec.py: what export writes, what the step editor starts from.

`step_data(parse(...))` gives back what `_step` reads, so export then import gives an
identical version (tests/domain/test_protocol_format.py).
"""

from typing import Any

from app.domain.protocol_spec import ProtocolSpec, StepSpec
from app.domain.step_options import Alert, Raises, RequiredIf, RiskFactor, Variants
from app.domain.vocab import Discipline, Phase, Procedure, Role, StepKind, TimePoint, ValueType


def number(value: float | int | None) -> float | int | None:
    """A number read from a float column as the file wrote it: 3.0 → 3 (the options kept as JSON
    keep their numbers as written), so a stored version keeps its fingerprint."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _dropping_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _alert_data(alert: Alert) -> dict[str, Any]:
    when = _dropping_none({"answer": alert.answer, "at_least": alert.at_least, "at_most": alert.at_most})
    data: dict[str, Any] = {"when": when, "flag": alert.flag}
    if alert.blocks:
        data["blocks"] = True
    data["acknowledged_by"] = [r.value for r in alert.acknowledged_by]
    return data


def _required_if_data(condition: RequiredIf) -> dict[str, Any]:
    if condition.step:
        return {"step": condition.step, "answer": condition.answer}
    return {"flags": list(condition.flags)}


def _risk_data(risk: RiskFactor) -> dict[str, Any]:
    return _dropping_none(
        {
            "name": risk.name,
            "label": risk.label,
            "answer": risk.answer,
            "at_least": risk.at_least,
            "above": risk.above,
        }
    )


def _raises_data(raises: Raises) -> dict[str, Any]:
    return {"flag": raises.flag, "above": raises.above}


def step_data(step: StepSpec) -> dict[str, Any]:
    """One step as the protocol file writes it (only what it sets)."""
    data: dict[str, Any] = {
        "phase": step.phase.value,
        "code": step.code,
        "title": step.title,
    }
    if step.guidance:
        data["guidance"] = step.guidance
    data.update(
        {
            "role": step.role.value,
            "required": step.required,
            "due": step.due_offset_days,
            "kind": step.kind.value,
        }
    )
    if step.grace_days:
        data["grace"] = step.grace_days
    if step.kind is StepKind.VALUE:
        data["value"] = _dropping_none(
            {
                "type": step.value_type.value if step.value_type else None,
                "label": step.value_label,
                "unit": step.unit,
                "min": step.min_value,
                "max": step.max_value,
                "outcome": step.outcome_time_point.value if step.outcome_time_point else None,
            }
        )
        if step.window_from_days is not None:
            data["window"] = {"from": step.window_from_days, "until": step.window_until_days}
    if step.kind is StepKind.SESSIONS:
        data["sessions"] = _dropping_none(
            {
                "discipline": step.discipline.value if step.discipline else None,
                "count": step.session_count,
                "from": step.sessions_from_days,
                "until": step.sessions_until_days,
            }
        )
    if step.alert:
        data["alert"] = _alert_data(step.alert)
    if step.required_if:
        data["required_if"] = _required_if_data(step.required_if)
    if step.variants:
        data["variants"] = {
            p.value: {
                ("from" if k == "sessions_from" else "until" if k == "sessions_until" else k): v
                for k, v in variant.to_json().items()
            }
            for p, variant in step.variants.items()
        }
    if step.only_for:
        data["only_for"] = [p.value for p in step.only_for]
    if step.raises:
        data["raises"] = _raises_data(step.raises)
    if step.risk:
        data["risk"] = _risk_data(step.risk)
    return data


def protocol_data(spec: ProtocolSpec, procedures: tuple[Procedure, ...] | list[str] = ()) -> dict[str, Any]:
    """A whole protocol as its file writes it."""
    data: dict[str, Any] = {"slug": spec.slug, "name": spec.name}
    if procedures:
        data["procedures"] = [Procedure(p).value for p in procedures]
    data["steps"] = [step_data(s) for s in spec.steps]
    return data


def spec_of_step(row) -> StepSpec:
    """A stored step (a ProtocolStep row, or anything with its columns) as a StepSpec."""
    variants = Variants.from_json(row.variants, row.only_for)

    def enum(cls, value):
        return cls(value) if value is not None else None

    return StepSpec(
        phase=Phase(row.phase),
        position=row.position,
        code=row.code,
        title=row.title,
        guidance=row.guidance or "",
        role=Role(row.role),
        required=bool(row.required),
        due_offset_days=row.due_offset_days,
        kind=StepKind(row.kind),
        value_type=enum(ValueType, row.value_type),
        unit=row.unit,
        min_value=number(row.min_value),
        max_value=number(row.max_value),
        value_label=row.value_label,
        discipline=enum(Discipline, row.discipline),
        session_count=row.session_count,
        sessions_from_days=row.sessions_from_days,
        sessions_until_days=row.sessions_until_days,
        outcome_time_point=enum(TimePoint, row.outcome_time_point),
        window_from_days=row.window_from_days,
        window_until_days=row.window_until_days,
        grace_days=row.grace_days or 0,
        alert=Alert.from_json(row.alert),
        required_if=RequiredIf.from_json(row.required_if),
        variants=dict(variants.by_procedure),
        only_for=tuple(variants.only_for),
        raises=Raises.from_json(row.raises),
        risk=RiskFactor.from_json(row.risk),
    )
