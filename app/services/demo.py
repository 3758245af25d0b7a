"""Demo users and patients, for trying Periop out (demo mode only)."""

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from app import clock
from app.domain.therapy import SessionInput
from app.domain.vocab import ItemStatus, Phase, Procedure, Role, Sex, StepKind, TimePoint, ValueType
from app.models import ChecklistItem
from app.services import checklist, outcomes, protocols, signoffs, therapy
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
    ("H204007", "Ferreira", "Ana", date(1963, 2, 11), Sex.FEMALE, "L4-S1 TLIF fusion", "L4-S1", -100),
]
DEMO_PROCEDURE_TYPES = {
    "H204001": Procedure.DISCECTOMY,
    "H204002": Procedure.DISCECTOMY,
    "H204003": Procedure.DECOMPRESSION,
    "H204004": Procedure.FUSION,
    "H204005": Procedure.DECOMPRESSION,
    "H204006": Procedure.DISCECTOMY,
    "H204007": Procedure.FUSION,  # 100 days after a fusion: physiotherapy not yet behind its plan
}
# Answers that raise a flag, by MRN and step: Byrne's pain on the ward raises a safety alert
# waiting for acknowledgement; Ferreira is still on opioids at 3 months.
DEMO_ANSWERS = {
    ("H204006", "post_pain_managed"): "8",
    ("H204007", "post_opioid_90d"): "30",
}

SAMPLE_VALUES = {
    ValueType.NUMBER: None,
    ValueType.YES_NO: "no",
    ValueType.TEXT: "L4-L5",
    ValueType.TIME: "08:40",
}


# Plausible values for the demo's value steps, by step code.
DEMO_VALUES = {
    "pre_indication": "0",
    "pre_psych_screen": "6",
    "pre_nutrition_anemia": "27",
    "pre_opioid_review": "0",
    "intra_blood_loss": "150",
    "post_pain_managed": "3",
    "pre_hba1c": "6.1",
    "post_opioid_90d": "0",
}


def _sample_value(item: ChecklistItem) -> str | None:
    step = item.step
    if step.kind is not StepKind.VALUE:
        return None
    if (item.episode.patient.mrn, step.code) in DEMO_ANSWERS:
        return DEMO_ANSWERS[item.episode.patient.mrn, step.code]
    if step.code in DEMO_VALUES:
        return DEMO_VALUES[step.code]
    if step.alert_spec is not None and step.value_type is ValueType.YES_NO:
        return step.alert_spec.quiet_answer(step.value_type)  # the expected answer
    if step.value_type is ValueType.NUMBER:
        low, high = step.min_value or 0, step.max_value or 100
        return f"{round((low + high) / 2):g}"
    return SAMPLE_VALUES[step.value_type]


def _work(session: Session, users: dict, item: ChecklistItem, n: int, today: date) -> None:
    """Complete an item as its responsible role would (sessions items are left to therapy), on
    its due date, or for one in five a few days later, never after today."""
    if item.status is not ItemStatus.OPEN:
        return
    actor = users.get(item.role, users[Role.SURGEON])
    day = min(item.due_date + timedelta(days=3 if n % 5 == 0 else 0), today)
    with clock.at(datetime.combine(day, time(10), UTC)):
        if item.step.kind is StepKind.SESSIONS or (not item.required and item.step.kind is StepKind.VALUE):
            checklist.mark_not_applicable(
                session, actor, item, item.version, "Not indicated for this patient"
            )
        else:
            checklist.mark_done(session, actor, item, item.version, _sample_value(item))
        session.flush()


# Outcome scores (ODI, NRS back, NRS leg) by time point; Lindqvist is Not improving at 6 weeks.
DEMO_SCORES = {
    TimePoint.BASELINE: (44, 6, 7),
    TimePoint.WEEKS_6: (22, 3, 2),
    TimePoint.MONTHS_3: (16, 2, 1),
    TimePoint.MONTHS_6: (14, 2, 1),
    TimePoint.MONTHS_12: (12, 1, 1),
}
NOT_IMPROVING_SCORES = {"H204002": {TimePoint.BASELINE: (46, 6, 8), TimePoint.WEEKS_6: (42, 5, 7)}}


def _record_scores(session: Session, users: dict, episode, item: ChecklistItem, today: date) -> None:
    """Record the scores that complete an outcome item, on its due date (through the service)."""
    time_point = item.step.outcome_time_point
    odi, back, leg = NOT_IMPROVING_SCORES.get(episode.patient.mrn, {}).get(
        time_point, DEMO_SCORES[time_point]
    )
    actor = users.get(item.role, users[Role.COORDINATOR])
    taken_on = min(item.due_date, today)
    outcomes.record_scores(session, actor, episode, time_point, taken_on, odi, back, leg, today)
    session.flush()


def _stage(session: Session, users: dict, episode, today: date) -> None:
    """Bring a demo episode to a realistic point for its surgery date."""
    surgeon = users[Role.SURGEON]
    surgery = episode.surgery_date
    if surgery is None:
        return
    operated = surgery < today
    for n, item in enumerate(episode.items):
        if item.step.outcome_time_point is not None:
            # Baseline scores once due; follow-ups a few days after theirs.
            late = 0 if item.step.outcome_time_point is TimePoint.BASELINE else 4
            if item.due_date <= today - timedelta(days=late):
                _record_scores(session, users, episode, item, today)
        elif item.phase is Phase.AFTER:
            # Post-op items well past due are mostly done; a few are left open (flagged).
            if (episode.patient.mrn, item.step.code) in DEMO_ANSWERS and item.due_date <= today:
                _work(session, users, item, 1, today)
            elif (
                item.due_date < today - timedelta(days=3)
                and n % 3 != 0
                and item.step.kind is not StepKind.SESSIONS
            ):
                _work(session, users, item, n, today)
        elif operated or (item.phase is Phase.BEFORE and (surgery - today).days <= 7):
            _work(session, users, item, n, today)  # pre-op complete a week before surgery
        elif item.phase is Phase.BEFORE and item.due_date < today and n % 4 != 0:
            _work(session, users, item, n, today)
    if operated:
        for phase in (Phase.BEFORE, Phase.DURING):
            signoffs.sign(session, surgeon, episode, phase, DEMO_PASSWORD, max_failures=5, lock_minutes=15)
            session.flush()


# Therapy sessions by MRN: (days after surgery, discipline, attendance, pain before, pain after).
# Lindqvist is on plan; Okonkwo has missed his last two PT sessions (Therapy behind plan).
DEMO_SESSIONS = {
    "H204001": [
        (0, "PT", "attended", 7, 6),
        (1, "OT", "attended", 6, 5),
        (14, "PT", "attended", 6, 4),
        (16, "PT", "missed", None, None),
        (18, "PT", "missed", None, None),
    ],
    "H204002": [
        (0, "PT", "attended", 8, 7),
        (2, "OT", "attended", 7, 6),
        *[(d, "PT", "attended", max(1, 6 - i), max(0, 4 - i)) for i, d in enumerate(range(15, 48, 5))],
        (31, "PT", "cancelled_by_clinic", None, None),
    ],
    "H204006": [(0, "PT", "attended", 8, 6)],
}
DEMO_ACTIVITIES = {
    "PT": "Gait training, core stabilisation, walking programme reviewed",
    "OT": "ADLs practised; bend-lift-twist precautions; reacher and sock aid",
}


def _log_sessions(session: Session, therapist, episode, mrn: str, today: date) -> None:
    """Log the demo sessions of one episode, oldest first, through the therapy service."""
    for days, discipline, attendance, before, after in sorted(DEMO_SESSIONS.get(mrn, [])):
        therapy.log_session(
            session,
            therapist,
            episode,
            SessionInput(
                session_date=episode.surgery_date + timedelta(days=days),
                discipline=discipline,
                minutes=45 if attendance == "attended" else 30,
                attendance=attendance,
                pain_before=before,
                pain_after=after,
                activities=DEMO_ACTIVITIES[discipline] if attendance == "attended" else "",
                home_exercise_plan=attendance == "attended" and discipline == "PT",
                prehabilitation=False,
            ),
            today,
        )
        session.flush()


def seed(session: Session, today: date) -> None:
    """Create one user per role and a handful of patients at different stages."""
    users = {
        role: create_user(session, None, name, full, role, DEMO_PASSWORD) for name, full, role in DEMO_USERS
    }
    protocol = protocols.latest_version(session, protocols.DEFAULT_SLUG)
    if protocol is None:
        raise RuntimeError("Load the protocols first (flask load-protocols).")
    for mrn, family, given, dob, sex, procedure, levels, offset in DEMO_PATIENTS:
        surgery = today + timedelta(days=offset) if offset is not None else None
        episode = register_patient(
            session,
            users[Role.COORDINATOR],
            PatientDetails(mrn, family, given, dob, sex),
            EpisodeDetails(procedure, levels, users[Role.SURGEON].id, surgery, DEMO_PROCEDURE_TYPES[mrn]),
            protocol,
            today,
        )
        _stage(session, users, episode, today)
        _log_sessions(session, users[Role.THERAPIST], episode, mrn, today)


def logins_text() -> str:
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {name:<13} {role.label:<13} {full}" for name, full, role in DEMO_USERS]
    return "\n".join(lines)
