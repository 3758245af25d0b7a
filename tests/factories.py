"""Small factories: real records made through the services, committed."""

import itertools
from datetime import date

from app import db
from app.domain.vocab import ItemStatus, Phase, Role, Sex, StepKind, TimePoint, ValueType
from app.models import ChecklistItem, Episode, User
from app.queries.episodes import episode_with_checklist
from app.services import checklist, outcomes
from app.services.patients import EpisodeDetails, PatientDetails, register_patient

_numbers = itertools.count(1)
TODAY = date(2026, 6, 17)


def episode(
    actor,
    surgeon,
    protocol,
    surgery_date: date | None = TODAY,
    family_name: str = "Doe",
    given_name: str = "Jane",
    mrn: str | None = None,
) -> Episode:
    """Register a patient with one episode and return the episode."""
    mrn = mrn or f"MRN{next(_numbers):05d}"
    with db.write_unit():
        created = register_patient(
            db.session,
            actor,
            PatientDetails(mrn, family_name, given_name, date(1970, 1, 1), Sex.FEMALE),
            EpisodeDetails("L4-L5 microdiscectomy", "L4-L5", surgeon.id, surgery_date),
            protocol,
            TODAY,
        )
        db.session.commit()
    # Load everything tests read, so the episode stays usable after requests end the session.
    loaded = episode_with_checklist(db.session, created.id)
    db.session.commit()  # end the read transaction; the objects stay loaded
    return loaded


def item(episode: Episode, code: str) -> ChecklistItem:
    """The episode's item for a protocol step code."""
    return next(i for i in episode.items if i.step.code == code)


def load_in_new_session(model, ident: int, user_id: int):
    """A second, independent session holding the record and a user, no transaction open."""
    other = db.session.session_factory()
    record = other.get(model, ident)
    user = other.get(User, user_id)
    other.commit()  # ends the read transaction; the objects stay loaded (expire_on_commit=False)
    return other, record, user


def sample_value(item: ChecklistItem) -> str | None:
    """A valid value for a value step (None for other steps)."""
    step = item.step
    if step.kind is not StepKind.VALUE:
        return None
    if step.value_type is ValueType.NUMBER:
        return f"{step.min_value or 0:g}"
    alert = step.alert_spec
    if alert is not None and step.value_type is ValueType.YES_NO:
        return alert.quiet_answer(step.value_type)  # an answer that raises no safety alert
    return {ValueType.YES_NO: "no", ValueType.TIME: "08:30", ValueType.TEXT: "L4-L5"}[step.value_type]


def complete_phase(session, episode, phase: Phase, surgeon, coordinator, not_applicable=False) -> None:
    """Close every required open item of a phase through the services, then commit.

    Coordinator items by the coordinator, the rest by the surgeon; the baseline outcome item by
    recording baseline scores; sessions and follow-up items (or all, with not_applicable) as
    not applicable.
    """
    for item in episode.items:
        if item.phase is not phase or not item.required or item.status is not ItemStatus.OPEN:
            continue
        actor = coordinator if item.role is Role.COORDINATOR else surgeon
        if item.step.outcome_time_point is TimePoint.BASELINE and not not_applicable:
            taken_on = min(episode.surgery_date or TODAY, TODAY)
            outcomes.record_scores(session, actor, episode, TimePoint.BASELINE, taken_on, 40, 6, 7, TODAY)
        elif not_applicable or item.step.kind is StepKind.SESSIONS or item.step.outcome_time_point:
            checklist.mark_not_applicable(session, actor, item, item.version, "Not needed here")
        else:
            checklist.mark_done(session, actor, item, item.version, sample_value(item))
    session.commit()


def complete_phase_by_id(episode_id: int, phase: Phase, surgeon, coordinator) -> None:
    """complete_phase for an episode and users loaded afresh in the app's session."""
    with db.write_unit():
        episode = episode_with_checklist(db.session, episode_id)
        complete_phase(
            db.session, episode, phase, db.session.get(User, surgeon.id), db.session.get(User, coordinator.id)
        )
    db.session.remove()


def fresh_read() -> None:
    """End any read snapshot in the app's session and forget what it loaded: the next read
    sees what other sessions committed."""
    db.session.rollback()
    db.session.expire_all()
