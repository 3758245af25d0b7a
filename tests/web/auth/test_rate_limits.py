"""Rate limits of the login steps: per client address and per account, 429 with Retry-After.

SECURITY-NOTES 1.1 (ASVS 6.1.1 / 6.3.1 anti-automation) and TL;DR 8 (client addresses only through
a correctly sized ProxyFix; counts shared by every worker need a shared storage).
"""

import os
import socket
import uuid
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlalchemy import func, select

from app import clock, create_app, db
from app.domain.vocab import Role
from app.models import AuditEvent, User
from config import ConfigError
from tests.conftest import PASSWORD, TOTP_SECRET, make_test_app, set_up_two_step

REDIS_URL = os.environ.get("PERIOP_TEST_REDIS_URL", "redis://127.0.0.1:6379")
BY_ADDRESS = {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT_PER_ADDRESS": "3 per minute"}
BY_ACCOUNT = {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT_PER_ACCOUNT": "3 per minute"}
STRONG = {"SECRET_KEY": "4f1d0c8e2b7a9d3e6c5b8a7f0e1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d5"}
WRONG = "wrong-password-123"
TOO_MANY = "There were too many attempts to log in from this computer or to this account."


# --- helpers -------------------------------------------------------------------------------


def browser(app, address: str = "127.0.0.1", forwarded_for: str | None = None):
    """A test client whose requests come from `address` (and name `forwarded_for`, if given)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded_for:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def attempt(client, username: str, password: str = WRONG):
    return client.form_post("/login", {"username": username, "password": password})


def code_attempt(client, code: str, **extra):
    return client.form_post("/login/code", {"code": code, **extra})


def audit_count() -> int:
    count = db.session.scalar(select(func.count()).select_from(AuditEvent))
    db.session.remove()
    return count


def failed_logins(user) -> int:
    count = db.session.get(User, user.id).failed_logins
    db.session.remove()
    return count


def assert_limited(response) -> None:
    assert response.status_code == 429, response.status_code
    assert "Too many attempts" in response.get_data(as_text=True)
    assert TOO_MANY in response.get_data(as_text=True)
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "no-store" in response.headers["Cache-Control"]


def code() -> str:
    return pyotp.TOTP(TOTP_SECRET).at(clock.now())


def wrong_code() -> str:
    window = {pyotp.TOTP(TOTP_SECRET).at(clock.now(), counter_offset=n) for n in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in window)


# --- the settings ----------------------------------------------------------------------------


def test_the_suite_runs_without_limits_and_sites_with_them(app, tmp_path):
    assert app.config["RATELIMIT_ENABLED"] is False  # the suite logs in many times a minute
    site = create_app(
        {"PERIOP_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", **STRONG}
    )
    try:
        assert site.config["RATELIMIT_ENABLED"] is True
        assert site.config["LOGIN_RATE_LIMIT_PER_ADDRESS"] == "30 per minute"
        assert site.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"] == "10 per minute"
        assert site.config["PROXY_COUNT"] == 0
    finally:
        site.extensions["periop_engine"].dispose()


@pytest.mark.parametrize("setting", ["LOGIN_RATE_LIMIT_PER_ADDRESS", "LOGIN_RATE_LIMIT_PER_ACCOUNT"])
def test_an_unreadable_limit_is_refused_at_start(tmp_path, setting):
    with pytest.raises(ConfigError, match=setting):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", setting: "ten a minute"})


# --- per address -----------------------------------------------------------------------------


@pytest.mark.settings(**BY_ADDRESS)
def test_too_many_login_attempts_from_one_address_get_429_with_retry_after(app, users):
    client = browser(app, "203.0.113.10")
    for username in ("nurse", "surgeon", "nobody-here"):
        assert attempt(client, username).status_code == 401
    audits = audit_count()

    limited = attempt(client, "therapist")

    assert_limited(limited)
    assert audit_count() == audits  # refused before the password was even checked
    assert failed_logins(users[Role.THERAPIST]) == 0
    assert client.get("/login").status_code == 200  # the page itself is never limited
    assert attempt(browser(app, "203.0.113.11"), "therapist").status_code == 401  # another address


@pytest.mark.settings(**BY_ADDRESS)
def test_the_code_step_counts_for_the_address_too(app, nurse):
    set_up_two_step(nurse)
    client = browser(app, "203.0.113.20")
    assert attempt(client, "nurse", PASSWORD).status_code == 302
    assert code_attempt(client, wrong_code()).status_code == 401

    assert code_attempt(client, wrong_code()).status_code == 401
    assert_limited(code_attempt(client, code()))
    assert_limited(attempt(client, "surgeon"))


@pytest.mark.settings(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT_PER_ADDRESS="1 per minute")
def test_pages_are_never_limited_only_the_posts(app, nurse):
    client = browser(app, "203.0.113.30")
    assert attempt(client, "nurse").status_code == 401

    for _ in range(5):
        assert client.get("/login").status_code == 200
        assert client.get("/health").status_code == 200
    assert_limited(attempt(client, "nurse"))


# --- per account -----------------------------------------------------------------------------


@pytest.mark.settings(**BY_ACCOUNT)
def test_too_many_attempts_at_one_account_from_many_addresses_get_429(app, nurse, surgeon):
    for n in range(3):
        assert attempt(browser(app, f"198.51.100.{n}"), " NURSE ").status_code == 401

    limited = attempt(browser(app, "198.51.100.99"), "nurse", PASSWORD)

    assert_limited(limited)
    assert failed_logins(nurse) == 3  # the refused attempt was not even counted
    assert attempt(browser(app, "198.51.100.99"), "surgeon", PASSWORD).status_code == 302


@pytest.mark.settings(**BY_ACCOUNT)
def test_the_password_and_code_steps_share_the_accounts_count(app, nurse):
    set_up_two_step(nurse)
    client = browser(app, "198.51.100.40")
    assert attempt(client, "nurse", PASSWORD).status_code == 302
    assert code_attempt(client, wrong_code()).status_code == 401

    # A username sent along with the code does not move the count to another account.
    assert code_attempt(client, wrong_code(), username="someone-else").status_code == 401
    limited = code_attempt(client, code(), username="someone-else")

    assert_limited(limited)
    assert_limited(attempt(browser(app, "198.51.100.41"), "nurse", PASSWORD))


# --- client addresses behind proxies (PROXY_COUNT) --------------------------------------------


@pytest.mark.settings(**BY_ADDRESS)
def test_without_proxy_count_a_forwarded_for_header_is_ignored(app, nurse):
    for n in range(3):
        assert attempt(browser(app, "203.0.113.50", forwarded_for=f"192.0.2.{n}"), "nurse").status_code == 401

    assert_limited(attempt(browser(app, "203.0.113.50", forwarded_for="192.0.2.99"), "nurse"))


@pytest.mark.settings(PROXY_COUNT=1, **BY_ADDRESS)
def test_behind_one_proxy_the_address_it_forwards_is_the_clients(app, nurse):
    proxy = "10.0.0.2"  # every request comes through the site's own proxy
    for _ in range(3):
        assert attempt(browser(app, proxy, forwarded_for="192.0.2.1"), "nurse").status_code == 401

    # What a client writes in front of the proxy's hop is not believed: still 192.0.2.1.
    assert_limited(attempt(browser(app, proxy, forwarded_for="203.0.113.77, 192.0.2.1"), "nurse"))
    assert attempt(browser(app, proxy, forwarded_for="192.0.2.2"), "nurse").status_code == 401


# --- shared counts: several workers ------------------------------------------------------------


def _redis_reachable() -> bool:
    host, _, port = REDIS_URL.removeprefix("redis://").partition(":")
    try:
        with socket.create_connection((host, int(port or 6379)), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in the shared Redis, removed afterwards."""
    if not _redis_reachable():
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    import redis

    prefix = f"periop-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    server = redis.Redis.from_url(REDIS_URL)
    for key in server.scan_iter(match=f"*{prefix}*"):
        server.delete(key)
    server.close()


def test_workers_sharing_redis_count_attempts_together(database_template, tmp_path, redis_prefix):
    """Two apps (as two gunicorn workers) on one Redis: the second refuses what the first counted."""
    engine = database_template(tmp_path)
    settings = {**BY_ACCOUNT, "RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": redis_prefix}
    first_worker = make_test_app(engine, **settings)
    second_worker = make_test_app(engine, **settings)
    first, second = next(first_worker), next(second_worker)
    try:
        for n in range(3):
            assert attempt(browser(first, f"198.51.100.{n}"), "someone").status_code == 401
        assert_limited(attempt(browser(second, "198.51.100.9"), "someone"))
    finally:
        for worker in (first_worker, second_worker):
            next(worker, None)


def test_workers_counting_in_memory_count_apart(database_template, tmp_path):
    """Why RATELIMIT_STORAGE_URI matters with several workers: memory counts per process."""
    engine = database_template(tmp_path)
    first_worker, second_worker = make_test_app(engine, **BY_ACCOUNT), make_test_app(engine, **BY_ACCOUNT)
    first, second = next(first_worker), next(second_worker)
    try:
        for n in range(3):
            assert attempt(browser(first, f"198.51.100.{n}"), "someone").status_code == 401
        assert attempt(browser(second, "198.51.100.9"), "someone").status_code == 401
        assert_limited(attempt(browser(first, "198.51.100.9"), "someone"))
    finally:
        for worker in (first_worker, second_worker):
            next(worker, None)


def test_goes_to_the_code_step_when_not_limited(app, nurse):
    """With limits off (the suite's default), nothing is refused with 429."""
    set_up_two_step(nurse)
    client = browser(app)
    for _ in range(12):
        response = attempt(client, "nurse", PASSWORD)
        assert urlsplit(response.headers["Location"]).path == "/login/code"


@pytest.mark.settings(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1", **BY_ACCOUNT)
def test_an_unreachable_redis_falls_back_to_counting_in_this_process(app, nurse):
    for n in range(3):
        assert attempt(browser(app, f"198.51.100.{n}"), "nurse").status_code == 401

    assert_limited(attempt(browser(app, "198.51.100.9"), "nurse", PASSWORD))
