"""What the move pages show of a move's plan: each item's state and what changes for it."""

from dataclasses import dataclass, field

from app.domain.episode_move import MovePlan
from app.domain.protocol_diff import FieldChange
from app.domain.requirement import is_waiting
from app.domain.schedule import day_text, item_state, relative_hint
from app.domain.site import SiteDay
from app.domain.vocab import ItemState, ItemStatus, Phase, Role, VersionStatus


@dataclass(frozen=True)
class Row:
    """One item of the preview: its title, phase, state (with the hint or who did it) and, for an
    item carried over, how its step changes."""

    title: str
    phase: Phase
    state: ItemState
    detail: str = ""
    changes: tuple[FieldChange, ...] = ()
    role: Role | None = None


@dataclass
class Preview:
    target: object  # the ProtocolVersion
    plan: MovePlan
    carried: list[Row] = field(default_factory=list)
    added: list[Row] = field(default_factory=list)
    dropped: list[Row] = field(default_factory=list)

    @property
    def shows_items(self) -> bool:
        """Whether the lists mean anything: a published version the episode is not on."""
        return self.target.status is VersionStatus.PUBLISHED and not any(
            r.startswith("The episode is already on") for r in self.plan.refusals
        )


def _done_detail(item) -> str:
    parts = []
    if item.value:
        step = item.step
        unit = f" {step.unit}" if step.unit else ""
        parts.append(f"{step.value_label or 'Value'}: {item.value}{unit}")
    if item.completed_by is not None and item.completed_at is not None:
        parts.append(
            f"by {item.completed_by.full_name} on {day_text(item.completed_on or item.completed_at.date())}"
        )
    if item.status is ItemStatus.NOT_APPLICABLE and item.reason:
        parts.append(item.reason)
    return " · ".join(parts)


def _state(status: ItemStatus, plan, required_if, required: bool, day: SiteDay) -> ItemState:
    return item_state(
        status,
        plan.due_date,
        day.date,
        day.due_soon_days,
        plan.overdue_from,
        is_waiting(required_if, required, status),
    )


def preview_of(plan: MovePlan, target, day: SiteDay) -> Preview:
    """The plan in rows: carried (with the new step's state and changes), added (open, with
    their due dates), dropped (as they stand)."""
    view = Preview(target, plan)
    for c in plan.carried:
        state = _state(c.item.status, c.plan, c.step.required_if, c.required, day)
        detail = _done_detail(c.item) or relative_hint(c.plan.due_date, day.date, state, c.plan.overdue_from)
        view.carried.append(Row(c.step.title, Phase(c.step.phase), state, detail, c.changes))
    for a in plan.added:
        state = _state(ItemStatus.OPEN, a.plan, a.step.required_if, bool(a.step.required), day)
        due = a.plan.due_date
        when = f"Due {day_text(due)}" if due else "Due once surgery is scheduled"
        hint = relative_hint(due, day.date, state, a.plan.overdue_from)
        detail = f"{when} ({hint})" if hint else when
        view.added.append(Row(a.step.title, Phase(a.step.phase), state, detail, role=Role(a.step.role)))
    for d in plan.dropped:
        item = d.item
        waiting = is_waiting(item.step.required_if, item.required, item.status)
        state = item_state(
            item.status, item.due_date, day.date, day.due_soon_days, item.overdue_from, waiting
        )
        view.dropped.append(Row(item.step.title, item.phase, state, _done_detail(item), role=item.role))
    return view


def version_choices(versions, episode) -> tuple[list, object | None]:
    """The published versions an episode may move to (its own left out), its protocol's first,
    newest first; and the default: its protocol's newest version, when it is not on it."""
    others = [v for v in versions if v.id != episode.protocol_version_id]
    template_id = episode.protocol_version.template_id
    own = [v for v in others if v.template_id == template_id]
    choices = own + [v for v in others if v.template_id != template_id]
    newest = max((v for v in versions if v.template_id == template_id), key=lambda v: v.number, default=None)
    default = newest if newest is not None and newest.id != episode.protocol_version_id else None
    return choices, default
