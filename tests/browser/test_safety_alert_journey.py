"""A surgeon's journey in a real browser: "Level confirmed on imaging: no" raises a safety flag
and blocks the intra-operative sign-off until the surgeon acknowledges it with the plan; then
the phase is signed."""

import re

import pytest
from sqlalchemy import select

from app import db
from app.domain.vocab import Phase
from app.models import ChecklistItem, Signoff
from app.queries.episodes import episode_with_checklist
from app.services import signoffs
from tests import factories
from tests.browser.test_signoff_journey import log_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

PLAN = "Level re-checked with a second image, L4-L5 confirmed"


def test_surgeon_answers_no_sees_the_safety_flag_acknowledges_it_and_signs(
    page, expect, surgeon, coordinator, episode
):
    factories.complete_phase_by_id(episode.id, Phase.BEFORE, surgeon, coordinator)
    with db.write_unit():
        loaded = episode_with_checklist(db.session, episode.id)
        signoffs.sign(db.session, db.session.merge(surgeon), loaded, Phase.BEFORE, PASSWORD, 5, 15)
        db.session.commit()
    log_in(page, expect, surgeon)
    page.goto(f"/episodes/{episode.id}")

    level = page.locator('li[data-code="intra_level_xray"]')
    level.locator("select[name=value]").select_option("no")
    level.get_by_role("button", name="Mark done").click()

    expect(page.get_by_role("status")).to_contain_text("Marked done")
    expect(page.locator("[data-flag]").first).to_have_text(
        re.compile(r"Safety: Level not confirmed on imaging")
    )
    during = page.locator("#phase-during")
    expect(during.locator("[data-blockers]")).to_contain_text(
        "Safety alert not acknowledged: Level not confirmed"
    )
    level = page.locator('li[data-code="intra_level_xray"]')
    expect(level.locator("[data-alert]")).to_contain_text("blocks the During surgery sign-off")

    level.get_by_text("Acknowledge alert").click()
    level.get_by_label("The plan (required, at least 10 characters)").fill(PLAN)
    level.get_by_role("button", name="Acknowledge", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text("Safety alert acknowledged")
    expect(page.locator('[data-flag="safety"]')).to_have_count(0)
    level = page.locator('li[data-code="intra_level_xray"]')
    expect(level.locator("[data-acknowledged]")).to_contain_text(
        f"acknowledged by Dr Sara Surgeon on 17 Jun 2026 12:00 UTC: {PLAN}"
    )

    db.session.remove()  # forget what this test read before the browser's changes
    factories.complete_phase_by_id(episode.id, Phase.DURING, surgeon, coordinator)
    page.goto(f"/episodes/{episode.id}")
    page.locator("#phase-during").get_by_role("link", name="Sign off During surgery").click()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign off").click()
    expect(page.get_by_role("status")).to_contain_text("Signed off During surgery.")

    db.session.rollback()
    active = set(db.session.scalars(select(Signoff.phase).where(Signoff.revoked_at.is_(None))))
    assert active == {Phase.BEFORE, Phase.DURING}
    waiting = select(ChecklistItem.id).where(ChecklistItem.episode_id == episode.id, ChecklistItem.alert_open)
    assert db.session.scalars(waiting).all() == []
