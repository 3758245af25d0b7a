"""A coordinator's journey: the dashboard is home; one click on a quick filter lists the overdue post-op
items; download the CSV; open the compliance report."""

import csv
import io
import re
from pathlib import Path

import pytest

from app.reports.csv_export import BOM, OUTSTANDING_HEADER
from tests.browser.test_tick_journey import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def wards(world, surgeon2):
    return {
        "post_op": world.episode(-10),
        "other_post_op": world.episode(-5, surgeon=surgeon2),
        "upcoming": world.episode(12),
    }


def test_coordinator_filters_to_overdue_post_op_items_and_downloads_the_csv(page, expect, coordinator, wards):
    log_in(page, expect, coordinator)
    expect(page.get_by_role("heading", name="Outstanding items")).to_be_visible()  # home is the dashboard

    expect(page.locator("#list-description")).to_contain_text("Every open item of every open episode")
    quick = page.locator("#quick-filters").get_by_role("link", name=re.compile(r"^Overdue after surgery"))
    quick.click()  # one click, instead of two drop-downs and Apply filters

    expect(page).to_have_url(re.compile(r"/dashboard\?phase=after&state=overdue$"))
    expect(quick).to_have_attribute("aria-current", "page")
    expect(page.locator("#quick-filters [aria-current]")).to_have_count(1)
    expect(page.locator("#filters-in-force")).to_have_text("After surgery; Overdue")
    expect(page.get_by_label("Phase")).to_have_value("after")
    expect(page.get_by_label("State", exact=True)).to_have_value("overdue")
    rows = page.locator("#outstanding tbody tr")
    expect(rows.first).to_be_visible()
    count = rows.count()
    for n in range(count):
        expect(rows.nth(n)).to_have_attribute("data-state", "overdue")
        expect(rows.nth(n).locator("td").nth(4)).to_have_text("After surgery")
    expect(page.locator('#state-counts [data-count="overdue"]')).to_contain_text(str(count))
    expect(quick.locator("[data-quick-count]")).to_have_text(str(count))
    expect(page.locator("#page-summary")).to_contain_text(f"1–{count} of {count} items")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename == "outstanding-items-2026-06-17.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.startswith(BOM)
    rows_in_file = list(csv.reader(io.StringIO(text[len(BOM) :])))
    assert tuple(rows_in_file[0]) == OUTSTANDING_HEADER
    assert len(rows_in_file) - 1 == count
    assert {r[6] for r in rows_in_file[1:]} == {"After surgery"}
    assert {r[11] for r in rows_in_file[1:]} == {"Overdue"}
    mrns = {wards["post_op"].patient.mrn, wards["other_post_op"].patient.mrn}
    assert {r[0] for r in rows_in_file[1:]} == mrns


def test_bad_filter_is_explained_in_the_page(page, expect, coordinator, wards):
    log_in(page, expect, coordinator)
    page.goto("/dashboard?state=nonsense&page=-3")
    expect(page.locator("#filter-problems")).to_have_text("Correct the filters above to see the list.")
    expect(page.get_by_text("Choose a state from the list.")).to_be_visible()
    expect(page.get_by_text("Enter a page number from 1 to 100000.")).to_be_visible()


def test_coordinator_opens_the_flagged_episodes_and_expands_one(page, expect, coordinator, wards):
    log_in(page, expect, coordinator)
    page.locator("#nav-flags").click()

    expect(page.get_by_label("View")).to_have_value("episodes")
    row = page.locator(f'tr[data-episode="{wards["post_op"].id}"]')
    expect(row).to_contain_text("Incomplete post-op steps")
    details = page.locator(f'details[data-items-of="{wards["post_op"].id}"]')
    expect(details.locator("table")).not_to_be_visible()
    details.locator("summary").click()
    expect(details.locator("table tbody tr").first).to_be_visible()


def test_compliance_report_draws_its_chart_without_scripts(page, expect, coordinator, wards):
    log_in(page, expect, coordinator)
    page.get_by_role("link", name="Compliance report").click()
    expect(page.get_by_role("heading", name="Compliance report")).to_be_visible()
    expect(page.get_by_role("img", name="Required items completed and completed on time")).to_be_visible()
    expect(page.locator("#by-month")).to_contain_text("Jun 2026")
    expect(page.locator("#by-month")).to_contain_text("No items due in Jul 2025–May 2026")  # one line, not 11
    expect(page.locator("#overall [data-figure]").first).to_contain_text("on time")  # the headline figure
    expect(page.locator("#target")).to_contain_text("Target: 70 %")
    page.get_by_label("From month").fill("2026-06")
    page.get_by_label("To month").fill("2026-05")
    page.get_by_role("button", name="Show report").click()
    expect(page.get_by_text("The “from” month is after the “to” month.")).to_be_visible()
