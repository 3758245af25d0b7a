"""Two-step login through the web: set-up, login with a code, replay, lockout, recovery codes, the gate.

SECURITY-NOTES 1.1 (ASVS 6.3.3 multi-factor login) and 1.2 (sessions start only after the second step).
"""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlalchemy import select

from app import clock, db
from app.auth.views import CODE_REFUSED, LOGIN_AGAIN, LOGIN_REFUSED
from app.domain import second_factor as rules
from app.models import AuditEvent, RecoveryCode, User, UserSession
from tests import factories
from tests.conftest import NOW, PASSWORD, TOTP_SECRET, login, login_with_code, set_up_two_step
from tests.web.test_permissions import snapshot

STEP = timedelta(seconds=rules.STEP_SECONDS)
_SECRET_RE = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
_CODES_RE = re.compile(r"<li>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</li>")


# --- helpers -------------------------------------------------------------------------------


def code(secret: str = TOTP_SECRET, moment=None) -> str:
    return pyotp.TOTP(secret).at(moment or clock.now())


def wrong_code(secret: str = TOTP_SECRET) -> str:
    window = {pyotp.TOTP(secret).at(clock.now(), counter_offset=n) for n in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in window)


def account(user_id: int) -> User:
    user = db.session.get(User, user_id)
    db.session.remove()
    return user


def audit_events(action: str) -> list[AuditEvent]:
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()
    db.session.remove()
    return list(events)


def live_sessions(user) -> list[UserSession]:
    rows = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    ).all()
    db.session.remove()
    return list(rows)


def secret_on_page(response) -> str:
    match = _SECRET_RE.search(response.get_data(as_text=True))
    assert match, "no key on the page"
    return match.group(1).replace(" ", "")


def goes_to(response, path: str) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == path


def set_up_through_the_page(client) -> tuple[str, list[str]]:
    """Open Two-step login, read the key, confirm with the app's code; return the key and codes."""
    secret = secret_on_page(client.get("/account/two-step"))
    response = client.form_post("/account/two-step", {"code": code(secret), "password": PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    codes = _CODES_RE.findall(response.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def logged_in(client) -> bool:
    return client.get("/").status_code == 200


# --- set-up --------------------------------------------------------------------------------


def test_every_user_finds_two_step_login_in_the_navigation(client, users):
    for user in users.values():
        login(client, user)
        page = client.get("/account/password").get_data(as_text=True)
        assert 'href="/account/two-step">Two-step login</a>' in page
        client.form_post("/logout")


def test_set_up_page_shows_a_server_drawn_qr_code_and_the_key_and_writes_nothing(client, nurse):
    login(client, nurse)
    before = snapshot()

    first = client.get("/account/two-step")
    again = client.get("/account/two-step")

    assert first.status_code == again.status_code == 200
    body = first.get_data(as_text=True)
    assert '<svg width="' in body and 'class="qr-code"' in body
    assert "<img" not in body and "data:" not in body
    secret = secret_on_page(first)
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert re.search(r'id="totp-secret">([A-Z2-7]{4} ){7}[A-Z2-7]{4}<', body)  # in groups of four
    assert "account nurse, issuer Periop" in body
    assert secret_on_page(again) == secret  # the same key until it is confirmed
    assert snapshot() == before
    assert account(nurse.id).totp_secret is None


def test_set_up_with_a_wrong_code_then_the_right_one(client, nurse):
    login(client, nurse)
    secret = secret_on_page(client.get("/account/two-step"))
    before = snapshot()

    wrong = client.form_post("/account/two-step", {"code": wrong_code(secret), "password": PASSWORD})

    assert wrong.status_code == 422
    assert "That is not the code your app shows now." in wrong.get_data(as_text=True)
    assert secret_on_page(wrong) == secret  # the same key to try again with
    assert snapshot() == before
    right = client.form_post("/account/two-step", {"code": code(secret), "password": PASSWORD})
    assert right.status_code == 200
    assert "Save these recovery codes now." in right.get_data(as_text=True)
    user = account(nurse.id)
    assert (user.totp_secret, user.totp_enrolled_at) == (secret, NOW)
    [event] = audit_events("user.enrol_second_factor")
    assert event.target_id == nurse.id
    assert secret not in f"{event.summary} {event.before} {event.after}"


def test_set_up_with_a_wrong_password_is_counted_and_changes_nothing(client, nurse):
    login(client, nurse)
    secret = secret_on_page(client.get("/account/two-step"))

    response = client.form_post("/account/two-step", {"code": code(secret), "password": "not-my-password"})

    assert response.status_code == 422
    assert "The password is wrong." in response.get_data(as_text=True)
    user = account(nurse.id)
    assert (user.totp_secret, user.failed_logins) == (None, 1)
    assert [e.target_id for e in audit_events("user.enrol_second_factor_failed")] == [nurse.id]


def test_recovery_codes_are_shown_once_and_stored_only_hashed(client, nurse):
    login(client, nurse)

    secret, codes = set_up_through_the_page(client)

    page = client.get("/account/two-step").get_data(as_text=True)
    assert not any(c in page for c in codes)
    assert re.search(r"Recovery codes left: <strong>10</strong> of 10", page)
    stored = db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == nurse.id)).all()
    db.session.remove()
    assert {r.code_hash for r in stored} == {rules.recovery_code_hash(c) for c in codes}
    everything = repr(snapshot())
    for made in codes:
        assert made not in everything and made.replace("-", "") not in everything
    assert secret_on_page(client.get("/account/two-step")) != secret  # a fresh key for setting up again


def test_setting_up_again_replaces_the_key_and_the_codes_and_ends_other_sessions(app, client, nurse):
    login(client, nurse)
    old_secret, old_codes = set_up_through_the_page(client)
    clock.set_now(NOW + STEP)  # the set-up used the code of NOW
    other = app.test_client()
    assert goes_to(login_with_code(other, nurse, code(old_secret)), "/")
    assert logged_in(other)

    new_secret, new_codes = set_up_through_the_page(client)

    assert new_secret != old_secret and not set(new_codes) & set(old_codes)
    assert account(nurse.id).totp_secret == new_secret
    assert logged_in(client)
    assert goes_to(other.get("/"), "/login")
    assert len(audit_events("user.enrol_second_factor")) == 2


# --- login with a code -----------------------------------------------------------------------


def test_login_with_a_code_starts_the_session_only_after_the_code(client, nurse):
    set_up_two_step(nurse)

    password = login(client, nurse)

    assert goes_to(password, "/login/code")
    assert goes_to(client.get("/"), "/login")  # not logged in yet
    assert live_sessions(nurse) == []
    page = client.get("/login/code")
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.get_data(as_text=True)
    response = login_with_code(client, nurse, code())
    assert goes_to(response, "/")
    assert logged_in(client)
    assert len(live_sessions(nurse)) == 1
    assert [e.summary for e in audit_events("auth.login")] == ["nurse logged in with a code from their app"]
    assert len(audit_events("auth.login_password")) == 2


def test_login_with_a_code_goes_to_next(client, nurse, episode):
    set_up_two_step(nurse)
    client.form_post("/login", {"username": "nurse", "password": PASSWORD, "next": f"/episodes/{episode.id}"})

    response = client.form_post("/login/code", {"code": code()})

    assert response.status_code == 302
    assert response.headers["Location"] == f"/episodes/{episode.id}"


def test_a_replayed_code_is_refused(client, nurse):
    set_up_two_step(nurse)
    used = code()
    assert goes_to(login_with_code(client, nurse, used), "/")
    client.form_post("/logout")
    clock.set_now(NOW + timedelta(seconds=25))  # the same code is still in its window

    replayed = login_with_code(client, nurse, used)

    assert replayed.status_code == 401
    assert CODE_REFUSED in replayed.get_data(as_text=True)
    assert not logged_in(client)
    assert audit_events("auth.login_failed")[-1].summary == "Failed login for nurse: wrong code"
    clock.set_now(NOW + timedelta(seconds=40))
    assert goes_to(client.form_post("/login/code", {"code": code()}), "/")


def test_wrong_codes_lock_the_account_like_wrong_passwords(app, client, nurse):
    set_up_two_step(nurse)
    max_failures = app.config["LOGIN_MAX_FAILURES"]
    login(client, nurse)
    for _ in range(max_failures - 1):
        response = client.form_post("/login/code", {"code": wrong_code()})
        assert response.status_code == 401
        assert CODE_REFUSED in response.get_data(as_text=True)

    last = client.form_post("/login/code", {"code": wrong_code()})

    assert goes_to(last, "/login")
    assert "Too many wrong codes" in client.get("/login").get_data(as_text=True)
    assert account(nurse.id).locked_until == NOW + timedelta(minutes=app.config["LOGIN_LOCK_MINUTES"])
    refused = client.form_post("/login", {"username": "nurse", "password": PASSWORD})
    assert refused.status_code == 401
    assert LOGIN_REFUSED in refused.get_data(as_text=True)  # the same answer as a wrong password
    failures = audit_events("auth.login_failed")
    assert len(failures) == max_failures + 1
    assert "locked for" in failures[max_failures - 1].summary
    clock.set_now(NOW + timedelta(minutes=app.config["LOGIN_LOCK_MINUTES"], seconds=1))
    assert goes_to(login_with_code(client, nurse, code()), "/")


def test_a_recovery_code_logs_in_once(client, nurse):
    codes = set_up_two_step(nurse)

    response = login_with_code(client, nurse, codes[0])

    assert goes_to(response, "/")
    assert "You logged in with a recovery code; 9 left." in client.get("/").get_data(as_text=True)
    [used] = audit_events("auth.recovery_code_used")
    assert used.summary == "nurse used a recovery code; 9 left"
    client.form_post("/logout")
    again = login_with_code(client, nurse, codes[0])
    assert again.status_code == 401
    assert CODE_REFUSED in again.get_data(as_text=True)
    assert goes_to(client.form_post("/login/code", {"code": codes[1]}), "/")  # another one works
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "Recovery codes left: <strong>8</strong> of 10" in page


def test_the_code_step_waits_five_minutes_at_most(client, nurse):
    set_up_two_step(nurse)
    login(client, nurse)
    token = client.csrf_token()
    clock.set_now(NOW + timedelta(minutes=5, seconds=1))

    response = client.post("/login/code", data={"csrf_token": token, "code": code()})

    assert goes_to(response, "/login")
    assert LOGIN_AGAIN in client.get("/login").get_data(as_text=True)
    assert live_sessions(nurse) == []
    assert goes_to(client.get("/login/code"), "/login")  # forgotten


def test_the_code_step_needs_the_password_first(client, nurse):
    set_up_two_step(nurse)

    assert goes_to(client.get("/login/code"), "/login")
    response = client.form_post("/login/code", {"code": code()})

    assert goes_to(response, "/login")
    assert live_sessions(nurse) == []
    assert audit_events("auth.login") == []


def test_a_wrong_password_never_reaches_the_code_step(client, nurse):
    """Unknown user, wrong password: the same answer, and no way on to the code step."""
    set_up_two_step(nurse)

    unknown = client.form_post("/login", {"username": "nobody-here", "password": "wrong-password-123"})
    assert goes_to(client.get("/login/code"), "/login")
    wrong = client.form_post("/login", {"username": "nurse", "password": "wrong-password-123"})
    assert goes_to(client.get("/login/code"), "/login")

    assert unknown.status_code == wrong.status_code == 401
    assert LOGIN_REFUSED in unknown.get_data(as_text=True) and LOGIN_REFUSED in wrong.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "pending_login" not in session


def test_pre_login_session_values_do_not_survive_the_password_step(client, nurse):
    set_up_two_step(nurse)
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "attacker-chosen"

    login(client, nurse)

    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["pending_login"]["user_id"] == nurse.id
        assert "sid" not in session


def test_the_password_alone_still_logs_in_a_user_without_a_second_factor(client, nurse):
    assert goes_to(login(client, nurse), "/")
    assert logged_in(client)


# --- roles that must have it (MFA_REQUIRED_ROLES) --------------------------------------------


@pytest.mark.settings(MFA_REQUIRED_ROLES="nurse,admin")
def test_a_required_role_without_a_second_factor_reaches_only_the_set_up_and_log_out(client, nurse, episode):
    item = factories.item(episode, "intra_sign_in")
    assert goes_to(login(client, nurse), "/")
    before = snapshot()

    for path in ("/", "/patients", f"/episodes/{episode.id}", "/dashboard", "/account/password", "/nope"):
        assert goes_to(client.get(path), "/account/two-step"), path
    ticked = client.form_post(f"/episodes/{episode.id}/items/{item.id}/done", {"version": "1"})
    assert goes_to(ticked, "/account/two-step")
    assert snapshot() == before
    page = client.get("/account/two-step")
    assert page.status_code == 200
    assert "Your role needs two-step login: set it up to continue." in page.get_data(as_text=True)
    assert client.get("/health").status_code == 200

    set_up_through_the_page(client)

    assert client.get(f"/episodes/{episode.id}").status_code == 200


@pytest.mark.settings(MFA_REQUIRED_ROLES="nurse")
def test_a_required_role_may_log_out_before_setting_up(client, nurse):
    login(client, nurse)

    assert goes_to(client.form_post("/logout"), "/login")
    assert live_sessions(nurse) == []


@pytest.mark.settings(MFA_REQUIRED_ROLES="nurse")
def test_roles_not_required_are_not_sent_to_set_up(client, therapist):
    login(client, therapist)

    assert logged_in(client)


@pytest.mark.settings(MFA_REQUIRED_ROLES="all")
def test_a_temporary_password_is_changed_first_then_two_step_login_set_up(client, nurse):
    with db.write_unit():
        db.session.get(User, nurse.id).must_change_password = True
        db.session.commit()
    db.session.remove()
    login(client, nurse)

    assert goes_to(client.get("/"), "/account/password")
    assert goes_to(client.get("/account/two-step"), "/account/password")
    changed = client.form_post(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "river-lantern-copper-9",
            "repeat_password": "river-lantern-copper-9",
        },
    )
    assert goes_to(changed, "/")
    assert goes_to(client.get("/"), "/account/two-step")


def test_production_says_at_start_which_roles_log_in_without_a_second_factor(tmp_path, caplog):
    from app import create_app

    site = create_app(
        {
            "PERIOP_ENV": "production",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
            "SECRET_KEY": "4f1d0c8e2b7a9d3e6c5b8a7f0e1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d5",
            "MFA_REQUIRED_ROLES": "surgeon,admin",
        }
    )
    site.extensions["periop_engine"].dispose()

    assert "Two-step login is not required of: anaesthetist, coordinator, nurse, therapist" in caplog.text


def test_required_roles_setting_is_checked_at_start(tmp_path):
    from app import create_app
    from config import ConfigError

    with pytest.raises(ConfigError, match="unknown role"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "MFA_REQUIRED_ROLES": "surgeons"})


# --- admin reset -----------------------------------------------------------------------------


@pytest.mark.settings(MFA_REQUIRED_ROLES="nurse")
def test_admin_reset_ends_the_users_sessions_and_they_must_set_up_again(app, client, admin, nurse):
    set_up_two_step(nurse)
    assert goes_to(login_with_code(client, nurse, code()), "/")
    admin_browser = app.test_client()
    login(admin_browser, admin)
    listed = admin_browser.get("/admin/users").get_data(as_text=True)
    assert f'href="/admin/users/{nurse.id}/reset-two-step">Reset two-step login</a>' in listed
    confirm = admin_browser.get(f"/admin/users/{nurse.id}/reset-two-step").get_data(as_text=True)
    assert "Nina Nurse</strong> (nurse, Nurse) set up two-step login" in confirm
    assert re.search(r"has 10\s+recovery codes left", confirm)

    response = admin_browser.form_post(
        f"/admin/users/{nurse.id}/reset-two-step", {"version": str(account(nurse.id).version)}
    )

    assert goes_to(response, "/admin/users")
    message = admin_browser.get("/admin/users").get_data(as_text=True)
    assert "Reset the two-step login of Nina Nurse (nurse); 1 session ended." in message
    assert "They must set it up again after their next login." in message
    user = account(nurse.id)
    assert (user.totp_secret, user.totp_enrolled_at, user.totp_last_step) == (None, None, None)
    assert goes_to(client.get("/"), "/login")  # her session ended
    assert goes_to(login(client, nurse), "/")  # the password alone, then...
    assert goes_to(client.get("/"), "/account/two-step")  # ...she must set it up again
    [event] = audit_events("user.reset_second_factor")
    assert (event.actor_id, event.target_id) == (admin.id, nurse.id)
    assert event.before["two_step"] is True and event.before["recovery_codes_left"] == 10
    assert event.after == {"two_step": False, "enrolled_at": None, "recovery_codes_left": 0}


def test_admin_reset_of_a_user_without_two_step_login_changes_nothing(client, admin, nurse):
    login(client, admin)
    page = client.get(f"/admin/users/{nurse.id}/reset-two-step").get_data(as_text=True)
    assert re.search(r"has no two-step login set up: there is nothing to\s+reset\.", page)
    before = snapshot()

    response = client.form_post(f"/admin/users/{nurse.id}/reset-two-step", {"version": str(nurse.version)})

    assert goes_to(response, "/admin/users")
    assert "Nina Nurse (nurse) has no two-step login set up." in client.get("/admin/users").get_data(
        as_text=True
    )
    assert snapshot() == before


def test_admin_reset_from_an_out_of_date_page_is_refused(client, admin, nurse):
    set_up_two_step(nurse)
    stale = account(nurse.id).version
    login_with_code(client, nurse, code())  # the login changes the account (the code's step)
    client.form_post("/logout")
    login(client, admin)

    response = client.form_post(f"/admin/users/{nurse.id}/reset-two-step", {"version": str(stale)})

    assert response.status_code == 409
    assert account(nurse.id).totp_secret == TOTP_SECRET
