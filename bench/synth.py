"""Synthetic site: thousands of patients over two years, loaded in bulk into an empty database.

    python -m bench.synth --patients 5000 --database-url sqlite:///bench/results/site.db [--seed 1]

or `generate(url, patients=5000, seed=1)` from Python. The schema comes from the migrations,
the protocol from `load_all` and the users from `create_user`, each with two-step login set up
with a known TOTP secret (`totp_secret`; all through the app's own code);
patients, episodes, checklist items, sign-offs, therapy sessions, outcome scores and audit
events are then inserted with SQLAlchemy Core in batches, shaped like a real site:

- surgery dates over the past two years, some in the next two months, ~3 % not yet scheduled;
  episodes whose 12-month follow-up is over are mostly closed;
- items due in the past mostly done or not applicable, a share of them late; open episodes
  keep overdue items, most of them in the After-surgery phase (post-op completion is the
  weakest, as the clinical literature reports);
- Before / During sign-offs where those phases are complete, therapy sessions after surgery
  (and some prehabilitation), outcome scores at the time points already reached;
- one audit event per change, in time order, on a valid hash chain the app goes on extending.

Dates are relative to the day it runs (the site's TIMEZONE, UTC by default).
"""

import argparse
import base64
import hashlib
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app import audit, clock, db, migrate
from app.domain import second_factor as second_factor_rules
from app.domain import therapy as therapy_rules
from app.domain.schedule import overdue_from
from app.domain.signoff import MEANINGS, statement
from app.domain.signoff import content_digest as signoff_digest
from app.domain.site import PasswordCost
from app.domain.site import Site as SiteSettings
from app.domain.vocab import (
    Attendance,
    Discipline,
    EpisodeStatus,
    Instrument,
    ItemStatus,
    Phase,
    Role,
    StepKind,
    TimePoint,
    ValueType,
)
from app.models import AuditEvent, Base
from app.services import protocols, second_factor, stored_flags
from app.services.users import create_user
from config import Config

# The password of every bench user (a benchmark database only; never a real site).
BENCH_PASSWORD = "bench-spine-load-2026"  # noqa: S105
# Each bench user's TOTP secret is derived from this and the username (totp_secret).
BENCH_TOTP_SEED = "periop-bench-totp"
USER_COUNTS = {
    Role.SURGEON: 8,
    Role.ANAESTHETIST: 4,
    Role.NURSE: 10,
    Role.THERAPIST: 6,
    Role.COORDINATOR: 3,
    Role.ADMIN: 1,
}
# Marks a finished site: what it holds and when it was built (the runner reuses it).
SITE_TABLE = "bench_site"

BATCH = 5000  # rows per executemany
PATIENT_CHUNK = 1000  # patients generated and inserted per transaction
DAYS_OF_HISTORY = 730
DAYS_AHEAD = 60
UNSCHEDULED_SHARE = 0.03
FOLLOW_UP_OVER_DAYS = 395  # about 13 months after surgery
CLOSED_SHARE = 0.9

CLOSED = (ItemStatus.DONE, ItemStatus.NOT_APPLICABLE)


def _words(text: str) -> list[str]:
    return text.split()


GIVEN_NAMES = _words(
    "Amara Ben Chidi Claire Daniel Elena Farah George Hana Ivan Jana Kofi Lena Marco Nadia Omar "
    "Paula Quentin Rosa Samir Tara Umar Vera Wei Yara Zoltan Aisha Bruno Carmen Dmitri Eva Felix "
    "Greta Hugo Ines Jonas Kira Luca Maya Nils Olga Pedro Rania Stefan Tomas Ula Viktor Wanda"
)
FAMILY_NAMES = _words(
    "Okafor Nilsen Mwangi Herrera Raman Okonkwo Lindqvist Hassan Moreau Tanaka Byrne Schmidt Rossi "
    "Novak Kowalski Jensen Murphy Garcia Silva Costa Dubois Fischer Weber Meyer Horvat Popescu "
    "Ivanova Petrov Yilmaz Demir Khan Ali Chen Wang Liu Singh Patel Kumar Sato Suzuki Kim Park "
    "Nguyen Tran Mensah Boateng Adeyemi Abara Haddad Nasser Cohen Levi Andersen Berg Virtanen "
    "Korhonen OBrien Walsh Evans Price"
)
STAFF_GIVEN = _words("Alex Sam Jordan Robin Kim Noor Ari Jo Lee Max Rene Sasha Toni Val Yuki Zia")

# (procedure, levels, fusion, revision) and how often each is done.
PROCEDURES = [
    (("L4-L5 microdiscectomy", "L4-L5", False, False), 28),
    (("L5-S1 microdiscectomy", "L5-S1", False, False), 24),
    (("L3-L5 decompression", "L3-L5", False, False), 14),
    (("L4-L5 TLIF fusion", "L4-L5", True, False), 12),
    (("L5-S1 ALIF fusion", "L5-S1", True, False), 6),
    (("L2-L4 laminectomy", "L2-L4", False, False), 6),
    (("L4-L5 revision decompression", "L4-L5", False, True), 6),
    (("L4-S1 revision fusion", "L4-S1", True, True), 4),
]

# Optional steps: (probability done, probability not applicable, reason) when not done by records.
# Protocol version 2's steps required only when an earlier answer says so (`required_if`).
ANSWER_CONDITIONS = {"pre_hba1c": ("pre_diabetes", "yes"), "post_anticoag_restart": ("pre_anticoag", "yes")}

OPTIONAL = {
    "pre_hba1c": (0.15, 0.8, "Not diabetic"),
    "pre_home_readiness": (0.5, 0.4, "Lives with family; home already set up"),
    "pre_prehab": (0.0, 0.6, "No prehabilitation planned"),
    "intra_eras_anaesthesia": (0.7, 0.27, "Bundle not used for this case"),
    "intra_ionm": (0.25, 0.7, "Not indicated for this procedure"),
    "post_ot_adl": (0.0, 0.5, "No OT needs identified"),
    "post_idt_review": (0.15, 0.55, "Improving as expected; no review needed"),
}
# Required After-surgery ticks and values: how often they get done at all in an open episode.
AFTER_DONE = {
    "post_recovery_review": 0.94,
    "post_pain_managed": 0.9,
    "post_vte": 0.88,
    "post_discharge_instructions": 0.62,
    "post_wound_check": 0.75,
}
# Outcome time points recorded at all (open episodes; closed ones were chased up).
FOLLOW_UP_RECORDED = {TimePoint.WEEKS_6: 0.7, TimePoint.MONTHS_3: 0.6, TimePoint.MONTHS_6: 0.55}
FOLLOW_UP_RECORDED[TimePoint.MONTHS_12] = 0.5
# ODI and NRS at each follow-up as a share of baseline: most improve, some do not.
RESPONDER = {TimePoint.WEEKS_6: 0.62, TimePoint.MONTHS_3: 0.5, TimePoint.MONTHS_6: 0.45}
RESPONDER[TimePoint.MONTHS_12] = 0.42
NON_RESPONDER = {TimePoint.WEEKS_6: 0.95, TimePoint.MONTHS_3: 0.92, TimePoint.MONTHS_6: 0.95}
NON_RESPONDER[TimePoint.MONTHS_12] = 1.0
CLOSE_REASONS = (
    "Lost to follow-up",
    "Patient transferred to another centre",
    "Patient declined further follow-up",
)
ACTIVITIES = {
    Discipline.PT: "Gait training, core stabilisation, walking programme reviewed",
    Discipline.OT: "ADLs practised; bend-lift-twist precautions; reacher and sock aid",
}
TABLES = (
    "patient",
    "episode",
    "checklist_item",
    "signoff",
    "therapy_session",
    "outcome_score",
    "audit_event",
)


@dataclass(frozen=True)
class _Step:
    id: int
    code: str
    short: str
    phase: Phase
    position: int
    required: bool
    role: Role
    offset: int
    kind: StepKind
    value_type: ValueType | None
    discipline: Discipline | None
    count: int
    from_days: int | None
    time_point: TimePoint | None
    grace: int = 0


@dataclass
class _Episode:
    id: int
    patient_id: int
    mrn: str
    name: str
    procedure: str
    levels: str
    fusion: bool
    prior_surgeries: int
    surgeon_id: int
    surgery: date | None
    reg_day: date
    operated: bool
    close_day: date | None
    limit: date  # nothing on this episode happens after this day
    smoker: bool
    responder: bool
    items: list = field(default_factory=list)
    sessions: list = field(default_factory=list)


class _Site:
    """Generates rows chunk by chunk; keeps only the audit events until the end."""

    def __init__(self, rng: random.Random, today: date, now: datetime, zone: ZoneInfo, steps, users):
        self.rng = rng
        self.today = today
        self.now = now
        self.zone = zone
        self.steps: list[_Step] = steps
        self.users = users  # role -> list of (id, full_name)
        self.names = {uid: name for group in users.values() for uid, name in group}
        self.ids = dict.fromkeys(TABLES, 0)
        self.events: list[tuple] = []
        self._summaries: dict = {}
        self._states: dict = {}
        self.rows: dict[str, list[dict]] = {}
        self.new_chunk()
        self.procedures = [p for p, _ in PROCEDURES]
        self.procedure_weights = [w for _, w in PROCEDURES]
        surgeons = users[Role.SURGEON]
        self.surgeon_weights = [len(surgeons) - i / 2 for i in range(len(surgeons))]

    # --- helpers -----------------------------------------------------------------------------

    def new_chunk(self) -> None:
        self.rows = {name: [] for name in TABLES if name != "audit_event"}

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def moment(self, day: date, lo: float = 8.0, hi: float = 18.0) -> datetime:
        """A time on the local day, between the hours lo and hi, never after now (aware UTC)."""
        start = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        at = start + timedelta(seconds=self.rng.uniform(lo * 3600, hi * 3600))
        if at >= self.now:
            at = start + (self.now - start) * self.rng.uniform(0.5, 0.99)
        return at.astimezone(UTC)

    def local_day(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def when(self, due: date, floor: date) -> date:
        """The day an item gets done: mostly on or before its due date, a share late."""
        rng = self.rng
        if rng.random() < 0.72:
            day = due - timedelta(days=rng.randint(0, 5))
        else:
            day = due + timedelta(days=1 + min(150, int(rng.expovariate(1 / 9))))
        return max(day, floor)

    def actor(self, role: Role, ep: _Episode) -> int:
        if role is Role.SURGEON and self.rng.random() < 0.85:
            return ep.surgeon_id
        return self.rng.choice(self.users[role])[0]

    def event(self, at, actor_id, action, target_type, target_id, ep, summary, before, after, reason=None):
        """Keep an audit event for the chain (written, in time order, at the end)."""
        episode_id = None if target_type == "patient" else ep.id  # as the app: patient events name none
        self.events.append(
            (
                at,
                actor_id,
                action,
                target_type,
                target_id,
                ep.patient_id,
                episode_id,
                summary,
                before,
                after,
                reason,
            )
        )

    def state(self, status: ItemStatus, value: str | None, reason: str | None) -> dict:
        key = (status, value, reason)
        found = self._states.get(key)
        if found is None:
            found = self._states[key] = {"status": status.value, "value": value, "reason": reason}
        return found

    def summary(self, action: str, step: _Step, because: str = "") -> str:
        key = (action, step.id, because)
        found = self._summaries.get(key)
        if found is None:
            verb = {
                "item.done": "Marked done",
                "item.not_applicable": "Marked not applicable",
                "item.satisfied": f"Completed by {because}",
            }[action]
            found = self._summaries[key] = f"{verb}: {step.short}"[:300]
        return found

    # --- one patient ---------------------------------------------------------------------------

    def patient(self, number: int, protocol_version_id: int) -> None:
        rng, today = self.rng, self.today
        pid, eid = self.next_id("patient"), self.next_id("episode")
        surgery = None
        if rng.random() >= UNSCHEDULED_SHARE:
            surgery = today + timedelta(days=rng.randint(-DAYS_OF_HISTORY, DAYS_AHEAD))
            if surgery.weekday() == 5:
                surgery -= timedelta(days=1)  # no operating lists at the weekend
            elif surgery.weekday() == 6:
                surgery += timedelta(days=1)
        if surgery is None:
            reg_day = today - timedelta(days=rng.randint(0, 60))
        else:
            reg_day = min(today, surgery - timedelta(days=rng.randint(21, 100)))
        operated = surgery is not None and surgery < today
        close_day = None
        if operated and (today - surgery).days >= FOLLOW_UP_OVER_DAYS and rng.random() < CLOSED_SHARE:
            close_day = min(surgery + timedelta(days=365 + rng.randint(3, 60)), today - timedelta(days=1))
        (procedure, levels, fusion, revision) = rng.choices(self.procedures, self.procedure_weights)[0]
        family, given = rng.choice(FAMILY_NAMES), rng.choice(GIVEN_NAMES)
        mrn = f"BN{number:07d}"
        age_days = rng.randint(24 * 365, 86 * 365)
        dob = (surgery or today) - timedelta(days=age_days)
        sex = rng.choices(("female", "male", "other", "unknown"), (49, 49, 1, 1))[0]
        surgeon_id = rng.choices(self.users[Role.SURGEON], self.surgeon_weights)[0][0]
        ep = _Episode(
            id=eid,
            patient_id=pid,
            mrn=mrn,
            name=f"{given} {family}",
            procedure=procedure,
            levels=levels,
            fusion=fusion,
            prior_surgeries=(1 + int(rng.random() < 0.25)) if revision else int(rng.random() < 0.05),
            surgeon_id=surgeon_id,
            surgery=surgery,
            reg_day=reg_day,
            operated=operated,
            close_day=close_day,
            limit=close_day or today,
            smoker=rng.random() < 0.18,
            responder=rng.random() < 0.8,
        )
        created = self.moment(reg_day)
        registrar = self.actor(Role.COORDINATOR if rng.random() < 0.8 else Role.SURGEON, ep)
        patient_values = {
            "mrn": mrn,
            "family_name": family,
            "given_name": given,
            "date_of_birth": dob.isoformat(),
            "sex": sex,
        }
        self.rows["patient"].append(
            {
                "id": pid,
                "mrn": mrn,
                "family_name": family,
                "given_name": given,
                "date_of_birth": dob,
                "sex": sex,
                "created_at": created,
                "version": 1,
            }
        )
        self.event(
            created,
            registrar,
            "patient.create",
            "patient",
            pid,
            ep,
            f"Registered patient {mrn}",
            None,
            patient_values,
        )
        self.event(
            created + timedelta(microseconds=137),
            registrar,
            "episode.create",
            "episode",
            eid,
            ep,
            f"Opened episode: {procedure} ({len(self.steps)} checklist items)",
            None,
            {
                "procedure": procedure,
                "levels": levels,
                "surgeon_id": surgeon_id,
                "surgery_date": surgery.isoformat() if surgery else None,
                "protocol_version_id": protocol_version_id,
            },
        )
        for step in self.steps:
            due = surgery + timedelta(days=step.offset) if surgery else None
            ep.items.append(
                SimpleNamespace(
                    id=self.next_id("checklist_item"),
                    step=step,
                    phase=step.phase,
                    required=step.required,
                    due=due,
                    status=ItemStatus.OPEN,
                    value=None,
                    reason=None,
                    version=1,
                    by=None,
                    at=None,
                )
            )
        self.sessions(ep)
        self.outcomes(ep)
        for item in ep.items:
            if item.step.kind is StepKind.SESSIONS:
                self.sessions_item(ep, item)
            elif item.step.time_point is None:
                self.plain_item(ep, item)
        self.signoffs(ep)
        status = EpisodeStatus.OPERATED if operated else EpisodeStatus.SCHEDULED
        closed_at = closed_by = close_reason = None
        if close_day is not None:
            status = EpisodeStatus.CLOSED
            closed_at, closed_by, close_reason = self.close(ep)
        self.rows["episode"].append(
            {
                "id": eid,
                "patient_id": pid,
                "procedure": procedure,
                "levels": levels,
                "surgeon_id": surgeon_id,
                "surgery_date": surgery,
                "protocol_version_id": protocol_version_id,
                "status": status.value,
                "created_at": created,
                "closed_at": closed_at,
                "closed_by_id": closed_by,
                "close_reason": close_reason,
                "version": 2 if closed_at else 1,
            }
        )
        for item in ep.items:
            step = item.step
            self.rows["checklist_item"].append(
                {
                    "id": item.id,
                    "episode_id": eid,
                    "step_id": step.id,
                    "phase": step.phase.value,
                    "position": step.position,
                    "required": step.required,
                    "role": step.role.value,
                    "due_date": item.due,
                    "overdue_from": overdue_from(item.due, step.grace),
                    # the plan of a sessions item (the synthetic site's episodes are of type Other)
                    "session_count": step.count if step.kind is StepKind.SESSIONS else None,
                    "sessions_from_days": step.from_days if step.kind is StepKind.SESSIONS else None,
                    "status": item.status.value,
                    "value": item.value,
                    "reason": item.reason,
                    "completed_by_id": item.by,
                    "completed_at": item.at,
                    "completed_on": self.local_day(item.at) if item.at else None,
                    "updated_by_id": item.by,
                    "updated_at": item.at,
                    "version": item.version,
                }
            )

    # --- items ---------------------------------------------------------------------------------

    def complete(self, ep, item, at: datetime, by: int, action: str, value=None, reason=None, because=""):
        status = ItemStatus.NOT_APPLICABLE if action == "item.not_applicable" else ItemStatus.DONE
        item.status, item.value, item.reason = status, value, reason
        item.version, item.by, item.at = 2, by, at
        self.event(
            at,
            by,
            action,
            "checklist_item",
            item.id,
            ep,
            self.summary(action, item.step, because),
            self.state(ItemStatus.OPEN, None, None),
            self.state(status, value, reason),
            reason,
        )

    def plain_item(self, ep: _Episode, item) -> None:
        """A tick or a value step: done (with its value), not applicable, or left open. A step
        required only when an earlier answer says so (protocol version 2) is worked as a required
        one when it does, and left open (not required now) when it does not."""
        rng, step, due = self.rng, item.step, item.due
        optional = OPTIONAL.get(step.code) if not step.required else None
        condition = ANSWER_CONDITIONS.get(step.code)
        if condition is not None:
            named = next((i for i in ep.items if i.step.code == condition[0]), None)
            if named is None or named.status is not ItemStatus.DONE or named.value != condition[1]:
                return
            optional = None
        if due is None:  # surgery not scheduled: some pre-op work already done
            if step.phase is Phase.BEFORE and rng.random() < 0.25:
                day = ep.reg_day + timedelta(days=rng.randint(0, max(0, (self.today - ep.reg_day).days)))
                self._finish(ep, item, self.moment(day), optional)
            return
        if step.phase is Phase.DURING:
            if not ep.operated:
                return
            if optional is None and rng.random() >= 0.985:
                return
            self._finish(ep, item, self.moment(ep.surgery, 8.0, 12.2), optional)
            return
        if step.phase is Phase.BEFORE:
            p = 0.995 if ep.operated else 0.93
            if optional is None and rng.random() >= p:
                return
            day = self.when(due, ep.reg_day)
            if ep.operated:
                if step.offset >= 0:  # site marking: the morning of surgery
                    self._finish(ep, item, self.moment(ep.surgery, 6.0, 7.2), optional)
                    return
                day = min(day, ep.surgery - timedelta(days=1))
            if day > ep.limit:
                return
            self._finish(ep, item, self.moment(day), optional)
            return
        # After surgery.
        if not ep.operated:
            return
        p = AFTER_DONE.get(step.code, 0.6)
        if ep.close_day is not None:
            p = max(p, 0.96)
        if optional is None and rng.random() >= p:
            return
        day = self.when(due, ep.surgery)
        if day > ep.limit:
            return
        lo = 13.0 if day == ep.surgery else 8.0
        self._finish(ep, item, self.moment(day, lo, 20.0 if lo > 8 else 18.0), optional)

    def _finish(self, ep, item, at: datetime, optional) -> None:
        step = item.step
        by = self.actor(step.role, ep)
        if optional is not None:
            p_done, p_na, reason = optional
            roll = self.rng.random()
            if roll < p_done:
                self.complete(ep, item, at, by, "item.done", self.value(ep, step))
            elif roll < p_done + p_na:
                self.complete(ep, item, at, by, "item.not_applicable", reason=reason)
            return
        self.complete(ep, item, at, by, "item.done", self.value(ep, step))

    def value(self, ep: _Episode, step: _Step) -> str | None:
        """A plausible value for a value step (None for a tick)."""
        if step.kind is not StepKind.VALUE:
            return None
        rng = self.rng
        match step.code:
            case "pre_dx_correlation":
                return ep.levels
            case "pre_indication":
                return str(ep.prior_surgeries)
            case "pre_psych_screen":
                return str(min(27, max(0, round(rng.gauss(6, 4)))))
            case "pre_smoking":
                return "yes" if ep.smoker else "no"
            case "pre_hba1c":
                return f"{round(rng.uniform(5.8, 8.6), 1):g}"
            case "pre_nutrition_anemia":
                return f"{round(min(55.0, max(16.0, rng.gauss(28.5, 5))), 1):g}"
            case "pre_opioid_review":
                return "0" if rng.random() < 0.6 else str(rng.choice((10, 20, 30, 45, 60)))
            case "intra_antibiotic":
                return f"{rng.randint(7, 9):02d}:{rng.randrange(0, 60, 5):02d}"
            case "intra_level_xray":
                return "yes"
            case "intra_ionm":
                return "yes" if ep.fusion else "no"
            case "intra_blood_loss":
                return str(10 * round(rng.uniform(20, 90) if ep.fusion else rng.uniform(3, 30)))
            case "post_pain_managed":
                return str(rng.randint(2, 6))
            case "pre_comp_litigation":
                return "yes" if rng.random() < 0.08 else "no"
            case "intra_dura_check" | "post_wound_check":
                return "yes" if rng.random() < 0.05 else "no"
            case "post_recovery_review":
                return "yes" if rng.random() < 0.06 else "no"
            # Protocol version 2's new steps, at plausible rates (their alerts and flags rare).
            case "pre_diabetes":
                return "yes" if rng.random() < 0.15 else "no"
            case "pre_anticoag":
                return "yes" if rng.random() < 0.12 else "no"
            case "post_neuro_obs":
                return "yes" if rng.random() < 0.02 else "no"
            case "post_voiding":
                return "no" if rng.random() < 0.03 else "yes"
            case "post_opioid_90d":
                return "0" if rng.random() < 0.8 else str(rng.choice((10, 20, 30)))
        fallback = {
            ValueType.NUMBER: "1",
            ValueType.YES_NO: "no",
            ValueType.TEXT: "ok",
            ValueType.TIME: "08:00",
        }
        return fallback[step.value_type]

    # --- therapy ---------------------------------------------------------------------------------

    def sessions(self, ep: _Episode) -> None:
        """Prehabilitation for some, then mobilisation, OT and an outpatient PT course."""
        rng, surgery = self.rng, ep.surgery
        if surgery is None:
            return
        planned: list[tuple[date, Discipline, Attendance, bool]] = []
        first, last = max(ep.reg_day, surgery - timedelta(days=90)), surgery - timedelta(days=15)
        if rng.random() < 0.2 and first <= last:
            day = first + timedelta(days=rng.randint(0, (last - first).days))
            planned.append((day, Discipline.PT, Attendance.ATTENDED, True))
        if ep.operated:
            if rng.random() < 0.9:
                planned.append(
                    (surgery + timedelta(days=rng.randint(0, 1)), Discipline.PT, Attendance.ATTENDED, False)
                )
            if rng.random() < 0.55:
                planned.append(
                    (surgery + timedelta(days=rng.randint(1, 2)), Discipline.OT, Attendance.ATTENDED, False)
                )
            if rng.random() < 0.78:
                day = surgery + timedelta(days=rng.randint(18, 45) + (30 if ep.fusion else 0))
                count = rng.randint(8, 12)
                if rng.random() < 0.2:
                    count = rng.randint(2, count - 1)  # dropped out
                for _ in range(count):
                    attendance = rng.choices(tuple(Attendance), (86, 9, 3, 2))[0]
                    planned.append((day, Discipline.PT, attendance, False))
                    day += timedelta(days=rng.randint(3, 8))
        for day, discipline, attendance, prehab in sorted(planned, key=itemgetter(0)):
            if day > ep.limit:
                continue
            sid = self.next_id("therapy_session")
            therapist = rng.choice(self.users[Role.THERAPIST])[0]
            attended = attendance is Attendance.ATTENDED
            pain_before = rng.randint(2, 8) if attended else None
            pain_after = max(0, pain_before - rng.randint(0, 2)) if attended else None
            created = self.moment(day, 9.0, 17.0)
            row = {
                "id": sid,
                "episode_id": ep.id,
                "therapist_id": therapist,
                "session_date": day,
                "discipline": discipline.value,
                "minutes": rng.choice((30, 45, 45, 60)) if attended else 30,
                "attendance": attendance.value,
                "pain_before": pain_before,
                "pain_after": pain_after,
                "activities": ACTIVITIES[discipline] if attended else "",
                "home_exercise_plan": attended and discipline is Discipline.PT,
                "prehabilitation": prehab,
                "created_at": created,
                "updated_at": None,
                "version": 1,
            }
            self.rows["therapy_session"].append(row)
            ep.sessions.append(
                SimpleNamespace(
                    id=sid,
                    session_date=day,
                    discipline=discipline,
                    attendance=attendance,
                    prehabilitation=prehab,
                    created_at=created,
                    therapist_id=therapist,
                )
            )
            after = {k: row[k] for k in ("minutes", "pain_before", "pain_after", "activities")}
            after.update(
                session_date=day.isoformat(),
                discipline=discipline.value,
                attendance=attendance.value,
                home_exercise_plan=row["home_exercise_plan"],
                prehabilitation=prehab,
            )
            self.event(
                created,
                therapist,
                "session.logged",
                "therapy_session",
                sid,
                ep,
                f"Logged a {discipline.value} session on {day.isoformat()} ({attendance.label.lower()})",
                None,
                after,
            )

    def sessions_item(self, ep: _Episode, item) -> None:
        """Done by the session that reaches the plan's count; else not applicable or open."""
        step = item.step
        plan = therapy_rules.SessionsPlan(
            phase=step.phase,
            discipline=step.discipline,
            count=step.count,
            from_days=step.from_days,
            due_date=item.due,
            required=step.required,
        )
        attended = 0
        for s in ep.sessions:  # in the order they were logged
            attended += therapy_rules.counts_for(plan, s, ep.surgery)
            if plan.count and attended >= plan.count:
                label = therapy_rules.sessions_label(plan.count, plan.discipline, attended)
                because = f"{attended} attended {plan.discipline.value} session{'s' if attended != 1 else ''}"
                at = s.created_at + timedelta(milliseconds=3)
                self.complete(ep, item, at, s.therapist_id, "item.satisfied", label, because=because)
                return
        optional = OPTIONAL.get(step.code)
        if optional is None or step.required or item.due is None or not ep.operated:
            return
        if self.rng.random() < optional[1]:
            day = min(item.due, ep.surgery - timedelta(days=1)) if step.phase is Phase.BEFORE else item.due
            day = max(day, ep.reg_day)
            if day <= ep.limit:
                by = self.actor(Role.THERAPIST, ep)
                self.complete(ep, item, self.moment(day), by, "item.not_applicable", reason=optional[2])

    # --- outcomes --------------------------------------------------------------------------------

    def outcomes(self, ep: _Episode) -> None:
        """ODI and NRS at the time points reached; each recording completes its item."""
        rng, surgery = self.rng, ep.surgery
        if surgery is None:
            return
        baseline = {
            Instrument.ODI: min(88, max(12, round(rng.gauss(46, 13)))),
            Instrument.NRS_BACK: min(10, max(2, round(rng.gauss(6.3, 1.5)))),
            Instrument.NRS_LEG: min(10, max(2, round(rng.gauss(7, 1.5)))),
        }
        for item in ep.items:
            tp = item.step.time_point
            if tp is None:
                continue
            if tp is TimePoint.BASELINE:
                if rng.random() >= (0.97 if ep.operated else 0.85):
                    continue
                day = min(self.when(item.due, ep.reg_day), surgery - timedelta(days=1))
                day = max(day, ep.reg_day)
                values = baseline
            else:
                if not ep.operated:
                    continue
                if rng.random() >= (0.95 if ep.close_day else FOLLOW_UP_RECORDED[tp]):
                    continue
                day = self.when(item.due, surgery + timedelta(days=1))
                share = (RESPONDER if ep.responder else NON_RESPONDER)[tp]
                values = {
                    i: min(i.maximum, max(0, round(v * share * rng.gauss(1, 0.12))))
                    for i, v in baseline.items()
                }
            if day > ep.limit or day > self.today:
                continue
            by = self.actor(
                rng.choice((Role.COORDINATOR, Role.COORDINATOR, Role.THERAPIST, Role.SURGEON)), ep
            )
            at = self.moment(day)
            ids = {}
            for instrument in Instrument:
                ids[instrument] = self.next_id("outcome_score")
                self.rows["outcome_score"].append(
                    {
                        "id": ids[instrument],
                        "episode_id": ep.id,
                        "time_point": tp.value,
                        "instrument": instrument.value,
                        "value": values[instrument],
                        "taken_on": day,
                        "recorded_by_id": by,
                        "recorded_at": at,
                        "version": 1,
                    }
                )
            after = {i.value: values[i] for i in Instrument}
            after["taken_on"] = day.isoformat()
            self.event(
                at,
                by,
                "outcome.record",
                "outcome_score",
                ids[Instrument.ODI],
                ep,
                f"Recorded {tp.label.lower()} outcome scores: "
                + ", ".join(f"{i.label} {values[i]}" for i in Instrument),
                None,
                after,
            )
            because = f"the {tp.label.lower()} outcome scores"
            value = str(values[Instrument.ODI])
            self.complete(
                ep, item, at + timedelta(milliseconds=2), by, "item.satisfied", value, because=because
            )

    # --- sign-offs and closing ------------------------------------------------------------------

    def signoffs(self, ep: _Episode) -> set[Phase]:
        """Sign Before (and During) on the day of surgery when complete."""
        signed: set[Phase] = set()
        if not ep.operated:
            return signed
        rng = self.rng
        patient_name, mrn = ep.name, ep.mrn
        for phase, p, window in ((Phase.BEFORE, 0.97, (7.3, 7.9)), (Phase.DURING, 0.92, (12.5, 15.0))):
            if phase is Phase.DURING and Phase.BEFORE not in signed:
                break
            items = [i for i in ep.items if i.phase is phase]
            if any(i.required and i.status not in CLOSED for i in items) or rng.random() >= p:
                break
            at = self.moment(ep.surgery, *window)
            latest = max((i.at for i in items if i.at is not None), default=at)
            at = max(at, latest + timedelta(minutes=5))
            digest = signoff_digest(ep.id, ep.patient_id, phase, items)
            words = statement(phase, patient_name, mrn, ep.procedure)
            signer = ep.surgeon_id
            self.rows["signoff"].append(
                {
                    "id": self.next_id("signoff"),
                    "episode_id": ep.id,
                    "phase": phase.value,
                    "signer_id": signer,
                    "signer_name": self.names[signer],
                    "signer_role": Role.SURGEON.value,
                    "meaning": MEANINGS[phase],
                    "statement": words,
                    "content_sha256": digest,
                    "signed_at": at,
                    "revoked_at": None,
                    "revoked_by_id": None,
                    "revoke_reason": None,
                }
            )
            self.event(
                at,
                signer,
                "signoff.sign",
                "episode",
                ep.id,
                ep,
                f"Signed off {phase.label}: {MEANINGS[phase]}",
                None,
                {"phase": phase.value, "statement": words, "sha256": digest},
            )
            signed.add(phase)
        return signed

    def close(self, ep: _Episode) -> tuple[datetime, int, str | None]:
        rng = self.rng
        open_required = [
            i for i in ep.items if i.phase is Phase.AFTER and i.required and i.status is ItemStatus.OPEN
        ]
        reason = rng.choice(CLOSE_REASONS) if open_required else None
        by = self.actor(Role.COORDINATOR, ep) if rng.random() < 0.7 else ep.surgeon_id
        at = self.moment(ep.close_day)
        latest = max((i.at for i in ep.items if i.at is not None), default=at)
        latest = max([latest, *(s.created_at for s in ep.sessions)])
        at = min(max(at, latest + timedelta(minutes=1)), self.now - timedelta(seconds=1))
        before, after = {"status": "operated"}, {"status": "closed"}
        self.event(at, by, "episode.close", "episode", ep.id, ep, "Closed the episode", before, after, reason)
        return at, by, reason


# --- database ------------------------------------------------------------------------------------


def _insert(conn, name: str, rows: list[dict]) -> None:
    table = Base.metadata.tables[name]
    for start in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[start : start + BATCH])


def _chain(site: _Site, last_id: int, prev: str):
    """The audit rows in time order, numbered and hash-chained after the existing events."""
    site.events.sort(key=itemgetter(0))  # stable: same-moment events keep their order
    names = site.names
    ident = last_id
    for at, actor_id, action, ttype, tid, pid, eid, summary, before, after, reason in site.events:
        ident += 1
        event = SimpleNamespace(
            at=at,
            actor_id=actor_id,
            actor_name=names[actor_id],
            action=action,
            target_type=ttype,
            target_id=tid,
            patient_id=pid,
            episode_id=eid,
            summary=summary,
            before=before,
            after=after,
            reason=reason,
            prev_hash=prev,
        )
        prev = audit._digest(event)
        row = vars(event)
        row["id"] = ident
        row["row_hash"] = prev
        yield row


def totp_secret(username: str) -> str:
    """The bench user's TOTP secret (base32, 160 bits), as their authenticator app would hold it."""
    digest = hashlib.sha256(f"{BENCH_TOTP_SEED}:{username}".encode()).digest()[:20]
    return base64.b32encode(digest).decode()


def _setup(engine: Engine, today: date, settings: SiteSettings):
    """Schema, protocol and users, through the app's own code, dated when the site started."""
    migrate.upgrade(engine)
    with Session(engine) as s:
        if s.scalar(text("SELECT count(*) FROM patient")):
            raise RuntimeError(
                f"{engine.url.render_as_string()} already has patients: give an empty database."
            )
    sessions = db.make_session_factory(engine, settings)
    zone = ZoneInfo(settings.zone)
    started = datetime(today.year, today.month, today.day, 9, tzinfo=zone) - timedelta(
        days=DAYS_OF_HISTORY + 110
    )
    previous = clock._frozen  # a test may have frozen the clock; keep its setting
    clock.set_now(started.astimezone(UTC))
    try:
        with db.write_unit(), sessions() as s:
            protocols.load_all(s)
            users: dict[Role, list[tuple[int, str]]] = {}
            staff = iter(range(10_000))
            for role, count in USER_COUNTS.items():
                for n in range(1, count + 1):
                    given = STAFF_GIVEN[next(staff) % len(STAFF_GIVEN)]
                    family = FAMILY_NAMES[(n * 7 + len(role.value)) % len(FAMILY_NAMES)]
                    title = "Dr " if role in (Role.SURGEON, Role.ANAESTHETIST) else ""
                    user = create_user(
                        s, None, f"{role.value}{n}", f"{title}{given} {family}", role, BENCH_PASSWORD
                    )
                    secret = totp_secret(user.username)
                    first = second_factor_rules.code_at(secret, clock.now())  # what the app shows
                    second_factor.enrol(s, user, secret, first, BENCH_PASSWORD, None, 10, 15)
                    users.setdefault(role, []).append((user.id, user.full_name))
            version = protocols.latest_version(s, protocols.DEFAULT_SLUG)
            steps = [
                _Step(
                    id=st.id,
                    code=st.code,
                    short=st.title if len(st.title) <= 60 else st.title[:57] + "…",
                    phase=st.phase,
                    position=st.position,
                    required=st.required,
                    role=st.role,
                    offset=st.due_offset_days,
                    kind=st.kind,
                    value_type=st.value_type,
                    discipline=st.discipline,
                    count=st.session_count or 0,
                    from_days=st.sessions_from_days,
                    time_point=st.outcome_time_point,
                    grace=st.grace_days,
                )
                for st in version.steps
            ]
            version_id = version.id
            s.commit()
    finally:
        clock.set_now(previous)
    return users, steps, version_id


def site_counts(engine: Engine, today: date) -> dict:
    with engine.connect() as conn:
        counts = {}
        for name in ("user_account", *TABLES):
            counts[name] = conn.scalar(text(f"SELECT count(*) FROM {name}"))  # noqa: S608
        open_overdue = (
            "FROM checklist_item i JOIN episode e ON e.id = i.episode_id "
            "WHERE i.status = 'open' AND i.overdue_from <= :today AND e.status != 'closed'"
        )
        counts["overdue_items"] = conn.scalar(text(f"SELECT count(*) {open_overdue}"), {"today": today})  # noqa: S608
        counts["overdue_after_surgery"] = conn.scalar(
            text(f"SELECT count(*) {open_overdue} AND i.phase = 'after'"),  # noqa: S608
            {"today": today},
        )
        counts["open_items_open_episodes"] = conn.scalar(
            text(
                "SELECT count(*) FROM checklist_item i JOIN episode e ON e.id = i.episode_id "
                "WHERE i.status = 'open' AND e.status != 'closed'"
            )
        )
        counts["outstanding_items"] = conn.scalar(
            text("SELECT count(*) FROM checklist_item WHERE outstanding")
        )
        counts["flagged_episodes"] = conn.scalar(
            text("SELECT count(*) FROM episode_flag_date WHERE flagged_from <= :today"), {"today": today}
        )
        counts["episodes_by_status"] = dict(
            conn.execute(text("SELECT status, count(*) FROM episode GROUP BY status")).all()
        )
    return counts


def mark_complete(engine: Engine, values: dict[str, str]) -> None:
    """Record that the site is complete, with what it holds (read back by `site_info`)."""
    with db.write_unit(), engine.begin() as conn:
        conn.execute(
            text(f"CREATE TABLE IF NOT EXISTS {SITE_TABLE} (key VARCHAR(40) PRIMARY KEY, value TEXT)")
        )
        conn.execute(text(f"DELETE FROM {SITE_TABLE}"))  # noqa: S608
        conn.execute(
            text(f"INSERT INTO {SITE_TABLE} (key, value) VALUES (:k, :v)"),  # noqa: S608
            [{"k": k, "v": str(v)} for k, v in values.items()],
        )


def fingerprint() -> str:
    """A digest of what shapes a site: the migrations, the protocol files and this generator.

    The runner reuses a site only when it matches, so a changed schema means a new site.
    """
    digest = hashlib.sha256()
    paths = [
        *sorted((migrate.ROOT / "migrations" / "versions").glob("*.py")),
        *sorted(protocols.PROTOCOL_DIR.glob("*.yaml")),
        Path(__file__),
    ]
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def site_info(engine: Engine) -> dict[str, str] | None:
    """What a finished site holds, or None when the database holds no finished site."""
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text(f"SELECT key, value FROM {SITE_TABLE}")).all())  # noqa: S608
    except Exception:  # noqa: BLE001 - no such table: not a finished site
        return None


def generate(
    database_url: str,
    patients: int = 5000,
    seed: int = 1,
    *,
    password_cost: tuple[int, int, int] | None = None,
    log=print,
) -> dict:
    """Build a synthetic site of `patients` patients in an empty database; return the counts."""
    started = time.perf_counter()
    shape = fingerprint()  # before migrating: files changed during the build make it stale
    zone_name = os.environ.get("TIMEZONE") or "UTC"
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(database_url, checkpoint_every=1)
    try:
        today = clock.today(zone_name)
        cost = PasswordCost(
            *(
                password_cost
                or (Config.ARGON2_TIME_COST, Config.ARGON2_MEMORY_COST, Config.ARGON2_PARALLELISM)
            )
        )
        users, steps, version_id = _setup(engine, today, SiteSettings(zone=zone_name, password_cost=cost))
        with Session(engine) as s:
            base_ids = {name: s.scalar(text(f"SELECT coalesce(max(id), 0) FROM {name}")) for name in TABLES}  # noqa: S608
            prev = (
                s.scalar(select(AuditEvent.row_hash).order_by(AuditEvent.id.desc()).limit(1)) or audit.GENESIS
            )
        site = _Site(random.Random(seed), today, clock.now(), ZoneInfo(zone_name), steps, users)
        site.ids.update({k: v for k, v in base_ids.items() if k != "audit_event"})
        for first in range(1, patients + 1, PATIENT_CHUNK):
            for number in range(first, min(patients, first + PATIENT_CHUNK - 1) + 1):
                site.patient(number, version_id)
            with db.write_unit(), engine.begin() as conn:
                for name, rows in site.rows.items():
                    _insert(conn, name, rows)
            site.new_chunk()
            done = min(patients, first + PATIENT_CHUNK - 1)
            log(f"  {done:>7} patients  ({time.perf_counter() - started:.1f} s)")
        events = _chain(site, base_ids["audit_event"], prev)
        written = 0
        while True:
            batch = [row for _, row in zip(range(BATCH * 10), events, strict=False)]
            if not batch:
                break
            with db.write_unit(), engine.begin() as conn:
                _insert(conn, "audit_event", batch)
            written += len(batch)
        log(f"  {written:>7} audit events  ({time.perf_counter() - started:.1f} s)")
        site.events.clear()
        _advance_sequences(engine)
        # The bulk load bypassed the ORM: work out the stored flag dates and outstanding items.
        with db.write_unit(), db.make_session_factory(engine)() as s:
            flagged = stored_flags.refresh_all(s)
            s.commit()
        log(f"  {flagged:>7} episodes' flags worked out  ({time.perf_counter() - started:.1f} s)")
        _finish_database(engine)
        seconds = time.perf_counter() - started
        counts = site_counts(engine, today)
        mark_complete(
            engine,
            {
                "patients": patients,
                "seed": seed,
                "built_on": today.isoformat(),
                "seconds": f"{seconds:.1f}",
                "fingerprint": shape,
            },
        )
        counts["seconds"] = round(seconds, 1)
        return counts
    finally:
        engine.dispose()


def _advance_sequences(engine: Engine) -> None:
    """PostgreSQL: the id sequences past the ids the bulk load inserted, before anything else
    inserts a row (working out the flags records the requirements it changes)."""
    if engine.dialect.name == "sqlite":
        return
    with engine.begin() as conn:
        for name in TABLES:
            top = conn.scalar(text(f"SELECT max(id) FROM {name}"))  # noqa: S608
            if top:
                conn.execute(
                    text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v)"), {"t": name, "v": top}
                )


def _finish_database(engine: Engine) -> None:
    """Leave the database as a long-running site's would be. PostgreSQL: vacuumed and analysed as
    autovacuum would have (index-only scans then need no heap visits)."""
    if engine.dialect.name == "sqlite":  # no ANALYZE: the app never runs one on SQLite
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


def _print_counts(counts: dict) -> None:
    width = max(len(k) for k in counts)
    for key, value in counts.items():
        if key == "seconds":
            continue
        print(f"  {key:<{width}}  {value:>10,}" if isinstance(value, int) else f"  {key:<{width}}  {value}")
    print(f"  {'seconds':<{width}}  {counts['seconds']:>10}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument(
        "--database-url", help="an empty database (default: a SQLite file under bench/results/)"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    url = args.database_url or f"sqlite:///bench/results/sqlite-{args.patients}.db"
    print(f"Synthetic site: {args.patients} patients into {url}")
    counts = generate(url, args.patients, args.seed)
    print("Made:")
    _print_counts(counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
