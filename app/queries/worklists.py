"""Each role's home-page worklist: fixed numbers of queries, whatever the data size."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, select, true
from sqlalchemy.orm import Session, joinedload

from app.domain.flags import Flag, therapy_flag
from app.domain.site import SiteDay
from app.domain.therapy import count_text, plan_of, step_progress
from app.domain.vocab import EpisodeStatus, ItemStatus, Phase, Role, StepKind
from app.models import ChecklistItem, Episode, ProtocolStep
from app.queries.episodes import postop_overdue
from app.queries.flags import flagged_episodes, preop_signed
from app.queries.therapy import session_rows

LIMIT = 100


def _episodes(where, *order) -> Select:
    return (
        select(Episode)
        .options(joinedload(Episode.patient), joinedload(Episode.surgeon))
        .where(Episode.status != EpisodeStatus.CLOSED, where)
        .order_by(*order, Episode.id)
        .limit(LIMIT)
    )


def awaiting_signoff(session: Session, surgeon_id: int) -> list[Episode]:
    """A surgeon's open episodes whose Before-surgery phase is not signed off, surgery soonest first."""
    return list(
        session.scalars(
            _episodes(
                and_(Episode.surgeon_id == surgeon_id, ~preop_signed()),
                Episode.surgery_date.is_(None),
                Episode.surgery_date,
            )
        )
    )


def surgery_soon(session: Session, surgeon_id: int, today: date, days: int = 7) -> list[Episode]:
    """A surgeon's episodes with surgery from today to `days` ahead."""
    return list(
        session.scalars(
            _episodes(
                and_(
                    Episode.surgeon_id == surgeon_id,
                    Episode.surgery_date >= today,
                    Episode.surgery_date <= today + timedelta(days=days),
                ),
                Episode.surgery_date,
            )
        )
    )


def with_safety_alerts(session: Session, surgeon_id: int) -> list[Episode]:
    """A surgeon's open episodes with a safety alert waiting for acknowledgement, surgery first."""
    alerting = select(ChecklistItem.episode_id).where(ChecklistItem.alert_open == true())
    where = and_(Episode.surgeon_id == surgeon_id, Episode.id.in_(alerting))
    return list(session.scalars(_episodes(where, Episode.surgery_date)))


def flagged(session: Session, day: SiteDay, surgeon_id: int | None = None) -> list[Episode]:
    """Flagged open episodes (of one surgeon, or all), most overdue post-op items first."""
    today = day.date
    overdue = (
        select(ChecklistItem.episode_id, func.count().label("n"))
        .where(postop_overdue(today))
        .group_by(ChecklistItem.episode_id)
        .subquery()
    )
    where = Episode.id.in_(flagged_episodes(day))
    if surgeon_id is not None:
        where = and_(where, Episode.surgeon_id == surgeon_id)
    stmt = _episodes(where, func.coalesce(overdue.c.n, 0).desc(), Episode.surgery_date).outerjoin(
        overdue, overdue.c.episode_id == Episode.id
    )
    return list(session.scalars(stmt))


def open_items_for_role(session: Session, role: Role) -> list[ChecklistItem]:
    """Outstanding items a role is responsible for (open, episode open, phase not signed off: the
    stored `outstanding` column), due soonest first."""
    stmt = (
        select(ChecklistItem)
        .options(
            joinedload(ChecklistItem.step),
            joinedload(ChecklistItem.episode).joinedload(Episode.patient),
        )
        .where(ChecklistItem.outstanding.is_(True), ChecklistItem.role == role)
        .order_by(ChecklistItem.due_date.is_(None), ChecklistItem.due_date, ChecklistItem.id)
        .limit(LIMIT)
    )
    return list(session.scalars(stmt))


def sessions_items(session: Session, episode_ids: list[int]) -> dict[int, list[ChecklistItem]]:
    """The sessions items of many episodes, with their steps (one query)."""
    items: dict[int, list] = defaultdict(list)
    for item in session.scalars(
        select(ChecklistItem)
        .join(ProtocolStep, ProtocolStep.id == ChecklistItem.step_id)
        .options(joinedload(ChecklistItem.step))
        .where(ChecklistItem.episode_id.in_(episode_ids), ProtocolStep.kind == StepKind.SESSIONS)
    ):
        items[item.episode_id].append(item)
    return items


@dataclass
class CaseloadRow:
    episode: Episode
    last_session: Any | None  # the latest session's facts (date, discipline, attendance)
    # Each open After-surgery sessions step, soonest due first, with its count and window:
    # "PT sessions logged against plan: 0 of 8 (days 28–120)".
    counts: list[str]
    flag: Flag | None


def therapy_caseload(session: Session, today: date) -> list[CaseloadRow]:
    """Episodes after surgery with sessions steps still open: last session, each open step's
    sessions against its count, flag.

    Three queries whatever the number of episodes.
    """
    open_sessions_step = (
        select(ChecklistItem.id)
        .join(ProtocolStep, ProtocolStep.id == ChecklistItem.step_id)
        .where(
            ChecklistItem.episode_id == Episode.id,
            ChecklistItem.phase == Phase.AFTER,
            ChecklistItem.status == ItemStatus.OPEN,
            ProtocolStep.kind == StepKind.SESSIONS,
        )
        .exists()
    )
    episodes = list(
        session.scalars(
            select(Episode)
            .options(joinedload(Episode.patient), joinedload(Episode.surgeon))
            .where(Episode.status != EpisodeStatus.CLOSED, Episode.surgery_date <= today, open_sessions_step)
            .order_by(Episode.surgery_date.desc(), Episode.id)
            .limit(LIMIT)
        )
    )
    ids = [e.id for e in episodes]
    if not ids:
        return []
    items, sessions = sessions_items(session, ids), session_rows(session, ids)
    rows = []
    for episode in episodes:
        mine = sessions[episode.id]
        progress = [
            step_progress(plan_of(i), i.status, mine, episode.surgery_date, today) for i in items[episode.id]
        ]
        after = sorted(
            (p for p in progress if p.open and p.plan.phase is Phase.AFTER),
            key=lambda p: (p.plan.due_date or date.max, p.plan.title),
        )
        rows.append(
            CaseloadRow(
                episode=episode,
                last_session=max(mine, key=lambda s: (s.session_date, s.id), default=None),
                counts=[count_text(p.plan, p.attended, episode.surgery_date) for p in after],
                flag=therapy_flag(progress, mine),
            )
        )
    return rows
