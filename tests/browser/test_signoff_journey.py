"""A surgeon's journey in a real browser: sign off a complete pre-op phase, then find its items locked."""

import re

import pytest
from sqlalchemy import select

from app import db
from app.domain.vocab import Phase
from app.models import Signoff
from tests import factories
from tests.conftest import NOW, PASSWORD

TODAY = NOW.date()

pytestmark = pytest.mark.browser


def log_in(page, expect, user) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#nav-user")).to_contain_text(user.full_name)


def test_surgeon_signs_off_a_complete_pre_op_phase_and_its_items_lock(
    page, expect, surgeon, coordinator, episode
):
    factories.complete_phase_by_id(episode.id, Phase.BEFORE, surgeon, coordinator)
    log_in(page, expect, surgeon)
    page.goto(f"/episodes/{episode.id}")

    before = page.locator("#phase-before")
    expect(before.locator("[data-progress-label]")).to_have_text("13 of 13 required done")
    optional = before.locator('li[data-code="pre_hba1c"]')  # optional, still open: workable until signed
    expect(optional.get_by_role("button", name="Mark done")).to_be_visible()
    expect(optional.get_by_text("Not applicable", exact=True)).to_be_visible()

    before.get_by_role("link", name="Sign off Before surgery").click()

    expect(page.get_by_role("heading", name="Sign off Before surgery")).to_be_visible()
    expect(page.locator("#statement")).to_have_text(
        f"I confirm the pre-operative protocol for Jane Doe (MRN {episode.patient.mrn}), "
        "L4-L5 microdiscectomy is complete."
    )
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign off").click()

    expect(page.get_by_role("status")).to_contain_text("Signed off Before surgery.")
    expect(page).to_have_url(re.compile(rf"/episodes/{episode.id}#phase-before$"))
    before = page.locator("#phase-before")
    expect(before.locator("[data-signed]")).to_contain_text(
        "Signed off by Dr Sara Surgeon on 17 Jun 2026 12:00 UTC — pre-operative protocol complete"
    )
    expect(before.get_by_role("link", name="Sign off Before surgery")).to_have_count(0)

    optional = before.locator('li[data-code="pre_hba1c"]')
    expect(optional).to_contain_text("Locked: Before surgery is signed off.")
    expect(optional.get_by_role("button", name="Mark done")).to_have_count(0)
    expect(optional.get_by_text("Not applicable", exact=True)).to_have_count(0)
    expect(before.get_by_role("button", name="Mark done")).to_have_count(0)
    expect(before.locator("summary", has_text="Not applicable")).to_have_count(0)
    expect(before.locator("summary", has_text="Reopen")).to_have_count(0)
    # The other phases are not locked.
    expect(page.locator("#phase-during").get_by_role("button", name="Mark done").first).to_be_visible()

    db.session.rollback()
    signoff = db.session.scalars(select(Signoff)).one()
    assert (signoff.signer_id, signoff.phase) == (surgeon.id, Phase.BEFORE)
