"""Security headers, CSRF, side-effect-free GETs, production configuration, stored XSS.

SECURITY-NOTES 6 (baseline) and 7 items 5, 6 and 20.
"""

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import itsdangerous
import pyotp
import pytest
from sqlalchemy import func, select

from app import clock, create_app, db, passwords
from app.domain.site import Site
from app.domain.vocab import ItemStatus, Role
from app.migrate import upgrade
from app.models import AuditEvent, Base, ChecklistItem
from app.services import second_factor
from app.services.users import create_user
from config import KNOWN_WEAK_KEYS, ConfigError, ProductionConfig
from tests import factories
from tests.conftest import NOW, PASSWORD, TOTP_SECRET, login
from tests.routes import build, route_values

STRONG_KEY = "4f1d0c8e2b7a9d3e6c5b8a7f0e1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d5"
SKIPPED_ENDPOINTS = {"static", "bootstrap.static"}
XSS = "<script>alert(1)</script>"
IMG_XSS = '"><img src=x onerror=alert(1)>'


# --- helpers -------------------------------------------------------------------------


def csp_directives(response) -> dict[str, str]:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives[name] = value.strip()
    return directives


def assert_security_headers(response, authenticated: bool) -> None:
    where = f"{response.request.method} {response.request.path} -> {response.status_code}"
    csp = csp_directives(response)
    assert csp.get("object-src") == "'none'", where
    assert csp.get("base-uri") == "'none'", where
    assert csp.get("frame-ancestors") == "'none'", where
    assert "default-src" in csp, where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    referrer = response.headers.get("Referrer-Policy")
    # no-referrer would make Flask-WTF refuse every HTTPS form post (no Referer).
    assert referrer and referrer != "no-referrer", where
    if authenticated:
        assert "no-store" in response.headers.get("Cache-Control", ""), where


def snapshot(skip: frozenset[str] = frozenset()) -> dict[str, list[tuple]]:
    """Every row of every table (except `skip`), in primary-key order."""
    rows = {}
    for table in Base.metadata.sorted_tables:
        if table.name in skip:
            continue
        stmt = select(table).order_by(*table.primary_key.columns)
        rows[table.name] = [tuple(r) for r in db.session.execute(stmt)]
    db.session.remove()
    return rows


def audit_count() -> int:
    count = db.session.scalar(select(func.count()).select_from(AuditEvent))
    db.session.remove()
    return count


def item_row(item_id: int) -> tuple:
    row = db.session.execute(
        select(ChecklistItem.status, ChecklistItem.version).where(ChecklistItem.id == item_id)
    ).one()
    db.session.remove()
    return tuple(row)


def production_app(tmp_path, **overrides):
    settings = {
        "PERIOP_ENV": "production",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}",
        "SECRET_KEY": STRONG_KEY,
        **overrides,
    }
    return create_app(settings)


@pytest.fixture
def prod(tmp_path):
    application = production_app(tmp_path)
    yield application
    application.extensions["periop_engine"].dispose()


# --- headers on every kind of response --------------------------------------------------


def test_login_page_has_security_headers(client):
    response = client.get("/login")

    assert response.status_code == 200
    assert_security_headers(response, authenticated=False)
    assert "no-store" in response.headers["Cache-Control"]  # it carries a CSRF token


def test_redirect_to_login_has_security_headers(client, episode):
    response = client.get(f"/episodes/{episode.id}")

    assert response.status_code == 302
    assert_security_headers(response, authenticated=False)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/episodes/{episode_id}", 200),
        ("/episodes/{episode_id}/history", 200),
        ("/patients", 200),
        ("/patients/new", 403),  # nurses do not register patients
        ("/episodes/999999", 404),
        ("/no-such-page", 404),
        ("/logout", 405),
        ("/login", 302),  # already logged in: sent home
    ],
)
def test_authenticated_responses_have_security_headers_and_no_store(client, nurse, episode, path, status):
    login(client, nurse)

    response = client.get(path.format(episode_id=episode.id))

    assert response.status_code == status
    assert_security_headers(response, authenticated=True)


def test_csrf_failure_page_has_security_headers(client, nurse, episode):
    login(client, nurse)
    item = factories.item(episode, "intra_sign_in")

    response = client.post(f"/episodes/{episode.id}/items/{item.id}/done", data={"version": "1"})

    assert response.status_code == 400
    assert_security_headers(response, authenticated=True)


@pytest.mark.settings(PROPAGATE_EXCEPTIONS=False)  # an app of its own: the test adds a route to it
def test_server_error_page_has_security_headers_and_no_traceback(app, client, nurse):
    def boom():
        raise RuntimeError("secret internals")

    app.add_url_rule("/test-boom", "test_boom", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login(client, nurse)

    response = client.get("/test-boom")

    assert response.status_code == 500
    assert_security_headers(response, authenticated=True)
    body = response.get_data(as_text=True)
    assert "secret internals" not in body
    assert "Traceback" not in body
    assert "report reference" in body


def test_static_files_have_security_headers(client):
    response = client.get("/static/periop.css")

    assert response.status_code == 200
    assert_security_headers(response, authenticated=False)
    response.close()


def test_health_has_security_headers(client):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert_security_headers(response, authenticated=False)


def test_no_hsts_over_plain_http_in_testing(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_production_sends_hsts_for_a_year_with_subdomains(prod):
    client = prod.test_client()
    for path in ("/login", "/health", "/no-such-page", "/"):
        response = client.get(path)
        hsts = response.headers.get("Strict-Transport-Security", "")
        directives = dict(
            (part.strip().partition("=")[0].lower(), part.strip().partition("=")[2])
            for part in hsts.split(";")
        )
        assert int(directives.get("max-age", "0")) >= 31536000, path
        assert "includesubdomains" in directives, path
        assert_security_headers(response, authenticated=False)


def test_production_session_cookie_is_host_prefixed_secure_httponly_samesite(prod):
    client = prod.test_client()

    response = client.get("/login")  # stores the CSRF token in the session

    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("__Host-periop="))
    attributes = {a.strip().split("=")[0].lower() for a in session_cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite", "path"} <= attributes
    assert "domain" not in attributes  # __Host- cookies must not name a domain
    assert "samesite=lax" in session_cookie.lower() or "samesite=strict" in session_cookie.lower()


HTTPS = "https://localhost"
_CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def prod_with_user(prod):
    """The production app on a migrated database with one nurse account, with two-step login."""
    with prod.app_context():
        upgrade(prod.extensions["periop_engine"])
        with db.write_unit():
            nurse = create_user(db.session, None, "nurse", "Nina Nurse", Role.NURSE, PASSWORD)
            first = pyotp.TOTP(TOTP_SECRET).at(NOW - timedelta(minutes=1))
            with clock.at(NOW - timedelta(minutes=1)):
                second_factor.enrol(db.session, nurse, TOTP_SECRET, first, PASSWORD, None, 10, 15)
            db.session.commit()
        db.session.remove()
    return prod


def _https_login(client, referer: str | None = f"{HTTPS}/login"):
    page = client.get("/login", base_url=HTTPS)
    token = _CSRF_RE.search(page.get_data(as_text=True)).group(1)
    headers = {"Referer": referer} if referer else {}
    data = {"csrf_token": token, "username": "nurse", "password": PASSWORD}
    return client.post("/login", data=data, base_url=HTTPS, headers=headers)


def _https_code(client):
    page = client.get("/login/code", base_url=HTTPS)
    token = _CSRF_RE.search(page.get_data(as_text=True)).group(1)
    data = {"csrf_token": token, "code": pyotp.TOTP(TOTP_SECRET).at(NOW)}
    return client.post("/login/code", data=data, base_url=HTTPS, headers={"Referer": f"{HTTPS}/login/code"})


def test_production_needs_two_step_login_for_every_role(prod):
    assert prod.config["MFA_REQUIRED_ROLES"] == frozenset(Role)


def test_production_login_over_https_sets_only_secure_host_cookies(prod_with_user):
    client = prod_with_user.test_client()

    password = _https_login(client)
    response = _https_code(client)

    assert password.status_code == 302, password.get_data(as_text=True)[:300]
    assert urlsplit(password.headers["Location"]).path == "/login/code"
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    cookies = password.headers.getlist("Set-Cookie") + response.headers.getlist("Set-Cookie")
    assert cookies
    for cookie in cookies:
        attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
        assert {"secure", "httponly", "samesite"} <= attributes, cookie
        assert cookie.startswith("__Host-"), cookie
    home = client.get("/", base_url=HTTPS)
    assert home.status_code == 200
    assert "no-store" in home.headers["Cache-Control"]
    assert "max-age=31536000" in home.headers["Strict-Transport-Security"]


def test_production_https_post_without_referer_is_refused(prod_with_user):
    """WTF_CSRF_SSL_STRICT: an HTTPS form post must name a same-origin Referer."""
    client = prod_with_user.test_client()

    assert _https_login(client, referer=None).status_code == 400
    assert _https_login(client, referer="https://evil.test/login").status_code == 400
    assert client.get("/", base_url=HTTPS).status_code == 302  # not logged in


def test_testing_session_cookie_is_httponly_and_samesite(client):
    cookie = next(
        c for c in client.get("/login").headers.getlist("Set-Cookie") if c.startswith("periop_session=")
    )

    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


# --- CSRF --------------------------------------------------------------------------------


@pytest.fixture
def ticker(client, nurse, episode):
    """A logged-in nurse and an open item she is responsible for."""
    login(client, nurse)
    return factories.item(episode, "intra_sign_in")


def _tick_url(episode, item) -> str:
    return f"/episodes/{episode.id}/items/{item.id}/done"


def test_item_action_without_csrf_token_is_refused_and_changes_nothing(client, episode, ticker):
    before, audits = snapshot(), audit_count()

    response = client.post(_tick_url(episode, ticker), data={"version": str(item_row(ticker.id)[1])})

    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)
    assert item_row(ticker.id)[0] is ItemStatus.OPEN
    assert audit_count() == audits
    assert snapshot() == before


@pytest.mark.parametrize("token", ["garbage", "", "IjEyMyI.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb"])
def test_item_action_with_garbage_csrf_token_is_refused_and_changes_nothing(client, episode, ticker, token):
    before = snapshot()

    response = client.post(
        _tick_url(episode, ticker), data={"csrf_token": token, "version": str(item_row(ticker.id)[1])}
    )

    assert response.status_code == 400
    assert item_row(ticker.id)[0] is ItemStatus.OPEN
    assert snapshot() == before


def test_item_action_with_another_sessions_csrf_token_is_refused(app, client, episode, ticker, surgeon):
    other = app.test_client()
    login(other, surgeon)
    foreign_token = other.csrf_token()
    before = snapshot()

    response = client.post(
        _tick_url(episode, ticker), data={"csrf_token": foreign_token, "version": str(item_row(ticker.id)[1])}
    )

    assert response.status_code == 400
    assert snapshot() == before


def test_item_action_with_expired_csrf_token_is_refused(app, client, episode, ticker, monkeypatch):
    token = client.csrf_token()
    later = int(time.time()) + app.config["WTF_CSRF_TIME_LIMIT"] + 60
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: later)
    before = snapshot()

    response = client.post(
        _tick_url(episode, ticker), data={"csrf_token": token, "version": str(item_row(ticker.id)[1])}
    )

    assert response.status_code == 400
    assert snapshot() == before


def test_item_action_with_valid_csrf_token_works(client, episode, ticker):
    """The control for the refusals above: the same post with the token is accepted."""
    response = client.form_post(_tick_url(episode, ticker), {"version": str(item_row(ticker.id)[1])})

    assert response.status_code == 302
    assert item_row(ticker.id)[0] is ItemStatus.DONE


def test_every_post_route_refuses_a_missing_csrf_token(app, client, surgeon, episode):
    """As a user allowed to post everywhere (a surgeon): every POST without a token is 400."""
    login(client, surgeon)
    item = factories.item(episode, "pre_conservative_care")
    values = route_values(episode, item)
    urls = app.url_map.bind("localhost")
    posted = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_ENDPOINTS or "POST" not in rule.methods:
            continue
        url = build(urls, rule, values)
        before = snapshot()

        response = client.post(url, data={"version": "1", "note": "x", "reason": "x"})

        assert response.status_code == 400, url
        assert snapshot() == before, url
        posted.append(rule.endpoint)
    assert {"auth.login", "auth.logout", "checklist.item_action", "patients.register"} <= set(posted)
    assert client.get("/").status_code == 200  # the refused logout did not log out


def test_csrf_protection_is_registered_with_no_exempt_views(app):
    csrf = app.extensions["csrf"]
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    assert app.config.get("WTF_CSRF_CHECK_DEFAULT", True) is True
    assert not csrf._exempt_views
    assert not csrf._exempt_blueprints


# --- GETs have no side effects ----------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", *(r.value for r in Role)])
def test_get_requests_to_every_route_write_nothing(app, client, users, episode, who):
    """GET every route (clock moving, so sessions get touched): no audit rows, no data change."""
    if who != "anonymous":
        login(client, users[Role(who)])
    item = factories.item(episode, "pre_conservative_care")
    values = route_values(episode, item)
    urls = app.url_map.bind("localhost")
    audits = audit_count()
    before = snapshot(skip=frozenset({"user_session"}))  # last_seen_at moves: that is its job
    moment = NOW
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_ENDPOINTS or "GET" not in rule.methods:
            continue
        url = build(urls, rule, values)
        moment += timedelta(minutes=2)
        clock.set_now(moment)

        response = client.get(url)

        # 404: tests/routes.py names a therapy session that does not exist (therapists only).
        assert response.status_code in (200, 302, 403, 404), url
        assert_security_headers(response, authenticated=who != "anonymous")
    assert audit_count() == audits
    assert snapshot(skip=frozenset({"user_session"})) == before


# --- production configuration -----------------------------------------------------------


@pytest.mark.parametrize("key", [None, ""])
def test_production_refuses_to_start_without_secret_key(tmp_path, key):
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        production_app(tmp_path, SECRET_KEY=key)


def test_production_refuses_to_start_when_secret_key_absent_from_settings(tmp_path, monkeypatch):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", None)
    settings = {"PERIOP_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app(settings)


@pytest.mark.parametrize(
    "key", ["a" * 31, "short-key", *sorted(KNOWN_WEAK_KEYS), "DEV", "Secret", "a" * 64, "changeme" * 4]
)
def test_production_refuses_a_short_or_known_weak_secret_key(tmp_path, key):
    with pytest.raises(ConfigError, match="SECRET_KEY is too weak"):
        production_app(tmp_path, SECRET_KEY=key)


def test_production_refuses_demo_mode(tmp_path):
    with pytest.raises(ConfigError, match="DEMO_MODE cannot be on in production"):
        production_app(tmp_path, DEMO_MODE=True)


def test_production_starts_with_a_strong_key_and_safe_settings(prod):
    config = prod.config
    assert config["PERIOP_ENV"] == "production"
    assert config["DEBUG"] is False
    assert not config.get("TESTING")
    assert config["DEMO_MODE"] is False
    assert config["SECRET_KEY"] == STRONG_KEY
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert config["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert not config.get("SESSION_COOKIE_DOMAIN")
    assert config["PREFERRED_URL_SCHEME"] == "https"
    assert config["WTF_CSRF_TIME_LIMIT"] >= config["SESSION_IDLE_MINUTES"] * 60


def test_production_uses_argon2id_at_or_above_owasp_minimum(prod):
    config = prod.config
    assert config["ARGON2_MEMORY_COST"] >= 19456  # KiB, i.e. 19 MiB
    assert config["ARGON2_TIME_COST"] >= 2
    assert config["ARGON2_PARALLELISM"] >= 1
    # ...and the hasher really runs with them.
    encoded = passwords.hash_password("a long enough passphrase", Site.from_config(config).password_cost)
    assert encoded.startswith("$argon2id$")
    params = dict(p.split("=") for p in encoded.split("$")[3].split(","))
    assert int(params["m"]) >= 19456
    assert int(params["t"]) >= 2


def test_production_does_not_use_remember_me(prod):
    assert not prod.config.get("REMEMBER_COOKIE_DURATION")
    client = prod.test_client()
    response = client.get("/login")
    assert "remember" not in response.get_data(as_text=True).lower()
    assert not any("remember_token" in c for c in response.headers.getlist("Set-Cookie"))


def test_production_refuses_trace(prod):
    response = prod.test_client().open("/login", method="TRACE")

    assert response.status_code == 405


def test_production_hides_tracebacks(tmp_path):
    application = production_app(tmp_path)
    try:
        assert application.debug is False
        assert application.config.get("PROPAGATE_EXCEPTIONS") in (None, False)
    finally:
        application.extensions["periop_engine"].dispose()


# --- stored XSS --------------------------------------------------------------------------


@pytest.fixture
def hostile_episode(coordinator, surgeon, protocol):
    return factories.episode(coordinator, surgeon, protocol, family_name=XSS, given_name=IMG_XSS)


SCRIPTS = ['<script src="/static/htmx.min.js">', '<script src="/static/items.js">']


def _assert_escaped(body: str, where: str) -> None:
    lowered = body.lower()
    # The only scripts are the app's own files (htmx and its helpers), never markup from a record.
    assert re.findall(r"<script[^>]*>", lowered) in ([], SCRIPTS), where
    assert "<img" not in lowered, where
    assert "&lt;script&gt;" in lowered, where


def test_hostile_patient_name_is_escaped_on_every_page(client, surgeon, hostile_episode):
    login(client, surgeon)
    pages = {
        "patient list": "/patients",
        "patient search": "/patients?q=script",
        "patient page": f"/patients/{hostile_episode.patient_id}",
        "episode page": f"/episodes/{hostile_episode.id}",
        "history page": f"/episodes/{hostile_episode.id}/history",
    }
    for where, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, where
        body = response.get_data(as_text=True)
        _assert_escaped(body, where)
        assert "&#34;&gt;&lt;img" in body or "&quot;&gt;&lt;img" in body, where


def test_hostile_note_is_escaped_on_episode_and_history_pages(client, nurse, hostile_episode):
    item = factories.item(hostile_episode, "intra_sign_in")
    login(client, nurse)
    note = f"{XSS} {{{{7*7}}}}"
    saved = client.form_post(
        f"/episodes/{hostile_episode.id}/items/{item.id}/note",
        {"version": str(item_row(item.id)[1]), "note": note},
    )
    assert saved.status_code == 302
    assert urlsplit(saved.headers["Location"]).path == f"/episodes/{hostile_episode.id}"

    for url in (f"/episodes/{hostile_episode.id}", f"/episodes/{hostile_episode.id}/history"):
        body = client.get(url).get_data(as_text=True)
        _assert_escaped(body, url)
        # The stored text is shown as text: tags escaped, template syntax not evaluated.
        assert "&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}}" in body, url
