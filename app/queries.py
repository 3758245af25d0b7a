"""Read queries for lists and pages: a fixed number of SQL queries whatever the data size."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.domain.progress import Flag, Progress, flags_from_facts
from app.domain.vocab import EpisodeStatus, ItemStatus, Phase
from app.models import ChecklistItem, Episode, ItemNote, Patient, ProtocolVersion, Signoff

_closed = ChecklistItem.status.in_([ItemStatus.DONE, ItemStatus.NOT_APPLICABLE])


def postop_overdue(today: date):
    return and_(
        ChecklistItem.phase == Phase.AFTER,
        ChecklistItem.required.is_(True),
        ChecklistItem.status == ItemStatus.OPEN,
        ChecklistItem.due_date < today,
    )


@dataclass
class EpisodeSummary:
    progress: dict[Phase, Progress] = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)
    postop_overdue: int = 0
    preop_signed: bool = False

    @property
    def ready_to_sign(self) -> bool:
        """Every required Before-surgery item is done or not applicable, and not yet signed."""
        before = self.progress.get(Phase.BEFORE)
        return not self.preop_signed and before is not None and before.complete


def preop_signed():
    """True where the episode's Before-surgery phase has an active sign-off."""
    return (
        select(Signoff.id)
        .where(
            Signoff.episode_id == Episode.id,
            Signoff.phase == Phase.BEFORE,
            Signoff.revoked_at.is_(None),
        )
        .exists()
    )


def episode_summaries(
    db: Session, episode_ids: list[int], today: date, warning_days: int
) -> dict[int, EpisodeSummary]:
    """Progress per phase and flags for many episodes, in two queries."""
    summaries: dict[int, EpisodeSummary] = defaultdict(EpisodeSummary)
    if not episode_ids:
        return summaries
    rows = db.execute(
        select(
            ChecklistItem.episode_id,
            ChecklistItem.phase,
            func.sum(case((ChecklistItem.required.is_(True), 1), else_=0)),
            func.sum(case((and_(ChecklistItem.required.is_(True), _closed), 1), else_=0)),
            func.sum(case((postop_overdue(today), 1), else_=0)),
        )
        .where(ChecklistItem.episode_id.in_(episode_ids))
        .group_by(ChecklistItem.episode_id, ChecklistItem.phase)
    )
    for episode_id, phase, required, closed, late in rows:
        summary = summaries[episode_id]
        summary.progress[Phase(phase)] = Progress(int(closed or 0), int(required or 0))
        summary.postop_overdue += int(late or 0)
    facts = db.execute(
        select(Episode.id, Episode.surgery_date, Episode.status, preop_signed()).where(
            Episode.id.in_(episode_ids)
        )
    )
    for episode_id, surgery_date, status, signed in facts:
        summary = summaries[episode_id]
        summary.preop_signed = bool(signed)
        summary.flags = flags_from_facts(
            summary.postop_overdue,
            surgery_date,
            bool(signed),
            status is EpisodeStatus.CLOSED,
            today,
            warning_days,
        )
    return summaries


def flagged_episode_ids(db: Session, today: date, warning_days: int) -> Select:
    """Open episodes with a flag: post-op steps overdue, or pre-op unsigned near surgery."""
    postop = select(ChecklistItem.episode_id).where(postop_overdue(today))
    preop_due = and_(Episode.surgery_date <= today + timedelta(days=warning_days), ~preop_signed())
    return select(Episode.id).where(
        Episode.status != EpisodeStatus.CLOSED, or_(Episode.id.in_(postop), preop_due)
    )


def flagged_episode_count(db: Session, today: date, warning_days: int) -> int:
    """Episodes with at least one flag (the red count in the navigation bar)."""
    ids = flagged_episode_ids(db, today, warning_days).subquery()
    return db.scalar(select(func.count()).select_from(ids)) or 0


def patient_search(q: str = "") -> Select:
    """Patients matching a name or MRN fragment, by family name."""
    stmt = select(Patient).order_by(Patient.family_name, Patient.given_name, Patient.id)
    q = q.strip()
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Patient.mrn).like(like),
                func.lower(Patient.family_name).like(like),
                func.lower(Patient.given_name).like(like),
                func.lower(Patient.given_name + " " + Patient.family_name).like(like),
            )
        )
    return stmt


def latest_episodes(db: Session, patient_ids: list[int]) -> dict[int, Episode]:
    """Each patient's most recent episode, with its surgeon."""
    if not patient_ids:
        return {}
    newest = (
        select(func.max(Episode.id)).where(Episode.patient_id.in_(patient_ids)).group_by(Episode.patient_id)
    )
    episodes = db.scalars(select(Episode).options(joinedload(Episode.surgeon)).where(Episode.id.in_(newest)))
    return {e.patient_id: e for e in episodes}


def episode_with_checklist(db: Session, episode_id: int) -> Episode | None:
    """An episode with everything its page shows, loaded in a fixed number of queries."""
    return db.scalar(
        select(Episode)
        .where(Episode.id == episode_id)
        .options(
            joinedload(Episode.patient),
            joinedload(Episode.surgeon),
            joinedload(Episode.closed_by),
            joinedload(Episode.protocol_version).joinedload(ProtocolVersion.template),
            selectinload(Episode.items).options(
                joinedload(ChecklistItem.step),
                joinedload(ChecklistItem.completed_by),
                joinedload(ChecklistItem.updated_by),
                selectinload(ChecklistItem.notes).joinedload(ItemNote.author),
            ),
            selectinload(Episode.signoffs),
        )
    )
