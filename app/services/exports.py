"""Exports of patient data are recorded in the audit trail: who took what, and when."""

from sqlalchemy.orm import Session

from app import audit
from app.domain.policy import Action, can
from app.models import AuditEvent, Episode, User
from app.services.errors import NotPermitted


def record_export(session: Session, actor: User | None, what: str, filters: str, action: str) -> None:
    """Audit an export of patient data (the caller commits before the data leaves).

    `actor` None is the system (a scheduled report run from the command line).
    """
    if actor is not None and not can(actor, Action.EXPORT_OUTSTANDING):
        raise NotPermitted("Your role may not export patient lists.")
    audit.record(
        session,
        actor,
        action,
        f"{what}: {filters}",
        target_type="export",
        after={"filters": filters},
    )


def record_print(session: Session, actor: User, episode: Episode) -> AuditEvent:
    """Audit the printing of an episode's summary, a disclosure of its record (the caller
    commits before the summary is sent); returns the event, whose time the summary shows."""
    if not can(actor, Action.VIEW_PATIENTS):
        raise NotPermitted("Your role may not see patient records.")
    patient = episode.patient
    return audit.record(
        session,
        actor,
        "export.print",
        f"Printed the episode summary: {patient.mrn}, {episode.procedure}",
        target_type="episode",
        target_id=episode.id,
        patient_id=patient.id,
        episode_id=episode.id,
    )
