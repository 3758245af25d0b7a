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


class Procedure(StrEnum):
    """The kind of operation an episode is for: protocol steps may differ by it."""

    DISCECTOMY = "discectomy"
    DECOMPRESSION = "decompression"
    FUSION = "fusion"
    OTHER = "other"
    # Anterior cervical discectomy and fusion: the cervical pathway's operation.
    ACDF = "acdf"

    @property
    def label(self) -> str:
        return "ACDF (cervical)" if self is Procedure.ACDF else self.value.capitalize()


class VersionStatus(StrEnum):
    """A protocol version's life: a draft is edited; a published version never changes and is
    the one new episodes may use; a retired one is kept for the record only."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"

    @property
    def label(self) -> str:
        return self.value.capitalize()


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

    @property
    def label(self) -> str:
        return {"PT": "Physical therapy", "OT": "Occupational therapy"}[self.value]


class Attendance(StrEnum):
    ATTENDED = "attended"
    MISSED = "missed"
    CANCELLED_BY_PATIENT = "cancelled_by_patient"
    CANCELLED_BY_CLINIC = "cancelled_by_clinic"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class TimePoint(StrEnum):
    """When outcome scores are taken, with the days after surgery they stand for."""

    BASELINE = "baseline"
    WEEKS_6 = "6w"
    MONTHS_3 = "3m"
    MONTHS_6 = "6m"
    MONTHS_12 = "12m"

    @property
    def label(self) -> str:
        return {
            "baseline": "Baseline",
            "6w": "6 weeks",
            "3m": "3 months",
            "6m": "6 months",
            "12m": "12 months",
        }[self.value]

    @property
    def days(self) -> int:
        return {"baseline": 0, "6w": 42, "3m": 90, "6m": 180, "12m": 365}[self.value]


class Instrument(StrEnum):
    ODI = "odi"
    NRS_BACK = "nrs_back"
    NRS_LEG = "nrs_leg"

    @property
    def label(self) -> str:
        return {"odi": "ODI", "nrs_back": "NRS back pain", "nrs_leg": "NRS leg pain"}[self.value]

    @property
    def maximum(self) -> int:
        return 100 if self is Instrument.ODI else 10


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
    DUE_NOW = "due_now"  # past its due date, inside the step's grace days
    DUE_TODAY = "due_today"
    DUE_SOON = "due_soon"
    PENDING = "pending"
    UNSCHEDULED = "unscheduled"
    NOT_REQUIRED = "not_required"  # a conditional item whose condition does not hold

    @property
    def label(self) -> str:
        if self is ItemState.NOT_REQUIRED:
            return "Not required now"
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
