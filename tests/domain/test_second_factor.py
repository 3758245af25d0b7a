"""Second-factor rules: codes of the window accepted once, recovery codes, the roles that need one."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest

from app.domain import second_factor as rules
from app.domain.vocab import Role

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = datetime(2026, 6, 17, 12, 0, 10, tzinfo=UTC)
STEP = timedelta(seconds=rules.STEP_SECONDS)
RECOVERY_RE = re.compile(r"^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$")


def code(moment: datetime) -> str:
    return pyotp.TOTP(SECRET).at(moment)


def test_the_code_of_now_is_accepted_and_names_its_step():
    assert rules.accepted_step(SECRET, code(NOW), NOW, None) == rules.time_step(NOW)


def test_codes_of_the_step_before_and_after_are_accepted():
    assert rules.accepted_step(SECRET, code(NOW - STEP), NOW, None) == rules.time_step(NOW) - 1
    assert rules.accepted_step(SECRET, code(NOW + STEP), NOW, None) == rules.time_step(NOW) + 1


def test_codes_two_steps_away_are_refused():
    assert rules.accepted_step(SECRET, code(NOW - 2 * STEP), NOW, None) is None
    assert rules.accepted_step(SECRET, code(NOW + 2 * STEP), NOW, None) is None


def test_a_code_is_accepted_once_its_step_is_used():
    step = rules.accepted_step(SECRET, code(NOW), NOW, None)

    assert rules.accepted_step(SECRET, code(NOW), NOW, step) is None
    assert rules.accepted_step(SECRET, code(NOW), NOW + STEP, step) is None  # still in the window


def test_an_earlier_code_is_refused_after_a_later_one_was_used():
    used = rules.accepted_step(SECRET, code(NOW + STEP), NOW, None)

    assert rules.accepted_step(SECRET, code(NOW), NOW, used) is None
    assert rules.accepted_step(SECRET, code(NOW + 2 * STEP), NOW + STEP, used) == used + 1


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_anything_but_six_digits_is_refused(typed):
    assert rules.accepted_step(SECRET, typed, NOW, None) is None


def test_spaces_and_dashes_in_a_code_do_not_count():
    right = code(NOW)

    assert rules.accepted_step(SECRET, f" {right[:3]} {right[3:]} ", NOW, None) is not None
    assert rules.accepted_step(SECRET, f"{right[:3]}-{right[3:]}", NOW, None) is not None


def test_a_code_of_another_secret_is_refused():
    other = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # none of its codes around NOW is SECRET's code of NOW

    assert rules.accepted_step(other, code(NOW), NOW, None) is None


def test_code_at_is_what_an_authenticator_app_shows():
    assert rules.code_at(SECRET, NOW) == pyotp.TOTP(SECRET).at(NOW)


def test_new_secrets_are_160_random_bits_of_base32():
    made = {rules.new_secret() for _ in range(50)}

    assert len(made) == 50
    for secret in made:
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)


def test_the_secret_is_shown_in_groups_of_four():
    assert rules.grouped(SECRET) == "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP"


def test_the_otpauth_uri_names_periop_and_the_username():
    uri = rules.otpauth_uri(SECRET, "nurse")
    parts = urlsplit(uri)
    query = parse_qs(parts.query)

    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert unquote(parts.path) == "/Periop:nurse"
    assert query["secret"] == [SECRET]
    assert query["issuer"] == ["Periop"]


def test_recovery_codes_are_ten_random_readable_codes_of_80_bits():
    codes = rules.new_recovery_codes()
    many = {c for _ in range(50) for c in rules.new_recovery_codes()}

    assert len(codes) == rules.RECOVERY_CODE_COUNT == 10
    assert len(many) == 500
    for made in codes:
        assert RECOVERY_RE.match(made), made
        assert rules.looks_like_recovery_code(made)
    assert len(rules.RECOVERY_ALPHABET) ** (rules.RECOVERY_GROUPS * rules.RECOVERY_GROUP_LENGTH) >= 2**80


def test_a_recovery_code_hashes_the_same_however_it_is_typed():
    made = "7k3m-q9xd-2fh1-8c0n"
    stored = rules.recovery_code_hash(made)

    assert stored == rules.recovery_code_hash("7K3M Q9XD 2FH1 8C0N")
    assert stored == rules.recovery_code_hash("7k3mq9xd2fhl8con")  # l read as 1, o as 0
    assert stored != rules.recovery_code_hash("7k3m-q9xd-2fh1-8c0p")
    assert re.fullmatch(r"[0-9a-f]{64}", stored)


def test_six_digits_do_not_look_like_a_recovery_code():
    assert not rules.looks_like_recovery_code("123456")
    assert not rules.looks_like_recovery_code("7k3m-q9xd-2fh1")


@pytest.mark.parametrize(
    ("setting", "roles"),
    [
        ("all", set(Role)),
        ("ALL", set(Role)),
        ("none", set()),
        ("", set()),
        ("surgeon, admin", {Role.SURGEON, Role.ADMIN}),
        ("nurse,", {Role.NURSE}),
    ],
)
def test_required_roles_reads_all_none_or_a_list(setting, roles):
    assert rules.required_roles(setting) == roles


@pytest.mark.parametrize("setting", ["surgeons", "admin,janitor", "all,nurse"])
def test_required_roles_refuses_an_unknown_word(setting):
    with pytest.raises(ValueError, match="MFA_REQUIRED_ROLES"):
        rules.required_roles(setting)


def test_a_user_must_enrol_only_in_a_required_role_without_a_second_factor():
    required = frozenset({Role.SURGEON})

    assert rules.must_enrol(Role.SURGEON, False, required)
    assert not rules.must_enrol(Role.SURGEON, True, required)
    assert not rules.must_enrol(Role.NURSE, False, required)
