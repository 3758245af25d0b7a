"""An episode with its checklist as the episode page reads it: the items, their steps, the names
of the people they name and their notes read as rows (SQLAlchemy Core) into plain records.

The page only reads them. Building ORM objects (their identity map, instance state and
relationship loaders) took three quarters of reading the checklist: 6.6 ms of an episode page on
PostgreSQL, 1.9 ms as rows. The records have the attributes of the ORM objects the page and the
domain read (`item.step.kind`, `item.completed_by.full_name`, `note.author.full_name`, …), so the
presenter and the domain's rules take either. Changes load the ORM objects
(app/queries/episodes.py `episode_with_checklist`).

Three queries whatever the size of the checklist: the episode (with its patient, surgeon,
protocol version and sign-offs, as ORM objects: a row per sign-off), the items with their steps,
and the items' notes.
"""

from types import SimpleNamespace

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, aliased

from app.models import ChecklistItem, Episode, ItemNote, ProtocolStep, StepSpecs, User
from app.queries.episodes import EPISODE_HEAD


class StepRecord(StepSpecs, SimpleNamespace):
    """A protocol step read as a row: its columns, and its options as the domain's types."""


class ItemRecord(SimpleNamespace):
    """A checklist item read as a row: its columns, its `step`, `episode`, the people it names
    (`completed_by`, `alert_acknowledged_by`: id and full name, or None) and its `notes`."""

    @property
    def title(self) -> str:
        return self.step.title


class ChecklistEpisode:
    """An episode (the ORM object, without its items) and its checklist's records (`items`)."""

    def __init__(self, episode: Episode, items: list[ItemRecord]) -> None:
        self.episode = episode
        self.items = items

    def __getattr__(self, name: str):
        if name == "episode":  # not set yet (a copy being made): not the episode's own attribute
            raise AttributeError(name)
        return getattr(self.episode, name)  # everything else, as the episode has it


_ITEM_COLUMNS = tuple(ChecklistItem.__table__.c)
_STEP_COLUMNS = tuple(ProtocolStep.__table__.c)
_COMPLETED_BY, _ACKNOWLEDGED_BY = aliased(User), aliased(User)
_PEOPLE = {  # an item's attribute: (its label in the query, the user alias)
    "completed_by": ("completed_by_name", _COMPLETED_BY),
    "alert_acknowledged_by": ("acknowledged_by_name", _ACKNOWLEDGED_BY),
}

# Built once: every episode page and every change made in place reads them.
_EPISODE = select(Episode).where(Episode.id == bindparam("episode_id")).options(*EPISODE_HEAD)
STEP = "step__"  # the prefix of a step's columns in the items' rows (no item column has it)
_ITEMS = (
    select(
        *_ITEM_COLUMNS,
        *(c.label(f"{STEP}{c.key}") for c in _STEP_COLUMNS),
        *(alias.full_name.label(label) for label, alias in _PEOPLE.values()),
    )
    .join(ProtocolStep, ProtocolStep.id == ChecklistItem.step_id)
    .outerjoin(_COMPLETED_BY, _COMPLETED_BY.id == ChecklistItem.completed_by_id)
    .outerjoin(_ACKNOWLEDGED_BY, _ACKNOWLEDGED_BY.id == ChecklistItem.alert_acknowledged_by_id)
    .where(ChecklistItem.episode_id == bindparam("episode_id"))
    .order_by(ChecklistItem.position)
)
_NOTES = (
    select(
        ItemNote.item_id,
        ItemNote.id,
        ItemNote.text,
        ItemNote.created_at,
        User.id.label("author_id"),
        User.full_name,
    )
    .join(User, User.id == ItemNote.author_id)
    .join(ChecklistItem, ChecklistItem.id == ItemNote.item_id)
    .where(ChecklistItem.episode_id == bindparam("episode_id"))
    .order_by(ItemNote.id)
)


def _person(person_id: int | None, full_name: str | None) -> SimpleNamespace | None:
    return None if person_id is None else SimpleNamespace(id=person_id, full_name=full_name)


def checklist_episode(session: Session, episode_id: int) -> ChecklistEpisode | None:
    """The episode with its checklist as records (None if there is no such episode)."""
    params = {"episode_id": episode_id}
    episode = session.scalars(_EPISODE, params).unique().first()
    if episode is None:
        return None
    notes: dict[int, list] = {}
    for n in session.execute(_NOTES, params):
        author = SimpleNamespace(id=n.author_id, full_name=n.full_name)
        notes.setdefault(n.item_id, []).append(
            SimpleNamespace(id=n.id, item_id=n.item_id, text=n.text, created_at=n.created_at, author=author)
        )
    page = ChecklistEpisode(episode, [])
    item_keys = [c.key for c in _ITEM_COLUMNS]
    step_keys = [(c.key, f"{STEP}{c.key}") for c in _STEP_COLUMNS]
    for row in session.execute(_ITEMS, params).mappings():
        item = ItemRecord(**{key: row[key] for key in item_keys})
        item.step = StepRecord(**{key: row[label] for key, label in step_keys})
        for name, (label, _alias) in _PEOPLE.items():
            setattr(item, name, _person(row[f"{name}_id"], row[label]))
        item.notes = notes.get(item.id, [])
        item.episode = page
        page.items.append(item)
    return page
