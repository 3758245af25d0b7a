"""Exports of patient data are recorded in the audit trail: who took what, and when."""

from sqlalchemy.orm import Session

from app import audit
from app.domain.policy import Action, can
from app.models import User
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
