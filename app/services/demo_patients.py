"""The demo site's patients (demo mode only): who they are and where each stands on the pathway.

Written out by hand, so that the demo is the same on every first run; the names are fictional.
app/services/demo.py brings each patient to their point through the services. Unless a row says
otherwise, the clinic works well: every item due before today is done (a fifth of them a few days
late), outcome scores are recorded a few days after they fall due, and therapy follows the usual
plan for the procedure (`usual_sessions`). What a row adds is what makes that patient worth a look.

Together they show every item state and every flag (tests/services/test_demo.py checks it):
- Safety: Byrne (pain NRS 8 on the ward, waiting for acknowledgement);
- Incomplete post-op steps: Okonkwo, Lindqvist, Byrne, Ferreira, and Baker (3-month PROMs);
- Pre-op not signed off: Silva (surgery tomorrow);
- Therapy behind plan: Okonkwo (two PT sessions missed in a row), Varga (behind the plan);
- Not improving: Lindqvist (6 weeks), Grant (3 months, the review done);
- Still on opioids at 3 months: Ferreira (fusion, day 100, not behind her later PT plan);
- 12-month outcome: Fitzgerald (failure despite improvement; the review now required);
- conditional steps made required: O'Sullivan (diabetic: HbA1c), Yilmaz (anticoagulant: the hold
  plan acknowledged, the restart plan after surgery required), Lindgren (myelopathy: the mJOA).

Two patients have an anterior cervical discectomy and fusion and follow the cervical protocol
(app/protocols/cervical_acdf.yaml), the one meant for that procedure type: Lindgren before surgery,
Oyelaran seven weeks after it.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from app.domain.vocab import Procedure, Sex, TimePoint

# ODI, NRS back, NRS leg.
Scores = tuple[int, int, int]
# A therapy session: days after surgery (below 0: prehabilitation), discipline, attendance, pain
# before and after (0-10, None when not attended).
Visit = tuple[int, str, str, int | None, int | None]

# The three demo surgeons, by username (app/services/demo.py DEMO_USERS).
OKAFOR, MENDES, ACHTERBERG = "surgeon", "surgeon2", "surgeon3"

DISCECTOMY, DECOMPRESSION, FUSION, OTHER, ACDF = (
    Procedure.DISCECTOMY,
    Procedure.DECOMPRESSION,
    Procedure.FUSION,
    Procedure.OTHER,
    Procedure.ACDF,
)
F, M = Sex.FEMALE, Sex.MALE


class Person(NamedTuple):
    mrn: str
    family: str
    given: str
    born: date
    sex: Sex


class Operation(NamedTuple):
    procedure: str
    levels: str
    kind: Procedure
    surgery: int | None  # days from today; None: not yet scheduled


@dataclass(frozen=True)
class DemoPatient:
    person: Person
    operation: Operation
    surgeon: str = OKAFOR
    # Answers of value steps, by step code (the others get plausible values, app/services/demo.py).
    answers: Mapping[str, str] = field(default_factory=dict)
    # The plan recorded to acknowledge the safety alert an answer raised, by step code.
    acknowledged: Mapping[str, str] = field(default_factory=dict)
    # Items nobody has worked yet although they are due (outcome items: scores not recorded).
    open: tuple[str, ...] = ()
    # Items already worked although not yet due (on the day of surgery; a baseline while unscheduled).
    done: tuple[str, ...] = ()
    signed: bool = False  # Before surgery signed off ahead of surgery (always once operated)
    sessions: tuple[Visit, ...] | None = None  # None: the usual plan (`usual_sessions`)
    baseline: Scores | None = None  # None: DEMO_SCORES; follow-ups improve in the same proportion
    scores: Mapping[TimePoint, Scores] = field(default_factory=dict)  # exact scores at time points
    closed: tuple[int, str] | None = None  # closed that many days after surgery, with the reason


def usual_sessions(patient: DemoPatient, n: int) -> tuple[Visit, ...]:
    """The patient's sessions: their own, or the usual plan: PT on the day of surgery or the
    next, OT the next day, then weekly outpatient PT from the start of the procedure's window
    (week 4-5; fusion: week 11) until 8 have been attended; for one patient in four, the fourth
    outpatient session was cancelled by the patient."""
    if patient.sessions is not None:
        return patient.sessions
    visits: list[Visit] = [(n % 2, "PT", "attended", 7, 5), (1, "OT", "attended", 6, 5)]
    day, attended, k = (75 if patient.operation.kind is FUSION else 30), 0, 0
    while attended < 8:
        if n % 4 == 1 and k == 3:
            visits.append((day, "PT", "cancelled_by_patient", None, None))
        else:
            pain = max(1, 5 - attended // 2)
            visits.append((day, "PT", "attended", pain, max(0, pain - 2)))
            attended += 1
        day, k = day + 7, k + 1
    return tuple(visits)


DEMO_PATIENTS: tuple[DemoPatient, ...] = (
    # --- the first seven (README and tests name them) ------------------------------------------
    DemoPatient(
        Person("H204001", "Okonkwo", "Chidi", date(1968, 3, 14), M),
        Operation("L4-L5 microdiscectomy", "L4-L5", DISCECTOMY, -20),
        open=("post_recovery_review", "post_vte", "post_wound_check"),
        # Missed his last two PT sessions: Therapy behind plan.
        sessions=(
            (0, "PT", "attended", 7, 6),
            (1, "OT", "attended", 6, 5),
            (14, "PT", "attended", 6, 4),
            (16, "PT", "missed", None, None),
            (18, "PT", "missed", None, None),
        ),
    ),
    DemoPatient(
        Person("H204002", "Lindqvist", "Maja", date(1975, 11, 2), F),
        Operation("L5-S1 microdiscectomy", "L5-S1", DISCECTOMY, -50),
        open=("post_recovery_review", "post_vte", "post_wound_check"),
        # On plan, but Not improving at 6 weeks (the review is now required).
        sessions=(
            (0, "PT", "attended", 8, 7),
            (2, "OT", "attended", 7, 6),
            *((d, "PT", "attended", max(1, 6 - i), max(0, 4 - i)) for i, d in enumerate(range(15, 48, 5))),
            (31, "PT", "cancelled_by_clinic", None, None),
        ),
        scores={TimePoint.BASELINE: (46, 6, 8), TimePoint.WEEKS_6: (42, 5, 7)},
    ),
    DemoPatient(
        Person("H204003", "Hassan", "Yusuf", date(1959, 7, 30), M),
        Operation("L3-L5 decompression", "L3-L5", DECOMPRESSION, 5),
        sessions=(),
    ),
    DemoPatient(
        Person("H204004", "Moreau", "Claire", date(1981, 1, 22), F),
        Operation("L4-L5 TLIF fusion", "L4-L5", FUSION, 21),
        open=("pre_nutrition_anemia",),
        sessions=(),
    ),
    DemoPatient(
        Person("H204005", "Tanaka", "Hiroshi", date(1952, 9, 9), M),
        Operation("L4-L5 revision decompression", "L4-L5", DECOMPRESSION, None),
        sessions=(),
    ),
    DemoPatient(
        Person("H204006", "Byrne", "Siobhan", date(1990, 5, 17), F),
        Operation("L5-S1 microdiscectomy", "L5-S1", DISCECTOMY, -2),
        # Pain NRS 8 on the ward: a safety alert waiting for a surgeon or anaesthetist.
        answers={"post_pain_managed": "8"},
        open=("post_recovery_review", "post_neuro_obs", "post_vte", "post_voiding"),
        sessions=((0, "PT", "attended", 8, 6),),
    ),
    DemoPatient(
        Person("H204007", "Ferreira", "Ana", date(1963, 2, 11), F),
        Operation("L4-S1 TLIF fusion", "L4-S1", FUSION, -100),
        # Still on opioids at 3 months; 100 days after a fusion, not yet behind her PT plan.
        answers={"post_opioid_90d": "30"},
        open=("post_recovery_review", "post_vte", "post_wound_check"),
        sessions=(),
    ),
    # --- not yet scheduled ---------------------------------------------------------------------
    DemoPatient(
        Person("H204008", "Adeyemi", "Folake", date(1979, 4, 3), F),
        Operation("L5-S1 microdiscectomy", "L5-S1", DISCECTOMY, None),
        surgeon=ACHTERBERG,
    ),
    DemoPatient(
        Person("H204009", "Kowalski", "Marek", date(1966, 12, 19), M),
        Operation("L4-L5 TLIF fusion", "L4-L5", FUSION, None),
        surgeon=MENDES,
        done=("pre_baseline_prom",),
        baseline=(52, 7, 5),
    ),
    # --- before surgery, from two months to a day ahead ----------------------------------------
    DemoPatient(
        Person("H204010", "Novak", "Petra", date(1984, 6, 27), F),
        Operation("L4-L5 microdiscectomy", "L4-L5", DISCECTOMY, 60),
        surgeon=MENDES,
    ),
    DemoPatient(
        Person("H204011", "Ahmed", "Bilal", date(1971, 8, 8), M),
        Operation("L5-S1 ALIF fusion", "L5-S1", FUSION, 33),
        surgeon=ACHTERBERG,
    ),
    DemoPatient(
        Person("H204012", "O'Sullivan", "Declan", date(1957, 10, 5), M),
        Operation("L3-L4 decompression", "L3-L4", DECOMPRESSION, 24),
        # Diabetic: the HbA1c step became required, and was done.
        answers={"pre_diabetes": "yes", "pre_hba1c": "7.4", "pre_nutrition_anemia": "31"},
    ),
    DemoPatient(
        Person("H204013", "Fischer", "Lena", date(1988, 2, 14), F),
        Operation("L5-S1 microdiscectomy", "L5-S1", DISCECTOMY, 17),
        surgeon=MENDES,
        answers={"pre_smoking": "yes"},
        open=("pre_psych_screen",),
    ),
    DemoPatient(
        Person("H204014", "Costa", "João", date(1962, 5, 21), M),
        Operation("L4-L5 decompression", "L4-L5", DECOMPRESSION, 14),
        surgeon=ACHTERBERG,
    ),
    DemoPatient(
        Person("H204015", "Nakamura", "Emi", date(1993, 9, 12), F),
        Operation("L4-L5 microdiscectomy", "L4-L5", DISCECTOMY, 10),
        surgeon=ACHTERBERG,
    ),
    DemoPatient(
        Person("H204016", "Petrov", "Ivan", date(1960, 1, 30), M),
        Operation("L4-L5 TLIF fusion", "L4-L5", FUSION, 7),
        surgeon=MENDES,
        sessions=((-20, "PT", "attended", 6, 5),),  # prehabilitation
    ),
    DemoPatient(
        Person("H204017", "Walsh", "Bridget", date(1955, 3, 8), F),
        Operation("L3-L5 decompression", "L3-L5", DECOMPRESSION, 3),
        surgeon=ACHTERBERG,
        signed=True,
    ),
    DemoPatient(
        Person("H204018", "Yilmaz", "Emre", date(1958, 11, 24), M),
        Operation("L5-S1 microdiscectomy", "L5-S1", DISCECTOMY, 2),
        signed=True,
        # On apixaban: the hold plan acknowledged; the restart plan after surgery became required.
        answers={"pre_anticoag": "yes"},
        acknowledged={
            "pre_anticoag": "Apixaban 5 mg twice daily: last dose 72 h before surgery, no bridging; "
            "restart on day 2 if the wound is dry."
        },
    ),
    DemoPatient(
        Person("H204019", "Silva", "Mariana", date(1969, 7, 16), F),
        Operation("L4-L5 TLIF fusion", "L4-L5", FUSION, 1),
        surgeon=MENDES,  # Before surgery complete but not signed: Pre-op not signed off
    ),
    # --- the day of surgery and the first weeks ------------------------------------------------
    DemoPatient(
        Person("H204020", "Haddad", "Karim", date(1977, 12, 2), M),
        Operation("L4-L5 microdiscectomy", "L4-L5", DISCECTOMY, 0),
        surgeon=ACHTERBERG,
        signed=True,
        done=("intra_precautions_attest", "intra_sign_in", "intra_time_out", "intra_antibiotic"),
    ),
    DemoPatient(
        Person("H204021", "Kim", "Soo-jin", date(1964, 4, 18), F),
        Operation("L4-L5 decompression", "L4-L5", DECOMPRESSION, -1),
        surgeon=ACHTERBERG,
    ),
    DemoPatient(
        Person("H204022", "Dubois", "Thierry", date(1961, 9, 1), M),
        Operation("L4-L5 PLIF fusion", "L4-L5", FUSION, -4),
        surgeon=MENDES,
        # An incidental durotomy, repaired: the alert acknowledged before the During sign-off.
        answers={"intra_dura_check": "yes"},
        acknowledged={
            "intra_dura_check": "Small dural tear at L4 repaired with 6-0 suture and sealant; flat bed rest "
            "24 h, headache review on day 1."
        },
    ),
    DemoPatient(
        Person("H204023", "Ali", "Samira", date(1986, 10, 29), F),
        Operation("L5-S1 microdiscectomy", "L5-S1", DISCECTOMY, -9),
        surgeon=ACHTERBERG,
    ),
    DemoPatient(
        Person("H204024", "Murphy", "Sean", date(1956, 6, 6), M),
        Operation("L3-L4 decompression", "L3-L4", DECOMPRESSION, -16),
        open=("post_wound_check",),  # in its grace days: Due now
    ),
    DemoPatient(
        Person("H204025", "Jensen", "Freya", date(1991, 1, 9), F),
        Operation("L4-L5 microdiscectomy", "L4-L5", DISCECTOMY, -27),
        surgeon=MENDES,
    ),
    # --- 6 weeks -------------------------------------------------------------------------------
    DemoPatient(
        Person("H204026", "Rossi", "Giulia", date(1982, 8, 23), F),
        Operation("L5-S1 microdiscectomy", "L5-S1", DISCECTOMY, -42),
        surgeon=ACHTERBERG,
        baseline=(40, 5, 8),
    ),
    DemoPatient(
        Person("H204027", "Boateng", "Kwame", date(1967, 3, 27), M),
        Operation("L4-L5 decompression", "L4-L5", DECOMPRESSION, -47),
        surgeon=MENDES,
        open=("post_fu_6w",),
        baseline=(48, 6, 7),  # 6-week scores awaited: Due now
    ),
    DemoPatient(
        Person("H204028", "Chen", "Wei", date(1959, 5, 11), M),
        Operation("L4-S1 TLIF fusion", "L4-S1", FUSION, -58),
        surgeon=ACHTERBERG,
        baseline=(56, 7, 6),
    ),
    # --- 3 months ------------------------------------------------------------------------------
    DemoPatient(
        Person("H204029", "Varga", "Zsófia", date(1974, 12, 4), F),
        Operation("L4-L5 microdiscectomy", "L4-L5", DISCECTOMY, -75),
        surgeon=ACHTERBERG,
        answers={"pre_comp_litigation": "yes"},
        baseline=(42, 4, 7),
        # One outpatient PT session since week 4: Therapy behind plan.
        sessions=((1, "PT", "attended", 7, 5), (1, "OT", "attended", 6, 5), (31, "PT", "attended", 5, 3)),
    ),
    DemoPatient(
        Person("H204030", "Schmidt", "Jonas", date(1953, 2, 17), M),
        Operation("L3-L5 decompression", "L3-L5", DECOMPRESSION, -92),
        surgeon=MENDES,
        open=("post_fu_3m", "post_opioid_90d"),
        baseline=(50, 6, 6),
    ),
    DemoPatient(
        Person("H204031", "Grant", "Eleanor", date(1970, 7, 7), F),
        Operation("L5-S1 microdiscectomy", "L5-S1", DISCECTOMY, -112),
        # Leg pain unchanged at 3 months: Not improving; the interdisciplinary review was held.
        answers={"pre_psych_screen": "12"},
        scores={
            TimePoint.BASELINE: (30, 4, 7),
            TimePoint.WEEKS_6: (27, 3, 6),
            TimePoint.MONTHS_3: (26, 2, 7),
        },
    ),
    # --- 6 months ------------------------------------------------------------------------------
    DemoPatient(
        Person("H204032", "Hughes", "Owen", date(1965, 11, 13), M),
        Operation("L4-L5 TLIF fusion", "L4-L5", FUSION, -150),
        surgeon=ACHTERBERG,
        baseline=(54, 7, 5),
    ),
    DemoPatient(
        Person("H204033", "Ivanova", "Daria", date(1980, 4, 25), F),
        Operation("L4-L5 microdiscectomy", "L4-L5", DISCECTOMY, -178),
        surgeon=MENDES,
        baseline=(38, 4, 8),
    ),
    DemoPatient(
        Person("H204034", "Baker", "Thomas", date(1958, 8, 30), M),
        Operation("L4-L5 decompression", "L4-L5", DECOMPRESSION, -200),
        surgeon=MENDES,
        answers={"pre_nutrition_anemia": "37"},
        open=("post_fu_3m",),
        baseline=(46, 6, 6),
    ),
    DemoPatient(
        Person("H204035", "Larsen", "Astrid", date(1972, 1, 19), F),
        Operation("L5-S1 ALIF fusion", "L5-S1", FUSION, -240),
        surgeon=ACHTERBERG,
        baseline=(58, 7, 6),
    ),
    # --- 12 months and after -------------------------------------------------------------------
    DemoPatient(
        Person("H204036", "Mahmoud", "Yasmin", date(1985, 6, 2), F),
        Operation("L5-S1 microdiscectomy", "L5-S1", DISCECTOMY, -365),
        baseline=(36, 4, 7),
    ),
    DemoPatient(
        Person("H204037", "Fitzgerald", "Patrick", date(1962, 10, 10), M),
        Operation("L4-S1 TLIF fusion", "L4-S1", FUSION, -372),
        surgeon=MENDES,
        # ODI 36 at 12 months, down from 58: 12-month outcome (failure despite improvement).
        answers={"pre_smoking": "yes", "pre_indication": "1"},
        scores={
            TimePoint.BASELINE: (58, 7, 6),
            TimePoint.WEEKS_6: (40, 5, 4),
            TimePoint.MONTHS_3: (33, 4, 3),
            TimePoint.MONTHS_6: (30, 4, 3),
            TimePoint.MONTHS_12: (36, 5, 4),
        },
    ),
    DemoPatient(
        Person("H204038", "Santos", "Lucía", date(1960, 3, 3), F),
        Operation("L3-L5 decompression", "L3-L5", DECOMPRESSION, -395),
        surgeon=ACHTERBERG,
        answers={"pre_opioid_review": "20"},
        baseline=(62, 6, 8),
    ),
    # --- the cervical protocol (ACDF) ------------------------------------------------------------
    DemoPatient(
        Person("H204041", "Lindgren", "Karin", date(1961, 2, 6), F),
        Operation("C5-C6 anterior cervical discectomy and fusion", "C5-C6", ACDF, 12),
        surgeon=ACHTERBERG,
        # Myelopathy: the mJOA step became required, and was done (moderate).
        answers={"pre_myelopathy": "yes", "pre_mjoa": "13"},
        sessions=(),
    ),
    DemoPatient(
        Person("H204042", "Oyelaran", "Tunde", date(1974, 9, 21), M),
        Operation("C6-C7 anterior cervical discectomy and fusion", "C6-C7", ACDF, -48),
        surgeon=MENDES,
        sessions=((45, "PT", "attended", 4, 2),),  # the physiotherapy assessment at 6 weeks
    ),
    # --- closed --------------------------------------------------------------------------------
    DemoPatient(
        Person("H204039", "Abbott", "Ruth", date(1976, 9, 15), F),
        Operation("L4-L5 microdiscectomy", "L4-L5", DISCECTOMY, -430),
        baseline=(44, 5, 7),
        closed=(372, "12-month follow-up complete; discharged to her GP."),
    ),
    DemoPatient(
        Person("H204040", "Eriksen", "Nils", date(1954, 5, 28), M),
        Operation("L4-L5 interspinous device", "L4-L5", OTHER, -160),
        surgeon=MENDES,
        baseline=(44, 6, 6),
        closed=(60, "Moved out of the area: care transferred to the regional spine service, records sent."),
    ),
)
