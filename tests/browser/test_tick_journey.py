"""A nurse's journey in a real browser: log in, open an episode, tick items, see progress move."""

import re

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def log_in(page, expect, user) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#nav-user")).to_contain_text(user.full_name)


def progress_of(page, phase: str):
    """The phase's <progress> bar and its numbers as the page shows them now."""
    bar = page.locator(f"#phase-{phase} progress")
    return bar, int(bar.get_attribute("data-done")), int(bar.get_attribute("data-total"))


def test_nurse_marks_a_check_item_done(page, expect, nurse, episode):
    log_in(page, expect, nurse)
    page.goto(f"/episodes/{episode.id}")
    expect(page.get_by_role("heading", name="During surgery")).to_be_visible()
    bar, done, total = progress_of(page, "during")
    label = page.locator("#phase-during [data-progress-label]")
    expect(label).to_have_text(f"{done} of {total} required done")

    row = page.locator('li[data-code="intra_sign_in"]')
    badge = row.locator("[data-state]")
    expect(badge).not_to_have_text(re.compile(r"\bDone\b"))
    expect(row.locator("[data-done-by]")).to_have_count(0)

    page.evaluate("window.notReloaded = true")
    row.get_by_role("button", name="Mark done").click()

    message = row.locator("[data-item-message]")
    expect(message).to_have_text("Marked done at 12:00 UTC.")  # beside the item
    expect(message).to_be_focused()
    assert page.evaluate("window.notReloaded") is True  # changed in place, not a new page
    expect(badge).to_have_attribute("data-state", "done")
    expect(badge).to_have_text(re.compile(r"\bDone$"))
    expect(row.locator("[data-done-by]")).to_contain_text("Done by Nina Nurse")
    expect(bar).to_have_attribute("data-done", str(done + 1))
    expect(label).to_have_text(f"{done + 1} of {total} required done")


def test_nurse_enters_a_value_out_of_range_then_in_range(page, expect, nurse, episode):
    log_in(page, expect, nurse)
    page.goto(f"/episodes/{episode.id}")
    bar, done, total = progress_of(page, "before")
    row = page.locator('li[data-code="pre_psych_screen"]')
    badge = row.locator("[data-state]")
    field = row.get_by_label("PHQ-9 score")
    state_before = badge.get_attribute("data-state")
    assert state_before != "done"

    field.fill("99")
    row.get_by_role("button", name="Mark done").click()

    expect(row.get_by_role("alert")).to_contain_text("Enter a number from 0 to 27.")  # by the field
    expect(field).to_have_value("99")  # what was typed is kept, to correct it
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    expect(badge).to_have_attribute("data-state", state_before)
    expect(row.locator("[data-done-by]")).to_have_count(0)
    expect(bar).to_have_attribute("data-done", str(done))
    expect(page.get_by_text("Marked done")).to_have_count(0)

    field.fill("5")
    row.get_by_role("button", name="Mark done").click()

    expect(row.locator("[data-item-message]")).to_have_text("Marked done at 12:00 UTC.")
    expect(row.get_by_role("alert")).to_have_count(0)
    expect(badge).to_have_attribute("data-state", "done")
    expect(row.locator("[data-done-by]")).to_contain_text("Done by Nina Nurse")
    expect(row.locator("[data-done-by]")).to_contain_text("PHQ-9 score: 5")
    expect(bar).to_have_attribute("data-done", str(done + 1))
    expect(page.locator("#phase-before [data-progress-label]")).to_have_text(
        f"{done + 1} of {total} required done"
    )
