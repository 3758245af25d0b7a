"""Printing an episode in Chromium, to A4 PDF, read back page by page (pypdf).

The summary for printing names the patient (name and MRN) at the head of every page and who
printed it, and when, at the foot of every page, with "Page n of N"; the episode page printed as
it is names the patient on every page too, prints its folded phases open and no controls.
"""

import io

import pytest

from app.domain.vocab import Role
from tests.browser.test_tick_journey import log_in
from tests.web.checklist.test_print import printed_episode

pytestmark = pytest.mark.browser

# Words of controls and navigation that must not reach paper.
CONTROLS = ("Mark done", "Add note", "Print summary", "Show guidance", "Log out", "Back to the episode")


def pdf_pages(pdf: bytes) -> list[str]:
    """The text of each page of a PDF, its white space folded."""
    from pypdf import PdfReader

    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages]


def printed(page) -> list[str]:
    """The page as Chromium prints it on A4 (its own @page rule), page by page."""
    return pdf_pages(page.pdf(format="A4", prefer_css_page_size=True))


def test_summary_names_the_patient_and_who_printed_it_on_every_page(page, expect, users, world):
    episode = printed_episode(world, users)
    patient = episode.patient
    log_in(page, expect, users[Role.NURSE])
    page.goto(f"/episodes/{episode.id}")
    page.get_by_role("button", name="Print summary").click()
    expect(page.locator("#print-head")).to_contain_text(f"MRN {patient.mrn}")

    pages = printed(page)

    print(f"\nsummary of an episode of {len(episode.items)} items: {len(pages)} A4 pages")
    assert len(pages) >= 2, "the episode should fill more than one page"
    head = f"{patient.display_name} · MRN {patient.mrn}"
    assert head in pages[1]
    for number, text in enumerate(pages, start=1):
        assert head in text, f"page {number}"
        assert "Printed by Nina Nurse (Nurse) on 17 Jun 2026 12:00 UTC" in text, f"page {number}"
        assert f"Page {number} of {len(pages)}" in text
    whole = " ".join(pages)
    assert "Adequate conservative care tried" in whole  # an item of the signed-off phase
    assert not [word for word in CONTROLS if word in whole]


def test_episode_page_prints_the_patient_on_every_page_folded_phases_open_no_controls(
    page, expect, users, world
):
    episode = printed_episode(world, users)  # Before surgery signed off: folded on screen
    patient = episode.patient
    log_in(page, expect, users[Role.SURGEON])
    page.goto(f"/episodes/{episode.id}")
    expect(page.locator('details[data-phase-items="before"]')).not_to_have_attribute("open", "")
    expect(page.get_by_text("Adequate conservative care tried")).to_be_hidden()

    pages = printed(page)

    print(f"\nepisode page of {len(episode.items)} items: {len(pages)} A4 pages")
    assert len(pages) >= 2, "the episode should fill more than one page"
    for number, text in enumerate(pages, start=1):
        assert f"{patient.display_name} · MRN {patient.mrn}" in text, f"page {number}"
        assert f"Page {number} of {len(pages)}" in text
    whole = " ".join(pages)
    assert "Adequate conservative care tried" in whole
    assert not [word for word in CONTROLS if word in whole]
