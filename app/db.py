"""Engine, session and the SQLite settings that keep one file safe.

SQLite (embedded default) runs with WAL, synchronous=FULL, foreign keys on and a
busy timeout; write transactions start with BEGIN IMMEDIATE and are serialised by a
process-wide lock, under which the WAL is checkpointed now and then. PostgreSQL needs
none of this and gets plain transactions.
"""

import contextlib
import contextvars
import logging
import sqlite3
import threading
from collections.abc import Iterator

from flask import current_app, has_app_context
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from app.domain.site import Site

log = logging.getLogger(__name__)

# True while the current unit of work may write (POST requests, write commands).
writing: contextvars.ContextVar[bool] = contextvars.ContextVar("periop_writing", default=False)

SESSIONS = "periop_sessions"  # the app's scoped session, in app.extensions
_outside_requests: scoped_session | None = None


def make_session_factory(engine: Engine, site: Site | None = None) -> sessionmaker:
    """Sessions on an engine, carrying the site's settings (`site_of`), their stored flags kept
    in step on commit (app/services/stored_flags_hook.py): the app's, a command's or a tool's."""
    from app.services import stored_flags_hook  # the hook imports the models; they import nothing here

    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True, info={"site": site or Site()})
    stored_flags_hook.install(factory)
    event.listen(factory, "before_flush", _refuse_flush)
    event.listen(factory, "do_orm_execute", _refuse_dml)
    return factory


def site_of(session: Session) -> Site:
    """The settings of the site a session works for."""
    return session.info.get("site") or Site()


def use_outside_requests(registry: scoped_session | None) -> None:
    """Say which app's sessions `session` gives outside any app context (tests, scripts); the app
    itself never sets this."""
    global _outside_requests
    _outside_requests = registry


class _CurrentSession:
    """`session`: the current app's scoped session (each app its own engine and settings)."""

    def _registry(self) -> scoped_session:
        if has_app_context():
            return current_app.extensions[SESSIONS]
        if _outside_requests is None:
            raise RuntimeError("no app context, and no sessions given to use_outside_requests()")
        return _outside_requests

    def __call__(self) -> Session:
        return self._registry()()

    def __getattr__(self, name: str):
        return getattr(self._registry(), name)


session = _CurrentSession()

SQLITE_BUSY_TIMEOUT_MS = 10_000


class _SqliteWriteGate:
    """One writer at a time in this process, and WAL checkpoints only between writes."""

    def __init__(self, checkpoint_every: int) -> None:
        self.lock = threading.Lock()
        self.checkpoint_every = checkpoint_every
        self.commits = 0

    def begin(self, dbapi_conn) -> None:
        self.lock.acquire()
        try:
            dbapi_conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise

    def end(self, dbapi_conn, committed: bool) -> None:
        try:
            if committed:
                self.commits += 1
                if self.commits % self.checkpoint_every == 0:
                    dbapi_conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            log.warning("WAL checkpoint failed; it will be retried", exc_info=True)
        finally:
            self.lock.release()


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, checkpoint_every: int = 200) -> Engine:
    """Create the engine for a database URL, with SQLite's safety settings."""
    if not is_sqlite(url):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        engine = create_engine(url, pool_pre_ping=True)

        @event.listens_for(engine, "connect")
        def _no_jit(dbapi_conn, _record):
            # Short queries over large tables look costly enough for PostgreSQL's JIT, whose
            # compiling then takes longer than the query (0.4 s of a 0.5 s update, measured).
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SET jit = off")
            dbapi_conn.commit()

        return engine

    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    gate = _SqliteWriteGate(checkpoint_every)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Take transaction control away from the sqlite3 module; we emit BEGIN ourselves.
        dbapi_conn.isolation_level = None
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
            "PRAGMA foreign_keys=ON",
            "PRAGMA wal_autocheckpoint=0",
        ):
            dbapi_conn.execute(pragma)

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        dbapi_conn = conn.connection.dbapi_connection
        if writing.get():
            gate.begin(dbapi_conn)
            conn.info["write_gate_held"] = True
        else:
            conn.exec_driver_sql("BEGIN")

    def _release(conn, committed: bool) -> None:
        if conn.info.pop("write_gate_held", False):
            gate.end(conn.connection.dbapi_connection, committed)

    @event.listens_for(engine, "commit")
    def _after_commit_release(conn):
        # "commit" fires before the driver's commit (a no-op once we have sent COMMIT):
        # commit here so the checkpoint and the lock release follow it.
        dbapi_conn = conn.connection.dbapi_connection
        if conn.info.get("write_gate_held"):
            dbapi_conn.execute("COMMIT")
            _release(conn, committed=True)

    @event.listens_for(engine, "rollback")
    def _after_rollback_release(conn):
        if conn.info.get("write_gate_held"):
            with contextlib.suppress(sqlite3.Error):
                conn.connection.dbapi_connection.execute("ROLLBACK")
            _release(conn, committed=False)

    return engine


READ_ONLY = "periop_read_only"  # session.info: the session of a request that only reads


class WriteInRead(RuntimeError):
    """A request that only reads (a GET) tried to write through its session."""


def only_reads(session: Session, engine: Engine | None) -> None:
    """Mark the session of a request that only reads (a GET): any write through it is refused
    (`WriteInRead`), and on PostgreSQL it reads through `engine` (`reading_engine`), where a
    write would not be undone at the end of the request nor ordered by the locks."""
    session.info[READ_ONLY] = True
    if engine is not None and not session.in_transaction():
        session.bind = engine


def _refuse_flush(session: Session, _context, _instances) -> None:
    if session.info.get(READ_ONLY):
        raise WriteInRead("a request that only reads (GET) tried to save a change")


def _refuse_dml(state) -> None:
    if state.session.info.get(READ_ONLY) and (state.is_insert or state.is_update or state.is_delete):
        raise WriteInRead("a request that only reads (GET) tried to change the database")


def reading_engine(engine: Engine) -> Engine | None:
    """The engine read-only requests use on PostgreSQL: the same pool, without transactions.

    Under READ COMMITTED (PostgreSQL's default, ours) every statement sees what was committed
    when it began, in a transaction or not, so a page that only reads loses nothing; it saves
    the BEGIN before its first query and the ROLLBACK after its last, two of its ten-odd round
    trips to the server. None on SQLite: there a read transaction keeps the page's statements on
    one snapshot of the file, and costs no round trip.
    """
    if engine.dialect.name != "postgresql":
        return None
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def sqlite_settings(engine: Engine) -> dict[str, object]:
    """Read back the settings a connection runs with (checked at start-up and in tests)."""
    with engine.connect() as conn:
        return {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        }


@contextlib.contextmanager
def write_unit() -> Iterator[None]:
    """Mark the enclosed work as writing, so SQLite starts it with BEGIN IMMEDIATE."""
    token = writing.set(True)
    try:
        yield
    finally:
        writing.reset(token)


@contextlib.contextmanager
def read_unit() -> Iterator[None]:
    """Mark the enclosed work as reading only, even inside a POST (a long export after its
    audit event is committed), so SQLite starts it with a plain BEGIN and holds no write lock."""
    token = writing.set(False)
    try:
        yield
    finally:
        writing.reset(token)


def worker_warning(url: str, workers: int) -> str | None:
    """The warning to log when several worker processes would share one SQLite file."""
    if workers > 1 and is_sqlite(url):
        return (
            f"{workers} worker processes on SQLite: SQLite {sqlite3.sqlite_version} must be served by "
            "ONE process (threads are fine). Run gunicorn -w 1 --threads 8, or set DATABASE_URL to "
            "PostgreSQL for several workers."
        )
    return None
