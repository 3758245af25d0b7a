"""Turn an episode and its items into what the episode page shows."""

from dataclasses import dataclass
from datetime import date

from app.domain.policy import Action, can
from app.domain.progress import Flag, Progress, episode_flags, phase_progress
from app.domain.schedule import age_on, item_state, relative_hint
from app.domain.values import range_text
from app.domain.vocab import ItemState, ItemStatus, Phase, StepKind, ValueType
from app.models import ChecklistItem, Episode


@dataclass
class ItemView:
    item: ChecklistItem
    state: ItemState
    hint: str
    may_work: bool
    may_mark_done: bool
    value_hint: str
    sessions_text: str


@dataclass
class PhaseView:
    phase: Phase
    progress: Progress
    items: list[ItemView]


@dataclass
class EpisodeView:
    episode: Episode
    age: int
    flags: list[Flag]
    phases: list[PhaseView]


def _value_hint(item: ChecklistItem) -> str:
    step = item.step
    if step.kind is not StepKind.VALUE:
        return ""
    if step.value_type is ValueType.NUMBER:
        return range_text(step)
    return {ValueType.YES_NO: "yes or no", ValueType.TIME: "HH:MM", ValueType.TEXT: "text"}[step.value_type]


def episode_view(episode: Episode, user, today: date, due_soon_days: int) -> EpisodeView:
    items = episode.items
    phases = []
    for phase in Phase:
        views = []
        for item in (i for i in items if i.phase is phase):
            state = item_state(item.status, item.due_date, today, due_soon_days)
            step = item.step
            may_work = can(user, Action.WORK_ITEM, item)
            views.append(
                ItemView(
                    item=item,
                    state=state,
                    hint=relative_hint(item.due_date, today, state),
                    may_work=may_work,
                    may_mark_done=may_work
                    and item.status is ItemStatus.OPEN
                    and step.kind is not StepKind.SESSIONS,
                    value_hint=_value_hint(item),
                    sessions_text=(
                        f"0 of {step.session_count} {step.discipline} sessions"
                        if step.kind is StepKind.SESSIONS and item.status is ItemStatus.OPEN
                        else ""
                    ),
                )
            )
        phases.append(PhaseView(phase, phase_progress(items, phase), views))
    return EpisodeView(
        episode=episode,
        age=age_on(episode.patient.date_of_birth, today),
        flags=episode_flags(items, today),
        phases=phases,
    )
