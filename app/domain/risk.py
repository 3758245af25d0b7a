"""The pre-operative risk tier (clinical rules version 2, section 8): how many of the risk factors
the protocol's steps declare the patient has, each named. Informational, never a block; an
answer not yet recorded is "not yet known", not absent; a step marked not applicable is absent."""

from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace

from app.domain.requirement import is_waiting
from app.domain.vocab import ItemStatus


@dataclass(frozen=True)
class RiskTier:
    factors: tuple[str, ...]  # present, in the protocol's order ("smoker", "BMI 37")
    unknown: tuple[str, ...]  # not yet recorded ("BMI")

    @property
    def count(self) -> int:
        return len(self.factors)

    @property
    def text(self) -> str:
        """ "Risk factors: 3 (smoker, BMI 37, PHQ-9 12); not yet known: HbA1c"."""
        return f"Risk factors: {self.detail}"

    @property
    def detail(self) -> str:
        """ "3 (smoker, BMI 37, PHQ-9 12); not yet known: HbA1c"."""
        shown = f"{self.count}" + (f" ({', '.join(self.factors)})" if self.factors else "")
        return shown + (f"; not yet known: {', '.join(self.unknown)}" if self.unknown else "")


def risk_tier(items: Iterable) -> RiskTier | None:
    """The tier from an episode's items (each with `risk`, `value_type`, `status`, `value`:
    the step's declaration and the item's answer, and `waiting`: a conditional item not required
    now, whose answer nobody is asked for); None when no step declares a factor."""
    factors, unknown, declared = [], [], False
    for item in items:
        factor = item.risk
        if factor is None:
            continue
        declared = True
        if item.status is ItemStatus.DONE and factor.present(item.value_type, item.value):
            factors.append(factor.text(item.value))
        elif item.status is ItemStatus.OPEN and not item.waiting:
            unknown.append(factor.name)
    return RiskTier(tuple(factors), tuple(unknown)) if declared else None


def risk_of_items(items: Iterable) -> RiskTier | None:
    """The tier of a loaded episode's items (each with its step)."""
    return risk_tier(
        SimpleNamespace(
            risk=i.step.risk_spec,
            value_type=i.step.value_type,
            status=i.status,
            value=i.value,
            waiting=is_waiting(i.step.required_if, i.required, i.status),
        )
        for i in items
    )
