"""Who may do what: the one permission policy every view and template asks.

Deny by default: an action not listed here is refused to everyone.
"""

from enum import StrEnum
from typing import Protocol

from app.domain.vocab import CLINICAL_ROLES, Role


class Action(StrEnum):
    VIEW_PATIENTS = "view_patients"
    REGISTER_PATIENT = "register_patient"
    EDIT_PATIENT = "edit_patient"
    EDIT_EPISODE = "edit_episode"
    WORK_ITEM = "work_item"
    SIGN_OFF = "sign_off"
    CLOSE_EPISODE = "close_episode"
    RECORD_OUTCOMES = "record_outcomes"
    MANAGE_USERS = "manage_users"
    LOG_SESSION = "log_session"
    EXPORT_OUTSTANDING = "export_outstanding"
    VIEW_COMPLIANCE = "view_compliance"
    ACKNOWLEDGE_ALERT = "acknowledge_alert"
    VIEW_PROTOCOLS = "view_protocols"
    # Draft, publish and retire protocol versions: a surgeon an admin has made a clinical lead.
    EDIT_PROTOCOLS = "edit_protocols"
    MOVE_EPISODE = "move_episode"


class Actor(Protocol):
    role: Role
    is_active: bool


class ItemOwner(Protocol):
    role: Role


# Roles a surgeon may stand in for on an item: every clinical role but the
# coordinator's administrative follow-up work.
SURGEON_COVERS = frozenset({Role.SURGEON, Role.ANAESTHETIST, Role.NURSE, Role.THERAPIST})

_BY_ROLE: dict[Action, frozenset[Role]] = {
    Action.VIEW_PATIENTS: CLINICAL_ROLES,
    Action.REGISTER_PATIENT: frozenset({Role.SURGEON, Role.COORDINATOR}),
    Action.EDIT_PATIENT: frozenset({Role.SURGEON, Role.COORDINATOR}),
    Action.EDIT_EPISODE: frozenset({Role.SURGEON, Role.COORDINATOR}),
    Action.SIGN_OFF: frozenset({Role.SURGEON}),
    Action.CLOSE_EPISODE: frozenset({Role.SURGEON, Role.COORDINATOR}),
    Action.RECORD_OUTCOMES: frozenset({Role.SURGEON, Role.COORDINATOR, Role.THERAPIST}),
    Action.MANAGE_USERS: frozenset({Role.ADMIN}),
    Action.LOG_SESSION: frozenset({Role.THERAPIST}),
    # A bulk export of patient identifiers: the roles that run and audit the protocol.
    Action.EXPORT_OUTSTANDING: frozenset({Role.SURGEON, Role.COORDINATOR}),
    Action.VIEW_COMPLIANCE: CLINICAL_ROLES,
    Action.VIEW_PROTOCOLS: CLINICAL_ROLES,
    Action.MOVE_EPISODE: frozenset({Role.SURGEON, Role.COORDINATOR}),
}


def can(user: Actor | None, action: Action, target: ItemOwner | None = None) -> bool:
    """Return whether the user may take the action (on the target, where it matters)."""
    if user is None or not getattr(user, "is_active", False):
        return False
    if action is Action.ACKNOWLEDGE_ALERT:  # the target: the alert, naming who acknowledges it
        return target is not None and user.role in CLINICAL_ROLES and user.role in target.acknowledged_by
    if action is Action.EDIT_PROTOCOLS:
        return user.role is Role.SURGEON and bool(getattr(user, "edits_protocols", False))
    if action is Action.WORK_ITEM:
        if target is None or user.role not in CLINICAL_ROLES:
            return False
        return user.role is target.role or (user.role is Role.SURGEON and target.role in SURGEON_COVERS)
    return user.role in _BY_ROLE.get(action, frozenset())
