"""Command-line tasks: migrate, load-protocols, create-user, seed-demo."""

import secrets

from sqlalchemy import func, select

from app import create_app, db
from app.domain.vocab import Role
from app.models import Episode, Patient, ProtocolVersion, User
from app.services.demo import DEMO_PASSWORD, DEMO_USERS


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
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    assert runner.invoke(args=args, input="a-long-enough-secret\na-long-enough-secret\n").exit_code == 0
    taken = runner.invoke(args=args, input="a-long-enough-secret\na-long-enough-secret\n")
    assert taken.exit_code != 0 and "is taken" in taken.output
    assert _count(User) == 1


def test_load_protocols_is_idempotent(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["load-protocols"])
    assert result.exit_code == 0
    assert "version 1 (unchanged)" in result.output
    assert _count(ProtocolVersion) == 1


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
        {
            "PERIOP_ENV": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "DATABASE_URL": database_template(tmp_path),
        }
    )
    result = production.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "refuses to run in production" in result.output
    assert _count(User) == 0
    production.extensions["periop_engine"].dispose()


def test_migrate_command_reports_an_up_to_date_schema(app):
    result = app.test_cli_runner().invoke(args=["migrate"])
    assert result.exit_code == 0 and "up to date" in result.output
