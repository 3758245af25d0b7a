"""SQLite runs safely: durable settings, BEGIN IMMEDIATE for writes, no lost update under threads."""

import sqlite3
import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm.exc import StaleDataError

from app import db
from app.models import ChecklistItem
from tests.conftest import make_test_app


@pytest.fixture
def app(sqlite_template, tmp_path):
    """These tests are about SQLite: they run on it whatever the backend under test."""
    yield from make_test_app(sqlite_template(tmp_path))


def test_connections_run_with_durable_settings(app):
    settings = db.sqlite_settings(app.extensions["periop_engine"])
    assert settings == {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 10_000, "foreign_keys": 1}


def test_read_units_do_not_block_writers(app):
    """A read transaction starts with a plain BEGIN: another connection may still write."""
    engine = app.extensions["periop_engine"]
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        other = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()
        conn.rollback()


def test_write_units_begin_immediate(app):
    """While a write unit is open, another connection cannot start writing."""
    engine = app.extensions["periop_engine"]
    with db.write_unit(), engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        other = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
        conn.rollback()


def test_threads_updating_one_item_lose_no_update(app, episode):
    """8 threads each make 25 versioned changes to one item, retrying on conflict: all 200 count."""
    item_id = episode.items[0].id
    factory = db.session.session_factory
    errors: list[BaseException] = []

    def worker():
        try:
            for _ in range(25):
                while True:
                    with db.write_unit(), factory() as s:
                        item = s.get(ChecklistItem, item_id)
                        item.value = str(int(item.value or 0) + 1)
                        try:
                            s.commit()
                            break
                        except StaleDataError:
                            s.rollback()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with factory() as s:
        item = s.scalar(select(ChecklistItem).where(ChecklistItem.id == item_id))
        assert item.value == "200"
        assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_several_workers_on_sqlite_get_a_warning():
    assert "ONE process" in db.worker_warning("sqlite:///x.db", 4)
    assert db.worker_warning("sqlite:///x.db", 1) is None
    assert db.worker_warning("postgresql://db/periop", 4) is None
