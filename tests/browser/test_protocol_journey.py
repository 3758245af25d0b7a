"""A clinical lead's journey in a real browser: add a step to a draft, review the changes, publish
with the password; a new episode gets the step, an episode already open does not until it is
moved, and the move shows what it would change first."""

import pytest

from app import db
from app.services import protocols
from tests import factories
from tests.browser import a11y
from tests.browser.test_tick_journey import log_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

NEW_TITLE = "Phone call on day 3: pain, wound, mobility"


def test_lead_adds_a_step_reviews_the_changes_and_publishes_it(page, expect, lead, coordinator, protocol):
    old = factories.episode(coordinator, lead, protocol)
    log_in(page, expect, lead)
    page.get_by_role("link", name="Protocols").first.click()
    expect(page.get_by_role("heading", name="Protocols", exact=True)).to_be_visible()
    a11y.assert_accessible(page, "protocols list")
    page.get_by_label("Start from").select_option(label=f"{protocol.label} — a draft of its next version")
    page.get_by_role("button", name="Start the draft").click()
    expect(page.locator("[data-status=draft]")).to_be_visible()
    a11y.assert_accessible(page, "draft")

    page.get_by_role("link", name="Add a step to After surgery").click()
    page.get_by_label("Code", exact=True).fill("post_phone_call")
    page.get_by_label("Title", exact=True).fill(NEW_TITLE)
    page.get_by_label("Guidance and sources").fill("Early contact finds problems at home. Sources: ERAS.")
    page.get_by_label("Done by").select_option("nurse")
    page.get_by_label("Due (days from surgery)").fill("3")
    a11y.assert_accessible(page, "step form")
    page.get_by_role("button", name="Save step").click()
    expect(page.locator("#step-post_phone_call")).to_contain_text(NEW_TITLE)
    expect(page.locator("#step-post_phone_call")).to_contain_text("3 days after surgery")

    # Move it up one place with the keyboard-usable button.
    page.get_by_role("button", name="Move up post_phone_call").click()
    expect(page.locator("#step-post_phone_call")).to_be_visible()

    page.get_by_role("link", name="Review and publish").click()
    expect(page.locator("#changes")).to_contain_text("Steps: 1 added")
    expect(page.locator("[data-diff=added]")).to_contain_text(NEW_TITLE)
    a11y.assert_accessible(page, "review")
    page.get_by_label("Your password").fill("not my password")
    page.get_by_role("button", name="Publish: approved for clinical use").click()
    expect(page.locator(".invalid-feedback")).to_contain_text("Wrong password: nothing was published.")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Publish: approved for clinical use").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("(version 2)")
    expect(page.locator("[data-status=published]")).to_be_visible()

    db.session.remove()
    newest = protocols.latest_version(db.session, protocols.DEFAULT_SLUG)
    assert newest.number == 2
    new = factories.episode(coordinator, lead, newest)
    page.goto(f"/episodes/{new.id}")
    expect(page.locator('li[data-code="post_phone_call"]')).to_contain_text(NEW_TITLE)
    page.goto(f"/episodes/{old.id}")
    expect(page.get_by_text("Protocol: Lumbar spine surgery — FBSS prevention (version 1)")).to_be_visible()
    expect(page.locator('li[data-code="post_phone_call"]')).to_have_count(0)

    # Move the open episode: the preview first, then the move.
    page.get_by_role("link", name="Change protocol version").click()
    expect(page.locator("#added-heading")).to_have_text("Added (1)")
    expect(page.locator("#added")).to_contain_text(NEW_TITLE)
    expect(page.locator("#dropped-heading")).to_have_text("Dropped (0)")
    a11y.assert_accessible(page, "move preview")
    page.get_by_role("button", name="Move to Lumbar spine surgery — FBSS prevention (version 2)").click()
    expect(page.get_by_text("Protocol: Lumbar spine surgery — FBSS prevention (version 2)")).to_be_visible()
    expect(page.locator('li[data-code="post_phone_call"]')).to_contain_text(NEW_TITLE)
