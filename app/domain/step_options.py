"""What a protocol step may declare beyond its kind (protocol format of clinical rules version 2):
a safety alert, a conditional requirement, variants by procedure type, and the flag its value
raises.

Plain values, kept on the step as JSON (`to_json` / `from_json`); the rules that use them read
these, never a step's code.
"""

from dataclasses import dataclass, field
from typing import Any

from app.domain.vocab import Procedure, Role, ValueType

ANSWERS = ("yes", "no")


@dataclass(frozen=True)
class Alert:
    """Answers that must not pass in silence: the item is still done with its value, but the
    episode raises "Safety: <flag>" until a user of an acknowledging role acknowledges it.

    A yes/no step alerts on one `answer`; a number step at or above `at_least` (or at or below
    `at_most`). `blocks` stops the sign-off of the step's phase while unacknowledged."""

    flag: str
    answer: str | None = None
    at_least: float | None = None
    at_most: float | None = None
    blocks: bool = False
    acknowledged_by: tuple[Role, ...] = (Role.SURGEON,)

    def raised_by(self, value_type: ValueType | None, value: str | None) -> bool:
        """Whether a recorded value (in its stored form) raises the alert."""
        if value is None or value == "":
            return False
        if value_type is ValueType.YES_NO:
            return self.answer is not None and value.lower() == self.answer
        if value_type is ValueType.NUMBER:
            try:
                number = float(value)
            except ValueError:
                return False
            return (self.at_least is not None and number >= self.at_least) or (
                self.at_most is not None and number <= self.at_most
            )
        return False

    def quiet_answer(self, value_type: ValueType | None) -> str | None:
        """A yes/no answer that does not raise the alert (None for other steps)."""
        if value_type is not ValueType.YES_NO:
            return None
        return "yes" if self.answer == "no" else "no"

    def to_json(self) -> dict[str, Any]:
        return {
            "flag": self.flag,
            "answer": self.answer,
            "at_least": self.at_least,
            "at_most": self.at_most,
            "blocks": self.blocks,
            "acknowledged_by": [r.value for r in self.acknowledged_by],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "Alert | None":
        if not data:
            return None
        return cls(
            flag=data["flag"],
            answer=data.get("answer"),
            at_least=data.get("at_least"),
            at_most=data.get("at_most"),
            blocks=bool(data.get("blocks")),
            acknowledged_by=tuple(Role(r) for r in data.get("acknowledged_by") or ()),
        )


@dataclass(frozen=True)
class Raises:
    """A number step whose recorded value, above `above`, raises the flag `flag` (a flag code of
    app/domain/flags.py that reads step values, e.g. "still_on_opioids"). Not a safety alert: no
    acknowledgement, the flag stays while the value does."""

    flag: str
    above: float = 0

    def raised_by(self, value: str | None) -> bool:
        """Whether a recorded value (in its stored form) raises the flag."""
        if value is None or value == "":
            return False
        try:
            return float(value) > self.above
        except ValueError:
            return False

    def to_json(self) -> dict[str, Any]:
        return {"flag": self.flag, "above": self.above}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "Raises | None":
        if not data:
            return None
        return cls(flag=data["flag"], above=data.get("above", 0))


@dataclass(frozen=True)
class RiskFactor:
    """A pre-operative risk factor the step's answer may show (clinical rules version 2, section
    8): `name` while unanswered ("not yet known: BMI"), `label` when present, with `{value}` for
    the answer ("BMI {value}"). A yes/no step shows it on one `answer`; a number step at or
    above `at_least`, or above `above`."""

    name: str
    label: str
    answer: str | None = None
    at_least: float | None = None
    above: float | None = None

    def present(self, value_type: ValueType | None, value: str | None) -> bool:
        if value is None or value == "":
            return False
        if value_type is ValueType.YES_NO:
            return self.answer is not None and value.lower() == self.answer
        try:
            number = float(value)
        except ValueError:
            return False
        return (self.at_least is not None and number >= self.at_least) or (
            self.above is not None and number > self.above
        )

    def text(self, value: str) -> str:
        return self.label.replace("{value}", value)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "RiskFactor | None":
        return cls(**data) if data else None


@dataclass(frozen=True)
class RequiredIf:
    """A step required only while another step's answer (`step` answered `answer`) or one of
    some flags (`flags`, by code) says so."""

    step: str | None = None
    answer: str | None = None
    flags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "answer": self.answer, "flags": list(self.flags)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "RequiredIf | None":
        if not data:
            return None
        return cls(step=data.get("step"), answer=data.get("answer"), flags=tuple(data.get("flags") or ()))


@dataclass(frozen=True)
class Variant:
    """What a step says differently for one procedure type (None: as the step says)."""

    due: int | None = None
    sessions_from: int | None = None
    sessions_until: int | None = None
    count: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Variants:
    """A step's variants by procedure type, and the procedure types it applies to (`only_for`:
    empty means every type)."""

    by_procedure: dict[Procedure, Variant] = field(default_factory=dict)
    only_for: tuple[Procedure, ...] = ()

    def applies_to(self, procedure: Procedure) -> bool:
        return not self.only_for or procedure in self.only_for

    def for_procedure(self, procedure: Procedure) -> Variant:
        return self.by_procedure.get(procedure, Variant())

    @staticmethod
    def json_of(by_procedure: dict[Procedure, Variant]) -> dict[str, dict[str, int]] | None:
        return {p.value: v.to_json() for p, v in by_procedure.items()} or None

    @classmethod
    def from_json(cls, variants: dict | None, only_for: list | None) -> "Variants":
        return cls(
            by_procedure={Procedure(p): Variant(**v) for p, v in (variants or {}).items()},
            only_for=tuple(Procedure(p) for p in only_for or ()),
        )
