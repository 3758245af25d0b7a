"""Two-step login without HTTP: set-up, login codes once, recovery codes once, lockout, admin reset."""

import json
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from app import clock, db
from app.domain import second_factor as rules
from app.models import AuditEvent, RecoveryCode, User
from app.services import second_factor, users
from app.services.errors import Conflict, NotPermitted, ServiceError
from app.services.second_factor import WrongCode
from app.services.users import WrongPassword
from tests.conftest import NOW, PASSWORD
from tests.services.test_users import open_sessions, revoked_at

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
STEP = timedelta(seconds=rules.STEP_SECONDS)
MAX, LOCK = 10, 15


def code(moment=None) -> str:
    return pyotp.TOTP(SECRET).at(moment or clock.now())


def wrong_code() -> str:
    """Six digits that are not the code of now (nor of the steps around it)."""
    window = {pyotp.TOTP(SECRET).at(clock.now(), counter_offset=n) for n in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in window)


def events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


def all_audit_text() -> str:
    rows = db.session.scalars(select(AuditEvent)).all()
    return json.dumps([[e.summary, e.before, e.after, e.reason] for e in rows], default=str)


def enrol(session, user, secret=SECRET, keep=None) -> list[str]:
    first = pyotp.TOTP(secret).at(clock.now())
    codes, _ = second_factor.enrol(session, user, secret, first, PASSWORD, keep, MAX, LOCK)
    session.commit()
    return codes


def check(session, user, typed: str) -> second_factor.CodeCheck:
    result = second_factor.check_login_code(session, user, typed, MAX, LOCK)
    session.commit()
    return result


@pytest.fixture
def enrolled_nurse(session, nurse):
    """A nurse with SECRET as second factor, set up a minute before NOW, and her recovery codes."""
    clock.set_now(NOW - timedelta(minutes=1))
    codes = enrol(session, nurse)
    clock.set_now(NOW)
    return nurse, codes


# --- set-up ----------------------------------------------------------------------------------


def test_enrol_stores_the_secret_and_ten_hashed_recovery_codes(session, nurse):
    codes = enrol(session, nurse)

    user = session.get(User, nurse.id)
    assert (user.totp_secret, user.totp_enrolled_at) == (SECRET, NOW)
    assert user.totp_last_step == rules.time_step(NOW)  # the confirming code is used up
    assert len(codes) == len(set(codes)) == 10
    stored = session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == nurse.id)).all()
    assert sorted(r.code_hash for r in stored) == sorted(rules.recovery_code_hash(c) for c in codes)
    stored_text = json.dumps([[r.code_hash, str(r.created_at), r.used_at] for r in stored])
    assert not any(c in stored_text or c.replace("-", "") in stored_text for c in codes)
    assert second_factor.recovery_codes_left(session, nurse.id) == 10
    [event] = events("user.enrol_second_factor")
    assert event.before == {"two_step": False, "enrolled_at": None, "recovery_codes_left": 0}
    assert event.after == {"two_step": True, "enrolled_at": str(NOW), "recovery_codes_left": 10}
    audit_text = all_audit_text()
    assert SECRET not in audit_text
    assert not any(c in audit_text for c in codes)


def test_enrol_with_a_wrong_code_changes_nothing(session, nurse):
    with pytest.raises(WrongCode, match="not the code your app shows now"):
        second_factor.enrol(session, nurse, SECRET, code(NOW - 2 * STEP), PASSWORD, None, MAX, LOCK)
    session.rollback()

    user = session.get(User, nurse.id)
    assert (user.totp_secret, user.failed_logins) == (None, 0)
    assert second_factor.recovery_codes_left(session, nurse.id) == 0
    assert events("user.enrol_second_factor") == []


def test_enrol_with_a_wrong_password_is_counted_like_a_failed_login(session, nurse):
    with pytest.raises(WrongPassword, match="The password is wrong."):
        second_factor.enrol(session, nurse, SECRET, code(), "not-the-password", None, MAX, LOCK)
    session.commit()  # as the view does: keep the count and its audit event

    user = session.get(User, nurse.id)
    assert (user.totp_secret, user.failed_logins) == (None, 1)
    [event] = events("user.enrol_second_factor_failed")
    assert event.summary == "Failed two-step login set-up for nurse: wrong password"


def test_enrol_again_replaces_the_secret_and_the_codes_and_ends_other_sessions(session, enrolled_nurse):
    nurse, old_codes = enrolled_nurse
    keep, *others = open_sessions(session, nurse, count=3)
    new_secret = rules.new_secret()

    new_codes, ended = second_factor.enrol(
        session, nurse, new_secret, pyotp.TOTP(new_secret).at(NOW), PASSWORD, keep, MAX, LOCK
    )
    session.commit()

    assert ended == 2
    assert revoked_at(session, keep) is None
    assert all(revoked_at(session, sid) == NOW for sid in others)
    assert session.get(User, nurse.id).totp_secret == new_secret
    hashes = set(session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == nurse.id)))
    assert hashes == {rules.recovery_code_hash(c) for c in new_codes}
    assert not hashes & {rules.recovery_code_hash(c) for c in old_codes}
    first, again = events("user.enrol_second_factor")
    assert again.before["two_step"] is True and again.before["recovery_codes_left"] == 10
    assert "set up two-step login again" in again.summary


# --- login codes -------------------------------------------------------------------------------


def test_a_right_code_logs_in_and_clears_the_failure_count(session, enrolled_nurse):
    nurse, _ = enrolled_nurse
    nurse.failed_logins = 4
    session.commit()

    result = check(session, nurse, code())

    assert result == second_factor.CodeCheck(True)
    user = session.get(User, nurse.id)
    assert (user.failed_logins, user.totp_last_step) == (0, rules.time_step(NOW))
    assert events("auth.login")[-1].summary == "nurse logged in with a code from their app"


def test_the_same_code_is_refused_the_second_time(session, enrolled_nurse):
    nurse, _ = enrolled_nurse
    used = code()
    assert check(session, nurse, used).accepted

    clock.set_now(NOW + timedelta(seconds=20))  # same step, and the next one, are in the window
    assert not check(session, nurse, used).accepted
    clock.set_now(NOW + STEP)
    assert not check(session, nurse, used).accepted
    assert check(session, nurse, code()).accepted  # the next step's code works

    assert session.get(User, nurse.id).failed_logins == 0
    failures = events("auth.login_failed")
    assert [e.summary for e in failures] == ["Failed login for nurse: wrong code"] * 2


def test_a_code_from_the_set_up_step_cannot_log_in(session, nurse):
    typed = code()
    second_factor.enrol(session, nurse, SECRET, typed, PASSWORD, None, MAX, LOCK)
    session.commit()

    assert not check(session, nurse, typed).accepted


def test_wrong_codes_lock_the_account_like_wrong_passwords(session, enrolled_nurse):
    nurse, _ = enrolled_nurse
    for n in range(MAX):
        result = check(session, nurse, wrong_code())
        assert not result.accepted
        assert result.locked is (n == MAX - 1)

    user = session.get(User, nurse.id)
    assert user.locked_until == NOW + timedelta(minutes=LOCK)
    assert "locked for 15 minutes" in events("auth.login_failed")[-1].summary
    # Locked: even the right code and the right password are refused, until the lock ends.
    assert not check(session, nurse, code()).accepted
    assert users.authenticate(session, "nurse", PASSWORD, MAX, LOCK) is None
    assert events("auth.login_failed")[-1].summary == "Failed login for nurse: locked account"
    clock.set_now(NOW + timedelta(minutes=LOCK, seconds=1))
    assert users.authenticate(session, "nurse", PASSWORD, MAX, LOCK) is not None
    assert check(session, nurse, code()).accepted


def test_a_right_password_does_not_clear_the_count_of_wrong_codes(session, enrolled_nurse):
    """Otherwise someone who knows the password could guess codes for ever, MAX - 1 at a time."""
    nurse, _ = enrolled_nurse
    for _ in range(MAX - 1):
        check(session, nurse, wrong_code())

    assert users.authenticate(session, "nurse", PASSWORD, MAX, LOCK) is not None
    session.commit()

    assert session.get(User, nurse.id).failed_logins == MAX - 1
    [event] = events("auth.login_password")
    assert event.summary == "nurse gave the right password; asked for the two-step code"
    assert check(session, nurse, wrong_code()).locked


def test_a_deactivated_users_right_code_is_refused(session, admin, enrolled_nurse):
    nurse, _ = enrolled_nurse
    users.deactivate(session, admin, nurse, nurse.version)
    session.commit()

    assert not check(session, nurse, code()).accepted
    assert events("auth.login_failed")[-1].summary == "Failed login for nurse: inactive account"


# --- recovery codes --------------------------------------------------------------------------


def test_a_recovery_code_logs_in_once_and_is_marked_used(session, enrolled_nurse):
    nurse, codes = enrolled_nurse

    result = check(session, nurse, codes[3].upper().replace("-", " "))

    assert result == second_factor.CodeCheck(True, recovery_code=True, codes_left=9)
    used = session.scalar(
        select(RecoveryCode).where(RecoveryCode.code_hash == rules.recovery_code_hash(codes[3]))
    )
    assert used.used_at == NOW
    [event] = events("auth.recovery_code_used")
    assert (event.summary, event.after) == ("nurse used a recovery code; 9 left", {"recovery_codes_left": 9})
    assert events("auth.login")[-1].summary == "nurse logged in with a recovery code"
    again = check(session, nurse, codes[3])
    assert not again.accepted
    assert session.get(User, nurse.id).failed_logins == 1
    assert second_factor.recovery_codes_left(session, nurse.id) == 9


def test_another_users_recovery_code_is_refused(session, enrolled_nurse, therapist):
    nurse, codes = enrolled_nurse
    clock.set_now(NOW - timedelta(minutes=2))
    enrol(session, therapist, rules.new_secret())
    clock.set_now(NOW)

    assert not check(session, therapist, codes[0]).accepted
    assert second_factor.recovery_codes_left(session, nurse.id) == 10


# --- admin reset -----------------------------------------------------------------------------


def test_reset_removes_the_second_factor_and_codes_and_ends_sessions(session, admin, enrolled_nurse):
    nurse, _ = enrolled_nurse
    live = open_sessions(session, nurse, count=2)

    ended = second_factor.reset(session, admin, nurse, nurse.version)
    session.commit()

    assert ended == 2
    user = session.get(User, nurse.id)
    assert (user.totp_secret, user.totp_enrolled_at, user.totp_last_step) == (None, None, None)
    assert session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == nurse.id)).all() == []
    assert all(revoked_at(session, sid) == NOW for sid in live)
    [event] = events("user.reset_second_factor")
    assert (event.actor_id, event.target_id) == (admin.id, nurse.id)
    assert event.before == {
        "two_step": True,
        "enrolled_at": str(NOW - timedelta(minutes=1)),
        "recovery_codes_left": 10,
    }
    assert event.after == {"two_step": False, "enrolled_at": None, "recovery_codes_left": 0}
    assert event.summary == "Reset the two-step login of nurse; 2 sessions ended"
    # The password alone logs in again: the user has to set up a second factor afresh.
    assert users.authenticate(session, "nurse", PASSWORD, MAX, LOCK) is not None


def test_reset_of_a_user_without_a_second_factor_changes_nothing(session, admin, nurse):
    assert second_factor.reset(session, admin, nurse, nurse.version) is None
    session.commit()
    assert events("user.reset_second_factor") == []


def test_only_an_admin_may_reset_and_not_their_own(session, admin, surgeon, enrolled_nurse):
    nurse, _ = enrolled_nurse
    with pytest.raises(NotPermitted):
        second_factor.reset(session, surgeon, nurse, nurse.version)
    session.rollback()
    with pytest.raises(ServiceError, match="use Two-step login"):
        second_factor.reset(session, admin, admin, admin.version)
    session.rollback()
    assert session.get(User, nurse.id).totp_secret == SECRET


def test_reset_from_an_out_of_date_page_is_a_conflict(session, admin, enrolled_nurse):
    nurse, _ = enrolled_nurse
    stale = nurse.version
    assert check(session, nurse, code()).accepted  # the login changed the account since

    with pytest.raises(Conflict):
        second_factor.reset(session, admin, nurse, stale)
    session.rollback()
    assert session.get(User, nurse.id).totp_secret == SECRET
