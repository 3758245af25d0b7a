"""The compliance report: figures per month of surgery, surgeon and phase worked by hand, filters,
bad input, the chart, the CSV and the items most often late."""

import csv
import io
import re
from datetime import UTC, date, datetime

import pytest

from app import clock, db
from app.domain.vocab import Phase, Role
from app.models import User
from app.queries.episodes import episode_with_checklist
from app.reports.csv_export import BOM, COMPLIANCE_HEADER
from app.services import checklist, signoffs
from tests import compliance_versions, factories
from tests.conftest import NOW, login


def work(episode_id: int, actor_id: int, code: str, on: date, not_applicable: bool = False) -> None:
    """Complete one item on a given day (the clock moved there and back)."""
    clock.set_now(datetime(on.year, on.month, on.day, 12, tzinfo=UTC))
    try:
        with db.write_unit():
            episode = episode_with_checklist(db.session, episode_id)
            item = factories.item(episode, code)
            actor = db.session.get(User, actor_id)
            if not_applicable:
                checklist.mark_not_applicable(db.session, actor, item, item.version, "Not a smoker")
            else:
                checklist.mark_done(db.session, actor, item, item.version, factories.sample_value(item))
            db.session.commit()
    finally:
        clock.set_now(NOW)
        db.session.remove()


@pytest.fixture
def report_site(coordinator, surgeon, surgeon2, protocol):
    """May: surgeon's episode partly worked; June: surgeon2's, nothing done; July: a closed one;
    and one not yet scheduled."""
    may = factories.episode(coordinator, surgeon, protocol, surgery_date=date(2026, 5, 20), family_name="May")
    for code, on in (
        ("pre_conservative_care", date(2026, 5, 6)),  # on its due date: on time
        ("pre_education_consent", date(2026, 5, 1)),  # early: on time
        ("pre_site_mark", date(2026, 5, 21)),  # a day late
        ("pre_opioid_review", date(2026, 6, 17)),  # due 20 Apr: late
        ("post_vte", date(2026, 5, 20)),  # on time
    ):
        work(may.id, surgeon.id, code, on)
    work(may.id, surgeon.id, "pre_smoking", date(2026, 4, 10), not_applicable=True)  # on time
    june = factories.episode(
        coordinator, surgeon2, protocol, surgery_date=date(2026, 6, 10), family_name="June"
    )
    july = factories.episode(
        coordinator, surgeon, protocol, surgery_date=date(2026, 7, 5), family_name="July"
    )
    with db.write_unit():
        episode = episode_with_checklist(db.session, july.id)
        signoffs.close(
            db.session, db.session.get(User, coordinator.id), episode, episode.version, "Transferred"
        )
        db.session.commit()
    db.session.remove()
    factories.episode(coordinator, surgeon, protocol, surgery_date=None, family_name="Later")
    return {"may": may, "june": june, "july": july}


def report(client, **args) -> str:
    query = "&".join(f"{k}={v}" for k, v in args.items())
    response = client.get(f"/dashboard/compliance?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def cell(page: str, table_id: str, row: str, phase: str) -> tuple[str, str, str]:
    """(completed %, on time %, "n of m") shown in one cell of a report table."""
    table = page[page.index(f'id="{table_id}"') :].split("</table>")[0]
    tr = table[table.index(f'data-row="{row}"') :].split("</tr>")[0]
    td = tr[tr.index(f'data-phase="{phase}"') :].split("</td>")[0]
    if "data-completed" not in td:
        return ("–", "–", "")
    completed = re.search(r'data-completed="(\d+)"', td).group(1)
    on_time = re.search(r'data-on-time="(\d+)"', td).group(1)
    counts = re.search(r"(\d+ of \d+)", td).group(1)
    return completed, on_time, counts


def test_figures_per_month_and_phase_are_the_share_due_that_was_completed_and_on_time(
    client, coordinator, report_site
):
    login(client, coordinator)
    page = report(client)

    assert "Jul 2025 – Jun 2026 · all surgeons" in page
    # Before: 13 required, all due; 5 completed (4 done, 1 not applicable); 3 on time.
    assert cell(page, "by-month", "2026-05", "before") == ("38", "23", "5 of 13")
    # During: 9 required, due on the day of surgery, none done.
    assert cell(page, "by-month", "2026-05", "during") == ("0", "0", "0 of 9")
    # After: 8 of 15 required are due by 17 Jun; one done on time; the rest are not yet due.
    assert cell(page, "by-month", "2026-05", "after") == ("12", "12", "1 of 8")
    assert cell(page, "by-month", "2026-05", "overall") == ("20", "13", "6 of 30")
    assert cell(page, "by-month", "2026-06", "overall") == ("0", "0", "0 of 29")
    assert 'data-row="2026-04"' not in page  # nothing was due: folded with the months before
    assert (
        '<tr data-months="2025-07/2026-04"><td colspan="5" class="text-muted">'
        "No items due in Jul 2025–Apr 2026</td></tr>"
    ) in page


def test_figures_per_surgeon_cover_the_period(client, coordinator, report_site):
    login(client, coordinator)
    page = report(client)

    assert cell(page, "by-surgeon", str(report_site["may"].surgeon_id), "overall") == ("20", "13", "6 of 30")
    assert cell(page, "by-surgeon", str(report_site["june"].surgeon_id), "overall") == ("0", "0", "0 of 29")
    overall = page[page.index('id="overall"') : page.index('id="compliance-chart"')]
    assert 'data-on-time="7">7 %</span>' in overall and 'data-completed="10">10 %</span>' in overall
    assert "6 of 59 completed, 4 on time" in overall


def test_episodes_not_yet_scheduled_are_left_out_and_said_so(client, coordinator, report_site):
    login(client, coordinator)
    page = report(client)
    assert "1 open episode not yet scheduled is not counted (no month of surgery)." in page


def test_a_closed_episode_counts_its_open_items_as_not_done(client, coordinator, report_site):
    login(client, coordinator)
    page = report(client, start="2026-07", end="2026-07")

    assert "Jul 2026 – Jul 2026" in page
    assert cell(page, "by-month", "2026-07", "overall") == ("0", "0", "0 of 37")


def test_surgeon_filter_reports_one_surgeon(client, coordinator, surgeon2, report_site):
    login(client, coordinator)
    page = report(client, surgeon=surgeon2.id)

    assert "· Dr Tom Second" in page
    assert "No items due in Jul 2025–May 2026" in page
    assert cell(page, "by-month", "2026-06", "overall") == ("0", "0", "0 of 29")
    assert "not yet scheduled" not in page  # the unscheduled episode is the other surgeon's


def test_the_period_defaults_to_the_last_twelve_months_and_shows_in_the_form(
    client, coordinator, report_site
):
    login(client, coordinator)
    page = report(client)

    lines = re.findall(r'data-(?:row|months)="([0-9/-]+)"', page.split('id="by-surgeon"')[0])
    assert lines == ["2025-07/2026-04", "2026-05", "2026-06"]  # twelve months, ten with nothing due
    assert 'value="2025-07"' in page and 'value="2026-06"' in page


@pytest.fixture
def march(coordinator, surgeon, protocol):
    """Surgery on 10 Mar 2026: every required pre-op item completed (not applicable), 8 early and
    5 the day after surgery, so 100 % completed but 62 % on time; nothing done on the day."""
    march = factories.episode(
        coordinator, surgeon, protocol, surgery_date=date(2026, 3, 10), family_name="March"
    )
    episode = episode_with_checklist(db.session, march.id)
    items = [(i.step.code, i.role) for i in episode.items if i.phase is Phase.BEFORE and i.required]
    db.session.remove()
    assert len(items) == 13
    for n, (code, role) in enumerate(items):
        actor = coordinator if role is Role.COORDINATOR else surgeon
        work(march.id, actor.id, code, date(2026, 1, 5) if n < 8 else date(2026, 3, 11), True)
    return march


def figures(td: str) -> list[tuple[str, str, bool]]:
    """(which figure, colour, marked "below 70 %") of a cell, in the order shown."""
    return [
        (name, colour, "data-below" in rest)
        for colour, name, rest in re.findall(
            r'<span class="text-(success|danger) fw-bold[^"]*" data-(on-time|completed)="\d+">[^<]*</span>'
            r"([^<]*(?:<span[^>]*data-below>[^<]*</span>)?)",
            td,
        )
    ]


def test_on_time_comes_first_and_larger_each_figure_coloured_against_the_70_percent_line(
    client, coordinator, march
):
    login(client, coordinator)
    page = report(client, start="2026-03", end="2026-03")

    assert cell(page, "by-month", "2026-03", "before") == ("100", "62", "13 of 13")
    row = page[page.index('data-row="2026-03"') :].split("</tr>")[0]
    before = row[row.index('data-phase="before"') :].split("</td>")[0]
    # December's finding: completion green at 93 % while on time sat at 64 %, unmarked
    assert figures(before) == [("on-time", "danger", True), ("completed", "success", False)]
    assert 'fw-bold fs-5" data-on-time="62">62 %</span> on time' in before
    assert "below 70 %" in before and before.count("below 70 %") == 1
    during = row[row.index('data-phase="during"') :].split("</td>")[0]
    assert figures(during) == [("on-time", "danger", True), ("completed", "danger", True)]
    overall = page[page.index('id="overall"') : page.index('id="compliance-chart"')]
    assert 'fw-bold fs-2" data-on-time=' in overall  # the headline of the page
    assert "<strong>Target: 70 %</strong> of required items on time, and completed" in page


def test_items_most_often_late_come_first(client, coordinator, report_site):
    login(client, coordinator)
    page = report(client)

    table = page[page.index('id="most-late"') :].split("</table>")[0]
    late = [int(n) for n in re.findall(r"data-late>(\d+)<", table)]
    assert late == sorted(late, reverse=True)
    assert late[0] == 2  # missed in May and in June
    assert len(late) == 10
    assert 'data-step="intra_antibiotic"' in table  # ties go by code
    assert 'data-step="pre_conservative_care"' not in table  # on time in May, so late once only


def test_the_chart_is_drawn_on_the_server_with_its_figures(client, coordinator, report_site):
    login(client, coordinator)
    page = report(client)

    chart = page[page.index('id="compliance-chart"') :].split("</figure>")[0]
    assert "<svg" in chart and "<script" not in chart
    assert "<title>May 2026: 20% completed</title>" in chart
    assert "<title>May 2026: 13% on time</title>" in chart
    assert "70% high-compliance cut-off" in chart


def test_nothing_due_in_the_period_says_so(client, coordinator, report_site):
    login(client, coordinator)
    page = report(client, start="2024-01", end="2024-03")
    assert 'data-empty="compliance-chart"' in page
    assert 'data-empty="most-late"' in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"start": "2026-13"}, "Enter a month as YYYY-MM."),
        ({"end": "June"}, "Enter a month as YYYY-MM."),
        ({"start": "2026-06", "end": "2026-01"}, "The “from” month is after the “to” month."),
        ({"start": "2020-01", "end": "2025-02"}, "Choose at most 60 months."),
        ({"start": "2027-01"}, "The “from” month is after the “to” month."),
        ({"surgeon": "abc"}, "Choose a surgeon from the list."),
        ({"surgeon": "424242"}, "Choose a surgeon from the list."),
    ],
)
def test_bad_periods_get_a_clear_message_and_no_report(client, coordinator, surgeon, episode, args, message):
    login(client, coordinator)
    page = report(client, **args)

    assert message in page
    assert "Correct the filters above to see the report." in page
    assert 'id="by-month"' not in page
    csv_response = client.get("/dashboard/compliance.csv?" + "&".join(f"{k}={v}" for k, v in args.items()))
    assert csv_response.status_code == 400


def test_csv_has_one_row_per_month_surgeon_and_phase(client, coordinator, report_site):
    login(client, coordinator)
    response = client.get("/dashboard/compliance.csv?start=2026-05&end=2026-06")

    assert response.status_code == 200
    assert (
        response.headers["Content-Disposition"] == 'attachment; filename="compliance-2026-05-to-2026-06.csv"'
    )
    text = response.get_data(as_text=True)
    assert text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(text[len(BOM) :])))
    assert tuple(rows[0]) == COMPLIANCE_HEADER
    assert rows[1:] == [
        ["2026-05", "Dr Sara Surgeon", "Before surgery", "13", "5", "3", "38.5", "23.1", "0"],
        ["2026-05", "Dr Sara Surgeon", "During surgery", "9", "0", "0", "0.0", "0.0", "0"],
        ["2026-05", "Dr Sara Surgeon", "After surgery", "8", "1", "1", "12.5", "12.5", "7"],
        ["2026-06", "Dr Tom Second", "Before surgery", "13", "0", "0", "0.0", "0.0", "0"],
        ["2026-06", "Dr Tom Second", "During surgery", "9", "0", "0", "0.0", "0.0", "0"],
        ["2026-06", "Dr Tom Second", "After surgery", "7", "0", "0", "0.0", "0.0", "8"],
    ]


def test_the_report_links_from_the_dashboard_and_every_clinical_role_opens_it(client, users, report_site):
    for user in users.values():
        login(client, user)
        response = client.get("/dashboard/compliance")
        assert response.status_code == (403 if user.role.value == "admin" else 200)
        client.form_post("/logout")
    login(client, users[next(iter(users))])
    assert 'href="/dashboard/compliance"' in client.get("/dashboard").get_data(as_text=True)


# --- by protocol version -------------------------------------------------------------------------

VERSION_2 = "Lumbar spine surgery — FBSS prevention (version 2)"


@pytest.fixture
def two_versions(coordinator, surgeon2, protocol, report_site):
    """The report site's episodes are on version 1; version 2 has surgeon2's, operated on 20 May
    with three pre-op items done on time and nothing else."""
    version_2 = compliance_versions.publish_version_2()
    may = factories.episode(
        coordinator, surgeon2, version_2, surgery_date=date(2026, 5, 20), family_name="Version"
    )
    for code, on in (
        ("pre_conservative_care", date(2026, 5, 6)),
        ("pre_education_consent", date(2026, 5, 1)),
        ("pre_site_mark", date(2026, 5, 20)),
    ):
        work(may.id, surgeon2.id, code, on)
    return {"v1": protocol.id, "v2": version_2.id, "may_v2": may, **report_site}


def test_the_report_offers_all_versions_by_default_and_each_numbered_one_newest_first(
    client, coordinator, two_versions
):
    compliance_versions.add_draft()
    login(client, coordinator)
    page = report(client)

    select = page[page.index('id="version"') :].split("</select>")[0]
    assert '<label class="form-label" for="version">Protocol version</label>' in page
    assert re.search(r'name="version"><option selected value="">All versions</option><optgroup', select)
    lumbar = '<optgroup label="Lumbar spine surgery — FBSS prevention">'
    group = select.split(lumbar)[1].split("</optgroup>")[0]
    assert re.findall(r'<option value="([^"]*)">([^<]*)</option>', group) == [
        (str(two_versions["v2"]), VERSION_2),
        (str(two_versions["v1"]), "Lumbar spine surgery — FBSS prevention (version 1)"),
    ]  # no draft
    assert "Jul 2025 – Jun 2026 · all surgeons · all protocol versions</h2>" in page
    # Both versions' episodes: May is surgeon's 6 of 30 (4 on time) and surgeon2's 3 of 30 (3).
    assert cell(page, "by-month", "2026-05", "overall") == ("15", "12", "9 of 60")


def test_one_version_narrows_every_figure_and_the_heading_says_which(client, coordinator, two_versions):
    login(client, coordinator)
    page = report(client, version=two_versions["v2"])

    assert f"Jul 2025 – Jun 2026 · all surgeons · {VERSION_2}</h2>" in page
    assert re.search(rf'<option selected value="{two_versions["v2"]}">', page)
    assert cell(page, "by-month", "2026-05", "before") == ("23", "23", "3 of 13")
    assert cell(page, "by-month", "2026-05", "overall") == ("10", "10", "3 of 30")
    assert 'data-row="2026-06"' not in page  # June's episode is on version 1
    surgeons = re.findall(r'data-row="(\d+)"', page.split('id="by-surgeon"')[1].split("</table>")[0])
    assert surgeons == [str(two_versions["may_v2"].surgeon_id)]
    overall = page[page.index('id="overall"') : page.index('id="compliance-chart"')]
    assert "3 of 30 completed, 3 on time" in overall
    assert "<title>May 2026: 10% completed</title>" in page
    most_late = page[page.index('id="most-late"') :].split("</table>")[0]
    assert 'data-step="pre_conservative_care"' not in most_late  # on time on version 2
    assert "not yet scheduled" not in page  # the unscheduled episode is on version 1
    assert f"/dashboard/compliance.csv?version={two_versions['v2']}" in page


def test_the_other_version_shows_its_own_figures(client, coordinator, two_versions):
    login(client, coordinator)
    page = report(client, version=two_versions["v1"])

    assert "· all surgeons · Lumbar spine surgery — FBSS prevention (version 1)</h2>" in page
    assert cell(page, "by-month", "2026-05", "overall") == ("20", "13", "6 of 30")
    assert cell(page, "by-month", "2026-06", "overall") == ("0", "0", "0 of 29")
    assert "1 open episode not yet scheduled is not counted" in page


def test_a_version_and_a_surgeon_together(client, coordinator, surgeon, two_versions):
    login(client, coordinator)
    page = report(client, version=two_versions["v2"], surgeon=surgeon.id)

    assert f"· Dr Sara Surgeon · {VERSION_2}</h2>" in page
    assert 'data-empty="by-surgeon"' in page  # surgeon has no episode on version 2
    assert "No items due in Jul 2025–Jun 2026" in page


def test_the_version_goes_with_the_csv_and_names_its_file(client, coordinator, two_versions):
    login(client, coordinator)
    page = report(client, start="2026-05", end="2026-06", version=two_versions["v2"])
    link = re.search(r'href="([^"]*)" id="compliance-csv"', page).group(1).replace("&amp;", "&")
    assert f"version={two_versions['v2']}" in link and "start=2026-05" in link

    response = client.get(link)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="compliance-2026-05-to-2026-06-lumbar-fbss-v2.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True)[len(BOM) :])))
    assert rows[1:] == [
        ["2026-05", "Dr Tom Second", "Before surgery", "13", "3", "3", "23.1", "23.1", "0"],
        ["2026-05", "Dr Tom Second", "During surgery", "9", "0", "0", "0.0", "0.0", "0"],
        ["2026-05", "Dr Tom Second", "After surgery", "8", "0", "0", "0.0", "0.0", "7"],
    ]


@pytest.mark.parametrize("value", ["abc", "424242", "draft", "2.0", "-1"])
def test_a_version_the_report_cannot_use_is_named_and_the_report_covers_all_versions(
    client, coordinator, two_versions, value
):
    if value == "draft":
        value = str(compliance_versions.add_draft().id)
    login(client, coordinator)
    page = report(client, version=value)

    field = page[page.index('for="version"') :].split("</div>")[0]
    assert 'class="form-select is-invalid" id="version"' in field
    assert '<div class="invalid-feedback d-block">Choose a protocol version from the list.' in field
    assert '<option value="">All versions' in field  # nothing chosen
    assert "· all surgeons · all protocol versions</h2>" in page
    assert 'id="version-refused"' in page
    assert cell(page, "by-month", "2026-05", "overall") == ("15", "12", "9 of 60")  # both versions
    assert "version=" not in re.search(r'href="([^"]*)" id="compliance-csv"', page).group(1)
    csv_response = client.get(f"/dashboard/compliance.csv?version={value}")
    assert csv_response.status_code == 400
    assert "Choose a protocol version from the list." in csv_response.get_data(as_text=True)
