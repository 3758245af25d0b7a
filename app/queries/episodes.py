"""Reads of episodes: lists' summaries (progress and flags), each patient's latest episode, an
episode with everything its page shows. A fixed number of queries whatever the data size."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.domain.flags import Flag, episode_flags, is_postop_overdue
from app.domain.progress import Progress, phase_progress
from app.domain.requirement import is_waiting
from app.domain.risk import RiskTier, risk_tier
from app.domain.site import SiteDay
from app.domain.step_options import RiskFactor
from app.domain.vocab import ItemStatus, Phase
from app.models import ChecklistItem, Episode, ItemNote, ProtocolStep, ProtocolVersion, User
from app.queries import episode_ids_param, list_param, rows_by_episode
from app.queries.flags import flag_facts, item_rows


@dataclass
class EpisodeSummary:
    progress: dict[Phase, Progress] = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)
    postop_overdue: int = 0
    preop_signed: bool = False
    risk: RiskTier | None = None

    @property
    def ready_to_sign(self) -> bool:
        """Every required Before-surgery item is done or not applicable, and not yet signed."""
        before = self.progress.get(Phase.BEFORE)
        return not self.preop_signed and before is not None and before.complete


def postop_overdue(today: date):
    """The SQL form of `app.domain.flags.is_postop_overdue` (worklists order by it)."""
    return and_(
        ChecklistItem.phase == Phase.AFTER,
        ChecklistItem.required.is_(True),
        ChecklistItem.status == ItemStatus.OPEN,
        ChecklistItem.overdue_from <= today,
    )


def episode_summaries(session: Session, episode_ids: list[int], day: SiteDay) -> dict[int, EpisodeSummary]:
    """Progress per phase and flags for many episodes, in a fixed number of queries (four), from
    the same facts and rules as the episode page and the stored flags."""
    summaries: dict[int, EpisodeSummary] = defaultdict(EpisodeSummary)
    if not episode_ids:
        return summaries
    items = item_rows(session, episode_ids)
    for episode_id, facts in flag_facts(session, episode_ids, items).items():
        summary = summaries[episode_id]
        summary.progress = {phase: phase_progress(facts.items, phase) for phase in Phase}
        summary.postop_overdue = sum(is_postop_overdue(i, day.date) for i in facts.items)
        summary.preop_signed = facts.preop_signed
        summary.flags = episode_flags(facts, day)
        summary.risk = _risk(facts.items)
    return summaries


def _risk(rows: list) -> RiskTier | None:
    """The risk tier of an episode from its `item_rows`."""
    return risk_tier(
        SimpleNamespace(
            risk=RiskFactor.from_json(r.risk),
            value_type=r.value_type,
            status=r.status,
            value=r.value,
            waiting=is_waiting(r.required_if, r.required, r.status),
        )
        for r in rows
    )


def episode_risks(session: Session, episode_ids: list[int]) -> dict[int, RiskTier | None]:
    """The pre-operative risk tier of many episodes (two queries): read from the items of the
    steps that declare a risk factor only (a few of an episode's 45), none of the others counting.
    An episode with no such item has no tier (None), as `risk_tier` says of it."""
    declaring = [
        step_id for step_id, risk in session.execute(select(ProtocolStep.id, ProtocolStep.risk)) if risk
    ]
    if not declaring or not episode_ids:
        return {}
    by_episode = rows_by_episode(session, _RISK_ROWS, episode_ids, {"step_ids": declaring})
    return {episode_id: _risk(items) for episode_id, items in by_episode.items()}


_RISK_ROWS = (
    select(
        ChecklistItem.episode_id,
        ChecklistItem.status,
        ChecklistItem.value,
        ChecklistItem.required,
        ProtocolStep.value_type,
        ProtocolStep.risk,
        ProtocolStep.required_if,
    )
    .join(ProtocolStep, ProtocolStep.id == ChecklistItem.step_id)
    .where(
        ChecklistItem.episode_id.in_(episode_ids_param()),
        ChecklistItem.step_id.in_(list_param("step_ids")),
    )
)


def episode_with_checklist(session: Session, episode_id: int) -> Episode | None:
    """An episode with its checklist as ORM objects, loaded in a fixed number of queries: for a
    change to it and the pages around one (signing, closing, outcomes, moving, printing). The
    episode page and its in-place answers read records instead (app/queries/checklist_page.py)."""
    return session.scalars(_WITH_CHECKLIST, {"episode_id": episode_id}).unique().first()


# What a page says of an episode beyond its checklist: joined (the sign-offs are a few rows).
EPISODE_HEAD = (
    joinedload(Episode.patient),
    joinedload(Episode.surgeon),
    joinedload(Episode.closed_by),
    joinedload(Episode.protocol_version).joinedload(ProtocolVersion.template),
    joinedload(Episode.signoffs),
)

_WITH_CHECKLIST = (  # built once: the changes to an episode and the pages around them read it
    select(Episode)
    .where(Episode.id == bindparam("episode_id"))
    .options(
        *EPISODE_HEAD,
        # The people an item names: their names only (not their accounts' other columns,
        # password hashes among them), two joins of the 40-odd items. Its last editor is not
        # shown: read only by a conflict's message, when it names them.
        selectinload(Episode.items).options(
            joinedload(ChecklistItem.step),
            joinedload(ChecklistItem.completed_by).load_only(User.id, User.full_name),
            joinedload(ChecklistItem.alert_acknowledged_by).load_only(User.id, User.full_name),
            selectinload(ChecklistItem.notes).joinedload(ItemNote.author).load_only(User.id, User.full_name),
        ),
    )
)


def episodes_by_id(session: Session, episode_ids: list[int]) -> dict[int, Episode]:
    """Some episodes with their patients and surgeons (one query)."""
    return {
        e.id: e
        for e in session.scalars(
            select(Episode)
            .options(joinedload(Episode.patient), joinedload(Episode.surgeon))
            .where(Episode.id.in_(episode_ids))
        )
    }


_ITEM_OF_EPISODE = (  # built once: every item action reads it
    select(ChecklistItem)
    .options(
        joinedload(ChecklistItem.episode),
        joinedload(ChecklistItem.step),
        joinedload(ChecklistItem.updated_by),
    )
    .where(ChecklistItem.id == bindparam("item_id"), ChecklistItem.episode_id == bindparam("episode_id"))
)


def item_of_episode(session: Session, episode_id: int, item_id: int) -> ChecklistItem | None:
    """One item of an episode with its episode, step and last editor: what an item action needs,
    without the whole checklist (an item of another episode is not found)."""
    return session.scalar(_ITEM_OF_EPISODE, {"item_id": item_id, "episode_id": episode_id})


def item_snapshot_of(item) -> tuple:
    """What of an item a change to another item of its episode may change: its state, whether and
    since when it is required, and its dates (a condition met or no longer met)."""
    return (item.status, item.required, item.required_since, item.due_date, item.overdue_from, item.version)


def item_snapshot(session: Session, episode_id: int) -> dict[int, tuple]:
    """`item_snapshot_of` every item of an episode, by id (one query)."""
    rows = session.execute(
        select(
            ChecklistItem.id,
            ChecklistItem.status,
            ChecklistItem.required,
            ChecklistItem.required_since,
            ChecklistItem.due_date,
            ChecklistItem.overdue_from,
            ChecklistItem.version,
        ).where(ChecklistItem.episode_id == episode_id)
    )
    return {r.id: tuple(r)[1:] for r in rows}
