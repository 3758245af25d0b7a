"""A fresh database made ready to serve, through the app's own code: schema, protocol, users, episodes."""

import contextlib
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pyotp
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from app import clock, db, migrate
from app.domain import second_factor as second_factor_rules
from app.domain.site import PasswordCost
from app.domain.site import Site as SiteSettings
from app.domain.vocab import Role, Sex
from app.models import AuditEvent, ChecklistItem, User
from app.services import protocols, second_factor
from app.services.patients import EpisodeDetails, PatientDetails, register_patient
from app.services.users import create_user
from config import Config
from tests.conftest import BACKEND, PG_URL, REQUIRE_PG, _pg_url_with_schema
from tests.factories import sample_value

PASSWORD = "steady-lumbar-ledger-4417"
# Client threads by role: surgeons, nurses and anaesthetists tick, therapists tick and log sessions,
# coordinators record outcome scores.
CLIENTS = {Role.SURGEON: 4, Role.NURSE: 5, Role.ANAESTHETIST: 3, Role.THERAPIST: 4, Role.COORDINATOR: 2}
EPISODES = 4
SURGERY_DAYS_AGO = 100  # after surgery: sessions and follow-up scores can be dated today or before


@dataclass(frozen=True)
class Account:
    """A user a client logs in as: password, then the code of their authenticator app."""

    id: int
    username: str
    role: Role
    totp_secret: str


@dataclass(frozen=True)
class EpisodeRef:
    id: int
    surgery_date: date
    items: dict[int, str]  # item id -> protocol step code


@dataclass(frozen=True)
class Site:
    url: str
    accounts: list[Account]
    episodes: list[EpisodeRef]
    values: dict[str, str]  # a valid value for each value step, by code (Mark done asks for it)
    by_records: frozenset[str]  # steps completed by outcome scores (their item follows the scores)
    last_setup_event: int  # audit events of the run have higher ids


@contextlib.contextmanager
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """Create a new, empty database of the backend under test (PERIOP_TEST_DATABASE); drop it afterwards."""
    if BACKEND != "postgresql":
        yield f"sqlite:///{tmp_path / 'periop.db'}"
        return
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "no server"
        admin.dispose()
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    schema = f"rel_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield _pg_url_with_schema(schema)  # search_path names the schema: migrations and app alike
        with admin.connect() as conn:
            placed = conn.scalar(text(f"SELECT to_regclass('{schema}.form_submission')"))
        assert placed is not None, f"the migrations made no tables in {schema}: is search_path read?"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def prepare(url: str) -> Site:
    """Migrate, publish the protocol, enrol the users and register the episodes the clients share."""
    engine = db.make_engine(url)
    try:
        migrate.upgrade(engine)
        # Stored hashes as production makes them, flags kept in step as the app keeps them.
        production = PasswordCost(
            Config.ARGON2_TIME_COST, Config.ARGON2_MEMORY_COST, Config.ARGON2_PARALLELISM
        )
        sessions = db.make_session_factory(engine, SiteSettings(password_cost=production))
        today = datetime.now(UTC).date()
        # Set up a few minutes ago, so that the code each user confirmed it with is of an earlier
        # step than the code they log in with (each step's code is accepted once).
        with clock.at(datetime.now(UTC) - timedelta(minutes=3)), db.write_unit(), sessions() as s:
            protocols.load_all(s)
            accounts = _accounts(s)
            episodes = _episodes(s, accounts, today)
            protocol = protocols.latest_version(s, protocols.DEFAULT_SLUG)
            values = {}
            by_records = set()
            for step in protocol.steps:
                value = sample_value(SimpleNamespace(step=step))
                if value is not None:
                    values[step.code] = value
                if step.outcome_time_point is not None:
                    by_records.add(step.code)
            s.commit()
            last_event = s.scalar(select(func.max(AuditEvent.id)))
    finally:
        engine.dispose()
    return Site(url, accounts, episodes, values, frozenset(by_records), last_event)


def _accounts(s: Session) -> list[Account]:
    tag = secrets.token_hex(3)  # usernames of their own: the client remembers each one's used codes
    accounts = []
    for role, count in CLIENTS.items():
        for n in range(1, count + 1):
            user = create_user(s, None, f"{role.value}{n}.{tag}", f"{role.label} {n}", role, PASSWORD)
            secret = pyotp.random_base32()
            code = second_factor_rules.code_at(secret, clock.now())
            second_factor.enrol(s, user, secret, code, PASSWORD, None, 10, 15)
            accounts.append(Account(user.id, user.username, role, secret))
    return accounts


def _episodes(s: Session, accounts: list[Account], today: date) -> list[EpisodeRef]:
    protocol = protocols.latest_version(s, protocols.DEFAULT_SLUG)
    coordinator = next(a for a in accounts if a.role is Role.COORDINATOR)
    surgeon = next(a for a in accounts if a.role is Role.SURGEON)
    registrar = s.get(User, coordinator.id)
    surgery = today - timedelta(days=SURGERY_DAYS_AGO)
    refs = []
    for n in range(EPISODES):
        episode = register_patient(
            s,
            registrar,
            PatientDetails(f"REL{n:04d}", "Ledger", f"Patient {n}", date(1964, 3, 1 + n), Sex.FEMALE),
            EpisodeDetails("L4-L5 microdiscectomy", "L4-L5", surgeon.id, surgery),
            protocol,
            today,
        )
        s.flush()
        items = s.execute(
            select(ChecklistItem.id, ChecklistItem.step_id).where(ChecklistItem.episode_id == episode.id)
        ).all()
        codes = {step.id: step.code for step in protocol.steps}
        refs.append(EpisodeRef(episode.id, surgery, {item_id: codes[step_id] for item_id, step_id in items}))
    return refs
