"""What a new protocol version changes against the version it came from, in a clinician's words:
steps added, removed, and changed field by field ("Due: 14 days before surgery → 21 days before
surgery"), and steps that moved. Kept with the published version as JSON (`to_json`)."""

from dataclasses import asdict, dataclass
from typing import Any

from app.domain.protocol_format import step_data
from app.domain.protocol_spec import StepSpec
from app.domain.vocab import Phase, Procedure, Role

# Field paths of the file format (app/domain/protocol_format.step_data) in words.
LABELS = {
    "phase": "Phase",
    "title": "Title",
    "guidance": "Guidance and sources",
    "role": "Done by",
    "required": "Required",
    "due": "Due",
    "kind": "Kind",
    "grace": "Grace (days before overdue)",
    "value.type": "Value type",
    "value.label": "Value label",
    "value.unit": "Unit",
    "value.min": "Lowest value",
    "value.max": "Highest value",
    "value.outcome": "Outcome time point",
    "window.from": "Scores dated from (days after surgery)",
    "window.until": "Scores dated until (days after surgery)",
    "sessions.discipline": "Discipline",
    "sessions.count": "Sessions needed",
    "sessions.from": "Sessions count from (days after surgery)",
    "sessions.until": "Sessions count until (days after surgery)",
    "alert.flag": "Alert",
    "alert.when.answer": "Alert raised by the answer",
    "alert.when.at_least": "Alert raised at or above",
    "alert.when.at_most": "Alert raised at or below",
    "alert.blocks": "Alert blocks sign-off",
    "alert.acknowledged_by": "Alert acknowledged by",
    "required_if.step": "Required only when step",
    "required_if.answer": "… is answered",
    "required_if.flags": "Required only while flagged",
    "only_for": "Only for procedure types",
    "raises.flag": "Raises the flag",
    "raises.above": "… above",
    "risk.name": "Risk factor",
    "risk.label": "Risk factor shown as",
    "risk.answer": "Risk factor shown by the answer",
    "risk.at_least": "Risk factor shown at or above",
    "risk.above": "Risk factor shown above",
}
NONE = "none"


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class StepChange:
    """A step added, removed or changed (`fields`), named by its code and title."""

    code: str
    title: str
    phase: str  # the phase's words
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class VersionDiff:
    name: FieldChange | None = None
    added: tuple[StepChange, ...] = ()
    removed: tuple[StepChange, ...] = ()
    changed: tuple[StepChange, ...] = ()
    moved: tuple[StepChange, ...] = ()
    procedures: FieldChange | None = None

    @property
    def empty(self) -> bool:
        return not (self.name or self.added or self.removed or self.changed or self.moved or self.procedures)

    @property
    def counts(self) -> str:
        """ "Steps: 2 added, 1 removed, 3 changed" (or "No step changed")."""
        parts = [
            f"{len(steps)} {what}"
            for what, steps in (
                ("added", self.added),
                ("removed", self.removed),
                ("changed", self.changed),
                ("moved", self.moved),
            )
            if steps
        ]
        return "Steps: " + ", ".join(parts) if parts else "No step changed"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "VersionDiff | None":
        if data is None:
            return None

        def fc(d):
            return FieldChange(**d) if d else None

        def steps(key):
            return tuple(
                StepChange(s["code"], s["title"], s["phase"], tuple(FieldChange(**f) for f in s["fields"]))
                for s in data.get(key) or ()
            )

        return cls(
            name=fc(data.get("name")),
            added=steps("added"),
            removed=steps("removed"),
            changed=steps("changed"),
            moved=steps("moved"),
            procedures=fc(data.get("procedures")),
        )


def due_words(value: Any) -> str:
    """A step's due day in words: "14 days before surgery", "on the day of surgery"."""
    if not isinstance(value, int) or isinstance(value, bool):
        return _words(value)
    if value == 0:
        return "on the day of surgery"
    unit = "day" if abs(value) == 1 else "days"
    return f"{abs(value)} {unit} {'before' if value < 0 else 'after'} surgery"


def _words(value: Any) -> str:
    if value is None or value == "" or value == []:
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(_words(v) for v in value)
    text = str(value)
    for enum in (Role, Phase, Procedure):
        try:
            return enum(text).label
        except ValueError:
            pass
    return text


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"value": {"min": 0}} → {"value.min": 0}; variants by procedure type become
    "variants.fusion.due"."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def label(path: str) -> str:
    if path in LABELS:
        return LABELS[path]
    if path.startswith("variants."):
        _, procedure, what = path.split(".", 2)
        words = {"due": "due", "from": "sessions from", "until": "sessions until", "count": "sessions needed"}
        return f"{_words(procedure)}: {words.get(what, what)}"
    return path.replace("_", " ").replace(".", ": ").capitalize()


def _value_words(path: str, value: Any) -> str:
    if path == "due" or path.endswith(".due"):
        return due_words(value)
    if path == "alert.blocks":  # written only when true
        return "yes" if value else "no"
    return _words(value)


def step_changes(old: StepSpec, new: StepSpec) -> tuple[FieldChange, ...]:
    """Each field of the step that differs, in words (the code and position left out)."""
    before, after = flatten(step_data(old)), flatten(step_data(new))
    changes = []
    for path in dict.fromkeys([*before, *after]):
        if path in ("code",):
            continue
        a, b = before.get(path), after.get(path)
        if a == b and type(a) is type(b):
            continue
        if _value_words(path, a) == _value_words(path, b) and path != "guidance":
            continue  # 8 and 8.0: the same to a reader
        changes.append(FieldChange(label(path), _value_words(path, a), _value_words(path, b)))
    return tuple(changes)


def _summary(step: StepSpec, fields: tuple[FieldChange, ...] = ()) -> StepChange:
    return StepChange(step.code, step.title, step.phase.label, fields)


def diff_versions(
    old_steps: tuple[StepSpec, ...] | list[StepSpec],
    new_steps: tuple[StepSpec, ...] | list[StepSpec],
    old_name: str | None = None,
    new_name: str | None = None,
    old_procedures: tuple[str, ...] | list[str] = (),
    new_procedures: tuple[str, ...] | list[str] = (),
) -> VersionDiff:
    """The changes from the old steps to the new ones, matched by code."""
    old = {s.code: s for s in old_steps}
    new = {s.code: s for s in new_steps}
    added = tuple(_summary(s) for s in new_steps if s.code not in old)
    removed = tuple(_summary(s) for s in old_steps if s.code not in new)
    changed = []
    for step in new_steps:
        if step.code in old:
            fields = step_changes(old[step.code], step)
            if fields:
                changed.append(_summary(step, fields))
    # A step moved when its place among the steps both versions have changed (an added or
    # removed step alone moves nothing).
    kept_old = [s.code for s in old_steps if s.code in new]
    kept_new = [s.code for s in new_steps if s.code in old]
    moved = tuple(
        _summary(new[code], (FieldChange("Place", f"{kept_old.index(code) + 1}", f"{n + 1}"),))
        for n, code in enumerate(kept_new)
        if kept_old.index(code) != n and new[code].phase == old[code].phase
    )
    name = FieldChange("Name", old_name, new_name) if old_name is not None and old_name != new_name else None
    procedures = None
    if list(old_procedures) != list(new_procedures):
        procedures = FieldChange("Meant for", _words(list(old_procedures)), _words(list(new_procedures)))
    return VersionDiff(name, added, removed, tuple(changed), moved, procedures)
