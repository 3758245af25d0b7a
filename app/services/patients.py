"""Register patients, open episodes and reschedule them."""

from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app import audit, clock
from app.db import site_of
from app.domain.pathway import applies, item_plan
from app.domain.patients import birth_date_problem, mrn_problem, normalize_mrn, surgery_date_problem
from app.domain.rescheduling import SESSIONS_ITEM_REOPENED, move_problems, move_refusal
from app.domain.vocab import EpisodeStatus, ItemStatus, Procedure, Role, Sex
from app.models import ChecklistItem, Episode, Patient, ProtocolVersion, TherapySession, User
from app.queries.outcomes import episode_scores, outcome_windows
from app.services.errors import Conflict, InvalidInput, ServiceError, flush_or_conflict
from app.services.locks import lock_episode
from app.services.outcomes import reopen_stale_baseline
from app.services.therapy import reopen_unsatisfied, satisfy_items


@dataclass(frozen=True)
class PatientDetails:
    mrn: str
    family_name: str
    given_name: str
    date_of_birth: date
    sex: Sex


@dataclass(frozen=True)
class EpisodeDetails:
    procedure: str
    levels: str
    surgeon_id: int
    surgery_date: date | None
    procedure_type: Procedure = Procedure.OTHER


def _check_patient(session: Session, details: PatientDetails, today: date, patient_id: int | None):
    mrn = normalize_mrn(details.mrn)
    problem = mrn_problem(mrn) or birth_date_problem(details.date_of_birth, today)
    if problem:
        raise ServiceError(problem)
    clash = select(func.count()).select_from(Patient).where(Patient.mrn == mrn)
    if patient_id is not None:
        clash = clash.where(Patient.id != patient_id)
    if session.scalar(clash):
        raise ServiceError(f"A patient with MRN {mrn} is already registered.")
    return mrn


def _check_surgery_date(session: Session, surgery: date | None) -> None:
    problem = surgery_date_problem(surgery, site_of(session).local_date(clock.now()))
    if problem:
        raise ServiceError(problem)


def _check_surgeon(session: Session, surgeon_id: int) -> User:
    surgeon = session.get(User, surgeon_id)
    if surgeon is None or surgeon.role is not Role.SURGEON or not surgeon.active:
        raise ServiceError("Choose an active surgeon.")
    return surgeon


def _patient_values(p: Patient) -> dict:
    return {
        "mrn": p.mrn,
        "family_name": p.family_name,
        "given_name": p.given_name,
        "date_of_birth": p.date_of_birth,
        "sex": p.sex.value,
    }


def _episode_values(e: Episode) -> dict:
    return {
        "procedure": e.procedure,
        "procedure_type": e.procedure_type.value,
        "levels": e.levels,
        "surgeon_id": e.surgeon_id,
        "surgery_date": e.surgery_date,
        "protocol_version_id": e.protocol_version_id,
    }


def register_patient(
    session: Session,
    actor: User,
    patient: PatientDetails,
    episode: EpisodeDetails,
    protocol: ProtocolVersion,
    today: date,
) -> Episode:
    """Register a patient with their first episode and its checklist."""
    _check_surgeon(session, episode.surgeon_id)  # check everything before writing anything
    _check_surgery_date(session, episode.surgery_date)
    mrn = _check_patient(session, patient, today, None)
    record = Patient(**{**asdict(patient), "mrn": mrn}, created_at=clock.now())
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor,
        "patient.create",
        f"Registered patient {mrn}",
        target_type="patient",
        target_id=record.id,
        patient_id=record.id,
        after=_patient_values(record),
    )
    return open_episode(session, actor, record, episode, protocol)


def open_episode(
    session: Session, actor: User, patient: Patient, details: EpisodeDetails, protocol: ProtocolVersion
) -> Episode:
    """Open an episode for a patient, with one checklist item per protocol step."""
    _check_surgeon(session, details.surgeon_id)
    _check_surgery_date(session, details.surgery_date)
    episode = Episode(
        patient=patient,
        procedure=details.procedure.strip(),
        procedure_type=details.procedure_type,
        levels=details.levels.strip(),
        surgeon_id=details.surgeon_id,
        surgery_date=details.surgery_date,
        protocol_version=protocol,
        status=EpisodeStatus.SCHEDULED,
        created_at=clock.now(),
    )
    session.add(episode)
    session.flush()
    # One multi-row INSERT for the items (the episode's page loads them afresh): one per step
    # of the pathway of this procedure type, with its variant's dates and sessions plan.
    steps = [step for step in protocol.steps if applies(step, details.procedure_type)]
    session.execute(insert(ChecklistItem), [new_item(episode, step) for step in steps])
    audit.record(
        session,
        actor,
        "episode.create",
        f"Opened episode: {episode.procedure} ({len(steps)} checklist items)",
        target_type="episode",
        target_id=episode.id,
        patient_id=patient.id,
        episode_id=episode.id,
        after=_episode_values(episode),
    )
    return episode


def new_item(episode: Episode, step) -> dict:
    """The values of a new open item of an episode for a protocol step."""
    return {
        "episode_id": episode.id,
        "step_id": step.id,
        "phase": step.phase,
        "position": step.position,
        "required": step.required,
        "role": step.role,
        **item_plan(step, episode.procedure_type, episode.surgery_date).values(),
    }


def _retime(episode: Episode, actor: User) -> list[ChecklistItem]:
    """Give every item the dates and sessions plan of the episode's surgery date and procedure
    type; open an item for each step that now applies and mark the open items of steps that no
    longer do not applicable (returned, for the audit trail). Worked items keep their state."""
    have = {item.step_id: item for item in episode.items}
    dropped = []
    for step in episode.protocol_version.steps:
        item = have.get(step.id)
        if not applies(step, episode.procedure_type):
            if item is not None and item.status is ItemStatus.OPEN:
                item.status, item.reason = (
                    ItemStatus.NOT_APPLICABLE,
                    (f"Not part of the {episode.procedure_type.label} pathway"),
                )
                item.updated_at, item.updated_by = clock.now(), actor
                dropped.append(item)
            continue
        if item is None:
            values = new_item(episode, step)
            item = ChecklistItem(**{k: v for k, v in values.items() if k != "episode_id"}, step=step)
            episode.items.append(item)
            continue
        plan = item_plan(step, episode.procedure_type, episode.surgery_date, item.required_since)
        for name, value in plan.values().items():
            setattr(item, name, value)
    return dropped


def _check_version(record, expected_version: int, what: str) -> None:
    if record.version != expected_version:
        raise Conflict(f"This {what}")


def update_patient(
    session: Session,
    actor: User,
    patient: Patient,
    details: PatientDetails,
    expected_version: int,
    today: date,
) -> bool:
    """Change a patient's details; returns False when nothing changed."""
    _check_version(patient, expected_version, "patient")
    mrn = _check_patient(session, details, today, patient.id)
    before = _patient_values(patient)
    for field, value in {**asdict(details), "mrn": mrn}.items():
        setattr(patient, field, value)
    after = _patient_values(patient)
    if before == after:
        return False
    changed = {k for k in after if before[k] != after[k]}
    flush_or_conflict(session, "This patient")
    audit.record(
        session,
        actor,
        "patient.update",
        f"Updated patient {mrn}: {', '.join(sorted(changed))}",
        target_type="patient",
        target_id=patient.id,
        patient_id=patient.id,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    return True


def update_episode(
    session: Session, actor: User, episode: Episode, details: EpisodeDetails, expected_version: int
) -> bool:
    """Change an episode; a new surgery date moves every due date, in the same transaction."""
    _check_version(episode, expected_version, "episode")
    if episode.status is EpisodeStatus.CLOSED:
        raise ServiceError("The episode is closed: its details can no longer change.")
    if details.surgeon_id != episode.surgeon_id:
        _check_surgeon(session, details.surgeon_id)
    rescheduled = details.surgery_date != episode.surgery_date
    retyped = details.procedure_type is not episode.procedure_type
    if rescheduled:
        _check_surgery_date(session, details.surgery_date)
        _check_move(session, episode, details.surgery_date)
    before = _episode_values(episode)
    episode.procedure = details.procedure.strip()
    episode.levels = details.levels.strip()
    episode.surgeon_id = details.surgeon_id
    episode.surgery_date = details.surgery_date
    episode.procedure_type = details.procedure_type
    after = _episode_values(episode)
    if before == after:
        return False
    summary = "Updated episode"
    dropped: list[ChecklistItem] = []
    if rescheduled or retyped:
        with session.no_autoflush:  # a stale write surfaces below as a Conflict
            dropped = _retime(episode, actor)
        what = "Rescheduled surgery" if rescheduled else f"Procedure type now {episode.procedure_type.label}"
        summary = f"{what}; {len(episode.items)} due dates recomputed"
    changed = {k for k in after if before[k] != after[k]}
    flush_or_conflict(session, "This episode")
    for item in dropped:
        audit.record(
            session,
            actor,
            "item.not_applicable",
            f"Not applicable: {item.step.title[:80]} — not part of the "
            f"{episode.procedure_type.label} pathway",
            target_type="checklist_item",
            target_id=item.id,
            patient_id=episode.patient_id,
            episode_id=episode.id,
            after={"status": item.status.value, "reason": item.reason},
        )
    audit.record(
        session,
        actor,
        "episode.update",
        f"{summary} ({', '.join(sorted(changed))})",
        target_type="episode",
        target_id=episode.id,
        patient_id=episode.patient_id,
        episode_id=episode.id,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    if rescheduled:
        # Records taken for the old date may no longer satisfy their items (a baseline outside
        # its window, sessions outside theirs): those items open again, said why. Sessions
        # already logged may now fall inside a sessions step's window.
        signed, _ = lock_episode(session, episode.id)
        reopen_stale_baseline(session, actor, episode, signed)
        reopen_unsatisfied(session, actor, episode, signed, SESSIONS_ITEM_REOPENED)
        satisfy_items(session, actor, episode, signed)
    return True


def _check_move(session: Session, episode: Episode, surgery: date | None) -> None:
    """Refuse a new surgery date, with the list, while recorded follow-up scores would fall
    outside their windows or sessions other than prehabilitation before it (CLINICAL-RULES §6):
    the user corrects those first. Read under the episode's lock."""
    lock_episode(session, episode.id)
    taken = {row.time_point: row.taken_on for row in episode_scores(session, episode.id)}
    sessions = session.scalars(select(TherapySession).where(TherapySession.episode_id == episode.id)).all()
    problems = move_problems(surgery, taken, outcome_windows(session, episode.protocol_version_id), sessions)
    if problems:
        raise InvalidInput({"surgery_date": move_refusal(surgery, problems)}, "Check the episode:")
