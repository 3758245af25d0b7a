"""The schema comes only from migrations: they build it from empty, match the models, and go back."""

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from app import db
from app.migrate import downgrade, upgrade
from app.models import Base

PG_URL = os.environ.get("PERIOP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _drift(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def _tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request, tmp_path):
    if request.param == "sqlite":
        engine = db.make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means no server
        if os.environ.get("PERIOP_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    schema = f"m_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = db.make_engine(f"{base}?options=-csearch_path%3D{schema}")
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def test_migrations_build_the_schema_from_empty_without_drift(empty_engine):
    upgrade(empty_engine)
    assert {t.name for t in Base.metadata.sorted_tables} <= _tables(empty_engine)
    assert _drift(empty_engine) == []


def test_migrations_downgrade_to_base_and_up_again(empty_engine):
    upgrade(empty_engine)
    downgrade(empty_engine, "base")
    assert _tables(empty_engine) <= {"alembic_version"}
    upgrade(empty_engine)
    assert _drift(empty_engine) == []


def test_audit_table_is_append_only_after_migration(empty_engine):
    upgrade(empty_engine)
    with db.write_unit(), empty_engine.connect() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_event (at, actor_name, action, target_type, summary, prev_hash, row_hash)"
                " VALUES (CURRENT_TIMESTAMP, 'system', 'test', 'test', 'test', 'x', 'y')"
            )
        )
        conn.commit()
    for statement in ("UPDATE audit_event SET summary = 'changed'", "DELETE FROM audit_event"):
        with db.write_unit(), empty_engine.connect() as conn, pytest.raises(Exception, match="append-only"):
            conn.execute(text(statement))
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT summary FROM audit_event")).scalar_one() == "test"


def test_migrations_keep_existing_data_down_and_up(empty_engine):
    """A site's data survives each migration step, both ways (table rebuilds included)."""
    from datetime import date

    from sqlalchemy.orm import Session

    from app.domain.vocab import Role, Sex
    from app.services import protocols
    from app.services.patients import EpisodeDetails, PatientDetails, register_patient
    from app.services.users import create_user

    upgrade(empty_engine)
    with db.write_unit(), Session(empty_engine) as s:
        version, _ = protocols.publish(
            s, protocols.read_protocol_file(protocols.PROTOCOL_DIR / "lumbar_fbss.yaml")
        )
        surgeon = create_user(s, None, "surgeon", "Dr S", Role.SURGEON, "a-long-enough-secret")
        register_patient(
            s,
            surgeon,
            PatientDetails("MRN12345", "Doe", "Jane", date(1970, 1, 1), Sex.FEMALE),
            EpisodeDetails("L4-L5 microdiscectomy", "L4-L5", surgeon.id, date(2026, 7, 1)),
            version,
            date(2026, 6, 1),
        )
        s.commit()

    def counts() -> tuple[int, ...]:
        with empty_engine.connect() as conn:
            return tuple(
                conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("user_account", "patient", "episode", "checklist_item", "audit_event")
            )

    before = counts()
    assert before[3] == 39
    downgrade(empty_engine, "0001")
    assert counts() == before
    upgrade(empty_engine)
    assert counts() == before
    assert _drift(empty_engine) == []
