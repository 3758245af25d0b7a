"""Demo users and patients, for trying Periop out (demo mode only)."""

from datetime import date, timedelta

from sqlalchemy.orm import Session

from app.domain.vocab import ItemStatus, Role, Sex, StepKind, ValueType
from app.models import ChecklistItem
from app.services import checklist, protocols
from app.services.patients import EpisodeDetails, PatientDetails, register_patient
from app.services.users import create_user

# Demo mode only (production refuses seed-demo); printed by `make run`.
DEMO_PASSWORD = "Spine-demo-2026"  # noqa: S105

DEMO_USERS = [
    ("surgeon", "Dr Amara Okafor", Role.SURGEON),
    ("anaesthetist", "Dr Lars Nilsen", Role.ANAESTHETIST),
    ("nurse", "Grace Mwangi", Role.NURSE),
    ("therapist", "Tomás Herrera", Role.THERAPIST),
    ("coordinator", "Priya Raman", Role.COORDINATOR),
    ("admin", "Sam Admin", Role.ADMIN),
]

# (MRN, family, given, birth date, sex, procedure, levels, surgery offset from today or None)
DEMO_PATIENTS = [
    ("MRN10001", "Okonkwo", "Chidi", date(1968, 3, 14), Sex.MALE, "L4-L5 microdiscectomy", "L4-L5", -20),
    ("MRN10002", "Lindqvist", "Maja", date(1975, 11, 2), Sex.FEMALE, "L5-S1 microdiscectomy", "L5-S1", -50),
    ("MRN10003", "Hassan", "Yusuf", date(1959, 7, 30), Sex.MALE, "L3-L5 decompression", "L3-L5", 5),
    ("MRN10004", "Moreau", "Claire", date(1981, 1, 22), Sex.FEMALE, "L4-L5 TLIF fusion", "L4-L5", 21),
    (
        "MRN10005",
        "Tanaka",
        "Hiroshi",
        date(1952, 9, 9),
        Sex.MALE,
        "L4-L5 revision decompression",
        "L4-L5",
        None,
    ),
    ("MRN10006", "Byrne", "Siobhan", date(1990, 5, 17), Sex.FEMALE, "L5-S1 microdiscectomy", "L5-S1", -2),
]

SAMPLE_VALUES = {
    ValueType.NUMBER: None,
    ValueType.YES_NO: "no",
    ValueType.TEXT: "L4-L5",
    ValueType.TIME: "08:40",
}


def _sample_value(item: ChecklistItem) -> str | None:
    step = item.step
    if step.kind is not StepKind.VALUE:
        return None
    if step.value_type is ValueType.NUMBER:
        low, high = step.min_value or 0, step.max_value or 100
        return f"{round((low + high) / 2):g}"
    return SAMPLE_VALUES[step.value_type]


def seed(db: Session, today: date) -> None:
    """Create one user per role and a handful of patients at different stages."""
    users = {role: create_user(db, None, name, full, role, DEMO_PASSWORD) for name, full, role in DEMO_USERS}
    protocol = protocols.latest_version(db, protocols.DEFAULT_SLUG)
    if protocol is None:
        raise RuntimeError("Load the protocols first (flask load-protocols).")
    surgeon = users[Role.SURGEON]
    for mrn, family, given, dob, sex, procedure, levels, offset in DEMO_PATIENTS:
        surgery = today + timedelta(days=offset) if offset is not None else None
        episode = register_patient(
            db,
            users[Role.COORDINATOR],
            PatientDetails(mrn, family, given, dob, sex),
            EpisodeDetails(procedure, levels, surgeon.id, surgery),
            protocol,
            today,
        )
        # Work the items that fell due more than a few days ago, leaving some gaps.
        for n, item in enumerate(episode.items):
            if item.due_date is None or item.due_date > today - timedelta(days=3):
                continue
            if item.step.kind is StepKind.SESSIONS or n % 5 == 4:
                continue
            actor = users.get(item.role, surgeon)
            if item.status is ItemStatus.OPEN:
                checklist.mark_done(db, actor, item, item.version, _sample_value(item))
                db.flush()


def logins_text() -> str:
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {name:<13} {role.label:<13} {full}" for name, full, role in DEMO_USERS]
    return "\n".join(lines)
