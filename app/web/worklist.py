"""What a role's worklist shows (app/main, and app/checklist for a tick made from it): its open
items grouped by patient (the patient's flags once), each led by its state and how far its due
date is."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from app.domain.policy import Action, can
from app.domain.schedule import item_state, relative_hint
from app.domain.site import SiteDay
from app.domain.vocab import ItemState, ItemStatus, StepKind


@dataclass
class WorkItem:
    item: object  # a ChecklistItem with its step
    state: ItemState
    hint: str  # "3 days overdue", "due today", "due in 5 days", "grace until 2 Dec 2026"
    may_tick: bool = False  # an open tick the user may mark done from the list


def work_item(item, day: SiteDay, user) -> WorkItem:
    """One item of a worklist: its state and how far its due date is, and whether it is a plain
    tick the user may mark done from the list (a value or a reason needs the episode page)."""
    state = item_state(item.status, item.due_date, day.date, day.due_soon_days, item.overdue_from)
    hint = relative_hint(item.due_date, day.date, state, item.overdue_from)
    may_tick = (
        item.status is ItemStatus.OPEN
        and item.step.kind is StepKind.CHECK
        and item.step.outcome_time_point is None
        and can(user, Action.WORK_ITEM, item)
    )
    return WorkItem(item, state, hint, may_tick)


@dataclass
class PatientGroup:
    episode: object  # with its patient
    summary: object  # app.queries.episodes.EpisodeSummary
    items: list[WorkItem] = field(default_factory=list)


def worklist(items: Iterable, summaries: Mapping, day: SiteDay, user) -> list[PatientGroup]:
    """The items (due soonest first) grouped by episode, the groups in the order of their first
    item: the patient with the most pressing item comes first."""
    groups: dict[int, PatientGroup] = {}
    for item in items:
        group = groups.get(item.episode_id)
        if group is None:
            group = groups[item.episode_id] = PatientGroup(item.episode, summaries[item.episode_id])
        group.items.append(work_item(item, day, user))
    return list(groups.values())
