"""Demo users and patients, for trying Periop out (demo mode only).

A clinic of three surgeons and 42 patients spread over the whole pathway (app/services/
demo_patients.py says who and where). Everything is made through the services, each change at
the moment it would have happened (the app's clock set back), so the History pages, the audit
trail, the stored flags and the worklists read as they would in a real clinic.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app import clock
from app.db import site_of
from app.domain.requirement import is_waiting
from app.domain.therapy import SessionInput
from app.domain.vocab import ItemStatus, Phase, Procedure, Role, StepKind, TimePoint, ValueType
from app.models import ChecklistItem, Episode, User
from app.services import checklist, outcomes, protocols, requirements, signoffs, therapy
from app.services.demo_patients import DEMO_PATIENTS, DemoPatient, Scores, usual_sessions
from app.services.patients import EpisodeDetails, PatientDetails, register_patient
from app.services.users import create_user

# Demo mode only (production refuses seed-demo); printed by `make run`.
DEMO_PASSWORD = "Spine-demo-2026"  # noqa: S105

# (username, full name, role); the first user of a role works that role's items.
# Demo surgeons an admin has made clinical leads (they edit, publish and retire protocols).
DEMO_LEADS = ("surgeon",)
DEMO_USERS = [
    ("surgeon", "Dr Amara Okafor", Role.SURGEON),
    ("surgeon2", "Dr Rafael Mendes", Role.SURGEON),
    ("surgeon3", "Dr Helen Achterberg", Role.SURGEON),
    ("anaesthetist", "Dr Lars Nilsen", Role.ANAESTHETIST),
    ("nurse", "Grace Mwangi", Role.NURSE),
    ("therapist", "Tomás Herrera", Role.THERAPIST),
    ("coordinator", "Priya Raman", Role.COORDINATOR),
    ("admin", "Sam Admin", Role.ADMIN),
]

SAMPLE_VALUES = {
    ValueType.NUMBER: None,
    ValueType.YES_NO: "no",
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
    # Cervical (ACDF): neck disability and neck and arm pain, before and after; the cuff pressure.
    "pre_ndi": "40",
    "pre_nrs_neck": "5",
    "pre_nrs_arm": "7",
    "post_ndi_6w": "24",
    "post_nrs_neck_6w": "3",
    "post_nrs_arm_6w": "2",
    "post_ndi_3m": "18",
    "post_nrs_neck_3m": "2",
    "post_nrs_arm_3m": "1",
    "post_ndi_12m": "14",
    "post_nrs_neck_12m": "2",
    "post_nrs_arm_12m": "1",
    "intra_cuff_pressure": "20",
}

# Outcome scores (ODI, NRS back, NRS leg) by time point, for a patient without scores of their own.
DEMO_SCORES = {
    TimePoint.BASELINE: (44, 6, 7),
    TimePoint.WEEKS_6: (22, 3, 2),
    TimePoint.MONTHS_3: (16, 2, 1),
    TimePoint.MONTHS_6: (14, 2, 1),
    TimePoint.MONTHS_12: (12, 1, 1),
}

DEMO_ACTIVITIES = {
    "PT": "Gait training, core stabilisation, walking programme reviewed",
    "OT": "ADLs practised; bend-lift-twist precautions; reacher and sock aid",
}

REGISTERED_WEEKS_AHEAD = 8  # patients are registered about 8 weeks before surgery
UNSCHEDULED_REGISTERED_DAYS_AGO = 20
UNSCHEDULED_BASELINE_DAYS_AGO = 14


def scores_of(patient: DemoPatient, time_point: TimePoint) -> Scores:
    """The patient's scores at a time point: their own, else DEMO_SCORES scaled to their baseline."""
    if time_point in patient.scores:
        return patient.scores[time_point]
    if patient.baseline is None:
        return DEMO_SCORES[time_point]
    reference = DEMO_SCORES[TimePoint.BASELINE]
    return tuple(
        round(own * later / first)
        for own, later, first in zip(patient.baseline, DEMO_SCORES[time_point], reference, strict=True)
    )


class _Clinic:
    """Brings the demo patients to their point on the pathway, through the services."""

    def __init__(self, session: Session, users: dict[str, User], today: date):
        self.session = session
        self.users = users
        self.by_role: dict[Role, User] = {}
        for username, _full, role in DEMO_USERS:
            self.by_role.setdefault(role, users[username])
        self.today = today
        self.now = clock.now()
        self.zone = ZoneInfo(site_of(session).zone)
        default = protocols.latest_version(session, protocols.DEFAULT_SLUG)
        if default is None:
            raise RuntimeError("Load the protocols first (flask load-protocols).")
        # Each patient gets the protocol meant for their procedure type, as registration proposes
        # (the default one when none is meant for it).
        meant = protocols.protocols_for(session)
        self.protocols = {kind: meant.get(kind, default) for kind in Procedure}
        # The steps whose answer another step's `required_if` names (diabetes, anticoagulants).
        self.conditions = {
            spec.step
            for protocol in self.protocols.values()
            for s in protocol.steps
            if (spec := s.required_if_spec) is not None and spec.step
        }

    def at(self, day: date, hour: int = 10, minute: int = 0):
        """The clock at a local time of a day, never later than now."""
        moment = datetime.combine(day, time(hour, minute), self.zone).astimezone(UTC)
        return clock.at(min(moment, self.now))

    def actor(self, episode: Episode, role: Role) -> User:
        """Who works an item of a role: the episode's surgeon for a surgeon's item."""
        return episode.surgeon if role is Role.SURGEON else self.by_role[role]

    # --- one patient ---------------------------------------------------------------------------

    def admit(self, patient: DemoPatient, n: int) -> Episode:
        person, operation = patient.person, patient.operation
        surgery = None if operation.surgery is None else self.today + timedelta(days=operation.surgery)
        if surgery is None:
            registered = self.today - timedelta(days=UNSCHEDULED_REGISTERED_DAYS_AGO)
        else:
            registered = min(surgery - timedelta(weeks=REGISTERED_WEEKS_AHEAD), self.today)
        with self.at(registered, 9, n % 60):
            episode = register_patient(
                self.session,
                self.by_role[Role.COORDINATOR],
                PatientDetails(person.mrn, person.family, person.given, person.born, person.sex),
                EpisodeDetails(
                    operation.procedure,
                    operation.levels,
                    self.users[patient.surgeon].id,
                    surgery,
                    operation.kind,
                ),
                self.protocols[operation.kind],
                registered,
            )
            self.session.flush()
        # Followed here until today, or until the episode was closed.
        until = self.today
        if surgery is not None and patient.closed is not None:
            until = surgery + timedelta(days=patient.closed[0])
        visits = sorted(usual_sessions(patient, n)) if surgery is not None else []
        self.log_sessions(episode, [v for v in visits if v[0] < 0], until)  # prehabilitation
        self.stage(episode, patient, until)
        self.log_sessions(episode, [v for v in visits if v[0] >= 0], until)
        if patient.closed is not None:
            with self.at(until, 12):
                signoffs.close(
                    self.session, self.by_role[Role.COORDINATOR], episode, episode.version, patient.closed[1]
                )
                self.session.flush()
        return episode

    def stage(self, episode: Episode, patient: DemoPatient, until: date) -> None:
        """Work the items as the care team would have by `until`, then sign off what they would
        have signed."""
        surgery = episode.surgery_date
        if surgery is None:
            if "pre_baseline_prom" in patient.done:
                taken = self.today - timedelta(days=UNSCHEDULED_BASELINE_DAYS_AGO)
                self.record_scores(episode, patient, TimePoint.BASELINE, taken, until)
            return
        operated = surgery < until
        for n, item in enumerate(episode.items):
            step = item.step
            if step.code in patient.open or is_waiting(step.required_if, item.required, item.status):
                continue  # not done yet; or a conditional step nobody is asked for
            if step.outcome_time_point is not None:
                # Baseline scores once due; follow-ups a few days after theirs.
                late = 0 if step.outcome_time_point is TimePoint.BASELINE else 4
                if item.due_date <= until - timedelta(days=late):
                    self.record_scores(
                        episode, patient, step.outcome_time_point, min(item.due_date, until), until
                    )
            elif step.code in patient.done:
                self.work(episode, patient, item, n, until)
            elif item.phase is Phase.AFTER:
                # Sessions items are completed by the sessions logged after this.
                if operated and step.kind is not StepKind.SESSIONS and item.due_date < until:
                    self.work(episode, patient, item, n, until)
            elif operated or (
                item.phase is Phase.BEFORE and ((surgery - until).days <= 7 or item.due_date < until)
            ):
                self.work(episode, patient, item, n, until)  # pre-op complete a week before surgery
        if operated or patient.signed:
            self.sign(episode, Phase.BEFORE)
        if operated:
            self.sign(episode, Phase.DURING)

    def value(self, episode: Episode, patient: DemoPatient, item: ChecklistItem) -> str | None:
        step = item.step
        if step.kind is not StepKind.VALUE:
            return None
        if step.code in patient.answers:
            return patient.answers[step.code]
        if step.code in DEMO_VALUES:
            return DEMO_VALUES[step.code]
        if step.value_type is ValueType.TEXT:
            return episode.levels  # the confirmed level(s)
        if step.alert_spec is not None and step.value_type is ValueType.YES_NO:
            return step.alert_spec.quiet_answer(step.value_type)  # the expected answer
        if step.value_type is ValueType.NUMBER:
            low, high = step.min_value or 0, step.max_value or 100
            return f"{round((low + high) / 2):g}"
        return SAMPLE_VALUES[step.value_type]

    def work(self, episode: Episode, patient: DemoPatient, item: ChecklistItem, n: int, until: date) -> None:
        """Complete an item as its responsible role would, on its due date, or for one in five a
        few days later (never after surgery for an item before or during it, nor after `until`);
        acknowledge the alert its answer raised when the patient's row gives the plan; let a
        condition it answers take effect at once, as the next page would show it."""
        if item.status is not ItemStatus.OPEN:
            return
        step = item.step
        actor = self.actor(episode, item.role)
        day = min(item.due_date + timedelta(days=3 if n % 5 == 0 else 0), until)
        if item.phase is not Phase.AFTER:
            day = min(day, episode.surgery_date)
        with self.at(day, 10, n):
            if step.kind is StepKind.SESSIONS or (not item.required and step.kind is StepKind.VALUE):
                checklist.mark_not_applicable(
                    self.session, actor, item, item.version, "Not indicated for this patient"
                )
            else:
                checklist.mark_done(
                    self.session, actor, item, item.version, self.value(episode, patient, item)
                )
            self.session.flush()
            plan = patient.acknowledged.get(step.code)
            if plan is not None:
                roles = step.alert_spec.acknowledged_by
                by = self.actor(episode, item.role if item.role in roles else roles[0])
                checklist.acknowledge_alert(self.session, by, item, item.version, plan)
                self.session.flush()
            if step.code in self.conditions:
                requirements.apply(self.session, [episode.id])

    def record_scores(
        self, episode: Episode, patient: DemoPatient, time_point: TimePoint, taken_on: date, until: date
    ) -> None:
        """Record the scores of a time point on the day they were taken (they complete its item)."""
        item = next(i for i in episode.items if i.step.outcome_time_point is time_point)
        odi, back, leg = scores_of(patient, time_point)
        with self.at(taken_on, 11):
            outcomes.record_scores(
                self.session,
                self.actor(episode, item.role),
                episode,
                time_point,
                taken_on,
                odi,
                back,
                leg,
                until,
            )
            self.session.flush()

    def sign(self, episode: Episode, phase: Phase) -> None:
        """The surgeon signs the phase off an hour after its last item was worked."""
        worked = [i.completed_at for i in episode.items if i.phase is phase and i.completed_at is not None]
        moment = max(worked, default=self.now) + timedelta(hours=1)
        with clock.at(min(moment, self.now)):
            signoffs.sign(
                self.session, episode.surgeon, episode, phase, DEMO_PASSWORD, max_failures=5, lock_minutes=15
            )
            self.session.flush()

    def log_sessions(self, episode: Episode, visits: list, until: date) -> None:
        """Log therapy sessions, oldest first, each on its day (none after `until`)."""
        therapist = self.by_role[Role.THERAPIST]
        for days, discipline, attendance, before, after in visits:
            day = episode.surgery_date + timedelta(days=days)
            if day > until:
                break
            attended = attendance == "attended"
            with self.at(day, 15):
                therapy.log_session(
                    self.session,
                    therapist,
                    episode,
                    SessionInput(
                        session_date=day,
                        discipline=discipline,
                        minutes=45 if attended else 30,
                        attendance=attendance,
                        pain_before=before,
                        pain_after=after,
                        activities=DEMO_ACTIVITIES[discipline] if attended else "",
                        home_exercise_plan=attended and discipline == "PT",
                        prehabilitation=days < 0,
                    ),
                    until,
                )
                self.session.flush()


def seed(session: Session, today: date) -> None:
    """Create the demo users and the demo patients, each brought to their point on the pathway."""
    users = {
        name: create_user(session, None, name, full, role, DEMO_PASSWORD) for name, full, role in DEMO_USERS
    }
    for name in DEMO_LEADS:
        users[name].edits_protocols = True
    clinic = _Clinic(session, users, today)
    for n, patient in enumerate(DEMO_PATIENTS):
        clinic.admit(patient, n)


def logins_text() -> str:
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    lead = " (clinical lead: edits protocols)"
    lines += [
        f"  {name:<13} {role.label:<13} {full}{lead if name in DEMO_LEADS else ''}"
        for name, full, role in DEMO_USERS
    ]
    return "\n".join(lines)
