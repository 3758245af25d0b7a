"""Shared fixtures: an app on a fresh migrated database per test, users, logins, the clock.

The database is SQLite by default. Set PERIOP_TEST_DATABASE=postgresql to run the same
tests against PostgreSQL (PERIOP_TEST_PG_URL, default postgresql://postgres@127.0.0.1:5432/test);
each test worker gets its own schema, created and dropped here.
"""

import hashlib
import os
import re
import shutil
import sqlite3
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import pyotp
import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app import clock, create_app, db, passwords
from app.domain.password_strength import password_problem
from app.domain.vocab import Role
from app.migrate import upgrade
from app.models import Base, User
from app.services import protocols, second_factor
from app.services import users as users_service
from app.services.users import create_user
from app.web import once
from tests import factories

PASSWORD = "correct-horse-battery"
# Easily guessed passwords the password rule refuses, each with zxcvbn's own warning.
WEAK_PASSWORDS = [
    ("aaaaaaaaaaaa", 'Repeats like "aaa" are easy to guess.'),
    ("qwertyuiop12", "This is similar to a commonly used password."),
    ("iloveyou1234", "This is similar to a commonly used password."),
    ("Welcome2026!", "This is similar to a commonly used password."),
    ("letmeinletmein", 'Repeats like "abcabcabc" are only slightly harder to guess than "abc".'),
    ("abcdefghijkl", 'Sequences like "abc" or "6543" are easy to guess.'),
]

# The second factor tests set up (set_up_two_step): codes are pyotp.TOTP(TOTP_SECRET).at(clock.now()).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
BACKEND = os.environ.get("PERIOP_TEST_DATABASE", "sqlite")
PG_URL = os.environ.get("PERIOP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("PERIOP_REQUIRE_POSTGRES") == "1"
# A fixed "now" for every test: Wednesday 17 June 2026, midday UTC.
NOW = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)

# What the template database is made with: the protocols and the audit events of their
# publication (kept between PostgreSQL tests, as the SQLite copy has them).
TEMPLATE_TABLES = ("protocol_template", "protocol_version", "protocol_step", "audit_event")


class _SharedBytecode(BytecodeCache):
    """Templates compiled once per worker, not once per test's app (a fresh Jinja environment)."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = _SharedBytecode()

_CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def _pg_url_with_schema(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return (
        f"{PG_URL.replace('postgresql://', 'postgresql+psycopg://', 1)}{sep}options=-csearch_path%3D{schema}"
    )


def _memory_folder(tmp_path_factory) -> Path:
    """A folder for the worker's SQLite files in memory (/dev/shm) where there is one: the suite
    runs with synchronous=FULL as production does, and a commit's fsync there costs microseconds,
    not most of a millisecond."""
    shm = Path("/dev/shm")  # noqa: S108 - mkdtemp below makes a private folder in it
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="periop-tests-", dir=shm))
    return tmp_path_factory.mktemp("databases")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """Migrate a SQLite database once per test worker, protocols loaded; before each test the
    worker's one engine gets a fresh copy of it (one engine: its compiled statements stay warm)."""
    folder = _memory_folder(tmp_path_factory)
    template = folder / "template.db"
    engine = db.make_engine(f"sqlite:///{template}")
    upgrade(engine)
    with db.write_unit(), Session(engine) as s:
        protocols.load_all(s)
        s.commit()
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    path = folder / "periop.db"
    worker_engine = db.make_engine(f"sqlite:///{path}")

    def fresh(_tmp_path):
        worker_engine.dispose()
        # Copied page by page through SQLite (its backup), so that a connection a test left open
        # sees the fresh database, not a file replaced under it.
        source, target = sqlite3.connect(template), sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        return worker_engine

    yield fresh
    worker_engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_template():
    """A schema of its own per test worker, migrated once with the protocols loaded, emptied
    before each test but for what it was made with (the protocols loaded, and their audit events)."""
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "no server"
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = _pg_url_with_schema(schema)
    engine = db.make_engine(url)
    upgrade(engine)
    with db.write_unit(), Session(engine) as s:
        protocols.load_all(s)
        s.commit()
    keep = f"{schema}_template"
    with admin.begin() as conn:  # a copy of what the template is made with, restored before each test
        conn.execute(text(f"CREATE SCHEMA {keep}"))
        for table in TEMPLATE_TABLES:
            conn.execute(text(f"CREATE TABLE {keep}.{table} AS SELECT * FROM {schema}.{table}"))
    # Emptying small tables with DELETE is much faster than TRUNCATE; replica mode skips
    # the triggers (the audit table refuses DELETE) and foreign keys for this one statement.
    tables = list(reversed(Base.metadata.sorted_tables))
    empty = "; ".join(
        ["SET LOCAL session_replication_role = replica"]
        + [f"DELETE FROM {t.name}" for t in tables]
        + [f"INSERT INTO {table} SELECT * FROM {keep}.{table}" for table in TEMPLATE_TABLES]
        + [
            f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
            f"(SELECT coalesce(max(id), 0) + 1 FROM {t.name}), false)"
            for t in tables
            if "id" in t.c and t.c.id.autoincrement is not False and t.name != "user_session"
        ]
    )

    def fresh(_tmp_path):
        with engine.begin() as conn:
            conn.exec_driver_sql(empty)
        return engine

    yield fresh
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        conn.execute(text(f"DROP SCHEMA {keep} CASCADE"))
    admin.dispose()


@pytest.fixture(scope="session")
def database_template(request):
    """The test database of the backend under test (PERIOP_TEST_DATABASE)."""
    name = "postgres_template" if BACKEND == "postgresql" else "sqlite_template"
    return request.getfixturevalue(name)


@pytest.fixture(autouse=True)
def frozen_clock():
    """Every test runs at NOW unless it moves the clock itself."""
    clock.set_now(NOW)
    yield NOW
    clock.set_now(None)


def make_test_app(engine, **settings):
    """Yield an app on the worker's engine, its database fresh with the protocols loaded
    (settings override the config). No app context stays pushed during the test: each request
    gets its own, as in production (a shared one would carry `g`, and so CSRF tokens, from one
    request to the next)."""
    url = engine.url.render_as_string(hide_password=False)
    application = create_app({"DATABASE_URL": url, "SERVER_NAME": "localhost", **settings}, engine=engine)
    application.test_client_class = CsrfClient
    application.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    db.use_outside_requests(application.extensions[db.SESSIONS])  # the test's own reads and writes
    yield application
    application.extensions[db.SESSIONS].remove()
    application.extensions["periop_engine"].dispose()


@pytest.fixture
def app(request, database_template, tmp_path):
    """The app on a fresh database. A test marked @pytest.mark.settings(NAME=value, ...) gets an
    app of its own with those settings; the others share one per worker (routes compiled and
    templates loaded once), its configuration put back as it was after each test."""
    engine = database_template(tmp_path)
    marker = request.node.get_closest_marker("settings")
    if marker is not None:
        yield from make_test_app(engine, **marker.kwargs)
        return
    if id(engine) not in _SHARED_APPS:
        _SHARED_APPS[id(engine)] = next(make_test_app(engine))
    application = _SHARED_APPS[id(engine)]
    config = dict(application.config)
    db.use_outside_requests(application.extensions[db.SESSIONS])
    yield application
    application.config.clear()
    application.config.update(config)
    application.extensions[db.SESSIONS].remove()
    engine.dispose()


_SHARED_APPS: dict[int, object] = {}  # the worker's app, by its engine


@pytest.fixture
def session(app):
    """The app's database session (the test's own unit of work)."""
    with db.write_unit():
        yield db.session
        db.session.rollback()


@pytest.fixture
def protocol(app):
    """The default protocol's current version, with its steps loaded."""
    version = protocols.latest_version(db.session, protocols.DEFAULT_SLUG)
    assert version.template and version.steps
    return version


_CHECKED: dict[tuple, str | None] = {}
_hash_password = passwords.hash_password  # the real one, before any patch
_HASHED: dict[tuple, str] = {}


def _checked_once(password: str, *user_inputs: str) -> str | None:
    key = (password, *user_inputs)
    if key not in _CHECKED:
        _CHECKED[key] = password_problem(password, *user_inputs)
    return _CHECKED[key]


def _hashed_once(password: str, cost) -> str:
    if (password, cost) not in _HASHED:
        _HASHED[password, cost] = _hash_password(password, cost)
    return _HASHED[password, cost]


def _make_user(role: Role, username: str, full_name: str):
    """A user made through the service, as an admin would; the fixture users' password is rated
    and hashed once per worker (the strength rule and Argon2 take most of a user's making, and
    the suite makes about 1,500 of them)."""
    with (
        mock.patch.object(users_service, "password_problem", _checked_once),
        mock.patch.object(passwords, "hash_password", _hashed_once),
        db.write_unit(),
    ):
        user = create_user(db.session, None, username, full_name, role, PASSWORD)
        db.session.commit()
    return user


@pytest.fixture
def surgeon(app):
    """Signs off and may work any clinical item; registers patients."""
    return _make_user(Role.SURGEON, "surgeon", "Dr Sara Surgeon")


@pytest.fixture
def surgeon2(app):
    """A second surgeon, for concurrent edits."""
    return _make_user(Role.SURGEON, "surgeon2", "Dr Tom Second")


@pytest.fixture
def anaesthetist(app):
    """Works anaesthetist items only."""
    return _make_user(Role.ANAESTHETIST, "anaesthetist", "Dr Ana Esthetist")


@pytest.fixture
def nurse(app):
    """Works nurse items only."""
    return _make_user(Role.NURSE, "nurse", "Nina Nurse")


@pytest.fixture
def therapist(app):
    """Works therapist items only."""
    return _make_user(Role.THERAPIST, "therapist", "Theo Therapist")


@pytest.fixture
def coordinator(app):
    """Registers patients and works coordinator items."""
    return _make_user(Role.COORDINATOR, "coordinator", "Cora Coordinator")


@pytest.fixture
def lead(app):
    """A surgeon an admin has made a clinical lead: edits, publishes and retires protocols."""
    user = _make_user(Role.SURGEON, "lead", "Dr Lena Lead")
    with db.write_unit():
        db.session.get(type(user), user.id).edits_protocols = True
        db.session.commit()
    user.edits_protocols = True
    return user


@pytest.fixture
def admin(app):
    """Sees users; no patient data, no ticking."""
    return _make_user(Role.ADMIN, "admin", "Adam Admin")


@pytest.fixture
def users(surgeon, anaesthetist, nurse, therapist, coordinator, admin):
    return {
        Role.SURGEON: surgeon,
        Role.ANAESTHETIST: anaesthetist,
        Role.NURSE: nurse,
        Role.THERAPIST: therapist,
        Role.COORDINATOR: coordinator,
        Role.ADMIN: admin,
    }


@pytest.fixture
def episode(app, coordinator, surgeon, protocol):
    """A registered patient with one episode, surgery on NOW's date."""
    return factories.episode(coordinator, surgeon, protocol, surgery_date=NOW.date())


@pytest.fixture
def world(protocol, users, surgeon2):
    """Makes episodes in given states through the services (tests/world.py)."""
    from tests.world import World  # imports this module: load it late

    return World(protocol, users, surgeon2)


@pytest.fixture
def client(app):
    return app.test_client()


class CsrfClient(FlaskClient):
    """A test client that sends a valid CSRF token with every form post."""

    def csrf_token(self) -> str:
        """A valid CSRF token of this browser's session, made as Flask-WTF makes the one a page
        carries (without rendering a page for it)."""
        with self.session_transaction() as browser:
            raw = browser.get("csrf_token")
            if raw is None:
                raw = browser["csrf_token"] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324
        secret = self.application.config.get("WTF_CSRF_SECRET_KEY") or self.application.secret_key
        return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)

    def form_post(self, url: str, data: dict | None = None, **kwargs):
        """Post a form as a browser would: with a CSRF token and a fresh one-time form token."""
        payload = {"csrf_token": self.csrf_token(), "form_token": once.new_token(), **(data or {})}
        return self.post(url, data=payload, **kwargs)


def login(client: CsrfClient, user, password: str = PASSWORD):
    """Log the user in through the login form; returns the response."""
    response = client.form_post("/login", {"username": user.username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def set_up_two_step(user, secret: str = TOTP_SECRET) -> list[str]:
    """Give the user a second factor, set up a minute ago (as the Two-step login page does), so
    that the codes of now are still unused; returns the recovery codes."""
    earlier = clock.now() - timedelta(minutes=1)
    with db.write_unit(), clock.at(earlier):
        account = db.session.get(User, user.id)
        first = pyotp.TOTP(secret).at(earlier)
        codes, _ = second_factor.enrol(db.session, account, secret, first, PASSWORD, None, 10, 15)
        db.session.commit()
    db.session.remove()
    return codes


def login_with_code(client: CsrfClient, user, code: str, password: str = PASSWORD):
    """Log in through both steps (password, then code); returns the response to the code."""
    first = login(client, user, password)
    assert urlsplit(first.headers["Location"]).path == "/login/code", first.headers["Location"]
    token = _CSRF_RE.search(client.get("/login/code").get_data(as_text=True))
    return client.post("/login/code", data={"csrf_token": token.group(1) or token.group(2), "code": code})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (PERIOP_NO_SKIPS=1) a skipped test is a failed test: nothing may be skipped."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("PERIOP_NO_SKIPS") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be skipped: {report.longrepr}"


def pytest_terminal_summary(terminalreporter):
    """Show the figures tests recorded (record_property("figures", line)), also those of xdist workers,
    whose printed output is not shown."""
    lines = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == "figures"
    ]
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)
