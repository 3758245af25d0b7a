"""The password rule: long enough, not the user's names, not only Periop's words, hard to guess."""

import pytest

from app.domain import password_strength
from app.domain.password_strength import ESTIMATE_LENGTH, password_problem
from app.services.demo import DEMO_PASSWORD, DEMO_USERS
from tests.conftest import PASSWORD, WEAK_PASSWORDS

TOO_EASY = "This password is too easy to guess."


@pytest.mark.parametrize(("password", "warning"), WEAK_PASSWORDS, ids=[p for p, _ in WEAK_PASSWORDS])
def test_easily_guessed_passwords_are_refused_with_zxcvbns_feedback(password, warning):
    problem = password_problem(password, "nurse", "Nina Nurse")

    assert problem is not None
    assert problem.startswith(f"{TOO_EASY} {warning} ")
    assert "Add another word or two. Uncommon words are better." in problem


@pytest.mark.parametrize(
    "password",
    [
        "staple orbit meadow quietly",
        "river-lantern-copper-9",
        "Gravel tulip, 7 kettles",
        "k7mqz-4hxpw-r9tcd-3fnwb",
        "x" * 3 + "-jade-harbour-violin-" + "q" * 100,  # 128 characters
    ],
)
def test_hard_to_guess_passwords_are_accepted(password):
    assert password_problem(password, "nurse", "Nina Nurse") is None


def test_the_demo_and_test_passwords_pass_the_rule_for_their_users():
    for username, full_name, _role in DEMO_USERS:
        assert password_problem(DEMO_PASSWORD, username, full_name) is None, username
    for username, full_name in [
        ("surgeon", "Dr Sara Surgeon"),
        ("nurse", "Nina Nurse"),
        ("admin", "Adam Admin"),
    ]:
        assert password_problem(PASSWORD, username, full_name) is None, username


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("eleven-char", "Use at least 12 characters."),
        ("x" * 129, "Use at most 128 characters."),
    ],
)
def test_length_is_12_to_128_characters(password, message):
    assert password_problem(password, "nurse", "Nina Nurse") == message


@pytest.mark.parametrize(
    ("password", "username", "full_name", "message"),
    [
        ("staple-NURSE7-orbit", "nurse7", "Nina Nurse", "Do not use your username in your password."),
        ("orbit-meadow-j.smith", "j.smith", "Jo Smith", "Do not use your username in your password."),
        ("staple-orbit-Okafor", "surgeon", "Dr Amara Okafor", "Do not use your name in your password."),
        ("amara-meadow-quietly", "surgeon", "Dr Amara Okafor", "Do not use your name in your password."),
        ("Herrera-orbit-tomás", "therapist", "Tomás Herrera", "Do not use your name in your password."),
    ],
)
def test_the_username_or_a_name_inside_the_password_is_refused(password, username, full_name, message):
    assert password_problem(password, username, full_name) == message


def test_short_name_parts_do_not_forbid_words_that_contain_them():
    # "Dr" and "Li" are too short to forbid "drive" and "lichen"; they only weigh in the estimate.
    assert password_problem("drive-lichen-harbour", "surgeon", "Dr Wen Li") is None


@pytest.mark.parametrize(
    "password", ["periop-hospital", "SpineSurgery2026", "Periop2026!!!", "spine-nurse-99"]
)
def test_passwords_made_only_of_periops_words_names_and_digits_are_refused(password):
    problem = password_problem(password, "ward4", "Nina Nurse")

    assert problem is not None
    assert problem.startswith("Add words of your own") or problem.startswith("Do not use your name")


def test_a_name_among_zxcvbns_weak_matches_is_pointed_out():
    problem = password_problem("periopadmin1", "someone", "Some One")

    assert problem is not None and TOO_EASY in problem
    assert "Words about you or your work (your name, Periop, spine, hospital…) are tried first." in problem


def test_only_the_first_characters_are_estimated_so_a_long_password_is_checked_quickly(monkeypatch):
    seen = []
    real = password_strength.zxcvbn

    def recording(password, user_inputs):
        seen.append(password)
        return real(password, user_inputs=user_inputs)

    monkeypatch.setattr(password_strength, "zxcvbn", recording)
    long_password = "jade-harbour-violin-" + "€$!(" * 27

    assert password_problem(long_password, "nurse", "Nina Nurse") is None
    assert seen == [long_password[:ESTIMATE_LENGTH]] and ESTIMATE_LENGTH == 40
    # so a weak start is not saved by what follows it
    assert password_problem("aaaaaaaaaa" * 4 + "-jade-harbour-violin", "nurse", "Nina Nurse").startswith(
        TOO_EASY
    )
