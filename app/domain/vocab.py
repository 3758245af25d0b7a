"""The words of the domain: roles, phases, statuses and states, with their display labels."""

from enum import StrEnum


class Role(StrEnum):
    SURGEON = "surgeon"
    ANAESTHETIST = "anaesthetist"
    NURSE = "nurse"
    THERAPIST = "therapist"
    COORDINATOR = "coordinator"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return self.value.capitalize()


# Roles that take part in patient care; admin manages the system only.
CLINICAL_ROLES = frozenset({Role.SURGEON, Role.ANAESTHETIST, Role.NURSE, Role.THERAPIST, Role.COORDINATOR})


class Phase(StrEnum):
    BEFORE = "before"
    DURING = "during"
    AFTER = "after"

    @property
    def label(self) -> str:
        return {"before": "Before surgery", "during": "During surgery", "after": "After surgery"}[self.value]


class StepKind(StrEnum):
    CHECK = "check"
    VALUE = "value"
    SESSIONS = "sessions"


class ValueType(StrEnum):
    NUMBER = "number"
    YES_NO = "yes_no"
    TEXT = "text"
    TIME = "time"


class Discipline(StrEnum):
    PT = "PT"
    OT = "OT"


class ItemStatus(StrEnum):
    """What is stored on an item; the displayed state is derived from it."""

    OPEN = "open"
    DONE = "done"
    NOT_APPLICABLE = "not_applicable"


class ItemState(StrEnum):
    """What the user sees, derived from status, due date and today."""

    DONE = "done"
    NOT_APPLICABLE = "not_applicable"
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    PENDING = "pending"
    UNSCHEDULED = "unscheduled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class EpisodeStatus(StrEnum):
    SCHEDULED = "scheduled"
    OPERATED = "operated"
    CLOSED = "closed"
