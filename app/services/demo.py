"""Demo users and patients, for trying Periop out (demo mode only)."""

from datetime import date, timedelta

from sqlalchemy.orm import Session

from app.domain.vocab import ItemStatus, Phase, Role, Sex, StepKind, ValueType
from app.models import ChecklistItem
from app.services import checklist, protocols, signoffs
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
    ("H204001", "Okonkwo", "Chidi", date(1968, 3, 14), Sex.MALE, "L4-L5 microdiscectomy", "L4-L5", -20),
    ("H204002", "Lindqvist", "Maja", date(1975, 11, 2), Sex.FEMALE, "L5-S1 microdiscectomy", "L5-S1", -50),
    ("H204003", "Hassan", "Yusuf", date(1959, 7, 30), Sex.MALE, "L3-L5 decompression", "L3-L5", 5),
    ("H204004", "Moreau", "Claire", date(1981, 1, 22), Sex.FEMALE, "L4-L5 TLIF fusion", "L4-L5", 21),
    (
        "H204005",
        "Tanaka",
        "Hiroshi",
        date(1952, 9, 9),
        Sex.MALE,
        "L4-L5 revision decompression",
        "L4-L5",
        None,
    ),
    ("H204006", "Byrne", "Siobhan", date(1990, 5, 17), Sex.FEMALE, "L5-S1 microdiscectomy", "L5-S1", -2),
]

SAMPLE_VALUES = {
    ValueType.NUMBER: None,
    ValueType.YES_NO: "no",
    ValueType.TEXT: "L4-L5",
    ValueType.TIME: "08:40",
}


# Plausible values for the demo's value steps, by step code.
DEMO_VALUES = {
    "pre_indication": "0",
    "pre_baseline_prom": "46",
    "pre_psych_screen": "6",
    "pre_nutrition_anemia": "27",
    "pre_opioid_review": "0",
    "intra_blood_loss": "150",
    "post_pain_managed": "3",
    "post_fu_6w": "24",
    "post_fu_3m": "18",
    "post_fu_6m": "14",
    "post_fu_12m": "12",
}


def _sample_value(item: ChecklistItem) -> str | None:
    step = item.step
    if step.kind is not StepKind.VALUE:
        return None
    if step.code in DEMO_VALUES:
        return DEMO_VALUES[step.code]
    if step.value_type is ValueType.NUMBER:
        low, high = step.min_value or 0, step.max_value or 100
        return f"{round((low + high) / 2):g}"
    return SAMPLE_VALUES[step.value_type]


def _work(db: Session, users: dict, item: ChecklistItem) -> None:
    """Complete an item as its responsible role would (sessions items are left to therapy)."""
    if item.status is not ItemStatus.OPEN:
        return
    actor = users.get(item.role, users[Role.SURGEON])
    if item.step.kind is StepKind.SESSIONS or (not item.required and item.step.kind is StepKind.VALUE):
        checklist.mark_not_applicable(db, actor, item, item.version, "Not indicated for this patient")
    else:
        checklist.mark_done(db, actor, item, item.version, _sample_value(item))
    db.flush()


def _stage(db: Session, users: dict, episode, today: date) -> None:
    """Bring a demo episode to a realistic point for its surgery date."""
    surgeon = users[Role.SURGEON]
    surgery = episode.surgery_date
    if surgery is None:
        return
    operated = surgery < today
    for n, item in enumerate(episode.items):
        if item.phase is Phase.AFTER:
            # Post-op items well past due are mostly done; a few are left open (flagged).
            if (
                item.due_date < today - timedelta(days=3)
                and n % 3 != 0
                and item.step.kind is not StepKind.SESSIONS
            ):
                _work(db, users, item)
        elif operated or (item.phase is Phase.BEFORE and (surgery - today).days <= 7):
            _work(db, users, item)  # pre-op complete a week before surgery
        elif item.phase is Phase.BEFORE and item.due_date < today and n % 4 != 0:
            _work(db, users, item)
    if operated:
        for phase in (Phase.BEFORE, Phase.DURING):
            signoffs.sign(db, surgeon, episode, phase, DEMO_PASSWORD, max_failures=5, lock_minutes=15)
            db.flush()


def seed(db: Session, today: date) -> None:
    """Create one user per role and a handful of patients at different stages."""
    users = {role: create_user(db, None, name, full, role, DEMO_PASSWORD) for name, full, role in DEMO_USERS}
    protocol = protocols.latest_version(db, protocols.DEFAULT_SLUG)
    if protocol is None:
        raise RuntimeError("Load the protocols first (flask load-protocols).")
    for mrn, family, given, dob, sex, procedure, levels, offset in DEMO_PATIENTS:
        surgery = today + timedelta(days=offset) if offset is not None else None
        episode = register_patient(
            db,
            users[Role.COORDINATOR],
            PatientDetails(mrn, family, given, dob, sex),
            EpisodeDetails(procedure, levels, users[Role.SURGEON].id, surgery),
            protocol,
            today,
        )
        _stage(db, users, episode, today)


def logins_text() -> str:
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {name:<13} {role.label:<13} {full}" for name, full, role in DEMO_USERS]
    return "\n".join(lines)
