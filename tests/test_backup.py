"""flask backup: a checked copy of the SQLite database, taken while Periop runs."""

import sqlite3

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from app import audit, db
from app.backup import BackupError, backup_sqlite
from app.domain.vocab import Role
from app.models import AuditEvent, ProtocolStep, User
from app.services.users import create_user
from tests.conftest import PASSWORD, make_test_app


@pytest.fixture
def sqlite_app(sqlite_template, tmp_path):
    """An app on SQLite, whichever database the suite runs on: flask backup is for SQLite."""
    yield from make_test_app(sqlite_template(tmp_path))


def test_backup_copies_every_record_and_the_copy_verifies(sqlite_app, tmp_path):
    with sqlite_app.app_context(), db.write_unit():
        create_user(db.session, None, "nurse", "Nina Nurse", Role.NURSE, PASSWORD)
        db.session.commit()
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        db.session.remove()
    target = tmp_path / "backups" / "periop-copy.db"

    result = sqlite_app.test_cli_runner().invoke(args=["backup", str(target)])

    assert result.exit_code == 0, result.output
    assert "passed its integrity check" in result.output
    assert (target.stat().st_mode & 0o777) == 0o600
    copy = create_engine(f"sqlite:///{target}")
    with Session(copy) as s:
        assert s.scalar(select(User.username)) == "nurse"
        assert s.scalar(select(func.count()).select_from(ProtocolStep)) > 30
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == events
        assert audit.verify_chain(s) == []
    copy.dispose()
    assert sqlite3.connect(target).execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_backup_never_overwrites_a_file(sqlite_app, tmp_path):
    target = tmp_path / "periop-copy.db"
    target.write_text("an earlier backup")

    result = sqlite_app.test_cli_runner().invoke(args=["backup", str(target)])

    assert result.exit_code != 0
    assert "exists already" in result.output
    assert target.read_text() == "an earlier backup"


def test_backup_sends_postgresql_sites_to_pg_dump(tmp_path):
    engine = create_engine("postgresql+psycopg://periop@db.invalid/periop")  # never connected
    with pytest.raises(BackupError, match="pg_dump"):
        backup_sqlite(engine, tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()
