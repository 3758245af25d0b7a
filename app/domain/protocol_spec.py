"""Read a protocol definition (parsed YAML) into checked step specifications."""

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from app.domain.vocab import Discipline, Phase, Role, StepKind, TimePoint, ValueType


class ProtocolError(ValueError):
    """The protocol file is malformed; the message says where."""


@dataclass(frozen=True)
class StepSpec:
    phase: Phase
    position: int
    code: str
    title: str
    guidance: str
    role: Role
    required: bool
    due_offset_days: int
    kind: StepKind
    value_type: ValueType | None = None
    unit: str | None = None
    min_value: float | None = None
    max_value: float | None = None
    value_label: str | None = None
    discipline: Discipline | None = None
    session_count: int | None = None
    # Sessions count from this many days after surgery (None: from surgery, or before it
    # for a Before-surgery step).
    sessions_from_days: int | None = None
    # A value step completed by recording the outcome scores of this time point.
    outcome_time_point: TimePoint | None = None


@dataclass(frozen=True)
class ProtocolSpec:
    slug: str
    name: str
    steps: tuple[StepSpec, ...]

    @property
    def content_sha256(self) -> str:
        """A fingerprint of the content: a changed file gets a new version."""
        body = {"name": self.name, "steps": [asdict(s) for s in self.steps]}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _enum(cls, raw: Any, where: str):
    try:
        return cls(raw)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise ProtocolError(f"{where}: {raw!r} is not one of {allowed}") from None


def _step(raw: dict[str, Any], position: int) -> StepSpec:
    where = f"step {position} ({raw.get('code', '?')})"
    missing = {"phase", "code", "title", "role", "required", "due", "kind"} - raw.keys()
    if missing:
        raise ProtocolError(f"{where}: missing {', '.join(sorted(missing))}")
    kind = _enum(StepKind, raw["kind"], where)
    fields: dict[str, Any] = {}
    if kind is StepKind.VALUE:
        value = raw.get("value") or {}
        fields = {
            "value_type": _enum(ValueType, value.get("type"), where),
            "unit": value.get("unit"),
            "min_value": value.get("min"),
            "max_value": value.get("max"),
            "value_label": value.get("label"),
            "outcome_time_point": (
                _enum(TimePoint, value["outcome"], where) if value.get("outcome") else None
            ),
        }
    elif kind is StepKind.SESSIONS:
        sessions = raw.get("sessions") or {}
        count = sessions.get("count")
        if not isinstance(count, int) or count < 1:
            raise ProtocolError(f"{where}: sessions need a count of 1 or more")
        fields = {
            "discipline": _enum(Discipline, sessions.get("discipline"), where),
            "session_count": count,
            "sessions_from_days": sessions.get("from"),
        }
    if not isinstance(raw["due"], int) or not isinstance(raw["required"], bool):
        raise ProtocolError(f"{where}: due must be a whole number and required true or false")
    return StepSpec(
        phase=_enum(Phase, raw["phase"], where),
        position=position,
        code=str(raw["code"]),
        title=str(raw["title"]),
        guidance=str(raw.get("guidance", "")),
        role=_enum(Role, raw["role"], where),
        required=raw["required"],
        due_offset_days=raw["due"],
        kind=kind,
        **fields,
    )


def parse_protocol(data: dict[str, Any]) -> ProtocolSpec:
    """Check a parsed protocol file and return its specification."""
    if not isinstance(data, dict) or not data.get("slug") or not data.get("name"):
        raise ProtocolError("a protocol needs a slug, a name and steps")
    steps = tuple(_step(raw, n) for n, raw in enumerate(data.get("steps") or [], start=1))
    if not steps:
        raise ProtocolError("a protocol needs at least one step")
    codes = [s.code for s in steps]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise ProtocolError(f"duplicate step codes: {', '.join(duplicates)}")
    return ProtocolSpec(slug=str(data["slug"]), name=str(data["name"]), steps=steps)
