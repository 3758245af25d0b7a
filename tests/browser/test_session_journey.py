"""A therapist's journey in a real browser: log a PT session, see the sessions item become done."""

import re

import pytest

from tests.browser.test_tick_journey import log_in

pytestmark = pytest.mark.browser


def test_therapist_logs_a_session_and_the_item_count_moves(page, expect, therapist, episode):
    log_in(page, expect, therapist)
    page.goto(f"/episodes/{episode.id}")
    row = page.locator('li[data-code="post_mobilise"]')
    badge = row.locator("[data-state]")
    expect(row.locator("[data-sessions]")).to_have_text("0 of 1 PT sessions")
    expect(badge).not_to_have_attribute("data-state", "done")

    page.goto(f"/episodes/{episode.id}/sessions/new")
    expect(page.get_by_label("Date")).to_have_value("2026-06-17")  # today, the surgery day
    page.get_by_label("Discipline").select_option("PT")
    page.get_by_label("Minutes").fill("40")
    page.get_by_label("Attendance").select_option("attended")
    page.get_by_label("Pain before (NRS 0–10)").fill("6")
    page.get_by_label("Pain after (NRS 0–10)").fill("4")
    page.get_by_label("What was done").fill("Sat out of bed, walked to the door")
    page.get_by_label("Home-exercise plan given").check()
    page.get_by_role("button", name="Log session").click()

    expect(page.get_by_role("status")).to_contain_text("Session logged: PT session on 17 Jun 2026")
    expect(page.get_by_role("status")).to_contain_text("(1 of 1 PT sessions)")
    expect(badge).to_have_attribute("data-state", "done")
    expect(badge).to_have_text(re.compile(r"\bDone$"))
    expect(row.locator("[data-done-by]")).to_contain_text("Done by Theo Therapist")
    expect(row.locator("[data-done-by]")).to_contain_text("1 of 1 PT sessions")


def test_a_future_date_is_refused_and_what_was_typed_is_kept(page, expect, therapist, episode):
    log_in(page, expect, therapist)
    page.goto(f"/episodes/{episode.id}/sessions/new")
    page.get_by_label("Date").fill("2026-06-18")
    page.get_by_label("Minutes").fill("40")
    page.get_by_role("button", name="Log session").click()

    expect(page.get_by_text("The session date cannot be in the future.")).to_be_visible()
    expect(page.get_by_label("Minutes")).to_have_value("40")
    page.goto(f"/episodes/{episode.id}")
    expect(page.locator('li[data-code="post_mobilise"] [data-sessions]')).to_have_text("0 of 1 PT sessions")
