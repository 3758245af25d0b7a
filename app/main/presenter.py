"""What a role's worklist shows: its open items grouped by patient (the patient's flags once),
each led by its state and how far its due date is."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from app.domain.schedule import item_state, relative_hint
from app.domain.site import SiteDay
from app.domain.vocab import ItemState


@dataclass
class WorkItem:
    item: object  # a ChecklistItem with its step
    state: ItemState
    hint: str  # "3 days overdue", "due today", "due in 5 days", "grace until 2 Dec 2026"


@dataclass
class PatientGroup:
    episode: object  # with its patient
    summary: object  # app.queries.episodes.EpisodeSummary
    items: list[WorkItem] = field(default_factory=list)


def worklist(items: Iterable, summaries: Mapping, day: SiteDay) -> list[PatientGroup]:
    """The items (due soonest first) grouped by episode, the groups in the order of their first
    item: the patient with the most pressing item comes first."""
    groups: dict[int, PatientGroup] = {}
    for item in items:
        state = item_state(item.status, item.due_date, day.date, day.due_soon_days, item.overdue_from)
        group = groups.get(item.episode_id)
        if group is None:
            group = groups[item.episode_id] = PatientGroup(item.episode, summaries[item.episode_id])
        hint = relative_hint(item.due_date, day.date, state, item.overdue_from)
        group.items.append(WorkItem(item, state, hint))
    return list(groups.values())
