"""Read a protocol definition (parsed YAML) into checked step specifications.

Every problem is refused with a message that names the step and, when the caller gives the
steps' line numbers, its line in the file. The format itself is described at the top of
app/protocols/lumbar_fbss.yaml.
"""

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from app.domain.step_options import ANSWERS, Alert, Raises, RequiredIf, RiskFactor, Variant, Variants
from app.domain.vocab import (
    CLINICAL_ROLES,
    Discipline,
    Phase,
    Procedure,
    Role,
    StepKind,
    TimePoint,
    ValueType,
)

SIGNABLE = (Phase.BEFORE, Phase.DURING)


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
    # for a Before-surgery step) ...
    sessions_from_days: int | None = None
    # ... up to this many days after it (None: up to the due date).
    sessions_until_days: int | None = None
    # A value step completed by recording the outcome scores of this time point ...
    outcome_time_point: TimePoint | None = None
    # ... dated from/until this many days from surgery.
    window_from_days: int | None = None
    window_until_days: int | None = None
    # Days after the due date during which an open item is "Due now", not yet overdue.
    grace_days: int = 0
    alert: Alert | None = None
    required_if: RequiredIf | None = None
    variants: dict[Procedure, Variant] = field(default_factory=dict)
    only_for: tuple[Procedure, ...] = ()
    # The flag this step's recorded value raises (a number step; see `Raises`).
    raises: Raises | None = None
    # The pre-operative risk factor its answer shows (app/domain/risk.py).
    risk: RiskFactor | None = None

    def columns(self) -> dict[str, Any]:
        """The step as `ProtocolStep` columns (options as JSON)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["alert"] = self.alert.to_json() if self.alert else None
        values["required_if"] = self.required_if.to_json() if self.required_if else None
        values["variants"] = Variants.json_of(self.variants)
        values["only_for"] = [p.value for p in self.only_for] or None
        values["raises"] = self.raises.to_json() if self.raises else None
        values["risk"] = self.risk.to_json() if self.risk else None
        return values


# Fields added by protocol format 2: left out of a step's fingerprint while they hold their
# default, so a version-1 file keeps its fingerprint (and is not published again).
_FORMAT_2 = {
    "sessions_until_days": None,
    "window_from_days": None,
    "window_until_days": None,
    "grace_days": 0,
    "alert": None,
    "required_if": None,
    "variants": {},
    "only_for": (),
    "raises": None,
    "risk": None,
}


@dataclass(frozen=True)
class ProtocolSpec:
    slug: str
    name: str
    steps: tuple[StepSpec, ...]
    # The procedure types the protocol is meant for (registration proposes it for them). It is
    # about the protocol, not a version's steps: kept on the template, out of the fingerprint.
    procedures: tuple[Procedure, ...] = ()

    @property
    def content_sha256(self) -> str:
        """A fingerprint of the content (name and steps): a changed file gets a new version."""
        steps = [
            {k: v for k, v in asdict(s).items() if k not in _FORMAT_2 or v != _FORMAT_2[k]}
            for s in self.steps
        ]
        body = {"name": self.name, "steps": steps}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _enum(cls, raw: Any, where: str):
    try:
        return cls(raw)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise ProtocolError(f"{where}: {raw!r} is not one of {allowed}") from None


def _int(raw: Any, where: str, what: str, minimum: int | None = None) -> int | None:
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool) or (minimum is not None and raw < minimum):
        more = f" of {minimum} or more" if minimum is not None else ""
        raise ProtocolError(f"{where}: {what} must be a whole number{more}")
    return raw


def _number(raw: Any, where: str, what: str) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ProtocolError(f"{where}: {what} must be a number")
    return raw  # as written: the fingerprint of a version-1 file must not change


def _value_fields(raw: dict[str, Any], where: str) -> dict[str, Any]:
    value = raw.get("value") or {}
    fields_ = {
        "value_type": _enum(ValueType, value.get("type"), where),
        "unit": value.get("unit"),
        "min_value": _number(value.get("min"), where, "min"),
        "max_value": _number(value.get("max"), where, "max"),
        "value_label": value.get("label"),
        "outcome_time_point": (_enum(TimePoint, value["outcome"], where) if value.get("outcome") else None),
    }
    low, high = fields_["min_value"], fields_["max_value"]
    if low is not None and high is not None and low > high:
        raise ProtocolError(f"{where}: min ({low:g}) is above max ({high:g})")
    window = raw.get("window")
    if window is not None:
        if fields_["outcome_time_point"] is None:
            raise ProtocolError(f"{where}: only an outcome step (value with outcome) has a window")
        first = _int(window.get("from"), where, "window from")
        last = _int(window.get("until"), where, "window until")
        if first is None or last is None or first > last:
            raise ProtocolError(f"{where}: a window needs from and until, from not after until")
        if not first <= raw["due"] <= last:
            raise ProtocolError(
                f"{where}: the window ({first} to {last}) does not contain the due day ({raw['due']})"
            )
        fields_["window_from_days"], fields_["window_until_days"] = first, last
    return fields_


def _sessions_fields(raw: dict[str, Any], where: str) -> dict[str, Any]:
    sessions = raw.get("sessions") or {}
    count = sessions.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ProtocolError(f"{where}: sessions need a count of 1 or more")
    first = _int(sessions.get("from"), where, "sessions from")
    last = _int(sessions.get("until"), where, "sessions until")
    if last is not None:
        if first is not None and first > last:
            raise ProtocolError(f"{where}: sessions from ({first}) is after until ({last})")
        if raw["due"] != last:
            raise ProtocolError(
                f"{where}: a sessions step with until is due at the end of its window ({last})"
            )
    return {
        "discipline": _enum(Discipline, sessions.get("discipline"), where),
        "session_count": count,
        "sessions_from_days": first,
        "sessions_until_days": last,
    }


def _threshold(
    raw: dict[str, Any],
    keys: tuple[str, str],
    value: dict[str, Any],
    where: str,
    noun: str,
    verb: str,
    prefix: str,
) -> tuple[Any, Any]:
    """The one threshold of a number alert or risk factor (the other None), inside the step's range."""
    first, second = (_number(raw.get(key), where, f"{prefix} {key}") for key in keys)
    if (first is None) == (second is None):
        raise ProtocolError(f"{where}: a number {noun} is {verb} {keys[0]} or {keys[1]} one value")
    threshold = first if first is not None else second
    low, high = value["min_value"], value["max_value"]
    if (low is not None and threshold < low) or (high is not None and threshold > high):
        raise ProtocolError(f"{where}: the {noun} ({threshold:g}) is outside the step's range")
    return first, second


def _alert(raw: Any, where: str, kind: StepKind, value: dict[str, Any], phase: Phase) -> Alert | None:
    if raw is None:
        return None
    if kind is not StepKind.VALUE or not isinstance(raw, dict):
        raise ProtocolError(f"{where}: only a value step has an alert")
    if not raw.get("flag"):
        raise ProtocolError(f"{where}: an alert needs its flag text")
    when = raw.get("when") or {}
    value_type = value["value_type"]
    answer = at_least = at_most = None
    if value_type is ValueType.YES_NO:
        answer = str(when.get("answer", "")).lower()
        if answer not in ANSWERS:
            raise ProtocolError(f"{where}: a yes/no alert is raised by the answer yes or no")
    elif value_type is ValueType.NUMBER:
        at_least, at_most = _threshold(
            when, ("at_least", "at_most"), value, where, "alert", "raised", "alert"
        )
    else:
        raise ProtocolError(f"{where}: only yes/no and number steps have alerts")
    blocks = raw.get("blocks", False)
    if not isinstance(blocks, bool):
        raise ProtocolError(f"{where}: alert blocks must be true or false")
    if blocks and phase not in SIGNABLE:
        raise ProtocolError(f"{where}: only a Before- or During-surgery alert can block its phase's sign-off")
    roles = raw.get("acknowledged_by") or []
    if not isinstance(roles, list) or not roles:
        raise ProtocolError(f"{where}: an alert needs acknowledged_by, a list of roles")
    acknowledged_by = tuple(_enum(Role, r, where) for r in roles)
    if Role.ADMIN in acknowledged_by:
        raise ProtocolError(f"{where}: an admin cannot acknowledge clinical alerts")
    return Alert(str(raw["flag"]), answer, at_least, at_most, blocks, acknowledged_by)


def _risk(raw: Any, where: str, kind: StepKind, value: dict[str, Any]) -> RiskFactor | None:
    if raw is None:
        return None
    if kind is not StepKind.VALUE or not isinstance(raw, dict):
        raise ProtocolError(f"{where}: only a value step shows a risk factor")
    if not raw.get("name") or not raw.get("label"):
        raise ProtocolError(f"{where}: a risk factor needs its name and its label")
    unknown = set(raw) - {"name", "label", "answer", "at_least", "above"}
    if unknown:
        raise ProtocolError(f"{where}: a risk factor takes name, label and answer, at_least or above")
    value_type = value["value_type"]
    answer = at_least = above = None
    if value_type is ValueType.YES_NO:
        answer = str(raw.get("answer", "")).lower()
        if answer not in ANSWERS:
            raise ProtocolError(f"{where}: a yes/no risk factor is shown by the answer yes or no")
    elif value_type is ValueType.NUMBER:
        at_least, above = _threshold(raw, ("at_least", "above"), value, where, "risk factor", "shown", "risk")
    else:
        raise ProtocolError(f"{where}: only yes/no and number steps show risk factors")
    return RiskFactor(str(raw["name"]), str(raw["label"]), answer, at_least, above)


def _raises(raw: Any, where: str, kind: StepKind, value: dict[str, Any]) -> Raises | None:
    if raw is None:
        return None
    if kind is not StepKind.VALUE or value.get("value_type") is not ValueType.NUMBER:
        raise ProtocolError(f"{where}: only a number step raises a flag by its value")
    if not isinstance(raw, dict) or not raw.get("flag") or not isinstance(raw["flag"], str):
        raise ProtocolError(f"{where}: raises names a flag (its code) and the value it is raised above")
    unknown = set(raw) - {"flag", "above"}
    if unknown:
        raise ProtocolError(f"{where}: raises takes only flag and above, not {', '.join(sorted(unknown))}")
    above = _number(raw.get("above", 0), where, "raises above")
    low, high = value["min_value"], value["max_value"]
    if (low is not None and above < low) or (high is not None and above >= high):
        raise ProtocolError(f"{where}: raises above {above:g} is outside the step's range")
    return Raises(raw["flag"], above)


def _variants(raw: Any, where: str, kind: StepKind) -> dict[Procedure, Variant]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ProtocolError(f"{where}: variants map procedure types to what differs")
    variants = {}
    for name, changes in raw.items():
        procedure = _enum(Procedure, name, where)
        changes = changes or {}
        allowed = {"due", "from", "until", "count"} if kind is StepKind.SESSIONS else {"due"}
        unknown = set(changes) - allowed
        if unknown:
            raise ProtocolError(
                f"{where}: a {kind.value} step's variant may set only {', '.join(sorted(allowed))}"
            )
        variant = Variant(
            due=_int(changes.get("due"), where, f"{name} due"),
            sessions_from=_int(changes.get("from"), where, f"{name} from", 0),
            sessions_until=_int(changes.get("until"), where, f"{name} until", 0),
            count=_int(changes.get("count"), where, f"{name} count", 1),
        )
        if variant.sessions_until is not None and variant.due not in (None, variant.sessions_until):
            raise ProtocolError(f"{where}: the {name} variant is due at the end of its window")
        variants[procedure] = variant
    return variants


def _step(raw: dict[str, Any], position: int, line: int | None) -> StepSpec:
    at = f"line {line}: " if line else ""
    where = f"{at}step {position} ({raw.get('code', '?') if isinstance(raw, dict) else '?'})"
    if not isinstance(raw, dict):
        raise ProtocolError(f"{where}: a step is a mapping of its fields")
    missing = {"phase", "code", "title", "role", "required", "due", "kind"} - raw.keys()
    if missing:
        raise ProtocolError(f"{where}: missing {', '.join(sorted(missing))}")
    kind = _enum(StepKind, raw["kind"], where)
    phase = _enum(Phase, raw["phase"], where)
    if not isinstance(raw["due"], int) or not isinstance(raw["required"], bool):
        raise ProtocolError(f"{where}: due must be a whole number and required true or false")
    if phase is Phase.BEFORE and raw["due"] > 0:
        raise ProtocolError(f"{where}: a Before-surgery step cannot be due after surgery (due {raw['due']})")
    role = _enum(Role, raw["role"], where)
    if role not in CLINICAL_ROLES:
        raise ProtocolError(f"{where}: a step is done by a clinical role, not {role.value}")
    extra: dict[str, Any] = {}
    if kind is StepKind.VALUE:
        extra = _value_fields(raw, where)
    elif kind is StepKind.SESSIONS:
        extra = _sessions_fields(raw, where)
    if "window" in raw and kind is not StepKind.VALUE:
        raise ProtocolError(f"{where}: only an outcome step (value with outcome) has a window")
    return StepSpec(
        phase=phase,
        position=position,
        code=str(raw["code"]),
        title=str(raw["title"]),
        guidance=str(raw.get("guidance", "")),
        role=role,
        required=raw["required"],
        due_offset_days=raw["due"],
        kind=kind,
        grace_days=_int(raw.get("grace", 0), where, "grace", 0),
        alert=_alert(raw.get("alert"), where, kind, extra, phase),
        required_if=_required_if(raw.get("required_if"), where),
        variants=_variants(raw.get("variants"), where, kind),
        only_for=tuple(_enum(Procedure, p, where) for p in (raw.get("only_for") or [])),
        raises=_raises(raw.get("raises"), where, kind, extra),
        risk=_risk(raw.get("risk"), where, kind, extra),
        **extra,
    )


def _required_if(raw: Any, where: str) -> RequiredIf | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or ("step" in raw) == ("flags" in raw):
        raise ProtocolError(f"{where}: required_if names either a step and its answer, or flags")
    if "step" in raw:
        answer = str(raw.get("answer", "")).lower()
        if answer not in ANSWERS:
            raise ProtocolError(f"{where}: required_if needs the answer (yes or no) of its step")
        return RequiredIf(step=str(raw["step"]), answer=answer)
    flags = raw["flags"]
    if not isinstance(flags, list) or not flags or not all(isinstance(f, str) for f in flags):
        raise ProtocolError(f"{where}: required_if flags is a list of flag codes")
    return RequiredIf(flags=tuple(flags))


def parse_step(raw: Any, position: int) -> StepSpec:
    """One step on its own (the step editor's form, in the file format): every rule of the
    format that one step must keep; those between steps are `check_references`'s."""
    return _step(raw, position, None)


def check_references(
    steps: tuple[StepSpec, ...],
    lines: list[int | None],
    flag_codes: frozenset[str],
    step_flag_codes: frozenset[str],
) -> None:
    """The rules between steps (conditions and raised flags), as a whole file is checked."""
    _check_references(steps, lines, flag_codes, step_flag_codes)


def _check_references(
    steps: tuple[StepSpec, ...],
    lines: list[int | None],
    flag_codes: frozenset[str],
    step_flag_codes: frozenset[str],
) -> None:
    """Conditions name a step that comes earlier and is answered yes or no, or known flags; a
    step raises a flag that step values raise, and no other step raises it."""
    earlier: dict[str, StepSpec] = {}
    raisers: dict[str, StepSpec] = {}
    for step, line in zip(steps, lines, strict=True):
        where = f"{f'line {line}: ' if line else ''}step {step.position} ({step.code})"
        if step.raises:
            flag = step.raises.flag
            if flag_codes and flag not in step_flag_codes:
                raisable = ", ".join(sorted(step_flag_codes)) or "none"
                raise ProtocolError(
                    f"{where}: raises {flag}, which is not a flag a step's value raises ({raisable})"
                )
            if flag in raisers:
                raise ProtocolError(f"{where}: {flag} is already raised by step {raisers[flag].code}")
            raisers[flag] = step
        condition = step.required_if
        if condition and condition.step:
            named = earlier.get(condition.step)
            if named is None:
                later = any(s.code == condition.step for s in steps)
                why = "comes later" if later else "does not exist"
                raise ProtocolError(f"{where}: required_if names step {condition.step}, which {why}")
            if named.value_type is not ValueType.YES_NO:
                raise ProtocolError(
                    f"{where}: required_if names {condition.step}, which is not a yes/no step"
                )
        if condition and condition.flags and flag_codes:
            unknown = sorted(set(condition.flags) - flag_codes)
            if unknown:
                raise ProtocolError(
                    f"{where}: required_if names flags a condition cannot name: {', '.join(unknown)} "
                    f"(it may name {', '.join(sorted(flag_codes))}: the flags that change only when "
                    "the episode changes)"
                )
        earlier[step.code] = step


def parse_protocol(
    data: dict[str, Any],
    lines: list[int] | None = None,
    flag_codes: frozenset[str] = frozenset(),
    step_flag_codes: frozenset[str] = frozenset(),
) -> ProtocolSpec:
    """Check a parsed protocol file and return its specification. `lines` gives each step's line
    in the file, for the messages; `flag_codes` the flags a condition may name, `step_flag_codes`
    those a step's value may raise (`raises`). Without `flag_codes` neither is checked."""
    if not isinstance(data, dict) or not data.get("slug") or not data.get("name"):
        raise ProtocolError("a protocol needs a slug, a name and steps")
    raw_steps = data.get("steps") or []
    if not isinstance(raw_steps, list):
        raise ProtocolError("steps must be a list")
    step_lines = list(lines or []) + [None] * (len(raw_steps) - len(lines or []))
    steps = tuple(_step(raw, n, step_lines[n - 1]) for n, raw in enumerate(raw_steps, start=1))
    if not steps:
        raise ProtocolError("a protocol needs at least one step")
    seen: dict[str, int] = {}
    for step, line in zip(steps, step_lines, strict=True):
        if step.code in seen:
            at = f"line {line}: " if line else ""
            raise ProtocolError(f"{at}duplicate step code {step.code} (also step {seen[step.code]})")
        seen[step.code] = step.position
    for phase in Phase:
        if not any(s.phase is phase for s in steps):
            raise ProtocolError(f"the {phase.label} phase has no steps")
    _check_references(steps, step_lines, flag_codes, step_flag_codes)
    return ProtocolSpec(
        slug=str(data["slug"]),
        name=str(data["name"]),
        steps=steps,
        procedures=_procedures(data.get("procedures")),
    )


def _procedures(raw: Any) -> tuple[Procedure, ...]:
    """The procedure types a protocol is meant for: a list of known types, each once."""
    if raw is None:
        return ()
    values = tuple(p.value for p in Procedure)
    if not isinstance(raw, list) or not raw:
        raise ProtocolError(f"procedures must be a list of procedure types ({', '.join(values)})")
    unknown = [repr(p) for p in raw if p not in values]
    if unknown:
        verb = "is not a procedure type" if len(unknown) == 1 else "are not procedure types"
        raise ProtocolError(f"procedures: {', '.join(unknown)} {verb} (the types are {', '.join(values)})")
    if len(set(raw)) != len(raw):
        raise ProtocolError("procedures: a procedure type is listed twice")
    return tuple(Procedure(p) for p in raw)
