"""Each role's home-page worklist: fixed numbers of queries, whatever the data size."""

from datetime import date, timedelta

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, joinedload

from app.domain.vocab import EpisodeStatus, ItemStatus, Phase, Role
from app.models import ChecklistItem, Episode, Signoff
from app.queries import flagged_episode_ids, postop_overdue, preop_signed

LIMIT = 100


def _episodes(where, *order) -> Select:
    return (
        select(Episode)
        .options(joinedload(Episode.patient), joinedload(Episode.surgeon))
        .where(Episode.status != EpisodeStatus.CLOSED, where)
        .order_by(*order, Episode.id)
        .limit(LIMIT)
    )


def awaiting_signoff(db: Session, surgeon_id: int) -> list[Episode]:
    """A surgeon's open episodes whose Before-surgery phase is not signed off, surgery soonest first."""
    return list(
        db.scalars(
            _episodes(
                and_(Episode.surgeon_id == surgeon_id, ~preop_signed()),
                Episode.surgery_date.is_(None),
                Episode.surgery_date,
            )
        )
    )


def surgery_soon(db: Session, surgeon_id: int, today: date, days: int = 7) -> list[Episode]:
    """A surgeon's episodes with surgery from today to `days` ahead."""
    return list(
        db.scalars(
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


def flagged(db: Session, today: date, warning_days: int, surgeon_id: int | None = None) -> list[Episode]:
    """Flagged open episodes (of one surgeon, or all), most overdue post-op items first."""
    overdue = (
        select(ChecklistItem.episode_id, func.count().label("n"))
        .where(postop_overdue(today))
        .group_by(ChecklistItem.episode_id)
        .subquery()
    )
    where = Episode.id.in_(flagged_episode_ids(db, today, warning_days))
    if surgeon_id is not None:
        where = and_(where, Episode.surgeon_id == surgeon_id)
    stmt = _episodes(where, func.coalesce(overdue.c.n, 0).desc(), Episode.surgery_date).outerjoin(
        overdue, overdue.c.episode_id == Episode.id
    )
    return list(db.scalars(stmt))


def open_items_for_role(db: Session, role: Role) -> list[ChecklistItem]:
    """Open items a role is responsible for, due soonest first, in phases not signed off."""
    phase_signed = (
        select(Signoff.id)
        .where(
            Signoff.episode_id == ChecklistItem.episode_id,
            Signoff.phase == ChecklistItem.phase,
            Signoff.revoked_at.is_(None),
        )
        .exists()
    )
    stmt = (
        select(ChecklistItem)
        .join(Episode, Episode.id == ChecklistItem.episode_id)
        .options(
            joinedload(ChecklistItem.step),
            joinedload(ChecklistItem.episode).joinedload(Episode.patient),
        )
        .where(
            ChecklistItem.role == role,
            ChecklistItem.status == ItemStatus.OPEN,
            Episode.status != EpisodeStatus.CLOSED,
            ~phase_signed,
        )
        .order_by(ChecklistItem.due_date.is_(None), ChecklistItem.due_date, ChecklistItem.id)
        .limit(LIMIT)
    )
    return list(db.scalars(stmt))


def therapy_caseload(db: Session, today: date) -> list[tuple[Episode, int]]:
    """Episodes after surgery with therapist items still open, and how many."""
    open_therapy = (
        select(ChecklistItem.episode_id, func.count().label("n"))
        .where(
            ChecklistItem.role == Role.THERAPIST,
            ChecklistItem.phase == Phase.AFTER,
            ChecklistItem.status == ItemStatus.OPEN,
        )
        .group_by(ChecklistItem.episode_id)
        .subquery()
    )
    stmt = (
        select(Episode, open_therapy.c.n)
        .join(open_therapy, open_therapy.c.episode_id == Episode.id)
        .options(joinedload(Episode.patient), joinedload(Episode.surgeon))
        .where(Episode.status != EpisodeStatus.CLOSED, Episode.surgery_date <= today)
        .order_by(Episode.surgery_date.desc(), Episode.id)
        .limit(LIMIT)
    )
    return [(episode, n) for episode, n in db.execute(stmt)]
