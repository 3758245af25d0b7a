"""A nurse's two-step login in a real browser: set it up with the app's code, log out, log in with a code."""

from datetime import timedelta

import pyotp
import pytest

from app import clock
from tests.conftest import NOW, PASSWORD

pytestmark = pytest.mark.browser


def fill_login(page, user) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.settings(MFA_REQUIRED_ROLES="nurse")
def test_nurse_sets_up_two_step_login_then_logs_in_with_a_code(page, expect, nurse):
    fill_login(page, nurse)

    # Her role needs a second factor: the set-up page is all she can reach.
    expect(page.get_by_role("heading", name="Two-step login")).to_be_visible()
    expect(page.locator("#must-enrol")).to_have_text("Your role needs two-step login: set it up to continue.")
    expect(page.locator("#totp-qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    app_code = pyotp.TOTP(secret)  # her phone
    page.goto("/patients")
    expect(page.get_by_role("heading", name="Two-step login")).to_be_visible()

    page.get_by_label("Code from the app").fill(app_code.at(clock.now()))
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Turn on two-step login").click()

    expect(page.get_by_text("Save these recovery codes now.")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have saved them — continue").click()
    expect(page.locator("#nav-user")).to_contain_text("Nina Nurse")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    clock.set_now(NOW + timedelta(seconds=30))  # the next code: the set-up used this one
    fill_login(page, nurse)
    expect(page.get_by_role("heading", name="Two-step login")).to_be_visible()
    window = {app_code.at(clock.now(), counter_offset=n) for n in (-1, 0, 1)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in window)
    page.get_by_label("Code").fill(wrong)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Wrong code.")).to_be_visible()
    page.get_by_label("Code").fill(app_code.at(clock.now()))
    page.get_by_role("button", name="Log in").click()

    expect(page.locator("#nav-user")).to_contain_text("Nina Nurse")
    page.goto("/account/two-step")
    expect(page.locator("#two-step-status")).to_contain_text("On")
    expect(page.locator("#recovery-codes-left")).to_contain_text("Recovery codes left: 10 of 10.")
