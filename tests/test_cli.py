"""Command-line tasks: migrate, load-protocols, create-user, seed-demo, overdue-report."""

import csv
import io
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import create_app, db
from app.domain.requirement import is_waiting
from app.domain.vocab import ItemStatus, Role
from app.models import AuditEvent, ChecklistItem, Episode, Patient, ProtocolVersion, User
from app.reports.csv_export import BOM, OUTSTANDING_HEADER
from app.services import checklist
from app.services.demo import DEMO_PASSWORD, DEMO_USERS
from tests import factories
from tests.conftest import WEAK_PASSWORDS
from tests.factories import TODAY


def _count(model) -> int:
    with db.session.session_factory() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_create_user_prompts_for_the_password_and_hashes_it(app):
    result = app.test_cli_runner().invoke(
        args=["create-user", "--username", "JSmith", "--full-name", "Dr J Smith", "--role", "surgeon"],
        input="a-long-enough-secret\na-long-enough-secret\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created surgeon jsmith (Dr J Smith)." in result.output
    with db.session.session_factory() as s:
        user = s.scalar(select(User).where(User.username == "jsmith"))
        assert user.role is Role.SURGEON
        assert user.password_hash.startswith("$argon2id$")
        assert "a-long-enough-secret" not in user.password_hash


def test_create_user_refuses_a_short_password_and_a_taken_username(app):
    runner = app.test_cli_runner()
    args = ["create-user", "--username", "nurse1", "--full-name", "N One", "--role", "nurse"]
    short = runner.invoke(args=args, input="short\nshort\n")
    assert short.exit_code != 0 and "Use at least 12 characters." in short.output
    assert runner.invoke(args=args, input="a-long-enough-secret\na-long-enough-secret\n").exit_code == 0
    taken = runner.invoke(args=args, input="a-long-enough-secret\na-long-enough-secret\n")
    assert taken.exit_code != 0 and "is taken" in taken.output
    assert _count(User) == 1


@pytest.mark.parametrize(("weak", "warning"), WEAK_PASSWORDS, ids=[p for p, _ in WEAK_PASSWORDS])
def test_create_user_refuses_an_easily_guessed_password_with_the_reason(app, weak, warning):
    result = app.test_cli_runner().invoke(
        args=["create-user", "--username", "jsmith", "--full-name", "Dr J Smith", "--role", "surgeon"],
        input=f"{weak}\n{weak}\n",
    )

    assert result.exit_code == 1
    assert f"Error: This password is too easy to guess. {warning}" in result.output
    assert _count(User) == 0


def test_create_user_refuses_the_users_own_name_in_the_password(app):
    result = app.test_cli_runner().invoke(
        args=["create-user", "--username", "jsmith", "--full-name", "Dr Jane Smithers", "--role", "surgeon"],
        input="orbit-smithers-meadow\norbit-smithers-meadow\n",
    )

    assert result.exit_code == 1 and "Do not use your name in your password." in result.output
    assert _count(User) == 0


def test_load_protocols_is_idempotent(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["load-protocols"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "Cervical spine surgery (ACDF): version 1 (unchanged)",
        "Lumbar spine surgery — FBSS prevention: version 1 (unchanged)",
    ]
    assert _count(ProtocolVersion) == 2


def test_seed_demo_creates_one_user_per_role_and_patients_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Demo data loaded." in first.output and DEMO_PASSWORD in first.output
    with db.session.session_factory() as s:
        roles = set(s.scalars(select(User.role)))
    assert roles == set(Role) and _count(User) == len(DEMO_USERS)
    patients, episodes = _count(Patient), _count(Episode)
    assert patients >= 5 and episodes == patients
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "nothing changed" in again.output
    assert _count(Patient) == patients


def test_seed_demo_refuses_to_run_in_production(database_template, tmp_path):
    production = create_app(
        {"PERIOP_ENV": "production", "SECRET_KEY": secrets.token_hex(32)}, engine=database_template(tmp_path)
    )
    result = production.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "refuses to run in production" in result.output
    assert _count(User) == 0
    production.extensions["periop_engine"].dispose()


def test_migrate_command_reports_an_up_to_date_schema(app):
    result = app.test_cli_runner().invoke(args=["migrate"])
    assert result.exit_code == 0 and "up to date" in result.output


# overdue-report


@pytest.fixture
def overdue_episodes(coordinator, surgeon, nurse, protocol):
    """Two episodes with overdue items (surgery 10 and 3 days ago), one item of the first done;
    one scheduled far enough ahead and one unscheduled, with nothing overdue."""
    ten_days = factories.episode(coordinator, surgeon, protocol, TODAY - timedelta(days=10), "Doe", "Jane")
    three_days = factories.episode(coordinator, surgeon, protocol, TODAY - timedelta(days=3), "Roe", "Rick")
    factories.episode(coordinator, surgeon, protocol, TODAY + timedelta(days=31), "Later", "Lee")
    factories.episode(coordinator, surgeon, protocol, None, "Unplanned", "Una")
    with db.write_unit():
        item = db.session.get(ChecklistItem, factories.item(ten_days, "post_vte").id)
        checklist.mark_done(db.session, db.session.get(User, nurse.id), item, item.version)
        db.session.commit()
    db.session.remove()
    return ten_days, three_days


def _expected_overdue(role: Role | None = None) -> list[tuple[str, str, int]]:
    """(MRN, item title, days overdue) of the open items past due, most overdue first."""
    with db.session.session_factory() as s:
        stmt = (
            select(Patient.mrn, ChecklistItem)
            .join(Episode, Episode.id == ChecklistItem.episode_id)
            .join(Patient, Patient.id == Episode.patient_id)
            .where(ChecklistItem.status == ItemStatus.OPEN, ChecklistItem.due_date < TODAY)
            .order_by(ChecklistItem.due_date, ChecklistItem.id)
        )
        if role is not None:
            stmt = stmt.where(ChecklistItem.role == role)
        return [
            (mrn, item.step.title, (TODAY - item.due_date).days)
            for mrn, item in s.execute(stmt)
            if not is_waiting(item.step.required_if, item.required, item.status)  # nobody's to do
        ]


def _export_events() -> list[AuditEvent]:
    with db.session.session_factory() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "export.overdue")))


def _report_lines(output: str) -> list[str]:
    lines = output.splitlines()
    assert lines[1] == ""
    assert lines[2].split() == [
        "MRN",
        "Patient",
        "Phase",
        "Item",
        "Responsible",
        "Due",
        "date",
        "Days",
        "overdue",
    ]
    return lines[3:]


def test_overdue_report_prints_one_line_per_overdue_item_most_overdue_first(app, overdue_episodes):
    expected = _expected_overdue()
    assert len(expected) > 20 and expected[0][2] == 40 and expected[-1][2] == 1
    result = app.test_cli_runner().invoke(args=["overdue-report"])
    assert result.exit_code == 0, result.output
    assert (
        result.output.splitlines()[0] == f"Overdue items on 17 Jun 2026: {len(expected)}, most overdue first."
    )
    lines = _report_lines(result.output)
    assert len(lines) == len(expected)
    for line, (mrn, title, days) in zip(lines, expected, strict=True):
        assert line.split()[0] == mrn
        assert title[:40] in line
        assert line.endswith(f"  {days}")


def test_overdue_report_leaves_out_done_items(app, overdue_episodes):
    result = app.test_cli_runner().invoke(args=["overdue-report"])
    assert "VTE prophylaxis" in result.output  # the 3-day episode's is still open
    assert sum("VTE prophylaxis" in line for line in result.output.splitlines()) == 1


def test_overdue_report_for_a_role_keeps_only_that_roles_items(app, overdue_episodes):
    expected = _expected_overdue(Role.NURSE)
    assert expected
    result = app.test_cli_runner().invoke(args=["overdue-report", "--role", "nurse"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        f"Overdue items on 17 Jun 2026 (Nurse items): {len(expected)}, most overdue first."
    )
    lines = _report_lines(result.output)
    assert [(line.split()[0], line.rsplit(maxsplit=1)[-1]) for line in lines] == [
        (mrn, str(days)) for mrn, _, days in expected
    ]
    assert all(line[114:].split()[0] == "Nurse" for line in lines)


def test_overdue_report_as_csv(app, overdue_episodes):
    expected = _expected_overdue()
    result = app.test_cli_runner().invoke(args=["overdue-report", "--format", "csv"])
    assert result.exit_code == 0, result.output
    text = result.stdout_bytes.decode("utf-8")
    assert text.startswith(BOM) and text.endswith("\r\n")
    header, *rows = list(csv.reader(io.StringIO(text[len(BOM) :], newline="")))
    assert header == list(OUTSTANDING_HEADER)
    assert [(r[0], r[7], int(r[12])) for r in rows] == expected
    assert {r[11] for r in rows} == {"Overdue"}
    assert {r[1] for r in rows} == {"Doe", "Roe"}


def test_overdue_report_as_csv_for_a_role(app, overdue_episodes):
    result = app.test_cli_runner().invoke(args=["overdue-report", "--format", "csv", "--role", "therapist"])
    assert result.exit_code == 0, result.output
    _, *rows = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8")[len(BOM) :], newline="")))
    assert [(r[0], r[7], int(r[12])) for r in rows] == _expected_overdue(Role.THERAPIST)
    assert {r[8] for r in rows} == {"Therapist"}


def test_overdue_report_with_nothing_overdue_says_so(app, coordinator, surgeon, protocol):
    factories.episode(coordinator, surgeon, protocol, TODAY + timedelta(days=31))
    factories.episode(coordinator, surgeon, protocol, None)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["overdue-report"])
    assert result.exit_code == 0, result.output
    assert result.output == "No overdue items on 17 Jun 2026.\n"
    nurse_only = runner.invoke(args=["overdue-report", "--role", "nurse"])
    assert nurse_only.output == "No overdue items on 17 Jun 2026 (Nurse items).\n"


def test_overdue_report_csv_with_nothing_overdue_is_the_header(app):
    result = app.test_cli_runner().invoke(args=["overdue-report", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.decode("utf-8") == BOM + ",".join(OUTSTANDING_HEADER) + "\r\n"


@pytest.mark.parametrize(
    ("args", "summary"),
    [
        ([], "Printed the overdue report: Overdue"),
        (["--format", "csv"], "Printed the overdue report: Overdue"),
        (["--role", "nurse"], "Printed the overdue report: Overdue; Nurse items"),
    ],
)
def test_every_overdue_report_run_is_audited_once(app, args, summary):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["overdue-report", *args]).exit_code == 0
    (event,) = _export_events()
    assert (event.actor_id, event.actor_name, event.target_type) == (None, "system", "export")
    assert event.summary == summary
    assert event.after == {"filters": summary.removeprefix("Printed the overdue report: ")}
    assert runner.invoke(args=["overdue-report", *args]).exit_code == 0
    assert len(_export_events()) == 2


def test_overdue_report_with_overdue_items_is_audited_once(app, overdue_episodes):
    assert app.test_cli_runner().invoke(args=["overdue-report", "--role", "nurse"]).exit_code == 0
    (event,) = _export_events()
    assert event.summary == "Printed the overdue report: Overdue; Nurse items"


@pytest.mark.parametrize("role", ["admin", "janitor", "Nurse"])
def test_overdue_report_refuses_an_unknown_role(app, role):
    result = app.test_cli_runner().invoke(args=["overdue-report", "--role", role])
    assert result.exit_code == 2
    assert "Invalid value for '--role'" in result.output
    assert _export_events() == []


def test_overdue_report_refuses_an_unknown_format(app):
    result = app.test_cli_runner().invoke(args=["overdue-report", "--format", "xlsx"])
    assert result.exit_code == 2
    assert _export_events() == []
