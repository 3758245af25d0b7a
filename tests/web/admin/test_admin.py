"""Managing users through the web: the admin pages, temporary passwords, changing one's own password."""

import html
import logging
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app import db, passwords
from app.domain.vocab import Role
from app.models import AuditEvent, User, UserSession
from app.web import once
from tests.conftest import PASSWORD, WEAK_PASSWORDS, login
from tests.web.test_permissions import snapshot

NEW_PASSWORD = "river-lantern-copper-9"
_TEMPORARY_RE = re.compile(r'id="temporary-password">([^<]+)<')
MUST_CHANGE = "Choose your own password to continue."


# --- helpers -------------------------------------------------------------------------------


def account(user_id: int) -> User:
    user = db.session.get(User, user_id)
    db.session.remove()
    return user


def user_named(username: str) -> User | None:
    user = db.session.scalar(select(User).where(User.username == username))
    db.session.remove()
    return user


def audit_events(action: str) -> list[AuditEvent]:
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
    db.session.remove()
    return list(events)


def live_sessions(user) -> int:
    rows = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    ).all()
    db.session.remove()
    return len(rows)


def temporary_password(response) -> str:
    match = _TEMPORARY_RE.search(response.get_data(as_text=True))
    assert match, "no temporary password on the page"
    return match.group(1).strip()


def goes_to(response, path: str) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == path


def post_action(client, user_id: int, action: str, **data):
    version = account(user_id).version
    return client.form_post(f"/admin/users/{user_id}/{action}", {"version": str(version), **data})


def token_from_password_page(client) -> str:
    """The CSRF token, from the one page a user with a temporary password may open."""
    page = client.get("/account/password").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def change_own_password(client, current=PASSWORD, new=NEW_PASSWORD, repeat=None):
    return client.post(
        "/account/password",
        data={
            "csrf_token": token_from_password_page(client),
            "form_token": once.new_token(),
            "current_password": current,
            "new_password": new,
            "repeat_password": new if repeat is None else repeat,
        },
    )


@pytest.fixture
def admin_client(app, admin):
    browser = app.test_client()
    login(browser, admin)
    return browser


# --- the list ------------------------------------------------------------------------------


def test_admin_home_is_the_users_list(admin_client, users):
    home = admin_client.get("/").get_data(as_text=True)
    listed = admin_client.get("/admin/users").get_data(as_text=True)

    for page in (home, listed):
        assert 'id="users"' in page
        for user in users.values():
            assert f'data-username="{user.username}"' in page
        assert "Change role" in page and "Reset password" in page and "Deactivate" in page
    assert 'href="/admin/users">Users</a>' in home  # the navigation link


def test_list_shows_deactivated_locked_and_temporary_states_and_last_login(app, admin_client, admin, nurse):
    with db.write_unit():
        user = db.session.get(User, nurse.id)
        user.active, user.must_change_password = False, True
        user.locked_until = user.created_at.replace(hour=23)
        db.session.commit()
    db.session.remove()

    page = admin_client.get("/admin/users").get_data(as_text=True)

    row = page.split('data-username="nurse"')[1].split("</tr>")[0]
    assert "Deactivated" in row and "Locked until 23:00 UTC" in row and "Temporary password" in row
    assert "Activate</button>" in row and "Deactivate</button>" not in row
    assert "Never" in row  # the nurse never logged in
    own_row = page.split('data-username="admin"')[1].split("</tr>")[0]
    assert "17 Jun 2026 12:00 UTC" in own_row  # the admin's own login
    assert "Deactivate</button>" not in own_row and "Change role" not in own_row  # no self-lock-out


# --- the admin journey ---------------------------------------------------------------------


def test_admin_creates_a_user_who_must_choose_their_own_password(app, admin_client, caplog):
    caplog.set_level(logging.DEBUG)

    form = admin_client.get("/admin/users/new")
    created = admin_client.form_post(
        "/admin/users/new", {"username": "Nora.New", "full_name": "Nora New", "role": "nurse"}
    )

    assert form.status_code == 200
    assert created.status_code == 200  # shown in this response only: no redirect, no URL
    assert created.headers["Cache-Control"] == "no-store"
    password = temporary_password(created)
    assert len(password) >= 16
    user = user_named("nora.new")
    assert (user.role, user.active, user.must_change_password) == (Role.NURSE, True, True)
    assert password not in caplog.text
    assert all(password not in f"{e.summary}{e.before}{e.after}" for e in audit_events("user.create"))
    assert [e.target_id for e in audit_events("user.create")][-1] == user.id
    assert password not in admin_client.get("/admin/users").get_data(as_text=True)  # shown once

    newcomer = app.test_client()
    landing = newcomer.form_post("/login", {"username": "nora.new", "password": password})
    assert goes_to(landing, "/")
    assert goes_to(newcomer.get("/"), "/account/password")
    assert goes_to(newcomer.get("/patients"), "/account/password")
    page = newcomer.get("/account/password").get_data(as_text=True)
    assert MUST_CHANGE in page

    changed = change_own_password(newcomer, current=password)
    assert goes_to(changed, "/")
    assert newcomer.get("/patients").status_code == 200
    assert not account(user.id).must_change_password

    again = app.test_client()
    refused = again.form_post("/login", {"username": "nora.new", "password": password})
    assert refused.status_code == 401  # the temporary password worked once, until changed
    assert goes_to(again.form_post("/login", {"username": "nora.new", "password": NEW_PASSWORD}), "/")


def test_new_user_form_refuses_bad_input_with_messages(admin_client, nurse):
    users_before = snapshot()["user_account"]

    taken = admin_client.form_post(
        "/admin/users/new", {"username": "nurse", "full_name": "Other", "role": "nurse"}
    )
    empty = admin_client.form_post("/admin/users/new", {"username": "", "full_name": "", "role": "nurse"})
    bad_role = admin_client.form_post(
        "/admin/users/new", {"username": "ok.name", "full_name": "Ok", "role": "janitor"}
    )
    bad_name = admin_client.form_post(
        "/admin/users/new", {"username": "bad name", "full_name": "Bad", "role": "nurse"}
    )

    assert taken.status_code == empty.status_code == bad_role.status_code == bad_name.status_code == 422
    assert "The username &#39;nurse&#39; is taken." in taken.get_data(as_text=True)
    assert "This field is required." in empty.get_data(as_text=True)
    assert "Not a valid choice." in bad_role.get_data(as_text=True)
    assert "Usernames are 2-64 characters" in bad_name.get_data(as_text=True)
    assert snapshot()["user_account"] == users_before


def test_new_user_form_starts_with_no_role_chosen(admin_client):
    page = admin_client.get("/admin/users/new").get_data(as_text=True)
    select_tag = page[page.index("<select") : page.index("</select>")]
    assert (
        re.findall(r"<option[^>]*>[^<]*</option>", select_tag)[0] == '<option value="">Choose a role</option>'
    )
    assert "selected" not in select_tag  # not Surgeon, a signing role, by default
    assert " required" in select_tag[: select_tag.index(">")]


def test_new_user_without_a_role_is_refused_next_to_the_field(admin_client):
    before = snapshot()
    response = admin_client.form_post("/admin/users/new", {"username": "nora.new", "full_name": "Nora New"})
    also = admin_client.form_post(
        "/admin/users/new", {"username": "nora.new", "full_name": "Nora New", "role": ""}
    )
    assert response.status_code == also.status_code == 422
    page = response.get_data(as_text=True)
    field = page[page.index('for="role"') :].split("</div>\n  </div>")[0]
    assert 'class="form-select is-invalid"' in field and "Choose a role." in field
    assert 'value="nora.new"' in page  # what was typed stays
    assert snapshot() == before


def test_the_temporary_password_has_a_copy_button_and_stays_selectable(admin_client, nurse):
    created = admin_client.form_post(
        "/admin/users/new", {"username": "nora.new", "full_name": "Nora New", "role": "nurse"}
    ).get_data(as_text=True)
    reset = post_action(admin_client, nurse.id, "reset-password").get_data(as_text=True)
    for page in (created, reset):
        assert 'class="fs-3 font-monospace mb-2 user-select-all" id="temporary-password">' in page
        # Hidden until the script shows it: without JavaScript the password is selected by hand.
        assert (
            '<button type="button" class="btn btn-sm btn-outline-dark" data-copy="temporary-password" hidden>'
            in page
        )
        assert 'aria-live="polite"' in page
        assert '<script src="/static/copy.js" defer></script>' in page


def test_the_copy_script_is_served_from_the_site(admin_client):
    response = admin_client.get("/static/copy.js")
    assert response.status_code == 200
    assert response.mimetype in ("text/javascript", "application/javascript")
    script = response.get_data(as_text=True)
    assert "navigator.clipboard.writeText" in script and "button[data-copy]" in script
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    response.close()


def test_change_role_takes_effect_on_the_users_next_request(app, admin_client, nurse, episode):
    browser = app.test_client()
    login(browser, nurse)
    assert browser.get("/patients").status_code == 200

    response = post_action(admin_client, nurse.id, "role", role="admin")

    assert goes_to(response, "/admin/users")
    assert account(nurse.id).role is Role.ADMIN
    assert browser.get("/patients").status_code == 403
    [event] = audit_events("user.change_role")
    assert (event.before, event.after) == ({"role": "nurse"}, {"role": "admin"})
    assert "Nina Nurse (nurse) is now Admin." in admin_client.get("/admin/users").get_data(as_text=True)


# --- deactivation --------------------------------------------------------------------------


def test_deactivated_users_live_session_ends_on_its_next_request(app, admin_client, nurse, episode):
    browser = app.test_client()
    login(browser, nurse)
    assert browser.get(f"/episodes/{episode.id}").status_code == 200

    response = post_action(admin_client, nurse.id, "deactivate")

    assert goes_to(response, "/admin/users")
    assert "Deactivated Nina Nurse (nurse); 1 session ended." in admin_client.get("/").get_data(as_text=True)
    assert live_sessions(nurse) == 0
    assert goes_to(browser.get(f"/episodes/{episode.id}"), "/login")
    assert browser.form_post("/login", {"username": "nurse", "password": PASSWORD}).status_code == 401

    assert goes_to(post_action(admin_client, nurse.id, "activate"), "/admin/users")
    assert goes_to(browser.get(f"/episodes/{episode.id}"), "/login")  # the old session stays ended
    login(browser, nurse)
    assert browser.get(f"/episodes/{episode.id}").status_code == 200
    assert [e.after for e in audit_events("user.deactivate")] == [{"active": False}]
    assert [e.after for e in audit_events("user.activate")] == [{"active": True}]


def test_admin_cannot_deactivate_or_demote_themselves(admin_client, admin):
    before = snapshot()

    deactivated = post_action(admin_client, admin.id, "deactivate")
    demoted = post_action(admin_client, admin.id, "role", role="surgeon")

    assert deactivated.status_code == demoted.status_code == 422
    assert "You cannot deactivate your own account." in deactivated.get_data(as_text=True)
    assert "You cannot change your own role; ask another admin." in demoted.get_data(as_text=True)
    assert snapshot() == before


# --- password reset ------------------------------------------------------------------------


def test_reset_password_ends_sessions_unlocks_and_forces_a_change(app, admin_client, nurse):
    browser = app.test_client()
    login(browser, nurse)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        app.test_client().form_post("/login", {"username": "nurse", "password": "wrong-password-1"})
    assert account(nurse.id).locked_until is not None

    response = post_action(admin_client, nurse.id, "reset-password")

    assert response.status_code == 200
    password = temporary_password(response)
    assert "Location" not in response.headers
    assert goes_to(browser.get("/"), "/login")
    user = account(nurse.id)
    assert (user.failed_logins, user.locked_until, user.must_change_password) == (0, None, True)
    assert all(password not in f"{e.summary}{e.before}{e.after}" for e in audit_events("user.reset_password"))
    assert browser.form_post("/login", {"username": "nurse", "password": PASSWORD}).status_code == 401
    login(browser, nurse, password)
    assert goes_to(browser.get("/patients"), "/account/password")
    assert goes_to(change_own_password(browser, current=password), "/")
    assert browser.get("/patients").status_code == 200


def test_user_with_a_temporary_password_may_still_log_out(app, admin_client, nurse):
    password = temporary_password(post_action(admin_client, nurse.id, "reset-password"))
    browser = app.test_client()
    login(browser, nurse, password)

    with browser.get("/static/periop.css") as stylesheet:
        assert stylesheet.status_code == 200
    token = token_from_password_page(browser)
    assert goes_to(browser.post("/logout", data={"csrf_token": token}), "/login")


# --- conflicts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "data"),
    [("deactivate", {}), ("reset-password", {}), ("role", {"role": "surgeon"})],
)
def test_second_admin_on_an_out_of_date_page_gets_a_conflict(admin_client, nurse, action, data):
    stale_version = account(nurse.id).version
    post_action(admin_client, nurse.id, "role", role="therapist")  # the first admin's change
    before = snapshot()

    response = admin_client.form_post(
        f"/admin/users/{nurse.id}/{action}", {"version": str(stale_version), **data}
    )

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "The account nurse was changed by Adam Admin at 17 Jun 2026 12:00 UTC" in page
    assert "review it below and try again" in page
    assert 'id="temporary-password"' not in page
    assert snapshot() == before


def test_double_clicked_deactivate_is_harmless(admin_client, nurse):
    version = account(nurse.id).version
    first = admin_client.form_post(f"/admin/users/{nurse.id}/deactivate", {"version": str(version)})
    second = admin_client.form_post(f"/admin/users/{nurse.id}/deactivate", {"version": str(version)})

    assert goes_to(first, "/admin/users") and goes_to(second, "/admin/users")
    assert "was already deactivated" in admin_client.get("/admin/users").get_data(as_text=True)
    assert len(audit_events("user.deactivate")) == 1


# --- who may ------------------------------------------------------------------------------

ADMIN_ROUTES = [
    ("GET", "/admin/users"),
    ("GET", "/admin/users/new"),
    ("POST", "/admin/users/new"),
    ("POST", "/admin/users/{id}/deactivate"),
    ("POST", "/admin/users/{id}/activate"),
    ("POST", "/admin/users/{id}/reset-password"),
    ("POST", "/admin/users/{id}/role"),
]
FULL_FORM = {"username": "mallory", "full_name": "Mallory", "role": "admin"}


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN], ids=str)
def test_non_admins_get_403_on_every_admin_route_and_nothing_changes(client, users, role):
    login(client, users[role])
    target = users[Role.NURSE if role is not Role.NURSE else Role.THERAPIST]
    before = snapshot()

    for method, route in ADMIN_ROUTES:
        url = route.format(id=target.id)
        if method == "GET":
            response = client.get(url)
        else:
            response = client.form_post(url, {"version": str(account(target.id).version), **FULL_FORM})
        assert response.status_code == 403, (method, url)
        assert "Your role does not allow this." in response.get_data(as_text=True)
    assert snapshot() == before
    assert 'href="/admin/users"' not in client.get("/account/password").get_data(as_text=True)


def test_admin_posts_without_a_csrf_token_are_refused(admin_client, nurse):
    before = snapshot()
    version = str(account(nurse.id).version)

    responses = [
        admin_client.post(f"/admin/users/{nurse.id}/deactivate", data={"version": version}),
        admin_client.post(f"/admin/users/{nurse.id}/reset-password", data={"version": version}),
        admin_client.post(f"/admin/users/{nurse.id}/role", data={"version": version, "role": "admin"}),
        admin_client.post("/admin/users/new", data=FULL_FORM),
    ]

    assert [r.status_code for r in responses] == [400] * 4
    assert snapshot() == before


def test_admin_action_on_a_missing_user_is_404(admin_client):
    assert admin_client.form_post("/admin/users/99999/deactivate", {"version": "1"}).status_code == 404


def test_admin_actions_refuse_get(admin_client, nurse):
    assert admin_client.get(f"/admin/users/{nurse.id}/deactivate").status_code == 405


# --- changing one's own password ----------------------------------------------------------


def test_every_user_finds_change_password_in_the_navigation(client, users):
    for user in users.values():
        login(client, user)
        home = client.get("/", follow_redirects=True).get_data(as_text=True)
        assert 'href="/account/password">Change password</a>' in home
        client.form_post("/logout")


def test_change_password_ends_other_sessions_but_keeps_this_one(app, client, nurse):
    other = app.test_client()
    login(other, nurse)
    login(client, nurse)

    response = change_own_password(client)

    assert goes_to(response, "/")
    assert "Your password is changed. Your 1 other session ended." in client.get("/").get_data(as_text=True)
    assert client.get("/patients").status_code == 200
    assert goes_to(other.get("/patients"), "/login")
    [event] = audit_events("user.change_password")
    assert event.target_id == nurse.id and NEW_PASSWORD not in f"{event.summary}{event.after}"
    assert passwords.verify_password(account(nurse.id).password_hash, NEW_PASSWORD)


@pytest.mark.parametrize(
    ("current", "new", "repeat", "message"),
    [
        ("wrong-password-1", NEW_PASSWORD, NEW_PASSWORD, "The current password is wrong."),
        (PASSWORD, "too-short", "too-short", "Use at least 12 characters."),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "The two new passwords are not the same."),
        (PASSWORD, PASSWORD, PASSWORD, "Choose a new password, not the one you have now."),
        (PASSWORD, "", "", "This field is required."),
        ("", NEW_PASSWORD, NEW_PASSWORD, "This field is required."),
    ],
    ids=["wrong-current", "weak", "mismatch", "unchanged", "empty-new", "empty-current"],
)
def test_change_password_refuses_with_a_clear_message_and_changes_nothing(
    client, nurse, current, new, repeat, message
):
    login(client, nurse)
    before = account(nurse.id)

    response = change_own_password(client, current=current, new=new, repeat=repeat)

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    after = account(nurse.id)
    assert after.password_hash == before.password_hash
    assert after.must_change_password == before.must_change_password
    assert live_sessions(nurse) == 1
    assert client.get("/patients").status_code == 200  # still logged in
    assert audit_events("user.change_password") == []


def new_password_errors(response) -> list[str]:
    """The messages shown under the New password field."""
    page = response.get_data(as_text=True).split('id="new_password"')[1].split('id="repeat_password"')[0]
    return [
        html.unescape(m) for m in re.findall(r'<div class="invalid-feedback d-block">([^<]*)</div>', page)
    ]


@pytest.mark.parametrize(("weak", "warning"), WEAK_PASSWORDS, ids=[p for p, _ in WEAK_PASSWORDS])
def test_change_password_refuses_an_easily_guessed_password_and_shows_why(client, nurse, weak, warning):
    login(client, nurse)
    before = account(nurse.id).password_hash

    response = change_own_password(client, new=weak)

    assert response.status_code == 422
    [message] = new_password_errors(response)
    assert message.startswith(f"This password is too easy to guess. {warning} Add another word or two.")
    assert account(nurse.id).password_hash == before
    assert audit_events("user.change_password") == []


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("staple-orbit-nurse", "Do not use your username in your password."),
        ("Nina-orbit-meadow-42", "Do not use your name in your password."),
    ],
)
def test_change_password_refuses_the_users_own_names(client, nurse, new, message):
    login(client, nurse)

    response = change_own_password(client, new=new)

    assert response.status_code == 422 and new_password_errors(response) == [message]


def test_change_password_accepts_a_strong_passphrase(client, nurse):
    login(client, nurse)

    response = change_own_password(client, new="staple orbit meadow quietly")

    assert goes_to(response, "/")
    assert passwords.verify_password(account(nurse.id).password_hash, "staple orbit meadow quietly")


def test_wrong_current_password_is_counted_as_a_failed_login(client, nurse):
    login(client, nurse)

    change_own_password(client, current="wrong-password-1")

    assert account(nurse.id).failed_logins == 1
    [event] = audit_events("user.password_change_failed")
    assert event.target_id == nurse.id


def test_change_password_needs_a_login(client):
    assert goes_to(client.get("/account/password"), "/login")


# --- clinical leads ---------------------------------------------------------------------------


def test_admin_makes_a_surgeon_clinical_lead_who_may_then_draft_protocols(
    app, admin_client, surgeon, protocol
):
    browser = app.test_client()
    login(browser, surgeon)
    assert browser.form_post("/protocols/drafts", {"source": str(protocol.id)}).status_code == 403
    response = post_action(admin_client, surgeon.id, "protocol-lead", grant="yes")
    assert response.status_code == 302
    assert account(surgeon.id).edits_protocols
    [event] = audit_events("user.protocol_lead")
    assert (event.before, event.after) == ({"edits_protocols": False}, {"edits_protocols": True})
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert "is now a clinical lead" in page and "Withdraw clinical lead" in page
    assert browser.form_post("/protocols/drafts", {"source": str(protocol.id)}).status_code == 302
    post_action(admin_client, surgeon.id, "protocol-lead", grant="")
    assert not account(surgeon.id).edits_protocols


def test_only_a_surgeon_can_be_made_clinical_lead_and_another_role_ends_it(admin_client, nurse, surgeon):
    response = post_action(admin_client, nurse.id, "protocol-lead", grant="yes")
    assert response.status_code == 422 and not account(nurse.id).edits_protocols
    assert "Only a surgeon can be made a clinical lead." in response.get_data(as_text=True)
    post_action(admin_client, surgeon.id, "protocol-lead", grant="yes")
    post_action(admin_client, surgeon.id, "role", role="coordinator")
    assert not account(surgeon.id).edits_protocols
