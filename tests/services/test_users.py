"""Managing accounts: temporary passwords, deactivation, resets, roles, own password changes."""

import json
import re
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import db, passwords
from app.domain.password_strength import password_problem
from app.domain.vocab import Role
from app.models import AuditEvent, User, UserSession
from app.services import users
from app.services.errors import Conflict, NotPermitted, ServiceError
from tests.conftest import NOW, PASSWORD
from tests.factories import load_in_new_session

NEW_PASSWORD = "river-lantern-copper-9"
TEMPORARY_RE = re.compile(r"^[bcdfghjkmnpqrstvwxz2-9]{5}(-[bcdfghjkmnpqrstvwxz2-9]{5}){3}$")


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def all_audit_text() -> str:
    rows = db.session.scalars(select(AuditEvent)).all()
    return json.dumps([[e.summary, e.before, e.after, e.reason] for e in rows], default=str)


def open_sessions(session, user, count: int = 2, revoked: int = 0) -> list[str]:
    """Give the user `count` live server-side sessions and `revoked` ended ones; return the live ids."""
    live = []
    for n in range(count + revoked):
        sid = secrets.token_hex(8)
        ended = NOW - timedelta(hours=1) if n >= count else None
        session.add(UserSession(id=sid, user_id=user.id, created_at=NOW, last_seen_at=NOW, revoked_at=ended))
        if ended is None:
            live.append(sid)
    session.commit()
    return live


def revoked_at(session, sid: str):
    return session.scalar(select(UserSession.revoked_at).where(UserSession.id == sid))


# --- temporary passwords -----------------------------------------------------------------


def test_temporary_passwords_are_long_random_readable_and_pass_the_password_rule():
    made = {passwords.temporary_password("nurse", "Nina Nurse") for _ in range(200)}

    assert len(made) == 200
    for password in made:
        assert TEMPORARY_RE.match(password), password
        assert len(password) >= 16
        assert password_problem(password, "nurse", "Nina Nurse") is None


def test_temporary_password_never_contains_the_username(monkeypatch):
    draws = iter("xz" + "b" * 18 + "k7mqz4hxpwr9tcd3fnwb")  # the first draw holds the username "xz"
    monkeypatch.setattr(passwords.secrets, "choice", lambda _alphabet: next(draws))

    password = passwords.temporary_password("xz", "Xavier Zed")

    assert password == "k7mqz-4hxpw-r9tcd-3fnwb"


def test_a_temporary_password_the_rule_refuses_is_drawn_again(monkeypatch):
    draws = iter("c" * 20 + "k7mqz4hxpwr9tcd3fnwb")  # "ccccc-ccccc-ccccc-ccccc" is too easy to guess
    monkeypatch.setattr(passwords.secrets, "choice", lambda _alphabet: next(draws))

    assert passwords.temporary_password("nurse", "Nina Nurse") == "k7mqz-4hxpw-r9tcd-3fnwb"


# --- create ----------------------------------------------------------------------------


def test_admin_creates_account_with_a_temporary_password_to_change(session, admin):
    user, password = users.create_account(session, admin, "  New.Nurse ", "Nora New", Role.NURSE)
    session.commit()

    assert (user.username, user.full_name, user.role) == ("new.nurse", "Nora New", Role.NURSE)
    assert user.active and user.must_change_password
    assert len(password) >= 16
    assert passwords.verify_password(user.password_hash, password)
    [event] = events("user.create")[-1:]
    assert (event.actor_id, event.target_id) == (admin.id, user.id)
    assert event.after == {"username": "new.nurse", "full_name": "Nora New", "role": "nurse"}
    assert password not in all_audit_text()


def test_create_refuses_a_taken_username_and_writes_nothing(session, admin, nurse):
    audits = len(session.scalars(select(AuditEvent.id)).all())

    with pytest.raises(ServiceError, match="The username 'nurse' is taken."):
        users.create_account(session, admin, "NURSE", "Another Nurse", Role.NURSE)

    session.rollback()
    assert len(session.scalars(select(AuditEvent.id)).all()) == audits


@pytest.mark.parametrize(
    ("username", "full_name", "message"),
    [
        ("x", "Xavier", "Usernames are 2-64 characters"),
        ("has space", "Has Space", "Usernames are 2-64 characters"),
        ("fine", "   ", "Enter the user's full name."),
    ],
)
def test_create_refuses_bad_details(session, admin, username, full_name, message):
    with pytest.raises(ServiceError, match=message):
        users.create_account(session, admin, username, full_name, Role.NURSE)


# --- permission ------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN], ids=str)
def test_only_an_admin_may_manage_users(session, users_by_role, role):
    actor, target = users_by_role[role], users_by_role[Role.ADMIN]
    calls = [
        lambda: users.create_account(session, actor, "someone", "Some One", Role.NURSE),
        lambda: users.deactivate(session, actor, target, target.version),
        lambda: users.activate(session, actor, target, target.version),
        lambda: users.reset_password(session, actor, target, target.version),
        lambda: users.change_role(session, actor, target, Role.NURSE, target.version),
    ]
    for call in calls:
        with pytest.raises(NotPermitted, match="Only an admin can manage users."):
            call()
    session.rollback()
    assert session.get(User, target.id).active


@pytest.fixture
def users_by_role(users):
    return users


# --- deactivate / activate --------------------------------------------------------------


def test_deactivate_ends_every_live_session_and_is_audited(session, admin, nurse):
    live = open_sessions(session, nurse, count=2, revoked=1)
    ended_before = session.scalar(
        select(UserSession.revoked_at).where(UserSession.user_id == nurse.id, UserSession.id.not_in(live))
    )

    ended = users.deactivate(session, admin, nurse, nurse.version)
    session.commit()

    assert ended == 2
    assert not session.get(User, nurse.id).active
    assert all(revoked_at(session, sid) == NOW for sid in live)
    assert ended_before == NOW - timedelta(hours=1)  # an ended session keeps its own end
    [event] = events("user.deactivate")
    assert (event.actor_id, event.target_id) == (admin.id, nurse.id)
    assert (event.before, event.after) == ({"active": True}, {"active": False})
    assert event.summary == "Deactivated user nurse; 2 sessions ended"


def test_deactivated_user_cannot_log_in(session, app, admin, nurse):
    users.deactivate(session, admin, nurse, nurse.version)
    session.commit()

    assert users.authenticate(session, "nurse", PASSWORD, 10, 15) is None


def test_deactivating_twice_changes_nothing_the_second_time(session, admin, nurse):
    version = nurse.version
    assert users.deactivate(session, admin, nurse, version) == 0
    session.commit()

    assert users.deactivate(session, admin, nurse, version) is None  # the same click again
    session.commit()
    assert len(events("user.deactivate")) == 1


def test_admin_cannot_deactivate_themselves(session, admin):
    with pytest.raises(ServiceError, match="You cannot deactivate your own account."):
        users.deactivate(session, admin, admin, admin.version)
    session.rollback()
    assert session.get(User, admin.id).active


def test_activate_lets_the_user_log_in_again_but_revives_no_session(session, admin, nurse):
    [sid] = open_sessions(session, nurse, count=1)
    users.deactivate(session, admin, nurse, nurse.version)
    session.commit()

    assert users.activate(session, admin, nurse, nurse.version) is True
    session.commit()

    assert session.get(User, nurse.id).active
    assert revoked_at(session, sid) == NOW
    assert users.authenticate(session, "nurse", PASSWORD, 10, 15) is not None
    [event] = events("user.activate")
    assert (event.before, event.after) == ({"active": False}, {"active": True})
    assert users.activate(session, admin, nurse, nurse.version) is False  # already active


# --- reset password ------------------------------------------------------------------------


def test_reset_gives_a_new_temporary_password_clears_the_lock_and_ends_sessions(session, admin, nurse):
    live = open_sessions(session, nurse, count=2)
    nurse.failed_logins, nurse.locked_until = 10, NOW + timedelta(minutes=15)
    session.commit()

    password = users.reset_password(session, admin, nurse, nurse.version)
    session.commit()

    user = session.get(User, nurse.id)
    assert passwords.verify_password(user.password_hash, password)
    assert not passwords.verify_password(user.password_hash, PASSWORD)
    assert (user.failed_logins, user.locked_until, user.must_change_password) == (0, None, True)
    assert all(revoked_at(session, sid) == NOW for sid in live)
    assert users.authenticate(session, "nurse", password, 10, 15) is not None  # the lock is gone
    [event] = events("user.reset_password")
    assert event.before["failed_logins"] == 10
    assert event.after == {"must_change_password": True, "failed_logins": 0, "locked_until": None}
    assert event.summary == "Reset the password of nurse; 2 sessions ended"
    assert password not in all_audit_text()


def test_admin_cannot_reset_their_own_password(session, admin):
    with pytest.raises(ServiceError, match="use Change password"):
        users.reset_password(session, admin, admin, admin.version)


# --- change role ---------------------------------------------------------------------------


def test_change_role_is_audited_with_before_and_after(session, admin, nurse):
    assert users.change_role(session, admin, nurse, Role.THERAPIST, nurse.version) is True
    session.commit()

    assert session.get(User, nurse.id).role is Role.THERAPIST
    [event] = events("user.change_role")
    assert (event.before, event.after) == ({"role": "nurse"}, {"role": "therapist"})
    assert event.summary == "Changed the role of nurse from Nurse to Therapist"


def test_change_to_the_same_role_changes_nothing(session, admin, nurse):
    version = nurse.version

    assert users.change_role(session, admin, nurse, Role.NURSE, version) is False
    session.commit()

    assert session.get(User, nurse.id).version == version
    assert events("user.change_role") == []


def test_admin_cannot_change_their_own_role(session, admin):
    with pytest.raises(ServiceError, match="You cannot change your own role"):
        users.change_role(session, admin, admin, Role.SURGEON, admin.version)
    session.rollback()
    assert session.get(User, admin.id).role is Role.ADMIN


# --- conflicts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda s, actor, user, v: users.deactivate(s, actor, user, v),
        lambda s, actor, user, v: users.reset_password(s, actor, user, v),
        lambda s, actor, user, v: users.change_role(s, actor, user, Role.SURGEON, v),
    ],
    ids=["deactivate", "reset", "role"],
)
def test_an_out_of_date_page_gets_a_conflict_naming_who_changed_it(session, admin, nurse, call):
    old_version = nurse.version
    users.change_role(session, admin, nurse, Role.THERAPIST, old_version)
    session.commit()
    before = session.get(User, nurse.id).version

    with pytest.raises(Conflict) as caught:
        call(session, admin, nurse, old_version)
    session.rollback()

    assert (caught.value.what, caught.value.by, caught.value.at) == ("The account nurse", "Adam Admin", NOW)
    user = session.get(User, nurse.id)
    assert (user.version, user.role, user.active) == (before, Role.THERAPIST, True)


def test_two_admins_at_once_the_second_gets_a_conflict(session, admin, nurse):
    """Both pass the version check; the database refuses the second write (lost-update guard)."""
    admin2 = users.create_user(session, None, "admin2", "Ada Second", Role.ADMIN, PASSWORD)
    session.commit()
    first, nurse_1, admin_1 = load_in_new_session(User, nurse.id, admin.id)
    second, nurse_2, admin_2 = load_in_new_session(User, nurse.id, admin2.id)
    try:
        with db.write_unit():
            users.change_role(first, admin_1, nurse_1, Role.THERAPIST, nurse_1.version)
            first.commit()
        with db.write_unit():
            try:
                with pytest.raises(Conflict):
                    users.deactivate(second, admin_2, nurse_2, nurse_2.version)
            finally:
                second.rollback()
    finally:
        first.close()
        second.close()
    user = session.get(User, nurse.id)
    session.refresh(user)
    assert (user.role, user.active) == (Role.THERAPIST, True)
    assert events("user.deactivate") == []


# --- own password --------------------------------------------------------------------------


def change(session, user, current=PASSWORD, new=NEW_PASSWORD, keep=None):
    return users.change_password(session, user, current, new, keep, 10, 15)


def test_change_password_ends_the_other_sessions_only(session, nurse):
    mine, other = open_sessions(session, nurse, count=2)
    nurse.must_change_password = True
    session.commit()

    assert change(session, nurse, keep=mine) == 1
    session.commit()

    user = session.get(User, nurse.id)
    assert passwords.verify_password(user.password_hash, NEW_PASSWORD)
    assert user.must_change_password is False
    assert revoked_at(session, mine) is None
    assert revoked_at(session, other) == NOW
    [event] = events("user.change_password")
    assert (event.actor_id, event.target_id) == (nurse.id, nurse.id)
    assert (event.before, event.after) == ({"must_change_password": True}, {"must_change_password": False})
    assert NEW_PASSWORD not in all_audit_text() and PASSWORD not in all_audit_text()


def test_wrong_current_password_is_counted_and_changes_no_password(session, nurse):
    old_hash = nurse.password_hash

    with pytest.raises(users.WrongPassword, match="The current password is wrong."):
        change(session, nurse, current="not-my-password-1")
    session.commit()  # what the view does: keep the count

    user = session.get(User, nurse.id)
    assert (user.password_hash, user.failed_logins) == (old_hash, 1)
    assert len(events("user.password_change_failed")) == 1


def test_wrong_current_passwords_lock_like_failed_logins(session, nurse):
    for _ in range(10):
        with pytest.raises(users.WrongPassword):
            change(session, nurse, current="not-my-password-1")
        session.commit()

    assert session.get(User, nurse.id).locked_until == NOW + timedelta(minutes=15)
    with pytest.raises(users.WrongPassword, match="Too many wrong passwords"):
        change(session, nurse)  # even the right one, while locked
    assert not passwords.verify_password(session.get(User, nurse.id).password_hash, NEW_PASSWORD)


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("short-one", "Use at least 12 characters."),
        ("my-nurse-password", "Do not use your username in your password."),
        ("nina-orbit-meadow-42", "Do not use your name in your password."),
        ("Welcome2026!", "This password is too easy to guess. This is similar to a commonly used password."),
        ("periop-hospital", "Add words of your own"),
        (PASSWORD, "Choose a new password, not the one you have now."),
    ],
)
def test_change_password_refuses_a_weak_or_unchanged_new_password(session, nurse, new, message):
    old_hash = nurse.password_hash

    with pytest.raises(ServiceError, match=message):
        change(session, nurse, new=new)
    session.rollback()

    assert session.get(User, nurse.id).password_hash == old_hash
    assert events("user.change_password") == []
