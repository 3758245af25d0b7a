"""Login, lockout, logout, session timeouts, session fixation, safe `next`.

SECURITY-NOTES 5.1, 5.4, 5.6 and test plan 7 items 7, 8 and 9.
"""

import re
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import select

from app import clock, db
from app.auth.redirects import safe_next
from app.auth.views import LOGIN_REFUSED
from app.models import AuditEvent, User, UserSession
from tests.conftest import NOW, PASSWORD, login

COOKIE = "periop_session"
WRONG = "wrong-password-123"
OPEN_REDIRECT_VECTORS = [
    "//evil.test",
    "/\\evil.test",
    "\\\\evil.test",
    "\\\\/evil.test",
    "/////evil.test",
    "http://evil.test/",
    "http:///evil.test",
    "https:////evil.test",
    "javascript:alert(1)",
    " javascript:alert(1)",
    "javascrip\nt:alert(1)",
    "/\t/evil.test",
    "https://localhost.evil.test/",
]
_TOKEN_RE = re.compile(r'value="[^"]*"')


# --- helpers -------------------------------------------------------------------------


def attempt(client, username: str, password: str, **data):
    return client.form_post("/login", {"username": username, "password": password, **data})


def audit_actions(action: str) -> list[AuditEvent]:
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()
    db.session.remove()
    return list(events)


def sessions_of(user) -> list[UserSession]:
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
    db.session.remove()
    return list(rows)


def set_active(user, active: bool) -> None:
    with db.write_unit():
        db.session.get(User, user.id).active = active
        db.session.commit()
    db.session.remove()


def goes_to_login(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def cookie_value(client) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def replay(app, value: str):
    """A second browser that holds only a copy of the cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, value)
    return thief


def same_site_path(location: str) -> bool:
    parts = urlsplit(location)
    return (
        parts.scheme in ("", "http", "https")
        and parts.netloc in ("", "localhost")
        and parts.path.startswith("/")
        and not parts.path.startswith("//")
        and "\\" not in location
        and "evil" not in location
    )


# --- login -------------------------------------------------------------------------------


def test_login_success_lands_on_home(client, nurse):
    response = attempt(client, "nurse", PASSWORD)

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Nina Nurse" in home.get_data(as_text=True)
    assert [e.target_id for e in audit_actions("auth.login")] == [nurse.id]
    assert len(sessions_of(nurse)) == 1


def test_username_is_case_insensitive_and_trimmed(client, nurse):
    response = attempt(client, "  NURSE ", PASSWORD)

    assert response.status_code == 302


def test_login_sets_no_remember_me_cookie(client, nurse):
    response = attempt(client, "nurse", PASSWORD)

    assert not any("remember_token" in c for c in response.headers.getlist("Set-Cookie"))
    assert client.get_cookie("remember_token") is None


def test_unknown_username_and_wrong_password_get_identical_answers(client, nurse):
    unknown = attempt(client, "nobody-here", WRONG)
    wrong = attempt(client, "nurse", WRONG)

    assert unknown.status_code == wrong.status_code == 401
    unknown_body = unknown.get_data(as_text=True)
    wrong_body = wrong.get_data(as_text=True)
    assert LOGIN_REFUSED in unknown_body
    assert LOGIN_REFUSED in wrong_body
    assert LOGIN_REFUSED == "Unknown username or wrong password."
    # Apart from the echoed username and the CSRF token, the pages are the same.
    assert _TOKEN_RE.sub("", unknown_body) == _TOKEN_RE.sub("", wrong_body)
    assert client.get("/").status_code == 302  # still anonymous
    failures = audit_actions("auth.login_failed")
    assert [e.target_id for e in failures] == [None, nurse.id]


def test_wrong_passwords_lock_the_account_until_the_lock_expires(app, client, nurse):
    max_failures = app.config["LOGIN_MAX_FAILURES"]
    lock = timedelta(minutes=app.config["LOGIN_LOCK_MINUTES"])
    assert max_failures <= 100  # ASVS 2.2.1: at most 100 failures an hour

    # Spread over several "browsers" and forwarded addresses: the count is per account.
    for n in range(max_failures):
        browser = app.test_client()
        browser.environ_base["HTTP_X_FORWARDED_FOR"] = f"203.0.113.{n}"
        assert attempt(browser, "nurse", WRONG).status_code == 401

    refused = attempt(client, "nurse", PASSWORD)
    assert refused.status_code == 401
    assert LOGIN_REFUSED in refused.get_data(as_text=True)  # no "locked" oracle
    clock.set_now(NOW + lock - timedelta(seconds=1))
    assert attempt(client, "nurse", PASSWORD).status_code == 401

    clock.set_now(NOW + lock + timedelta(seconds=1))
    assert attempt(client, "nurse", PASSWORD).status_code == 302
    assert client.get("/").status_code == 200

    failures = audit_actions("auth.login_failed")
    assert len(failures) == max_failures + 2  # the wrong ones and the two refused right ones
    assert {e.target_id for e in failures} == {nurse.id}
    assert "locked for" in failures[max_failures - 1].summary
    assert all("locked account" in e.summary for e in failures[max_failures:])


def test_successful_login_resets_the_failure_count(app, client, nurse):
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        attempt(client, "nurse", WRONG)
    login(client, nurse)
    client.form_post("/logout")

    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        attempt(client, "nurse", WRONG)

    assert attempt(client, "nurse", PASSWORD).status_code == 302


def test_deactivated_user_cannot_log_in(client, nurse):
    set_active(nurse, False)

    response = attempt(client, "nurse", PASSWORD)

    assert response.status_code == 401
    assert LOGIN_REFUSED in response.get_data(as_text=True)
    assert sessions_of(nurse) == []
    assert "inactive account" in audit_actions("auth.login_failed")[-1].summary


def test_login_without_csrf_token_is_refused(client, nurse):
    response = client.post("/login", data={"username": "nurse", "password": PASSWORD})

    assert response.status_code == 400
    assert sessions_of(nurse) == []


# --- logout --------------------------------------------------------------------------------


def test_logout_is_post_only(client, nurse):
    login(client, nurse)

    response = client.get("/logout")

    assert response.status_code == 405
    assert client.get("/").status_code == 200  # still logged in


def test_logout_ends_the_session_on_the_server(client, nurse):
    login(client, nurse)

    response = client.form_post("/logout")

    assert goes_to_login(response)
    assert response.headers.get("Clear-Site-Data") == '"cache", "cookies", "storage"'
    assert goes_to_login(client.get("/"))
    [record] = sessions_of(nurse)
    assert record.revoked_at == NOW
    assert [e.target_id for e in audit_actions("auth.logout")] == [nurse.id]


def test_cookie_copied_before_logout_no_longer_works_after_logout(app, client, nurse, episode):
    login(client, nurse)
    stolen = cookie_value(client)
    assert replay(app, stolen).get(f"/episodes/{episode.id}").status_code == 200  # the copy works...

    client.form_post("/logout")

    response = replay(app, stolen).get(f"/episodes/{episode.id}")
    assert goes_to_login(response)  # ...until the owner logs out
    assert "Doe" not in response.get_data(as_text=True)


# --- timeouts ------------------------------------------------------------------------------


def test_idle_session_expires_after_the_idle_timeout(app, client, nurse):
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    login(client, nurse)
    clock.set_now(NOW + idle - timedelta(seconds=1))
    assert client.get("/").status_code == 200  # activity resets the idle clock

    clock.set_now(NOW + 2 * idle - timedelta(seconds=1))
    assert client.get("/").status_code == 200

    clock.set_now(NOW + 3 * idle)  # idle + 1 s since the last request
    assert goes_to_login(client.get("/"))
    # And it stays ended: going back in time does not revive it (the cookie was cleared).
    clock.set_now(NOW + 2 * idle)
    assert goes_to_login(client.get("/"))


def test_session_ends_after_the_absolute_timeout_even_when_active(app, client, nurse):
    absolute = timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"])
    login(client, nurse)
    moment = NOW
    while moment + timedelta(minutes=5) <= NOW + absolute:
        moment += timedelta(minutes=5)
        clock.set_now(moment)
        assert client.get("/").status_code == 200, moment - NOW

    clock.set_now(NOW + absolute + timedelta(minutes=1))
    assert goes_to_login(client.get("/"))
    # Logging in again starts a new session.
    login(client, nurse)
    assert client.get("/").status_code == 200


def test_expired_session_cannot_post(app, client, nurse, episode):
    login(client, nurse)
    token = client.csrf_token()
    clock.set_now(NOW + timedelta(minutes=app.config["SESSION_IDLE_MINUTES"], seconds=1))
    audits = len(audit_actions("item.done"))

    response = client.post(
        f"/episodes/{episode.id}/items/{episode.items[0].id}/done", data={"csrf_token": token, "version": "1"}
    )

    assert goes_to_login(response)
    assert len(audit_actions("item.done")) == audits


# --- session fixation ------------------------------------------------------------------------


def test_pre_login_session_value_does_not_survive_login(client, nurse):
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "attacker-chosen"
        session["sid"] = "attacker-chosen-sid"

    login(client, nurse)

    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["sid"] != "attacker-chosen-sid"
        assert session["sid"] == sessions_of(nurse)[0].id


def test_cookie_from_before_login_does_not_become_logged_in(app, client, nurse):
    """An attacker who fixed the victim's pre-login cookie gains nothing when the victim logs in."""
    client.get("/login")
    before = cookie_value(client)

    login(client, nurse)

    assert cookie_value(client) != before
    assert goes_to_login(replay(app, before).get("/"))


# --- next= (open redirect) -------------------------------------------------------------------


@pytest.mark.parametrize("target", OPEN_REDIRECT_VECTORS)
def test_login_next_to_another_site_lands_on_home(client, nurse, target):
    response = attempt(client, "nurse", PASSWORD, next=target)

    assert response.status_code == 302
    assert same_site_path(response.headers["Location"]), response.headers["Location"]
    assert urlsplit(response.headers["Location"]).path == "/"


@pytest.mark.parametrize("target", OPEN_REDIRECT_VECTORS)
def test_login_next_in_query_string_to_another_site_lands_on_home(client, nurse, target):
    response = client.form_post(
        f"/login?next={quote(target, safe='')}", {"username": "nurse", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert same_site_path(response.headers["Location"]), response.headers["Location"]
    assert urlsplit(response.headers["Location"]).path == "/"


@pytest.mark.parametrize("target", ["/patients", "/patients?q=doe", "/episodes/1/history"])
def test_login_next_to_a_local_path_goes_there(client, nurse, target):
    response = attempt(client, "nurse", PASSWORD, next=target)

    assert response.status_code == 302
    assert response.headers["Location"] == target


def test_login_page_carries_next_from_the_redirect(client, episode):
    to_login = client.get(f"/episodes/{episode.id}")
    page = client.get(to_login.headers["Location"])

    assert f'value="/episodes/{episode.id}"' in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "target", [*OPEN_REDIRECT_VECTORS, None, "", "patients", "evil.test/x", "/ok\r\nX: y"]
)
def test_safe_next_refuses_anything_but_a_local_path(target):
    assert safe_next(target) is None


@pytest.mark.parametrize(
    "target", ["/", "/patients", "/patients?q=doe&page=2", "/episodes/3#item-4", "/%2F%2Fevil"]
)
def test_safe_next_keeps_a_local_path(target):
    assert safe_next(target) == target
