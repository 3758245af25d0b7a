"""CSV and text exports: cells that cannot run as formulas, spreadsheet-friendly CSV, the records."""

import csv
import io
from datetime import date
from types import SimpleNamespace

import pytest

from app.domain.compliance import Month, Tally
from app.domain.risk import RiskTier
from app.domain.schedule import overdue_from
from app.domain.vocab import ItemStatus, Phase, Role
from app.reports.csv_export import (
    BOM,
    CHUNK_ROWS,
    COMPLIANCE_HEADER,
    OUTSTANDING_HEADER,
    compliance_record,
    csv_chunks,
    outstanding_record,
    safe_cell,
)
from app.reports.text import overdue_text

TODAY = date(2026, 6, 17)
DUE_SOON = 3


def parse(text: str) -> list[list[str]]:
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM) :], newline="")))


def row(grace: int = 0, **changes) -> SimpleNamespace:
    """A stand-in for one row of app.queries.outstanding.outstanding_items (ROW_COLUMNS)."""
    values = {
        "item_id": 11,
        "phase": Phase.AFTER,
        "role": Role.NURSE,
        "required": True,
        "due_date": date(2026, 6, 3),
        "status": ItemStatus.OPEN,
        "title": "Wound check / suture removal visit.",
        "episode_id": 5,
        "procedure": "L4-L5 microdiscectomy",
        "surgery_date": date(2026, 5, 20),
        "patient_id": 3,
        "mrn": "MRN00001",
        "family_name": "Doe",
        "given_name": "Jane",
        "surgeon_name": "Dr Sara Surgeon",
    }
    values = {**values, **changes}
    return SimpleNamespace(**values, overdue_from=overdue_from(values["due_date"], grace))


# safe_cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-1", "'-1"),
        ('@cmd|" /C calc"!A0', '\'@cmd|" /C calc"!A0'),
        ("\tleading tab", "'\tleading tab"),
        ("\rleading return", "'\rleading return"),
        ("=", "'="),
    ],
)
def test_safe_cell_prefixes_formula_like_text_with_an_apostrophe(value, cell):
    assert safe_cell(value) == cell


@pytest.mark.parametrize(
    "value", ["Doe", "", "a=b", "1+1", "jane@example.org", " =not at the start", "'already quoted", "Zoë"]
)
def test_safe_cell_leaves_other_text_alone(value):
    assert safe_cell(value) == value


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (0, 0),
        (14, 14),
        (-3, -3),
        (2.5, 2.5),
        (-0.5, -0.5),
        (date(2026, 6, 17), "2026-06-17"),
        (None, ""),
        (True, "yes"),
        (False, "no"),
    ],
)
def test_safe_cell_keeps_numbers_and_writes_dates_none_and_booleans_as_text(value, cell):
    result = safe_cell(value)
    assert result == cell
    assert type(result) is type(cell)


def test_safe_cell_writes_enum_values_as_their_text():
    assert safe_cell(Phase.AFTER) == "after"


# csv_chunks


def test_csv_starts_with_the_byte_order_mark_and_ends_lines_with_crlf():
    text = "".join(csv_chunks(["A", "B"], [[1, "x"], [2, "y"]]))
    assert text == "\ufeffA,B\r\n1,x\r\n2,y\r\n"


def test_csv_with_no_rows_is_the_header_only():
    assert list(csv_chunks(["A", "B"], [])) == ["\ufeffA,B\r\n"]


def test_csv_quotes_commas_quotes_and_newlines():
    rows = [["Doe, Jane", 'say "hi"', "two\nlines", "cr\rinside", "plain"]]
    text = "".join(csv_chunks(["a", "b", "c", "d", "e"], rows))
    assert text == '\ufeffa,b,c,d,e\r\n"Doe, Jane","say ""hi""","two\nlines","cr\rinside",plain\r\n'
    assert parse(text) == [["a", "b", "c", "d", "e"], *rows]


def test_csv_neutralises_formulas_in_header_and_rows():
    text = "".join(csv_chunks(["=A", "B"], [["=1+1", "-2"], [-2, None]]))
    assert parse(text) == [["'=A", "B"], ["'=1+1", "'-2"], ["-2", ""]]


def test_csv_writes_dates_iso_and_booleans_as_yes_no():
    text = "".join(csv_chunks(["Due", "Required"], [[date(2026, 6, 3), True], [None, False]]))
    assert parse(text) == [["Due", "Required"], ["2026-06-03", "yes"], ["", "no"]]


def test_large_csv_comes_in_chunks_that_join_to_every_row():
    rows = [[n, f"name {n}", "a, b"] for n in range(2 * CHUNK_ROWS + 1)]
    chunks = list(csv_chunks(["N", "Name", "Pair"], rows))
    assert len(chunks) == 3
    assert chunks[0].startswith(BOM) and not any(c.startswith(BOM) for c in chunks[1:])
    assert [c.count("\r\n") for c in chunks] == [CHUNK_ROWS + 1, CHUNK_ROWS, 1]
    assert parse("".join(chunks)) == [
        ["N", "Name", "Pair"],
        *([str(n), name, pair] for n, name, pair in rows),
    ]


def test_csv_reads_rows_only_as_it_writes_them():
    consumed = []

    def rows():
        for n in range(3 * CHUNK_ROWS):
            consumed.append(n)
            yield [n]

    chunks = csv_chunks(["N"], rows())
    next(chunks)
    assert len(consumed) == CHUNK_ROWS


# outstanding_record


def named(record: tuple) -> dict:
    """An export record by column name."""
    assert len(record) == len(OUTSTANDING_HEADER)
    return dict(zip(OUTSTANDING_HEADER, record, strict=True))


def test_outstanding_record_of_an_overdue_item():
    assert outstanding_record(row(), TODAY, DUE_SOON) == (
        "MRN00001",
        "Doe",
        "Jane",
        "L4-L5 microdiscectomy",
        date(2026, 5, 20),
        "Dr Sara Surgeon",
        "After surgery",
        "Wound check / suture removal visit.",
        "Nurse",
        True,
        date(2026, 6, 3),
        "Overdue",
        14,
        0,  # safety alerts of the episode waiting for acknowledgement
        None,  # no risk tier given: the protocol declares no risk factor
        None,
    )


def test_outstanding_record_counts_the_episodes_waiting_safety_alerts():
    assert named(outstanding_record(row(safety_alerts=2), TODAY, DUE_SOON))["Episode safety alerts"] == 2


def test_outstanding_record_gives_the_episodes_risk_tier_as_a_count_and_named():
    risk = RiskTier(factors=("smoker", "BMI 37", "PHQ-9 12"), unknown=("HbA1c",))
    assert outstanding_record(row(), TODAY, DUE_SOON, risk)[-2:] == (
        3,
        "3 (smoker, BMI 37, PHQ-9 12); not yet known: HbA1c",
    )
    assert outstanding_record(row(), TODAY, DUE_SOON, RiskTier((), ()))[-2:] == (0, "0")


@pytest.mark.parametrize(
    ("due", "state", "days_overdue"),
    [
        (date(2026, 6, 16), "Overdue", 1),
        (TODAY, "Due today", 0),
        (date(2026, 6, 18), "Due soon", 0),
        (date(2026, 6, 20), "Due soon", 0),
        (date(2026, 6, 21), "Pending", 0),
        (None, "Unscheduled", 0),
    ],
)
def test_outstanding_record_shows_the_state_of_the_episode_page(due, state, days_overdue):
    record = outstanding_record(row(due_date=due), TODAY, DUE_SOON)
    assert (named(record)["State"], named(record)["Days overdue"]) == (state, days_overdue)


def test_outstanding_csv_header_and_line():
    unscheduled = row(
        surgery_date=None, due_date=None, required=False, role=Role.THERAPIST, phase=Phase.BEFORE
    )
    risk = RiskTier(factors=("smoker", "BMI 37"), unknown=())
    records = [
        outstanding_record(row(), TODAY, DUE_SOON, risk),
        outstanding_record(unscheduled, TODAY, DUE_SOON),
    ]
    text = "".join(csv_chunks(OUTSTANDING_HEADER, records))
    assert text.splitlines() == [
        "\ufeffMRN,Family name,Given name,Procedure,Surgery date,Surgeon,Phase,Item,Responsible role,"
        "Required,Due date,State,Days overdue,Episode safety alerts,"
        "Episode risk factors,Episode risk factors named",
        "MRN00001,Doe,Jane,L4-L5 microdiscectomy,2026-05-20,Dr Sara Surgeon,After surgery,"
        'Wound check / suture removal visit.,Nurse,yes,2026-06-03,Overdue,14,0,2,"2 (smoker, BMI 37)"',
        "MRN00001,Doe,Jane,L4-L5 microdiscectomy,,Dr Sara Surgeon,Before surgery,"
        "Wound check / suture removal visit.,Therapist,no,,Unscheduled,0,0,,",
    ]


def test_outstanding_csv_neutralises_a_formula_in_a_patient_name():
    record = outstanding_record(row(family_name='=HYPERLINK("http://x.test","Doe")'), TODAY, DUE_SOON)
    (_, line) = parse("".join(csv_chunks(OUTSTANDING_HEADER, [record])))
    assert line[1] == '\'=HYPERLINK("http://x.test","Doe")'


# overdue_text

HEADING = (
    "MRN                   Patient                   Phase           Item"
    "                                                Responsible   Due date     Days overdue"
)


def test_overdue_text_heading_then_one_line_per_item_in_the_given_order():
    rows = [
        row(),
        row(
            mrn="MRN00002",
            family_name="Roe",
            given_name="Richard",
            phase=Phase.BEFORE,
            title="BMI, nutrition screen and haemoglobin; anaemia corrected.",
            role=Role.ANAESTHETIST,
            due_date=date(2026, 6, 16),
        ),
    ]
    assert list(overdue_text(rows, TODAY)) == [
        "Overdue items on 17 Jun 2026: 2, most overdue first.",
        "",
        HEADING,
        "MRN00001              DOE, Jane                 After surgery   "
        "Wound check / suture removal visit.                 Nurse         3 Jun 2026   14",
        "MRN00002              ROE, Richard              Before surgery  "
        "BMI, nutrition screen and haemoglobin; anaemia co…  Anaesthetist  16 Jun 2026  1",
    ]


def test_overdue_text_names_the_role_in_the_heading():
    lines = list(overdue_text([row()], TODAY, Role.NURSE))
    assert lines[0] == "Overdue items on 17 Jun 2026 (Nurse items): 1, most overdue first."
    assert len(lines) == 4


def test_overdue_text_without_items_says_so():
    assert list(overdue_text([], TODAY)) == ["No overdue items on 17 Jun 2026."]
    assert list(overdue_text([], TODAY, Role.THERAPIST)) == [
        "No overdue items on 17 Jun 2026 (Therapist items)."
    ]


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("x" * 50, "x" * 50),
        ("x" * 51, "x" * 49 + "…"),
        ("Smoking status. If a smoker: cessation started ≥4 weeks before surgery.", None),
    ],
)
def test_overdue_text_cuts_long_titles_with_an_ellipsis(title, shown):
    shown = shown or title[:49] + "…"
    line = list(overdue_text([row(title=title)], TODAY))[-1]
    assert line[64:114] == shown
    assert line[114:] == "  Nurse         3 Jun 2026   14"


def test_overdue_text_cuts_long_patient_names_with_an_ellipsis():
    line = list(overdue_text([row(family_name="Featherstonehaugh-Smythe", given_name="Alexandra")], TODAY))[
        -1
    ]
    assert line[22:48] == "FEATHERSTONEHAUGH-SMYTH…  "


def test_overdue_text_shows_the_whole_mrn():
    line = list(overdue_text([row(mrn="MRN12345678901234567")], TODAY))[-1]
    assert line.startswith("MRN12345678901234567 ")


# compliance_record


def test_compliance_record_of_a_month_surgeon_and_phase():
    tally = Tally(counted=3, completed=2, on_time=1, not_due=4)
    assert compliance_record(Month(2026, 6), "Dr Sara Surgeon", Phase.BEFORE, tally) == (
        "2026-06",
        "Dr Sara Surgeon",
        "Before surgery",
        3,
        2,
        1,
        66.7,
        33.3,
        4,
    )


def test_compliance_record_leaves_percents_empty_when_nothing_was_due():
    record = compliance_record(Month(2026, 7), "Dr Tom Second", Phase.AFTER, Tally(not_due=5))
    assert record == ("2026-07", "Dr Tom Second", "After surgery", 0, 0, 0, "", "", 5)


def test_compliance_csv_header_and_lines():
    records = [
        compliance_record(Month(2026, 6), "Dr Sara Surgeon", Phase.DURING, Tally(4, 4, 3, 0)),
        compliance_record(Month(2026, 7), "Dr Sara Surgeon", Phase.DURING, Tally(0, 0, 0, 2)),
    ]
    text = "".join(csv_chunks(COMPLIANCE_HEADER, records))
    assert text.splitlines() == [
        "\ufeffMonth of surgery,Surgeon,Phase,Required items due,Completed,Completed on time,"
        "Completed %,On time %,Not yet due",
        "2026-06,Dr Sara Surgeon,During surgery,4,4,3,100.0,75.0,0",
        "2026-07,Dr Sara Surgeon,During surgery,0,0,0,,,2",
    ]


def test_an_item_in_its_grace_days_is_due_now_and_not_yet_overdue():
    record = outstanding_record(row(due_date=date(2026, 6, 10), grace=14), TODAY, DUE_SOON)
    assert (named(record)["State"], named(record)["Days overdue"]) == ("Due now", 0)
