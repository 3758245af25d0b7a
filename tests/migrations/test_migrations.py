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
    assert before[3] == 45  # the shipped protocol (version 2) has 45 steps
    downgrade(empty_engine, "0001")
    assert counts() == before
    upgrade(empty_engine)
    assert counts() == before
    assert _drift(empty_engine) == []


# 0004: the local day of completion, backfilled


def _insert(conn, table: str, **values) -> None:
    columns = ", ".join(values)
    params = ", ".join(f":{name}" for name in values)
    conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({params})"), values)


# (id, status, completed_at in UTC)
ITEMS_AT_0003 = [
    (1, "done", "2026-06-17 20:00:00"),
    (2, "not_applicable", "2026-06-17 10:00:00"),
    (3, "done", "2026-06-17 14:59:59"),
    (4, "done", "2026-06-18 03:00:00"),
    (5, "open", None),
]


def _timestamp(conn, utc: str | None) -> str | None:
    """A UTC time as each database keeps it (SQLite: without the zone, as the app writes it)."""
    if utc is None:
        return None
    return f"{utc}.000000" if conn.dialect.name == "sqlite" else f"{utc}+00"


@pytest.fixture
def engine_at_0003(empty_engine):
    """A database at revision 0003 with one episode and the items above."""
    engine = empty_engine
    upgrade(engine, "0003")
    with db.write_unit(), engine.connect() as conn:
        created = _timestamp(conn, "2026-06-01 09:00:00")
        _insert(
            conn,
            "user_account",
            id=1,
            username="surgeon",
            full_name="Dr S",
            role="surgeon",
            password_hash="x",
            active=True,
            failed_logins=0,
            created_at=created,
            version=1,
        )
        _insert(
            conn,
            "patient",
            id=1,
            mrn="MRN12345",
            family_name="Doe",
            given_name="Jane",
            date_of_birth="1970-01-01",
            sex="female",
            created_at=created,
            version=1,
        )
        _insert(conn, "protocol_template", id=1, slug="lumbar-fbss", name="Lumbar")
        _insert(
            conn,
            "protocol_version",
            id=1,
            template_id=1,
            number=1,
            content_sha256="0" * 64,
            created_at=created,
        )
        for ident, _, _ in ITEMS_AT_0003:
            _insert(
                conn,
                "protocol_step",
                id=ident,
                version_id=1,
                phase="after",
                position=ident,
                code=f"post_step_{ident}",
                title=f"Step {ident}",
                guidance="",
                role="nurse",
                required=True,
                due_offset_days=0,
                kind="check",
            )
        _insert(
            conn,
            "episode",
            id=1,
            patient_id=1,
            procedure="L4-L5 microdiscectomy",
            levels="L4-L5",
            surgeon_id=1,
            surgery_date="2026-06-17",
            protocol_version_id=1,
            status="operated",
            created_at=created,
            version=1,
        )
        for ident, status, completed_at in ITEMS_AT_0003:
            _insert(
                conn,
                "checklist_item",
                id=ident,
                episode_id=1,
                step_id=ident,
                phase="after",
                position=ident,
                required=True,
                role="nurse",
                status=status,
                due_date="2026-06-17",
                completed_by_id=None if completed_at is None else 1,
                completed_at=_timestamp(conn, completed_at),
                version=1,
            )
        conn.commit()
    return engine


def _completed_on(engine) -> dict[int, str | None]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, completed_on FROM checklist_item ORDER BY id")).all()
    return {ident: None if day is None else str(day) for ident, day in rows}


@pytest.mark.parametrize(
    ("zone", "days"),
    [
        ("Asia/Tokyo", ["2026-06-18", "2026-06-17", "2026-06-17", "2026-06-18"]),
        ("UTC", ["2026-06-17", "2026-06-17", "2026-06-17", "2026-06-18"]),
        ("America/Los_Angeles", ["2026-06-17", "2026-06-17", "2026-06-17", "2026-06-17"]),
    ],
)
def test_0004_dates_completed_items_by_their_completion_time_in_the_site_zone(
    engine_at_0003, monkeypatch, zone, days
):
    monkeypatch.setenv("TIMEZONE", zone)
    upgrade(engine_at_0003)
    assert _completed_on(engine_at_0003) == {1: days[0], 2: days[1], 3: days[2], 4: days[3], 5: None}


def test_0004_backfills_in_utc_when_no_time_zone_is_set(engine_at_0003, monkeypatch):
    monkeypatch.delenv("TIMEZONE", raising=False)
    upgrade(engine_at_0003)
    assert _completed_on(engine_at_0003) == {
        1: "2026-06-17",
        2: "2026-06-17",
        3: "2026-06-17",
        4: "2026-06-18",
        5: None,
    }


def test_0004_downgrade_removes_the_completion_day_and_keeps_the_items(engine_at_0003, monkeypatch):
    monkeypatch.setenv("TIMEZONE", "Asia/Tokyo")
    upgrade(engine_at_0003)
    downgrade(engine_at_0003, "0003")
    columns = {c["name"] for c in inspect(engine_at_0003).get_columns("checklist_item")}
    assert "completed_on" not in columns
    assert "completed_at" in columns
    indexes = {i["name"] for i in inspect(engine_at_0003).get_indexes("checklist_item")}
    assert "ix_checklist_item_outstanding" not in indexes
    assert "outstanding" not in columns
    assert "episode_flag_date" not in inspect(engine_at_0003).get_table_names()
    with engine_at_0003.connect() as conn:
        rows = conn.execute(
            text("SELECT id, status, completed_at IS NOT NULL FROM checklist_item ORDER BY id")
        ).all()
    assert [tuple(r) for r in rows] == [(i, status, at is not None) for i, status, at in ITEMS_AT_0003]


def test_0004_upgrade_after_a_downgrade_backfills_again(engine_at_0003, monkeypatch):
    monkeypatch.setenv("TIMEZONE", "UTC")
    upgrade(engine_at_0003)
    downgrade(engine_at_0003, "0003")
    monkeypatch.setenv("TIMEZONE", "Asia/Tokyo")
    upgrade(engine_at_0003)
    assert _completed_on(engine_at_0003)[1] == "2026-06-18"
    indexes = {i["name"] for i in inspect(engine_at_0003).get_indexes("checklist_item")}
    assert "ix_checklist_item_outstanding" in indexes


def test_0004_marks_the_open_items_of_open_episodes_outstanding(engine_at_0003):
    upgrade(engine_at_0003)
    with engine_at_0003.connect() as conn:
        rows = conn.execute(text("SELECT id, outstanding FROM checklist_item ORDER BY id")).all()
    assert [(i, bool(o)) for i, o in rows] == [(i, status == "open") for i, status, _ in ITEMS_AT_0003]


# 0014: a missed or cancelled session may have no minutes


def test_0014_keeps_a_session_without_minutes_and_going_back_gives_it_0(empty_engine):
    from datetime import date

    from sqlalchemy.orm import Session

    from app.domain.therapy import SessionInput
    from app.domain.vocab import Role, Sex
    from app.services import protocols, therapy
    from app.services.patients import EpisodeDetails, PatientDetails, register_patient
    from app.services.users import create_user

    upgrade(empty_engine)
    with db.write_unit(), Session(empty_engine) as s:
        version, _ = protocols.publish(
            s, protocols.read_protocol_file(protocols.PROTOCOL_DIR / "lumbar_fbss.yaml")
        )
        surgeon = create_user(s, None, "surgeon", "Dr S", Role.SURGEON, "a-long-enough-secret")
        therapist = create_user(s, None, "therapist", "T T", Role.THERAPIST, "a-long-enough-secret")
        episode = register_patient(
            s,
            surgeon,
            PatientDetails("MRN12345", "Doe", "Jane", date(1970, 1, 1), Sex.FEMALE),
            EpisodeDetails("L4-L5 microdiscectomy", "L4-L5", surgeon.id, date(2026, 7, 1)),
            version,
            date(2026, 6, 1),
        )
        missed = SessionInput(date(2026, 6, 1), "PT", None, "missed", None, None, "", False, True)
        therapy.log_session(s, therapist, episode, missed, date(2026, 6, 1))
        s.commit()

    def minutes() -> list:
        with empty_engine.connect() as conn:
            return list(conn.execute(text("SELECT minutes FROM therapy_session")).scalars())

    assert minutes() == [None]
    downgrade(empty_engine, "0013")
    assert minutes() == [0]
    upgrade(empty_engine)
    assert minutes() == [0]
    assert _drift(empty_engine) == []
