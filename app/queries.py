"""Read queries for lists and pages: a fixed number of SQL queries whatever the data size."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.domain.outcomes import Thresholds, outcome_flag
from app.domain.progress import Flag, Progress, flags_from_facts
from app.domain.site import SiteDay
from app.domain.therapy import episode_therapy_flag
from app.domain.vocab import EpisodeStatus, Instrument, ItemStatus, Phase, StepKind, TimePoint
from app.models import (
    ChecklistItem,
    Episode,
    ItemNote,
    OutcomeScore,
    Patient,
    ProtocolStep,
    ProtocolVersion,
    Signoff,
    TherapySession,
)

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


def episode_summaries(db: Session, episode_ids: list[int], day: SiteDay) -> dict[int, EpisodeSummary]:
    """Progress per phase and flags for many episodes, in a fixed number of queries."""
    today = day.date
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
    open_episodes: list[tuple[int, date | None, bool]] = []
    for episode_id, surgery_date, status, signed in facts:
        summary = summaries[episode_id]
        summary.preop_signed = bool(signed)
        closed = status is EpisodeStatus.CLOSED
        summary.flags = flags_from_facts(
            summary.postop_overdue, surgery_date, bool(signed), closed, today, day.warning_days
        )
        if not closed:
            open_episodes.append((episode_id, surgery_date, closed))
    extra = (
        therapy_flags(db, open_episodes, today),
        outcome_flags(db, [episode_id for episode_id, _, _ in open_episodes], day.thresholds),
    )
    for flags in extra:
        for episode_id, flag in flags.items():
            summaries[episode_id].flags.append(flag)
    return summaries


def patient_matches(q: str):
    """The condition "the patient's MRN or name contains q" (case-insensitive; % and _ literal)."""
    fragment = q.strip().lower()  # the forms refuse control characters (app/web/forms.py)
    return or_(
        *(
            column.contains(fragment, autoescape=True)
            for column in (
                func.lower(Patient.mrn),
                func.lower(Patient.family_name),
                func.lower(Patient.given_name),
                func.lower(Patient.given_name + " " + Patient.family_name),
            )
        )
    )


def patient_search(q: str = "") -> Select:
    """Patients matching a name or MRN fragment, by family name."""
    stmt = select(Patient).order_by(Patient.family_name, Patient.given_name, Patient.id)
    if q.strip():
        stmt = stmt.where(patient_matches(q))
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
    return (
        db.scalars(
            select(Episode)
            .where(Episode.id == episode_id)
            .options(
                joinedload(Episode.patient),
                joinedload(Episode.surgeon),
                joinedload(Episode.closed_by),
                joinedload(Episode.protocol_version).joinedload(ProtocolVersion.template),
                joinedload(Episode.signoffs),  # a few rows: joined rather than a query of their own
                selectinload(Episode.items).options(
                    joinedload(ChecklistItem.step),
                    joinedload(ChecklistItem.completed_by),
                    joinedload(ChecklistItem.updated_by),
                    selectinload(ChecklistItem.notes).joinedload(ItemNote.author),
                ),
            )
        )
        .unique()
        .first()
    )


def sessions_facts(db: Session, episode_ids: list[int]) -> tuple[dict[int, list], dict[int, list]]:
    """The sessions items (with steps) and the sessions of many episodes, in two queries."""
    items: dict[int, list] = defaultdict(list)
    for item in db.scalars(
        select(ChecklistItem)
        .join(ProtocolStep, ProtocolStep.id == ChecklistItem.step_id)
        .options(joinedload(ChecklistItem.step))
        .where(ChecklistItem.episode_id.in_(episode_ids), ProtocolStep.kind == StepKind.SESSIONS)
    ):
        items[item.episode_id].append(item)
    return items, session_rows(db, episode_ids)


def session_rows(db: Session, episode_ids: list[int]) -> dict[int, list]:
    """The sessions of many episodes (the facts the therapy rules read), in one query."""
    sessions: dict[int, list] = defaultdict(list)
    for row in db.execute(
        select(
            TherapySession.episode_id,
            TherapySession.id,
            TherapySession.session_date,
            TherapySession.discipline,
            TherapySession.attendance,
            TherapySession.prehabilitation,
        ).where(TherapySession.episode_id.in_(episode_ids))
    ):
        sessions[row.episode_id].append(row)
    return sessions


def therapy_flags(db: Session, episodes: list[tuple[int, date | None, bool]], today: date) -> dict[int, Flag]:
    """The "Therapy behind plan" flag of many episodes (id, surgery date, closed), in two queries."""
    items, sessions = sessions_facts(db, [episode_id for episode_id, _, _ in episodes])
    flags = {}
    for episode_id, surgery_date, closed in episodes:
        flag = episode_therapy_flag(items[episode_id], sessions[episode_id], surgery_date, today, closed)
        if flag:
            flags[episode_id] = flag
    return flags


def outcome_flags(db: Session, episode_ids: list[int], thresholds: Thresholds) -> dict[int, Flag]:
    """The Not-improving flag of each open episode that raises one, in one query."""
    rows = db.execute(
        select(OutcomeScore.episode_id, OutcomeScore.time_point, OutcomeScore.instrument, OutcomeScore.value)
        .join(Episode, Episode.id == OutcomeScore.episode_id)
        .where(OutcomeScore.episode_id.in_(episode_ids), Episode.status != EpisodeStatus.CLOSED)
    )
    by_episode: dict[int, dict[TimePoint, dict[Instrument, int]]] = {}
    for episode_id, time_point, instrument, value in rows:
        by_episode.setdefault(episode_id, {}).setdefault(time_point, {})[instrument] = value
    flags = {eid: outcome_flag(scores, thresholds) for eid, scores in by_episode.items()}
    return {eid: flag for eid, flag in flags.items() if flag is not None}
