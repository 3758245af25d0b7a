"""The outstanding-items dashboard: rows, order, every filter, counts, pages, bad input, by episode,
and the CSV export (content, escaping, streaming, audit)."""

import csv
import io
import re
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import select, update

from app import db
from app.dashboard.presenter import QUICK_FILTERS
from app.domain.outstanding import OPEN_STATES, OutstandingFilters
from app.domain.requirement import is_waiting
from app.domain.schedule import item_state
from app.domain.vocab import EpisodeStatus, ItemState, ItemStatus, Phase, Role
from app.models import AuditEvent, Episode, ProtocolStep
from app.queries.episodes import episode_with_checklist
from app.reports.csv_export import BOM, OUTSTANDING_HEADER
from tests import factories
from tests.conftest import login

TODAY = date(2026, 6, 17)
DUE_SOON = 3


# --- the oracle: what the dashboard must show, worked out in Python from the items -------------


def expected(filters: OutstandingFilters | None = None, flagged: set[int] = frozenset()) -> list:
    """The outstanding items passing the filters, in the dashboard's order."""
    filters = filters or OutstandingFilters()
    items = []
    for episode_id in db.session.scalars(select(Episode.id)).all():
        episode = episode_with_checklist(db.session, episode_id)
        if episode.status is EpisodeStatus.CLOSED:
            continue
        signed = {s.phase for s in episode.signoffs if s.revoked_at is None}
        patient = episode.patient
        for item in episode.items:
            if item.status is not ItemStatus.OPEN or item.phase in signed:
                continue
            if is_waiting(item.step.required_if, item.required, item.status):
                continue  # a conditional item not required now is nobody's to do
            state = item_state(item.status, item.due_date, TODAY, DUE_SOON, item.overdue_from)
            q = filters.patient.lower()
            names = (
                patient.mrn,
                patient.family_name,
                patient.given_name,
                f"{patient.given_name} {patient.family_name}",
            )
            if (
                (filters.phase and item.phase is not filters.phase)
                or (filters.state and state is not filters.state)
                or (filters.role and item.role is not filters.role)
                or (filters.surgeon_id and episode.surgeon_id != filters.surgeon_id)
                or (filters.due_from and (item.due_date is None or item.due_date < filters.due_from))
                or (filters.due_to and (item.due_date is None or item.due_date > filters.due_to))
                or (filters.required_only and not item.required)
                or (filters.flagged_only and episode.id not in flagged)
                or (filters.safety_only and not any(i.alert_open for i in episode.items))
                or (q and not any(q in n.lower() for n in names))
            ):
                continue
            items.append(item)
    db.session.remove()
    items.sort(key=lambda i: (i.due_date is None, i.due_date or date.max, i.id))
    return items


def shown_ids(page: str, table_id: str = "outstanding") -> list[int]:
    if f'id="{table_id}"' not in page:
        return []
    start = page.index(f'id="{table_id}"')
    return [int(n) for n in re.findall(r'data-item="(\d+)"', page[start : page.index("</table>", start)])]


def dashboard(client, **args) -> str:
    response = client.get("/dashboard?" + urlencode(args))
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def site(world, surgeon2):
    """Open episodes at every stage, one closed, one of another surgeon, one not yet scheduled."""
    return {
        "post_op": world.episode(-10, complete=(Phase.BEFORE,), sign=True),  # post-op overdue
        "tomorrow": world.episode(1),  # pre-op overdue, flagged
        "next_week": world.episode(8, surgeon=surgeon2),
        "later": world.episode(40),
        "unscheduled": world.episode(None),
        "closed": world.episode(-20, close=True),
    }


# --- rows and order ------------------------------------------------------------------------


def test_every_outstanding_item_is_listed_overdue_first_then_by_due_date(client, coordinator, site):
    login(client, coordinator)
    every = expected()
    page = dashboard(client)

    assert shown_ids(page) == [i.id for i in every[:50]]
    assert f"1–50 of {len(every)} items · page 1 of {-(-len(every) // 50)}" in page
    states = [item_state(i.status, i.due_date, TODAY, DUE_SOON) for i in every]
    assert states.index(ItemState.OVERDUE) == 0
    assert states[-1] is ItemState.UNSCHEDULED


def test_closed_episodes_signed_phases_and_worked_items_are_not_outstanding(client, coordinator, site):
    login(client, coordinator)
    ids = {i.id for i in expected()}
    post_op = episode_with_checklist(db.session, site["post_op"].id)
    closed = episode_with_checklist(db.session, site["closed"].id)
    db.session.remove()

    everything = set()
    for page_number in range(1, 6):
        everything |= set(shown_ids(dashboard(client, page=page_number)))

    assert everything == ids
    assert not {i.id for i in closed.items} & everything
    assert not {i.id for i in post_op.items if i.phase is Phase.BEFORE} & everything  # signed off
    post_op_open = {i for i in post_op.items if i.phase is Phase.AFTER and i.status is ItemStatus.OPEN}
    waiting = {i for i in post_op_open if is_waiting(i.step.required_if, i.required, i.status)}
    assert {i.step.code for i in waiting} == {"post_anticoag_restart", "post_idt_review"}
    assert {i.id for i in post_op_open - waiting} <= everything
    assert not {i.id for i in waiting} & everything  # not required now: nobody's to do


def test_a_row_shows_patient_mrn_procedure_surgeon_phase_item_role_due_state_and_days_overdue(
    client, coordinator, site
):
    login(client, coordinator)
    first = expected(OutstandingFilters(phase=Phase.AFTER, state=ItemState.OVERDUE))[0]
    page = dashboard(client, phase="after", state="overdue")

    row = page[page.index(f'data-item="{first.id}"') :].split("</tr>")[0]
    episode = site["post_op"]
    assert f'href="/episodes/{episode.id}#item-{first.id}">{episode.patient.display_name}</a>' in row
    assert f"<td>{episode.patient.mrn}</td>" in row
    assert "<td>L4-L5 microdiscectomy</td>" in row
    assert "<td>Dr Sara Surgeon</td>" in row
    assert "After surgery" in row
    assert first.step.title[:30] in row
    assert f"<td>{first.role.label}</td>" in row
    days = (TODAY - first.due_date).days
    assert f"{first.due_date.day} {first.due_date:%b %Y}" in row
    assert f"{days} day{'s' if days != 1 else ''} overdue" in row
    assert 'data-state="overdue"' in row
    assert f'data-days-overdue="{days}">{days} days overdue</div>' in row


def test_a_row_says_how_overdue_it_is_once_in_words_under_its_due_date(client, coordinator, site):
    login(client, coordinator)
    page = dashboard(client)
    post_op = site["post_op"]

    table = page[page.index('id="outstanding"') :].split("</table>")[0]
    assert "Days overdue" not in table  # no column repeating the hint as a bare number
    for item in expected()[:50]:
        row = table[table.index(f'data-item="{item.id}"') :].split("</tr>")[0]
        days = (TODAY - item.due_date).days if item.due_date else 0
        state = item_state(item.status, item.due_date, TODAY, DUE_SOON, item.overdue_from)
        if state is ItemState.OVERDUE:
            assert row.count("overdue</div>") == 1, row
            assert re.findall(r">\s*(\d+)\s*<", row) == [], row  # no bare number besides
            assert f"{days} day{'s' if days != 1 else ''} overdue" in row
        else:
            assert "overdue</div>" not in row and "data-days-overdue" not in row
    by_episode = dashboard(client, view="episodes")
    items = by_episode[by_episode.index(f'data-items-of="{post_op.id}"') :].split("</details>")[0]
    assert "Days overdue" not in items
    assert (
        items.count("data-days-overdue=")
        == len(re.findall(r'data-item="\d+" data-state="overdue"', items))
        > 0
    )


# --- filters ------------------------------------------------------------------------------


FILTERS = [
    ({"phase": "after"}, OutstandingFilters(phase=Phase.AFTER)),
    ({"phase": "before"}, OutstandingFilters(phase=Phase.BEFORE)),
    ({"state": "overdue"}, OutstandingFilters(state=ItemState.OVERDUE)),
    ({"state": "due_soon"}, OutstandingFilters(state=ItemState.DUE_SOON)),
    ({"state": "pending"}, OutstandingFilters(state=ItemState.PENDING)),
    ({"state": "unscheduled"}, OutstandingFilters(state=ItemState.UNSCHEDULED)),
    ({"role": "nurse"}, OutstandingFilters(role=Role.NURSE)),
    ({"role": "coordinator"}, OutstandingFilters(role=Role.COORDINATOR)),
    (
        {"due_from": "2026-06-10", "due_to": "2026-06-20"},
        OutstandingFilters(due_from=date(2026, 6, 10), due_to=date(2026, 6, 20)),
    ),
    ({"due_to": "2026-06-01"}, OutstandingFilters(due_to=date(2026, 6, 1))),
    ({"required": "1"}, OutstandingFilters(required_only=True)),
    ({"required": "0"}, OutstandingFilters()),
    ({"phase": "after", "state": "overdue"}, OutstandingFilters(phase=Phase.AFTER, state=ItemState.OVERDUE)),
    (
        {"state": "overdue", "role": "nurse", "required": "y"},
        OutstandingFilters(state=ItemState.OVERDUE, role=Role.NURSE, required_only=True),
    ),
]


@pytest.mark.parametrize(
    ("args", "filters"), FILTERS, ids=lambda v: urlencode(v) if isinstance(v, dict) else ""
)
def test_each_filter_narrows_the_list_to_what_it_says(client, coordinator, site, args, filters):
    login(client, coordinator)
    want = expected(filters)
    page = dashboard(client, **args)

    assert shown_ids(page) == [i.id for i in want[:50]]
    if want:
        assert f"of {len(want)} items" in page
    else:
        assert 'data-empty="outstanding"' in page
        assert "No outstanding items match these filters" in page


def test_surgeon_filter_shows_only_that_surgeons_episodes(client, coordinator, surgeon2, site):
    login(client, coordinator)
    page = dashboard(client, surgeon=surgeon2.id)

    assert shown_ids(page) == [i.id for i in expected(OutstandingFilters(surgeon_id=surgeon2.id))]
    assert {i.episode_id for i in expected(OutstandingFilters(surgeon_id=surgeon2.id))} == {
        site["next_week"].id
    }


@pytest.mark.parametrize("q", ["patientab", "PATIENTAB", "MRN", "jane patientab"])
def test_patient_search_matches_name_or_mrn_case_insensitively(client, coordinator, site, q):
    login(client, coordinator)
    page = dashboard(client, q=q, state="overdue")

    want = expected(OutstandingFilters(patient=q, state=ItemState.OVERDUE))
    assert want
    assert shown_ids(page) == [i.id for i in want[:50]]


def test_patient_search_treats_percent_and_underscore_literally(client, coordinator, site):
    login(client, coordinator)
    page = dashboard(client, q="%")
    assert 'data-empty="outstanding"' in page


def test_flagged_only_keeps_flagged_episodes(client, coordinator, site):
    login(client, coordinator)
    page = dashboard(client, flagged="1")

    ids = set(shown_ids(page))
    episodes = {i.episode_id for i in expected() if i.id in ids}
    assert episodes <= {site["post_op"].id, site["tomorrow"].id}
    flagged = {site["post_op"].id, site["tomorrow"].id}
    assert shown_ids(page) == [i.id for i in expected(OutstandingFilters(flagged_only=True), flagged)[:50]]


def test_filters_are_kept_in_the_links_to_other_pages_and_states(client, coordinator, site):
    login(client, coordinator)
    page = dashboard(client, role="nurse", required="1")

    assert 'href="/dashboard?state=overdue&amp;role=nurse&amp;required=1"' in page
    assert re.search(r'href="/dashboard\?role=nurse&amp;required=1"[^>]*data-count="all"', page)


# --- what the list shows: the subtitle and the quick filters ---------------------------------


def test_the_subtitle_says_every_open_item_only_when_nothing_is_filtered(client, coordinator, site):
    login(client, coordinator)
    for args in ({}, {"view": "episodes"}, {"page": "2"}, {"required": "0", "q": "  "}):
        page = dashboard(client, **args)
        assert "Every open item of every open episode" in page, args
        assert 'id="filters-in-force"' not in page, args


def test_the_subtitle_names_the_filters_in_force_in_words(client, coordinator, surgeon2, site):
    login(client, coordinator)
    page = dashboard(
        client,
        phase="after",
        state="overdue",
        surgeon=surgeon2.id,
        due_from="2026-06-10",
        required="1",
        q="Doe",
        view="episodes",
    )

    assert "Every open item of every open episode" not in page
    subtitle = page[page.index('id="list-description"') :].split("</p>")[0]
    assert (
        '<strong class="text-body" id="filters-in-force">After surgery; Overdue; surgeon Dr Tom Second; '
        "due from 10 Jun 2026; required only; patient “Doe”</strong>"
    ) in subtitle
    assert '<a class="d-print-none" href="/dashboard">Clear filters</a>' in subtitle


def test_the_subtitle_of_one_filter_and_of_bad_filters(client, coordinator, site):
    login(client, coordinator)
    page = dashboard(client, flagged="1")
    assert 'id="filters-in-force">flagged episodes only</strong>' in page
    bad = dashboard(client, state="nonsense")
    assert "Every open item" not in bad and 'id="list-description"' not in bad  # nothing is listed


def quick_link(page: str, key: str) -> str:
    """The <a> of one quick filter."""
    at = page.index(f'data-quick="{key}"')
    return page[page.rindex("<a ", 0, at) :].split("</a>")[0]


QUICK_HREFS = {
    "overdue-after": "/dashboard?phase=after&amp;state=overdue",
    "overdue": "/dashboard?state=overdue",
    "due-today": "/dashboard?state=due_today",
    "safety": "/dashboard?safety=1",
    "flagged": "/dashboard?flagged=1",
}


def test_quick_filters_are_links_with_their_counts(client, coordinator, site):
    login(client, coordinator)
    page = dashboard(client)

    assert page.index('id="quick-filters"') < page.index('id="outstanding"')
    labels = re.findall(r'data-quick="[a-z-]+"[^>]*>([^<]+) <span', page)
    assert labels == ["Overdue after surgery", "Overdue", "Due today", "Safety alerts", "Flagged episodes"]
    for key, href in QUICK_HREFS.items():
        assert f'href="{href}"' in quick_link(page, key), key
        assert "aria-current" not in quick_link(page, key), key
    counts = {
        "overdue-after": len(expected(OutstandingFilters(phase=Phase.AFTER, state=ItemState.OVERDUE))),
        "overdue": len(expected(OutstandingFilters(state=ItemState.OVERDUE))),
        "due-today": len(expected(OutstandingFilters(state=ItemState.DUE_TODAY))),
    }
    assert counts["overdue"] > counts["overdue-after"] > 0
    for key, n in counts.items():
        assert f"data-quick-count>{n}</span>" in quick_link(page, key), key
    assert "data-quick-count>0 episodes</span>" in quick_link(page, "safety")
    assert "data-quick-count>2</span>" in quick_link(page, "flagged")  # post-op and tomorrow's
    assert "data-flag-count>2</span>" in page  # as the navigation bar counts them


def test_quick_filter_counts_stay_whatever_the_filters_in_force(client, coordinator, surgeon2, site):
    login(client, coordinator)
    everything = dashboard(client)
    narrowed = dashboard(client, surgeon=surgeon2.id, role="nurse", q="patient")
    for key in QUICK_HREFS:
        assert (
            quick_link(everything, key).split("data-quick-count>")[1]
            == (quick_link(narrowed, key).split("data-quick-count>")[1])
        ), key


@pytest.mark.parametrize("quick", QUICK_FILTERS, ids=lambda q: q.key)
def test_a_quick_filter_lists_what_it_says_and_is_marked_current(client, coordinator, site, quick):
    login(client, coordinator)
    flagged = {site["post_op"].id, site["tomorrow"].id}

    page = dashboard(client, **quick.args)

    assert shown_ids(page) == [i.id for i in expected(quick.filters, flagged)[:50]]
    assert 'aria-current="page"' in quick_link(page, quick.key)
    assert "btn-secondary" in quick_link(page, quick.key)
    assert page.count('aria-current="page"') == 1
    assert 'id="filters-in-force"' in page


def test_a_quick_filter_is_current_only_when_its_filters_are_all_that_is_in_force(client, coordinator, site):
    login(client, coordinator)
    assert 'aria-current="page"' in quick_link(dashboard(client, state="overdue", view="episodes"), "overdue")
    assert 'aria-current="page"' in quick_link(dashboard(client, state="overdue", page="2"), "overdue")
    page = dashboard(client, state="overdue", role="nurse")
    assert 'aria-current="page"' not in page
    assert 'aria-current="page"' not in dashboard(client, phase="after")


def test_quick_filters_keep_the_view_and_drop_the_other_filters(client, coordinator, site):
    login(client, coordinator)
    page = dashboard(client, view="episodes", role="nurse", page="2")
    assert 'href="/dashboard?phase=after&amp;state=overdue&amp;view=episodes"' in quick_link(
        page, "overdue-after"
    )
    assert 'href="/dashboard?flagged=1&amp;view=episodes"' in quick_link(page, "flagged")


# --- counts -------------------------------------------------------------------------------


def test_counts_per_state_follow_every_filter_but_the_state(client, coordinator, site):
    login(client, coordinator)
    page = dashboard(client, phase="before", state="overdue")

    before = expected(OutstandingFilters(phase=Phase.BEFORE))
    for state in OPEN_STATES:
        n = sum(item_state(i.status, i.due_date, TODAY, DUE_SOON, i.overdue_from) is state for i in before)
        link = page[page.index(f'data-count="{state.value}"') :].split("</a>")[0]
        assert f'<span class="fw-semibold">{n}</span>' in link, state
    total = page[page.index('data-count="all"') :].split("</a>")[0]
    assert f">{len(before)}</span>" in total


# --- pages --------------------------------------------------------------------------------


def test_pages_of_fifty_with_previous_and_next(client, coordinator, site):
    login(client, coordinator)
    every = expected()
    assert len(every) > 100

    second = dashboard(client, page=2)

    assert shown_ids(second) == [i.id for i in every[50:100]]
    assert 'href="/dashboard?page=1" rel="prev"' in second
    assert 'href="/dashboard?page=3" rel="next"' in second
    assert f"51–100 of {len(every)} items" in second


def test_a_page_past_the_end_says_so_and_links_to_the_last_page(client, coordinator, site):
    login(client, coordinator)
    pages = -(-len(expected()) // 50)

    page = dashboard(client, page=99)

    assert shown_ids(page) == []
    assert f"Page 99 is past the end of the list: there are {pages} pages." in page
    assert f'href="/dashboard?page={pages}">Go to the last page</a>' in page


BAD_VALUES = [
    ({"state": "bogus"}, "Choose a state from the list."),
    ({"state": "done"}, "Choose a state from the list."),
    ({"phase": "never"}, "Choose a phase from the list."),
    ({"role": "admin"}, "Choose a responsible role from the list."),
    ({"surgeon": "999999"}, "Choose a surgeon from the list."),
    ({"surgeon": "abc"}, "Choose a surgeon from the list."),
    ({"view": "table"}, "Choose a view from the list."),
    ({"due_from": "2026-13-01"}, "Enter a date as YYYY-MM-DD."),
    ({"due_to": "17/06/2026"}, "Enter a date as YYYY-MM-DD."),
    ({"due_from": "2026-06-20", "due_to": "2026-06-10"}, "The “due from” date is after the “due to” date."),
    ({"page": "-1"}, "Enter a page number from 1 to 100000."),
    ({"page": "0"}, "Enter a page number from 1 to 100000."),
    ({"page": "two"}, "Enter a page number from 1 to 100000."),
    ({"page": "1e9999"}, "Enter a page number from 1 to 100000."),
    ({"page": "184467440737095518"}, "Enter a page number from 1 to 100000."),
    ({"q": "x" * 101}, "Keep the search to 100 characters."),
]


@pytest.mark.parametrize(("args", "message"), BAD_VALUES, ids=lambda v: str(v)[:40])
def test_bad_filter_values_get_a_clear_message_and_no_list(client, coordinator, episode, args, message):
    login(client, coordinator)

    response = client.get("/dashboard?" + urlencode(args))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert "Correct the filters above to see the list." in page
    assert shown_ids(page) == []


def test_odd_input_never_breaks_the_page(client, coordinator, episode):
    login(client, coordinator)
    for args in (
        "state=overdue&state=pending",
        "page=99999999999999999999",
        "q=%00%FF",
        "surgeon=1.5",
        "due_from=0000-01-01",
        "required=maybe&flagged=",
    ):
        response = client.get(f"/dashboard?{args}")
        assert response.status_code == 200, args


def test_search_text_is_shown_back_escaped_and_never_run_as_a_template(client, coordinator, site):
    login(client, coordinator)
    page = dashboard(client, q='{{7*7}}"><script>')
    assert 'value="{{7*7}}&#34;&gt;&lt;script&gt;"' in page
    assert "<script>" not in page


# --- by episode ---------------------------------------------------------------------------


def episode_rows(page: str) -> list[int]:
    start = page.index('id="episodes"')
    return [int(n) for n in re.findall(r'<tr data-episode="(\d+)"', page[start:])]


def test_by_episode_lists_one_row_per_episode_most_overdue_first_with_counts_flags_and_items(
    client, coordinator, site
):
    login(client, coordinator)
    every = expected()
    page = dashboard(client, view="episodes")

    by_episode: dict[int, list] = {}
    for item in every:
        by_episode.setdefault(item.episode_id, []).append(item)

    def overdue(items):
        return sum(item_state(i.status, i.due_date, TODAY, DUE_SOON) is ItemState.OVERDUE for i in items)

    order = sorted(
        by_episode,
        key=lambda e: (
            -overdue(by_episode[e]),
            min((i.due_date for i in by_episode[e] if i.due_date), default=date.max),
            e,
        ),
    )
    assert episode_rows(page) == order
    assert site["closed"].id not in order
    post_op = site["post_op"]
    row = page[page.index(f'<tr data-episode="{post_op.id}"') :].split("</tr>")[0]
    assert f"data-overdue>{overdue(by_episode[post_op.id])}<" in row
    assert "Incomplete post-op steps" in row
    details = page[page.index(f'data-items-of="{post_op.id}"') :].split("</details>")[0]
    assert shown_ids(details, f"items-{post_op.id}") == [i.id for i in by_episode[post_op.id]]
    assert f"{len(by_episode[post_op.id])} outstanding items" in details


def test_flagged_episodes_view_is_where_the_navigation_count_leads(client, coordinator, site):
    login(client, coordinator)
    home = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/dashboard?view=episodes&amp;flagged=1" id="nav-flags"' in home

    page = dashboard(client, view="episodes", flagged="1")

    assert set(episode_rows(page)) == {site["post_op"].id, site["tomorrow"].id}
    assert "Pre-op not signed off (surgery tomorrow)" in page


def test_by_episode_with_nothing_matching_says_so(client, coordinator, site):
    login(client, coordinator)
    page = dashboard(client, view="episodes", q="nobody-like-this")
    assert "No outstanding episodes match these filters" in page


# --- roles ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role", [Role.SURGEON, Role.ANAESTHETIST, Role.NURSE, Role.THERAPIST, Role.COORDINATOR]
)
def test_every_clinical_role_sees_the_dashboard_but_only_exporters_get_the_export_button(
    client, users, site, role
):
    login(client, users[role])
    page = dashboard(client)
    assert shown_ids(page)
    assert ("Export CSV</button>" in page) is (role in (Role.SURGEON, Role.COORDINATOR))


def test_admin_sees_no_patient_data_on_the_dashboard(client, admin, site):
    login(client, admin)
    response = client.get("/dashboard")
    assert response.status_code == 403
    assert site["post_op"].patient.mrn not in response.get_data(as_text=True)


# --- export -------------------------------------------------------------------------------


def export(client, **form):
    return client.form_post("/dashboard/export.csv", form)


def parse(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM) :])))


def export_events() -> list[AuditEvent]:
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export.outstanding")))
    db.session.remove()
    return events


def test_export_is_the_current_filter_as_csv_streamed_with_every_row(client, coordinator, site):
    login(client, coordinator)
    want = expected(OutstandingFilters(phase=Phase.AFTER))

    response = export(client, phase="after")

    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert (
        response.headers["Content-Disposition"] == 'attachment; filename="outstanding-items-2026-06-17.csv"'
    )
    rows = parse(response)
    assert tuple(rows[0]) == OUTSTANDING_HEADER
    assert len(rows) - 1 == len(want) > 50  # every row, not one page
    first, item = rows[1], want[0]
    patient = site["post_op"].patient
    assert first[:7] == [
        patient.mrn,
        patient.family_name,
        patient.given_name,
        "L4-L5 microdiscectomy",
        "2026-06-07",
        "Dr Sara Surgeon",
        "After surgery",
    ]
    assert first[7] == item.step.title
    assert first[8:] == [
        item.role.label,
        "yes" if item.required else "no",
        item.due_date.isoformat(),
        "Overdue",
        str((TODAY - item.due_date).days),
        "0",  # the episode's safety alerts waiting for acknowledgement
        "0",  # its risk factors: every pre-op answer recorded, none a risk; HbA1c not required
        "0",
    ]


def test_export_lines_end_with_crlf_and_open_in_a_spreadsheet(client, coordinator, site):
    login(client, coordinator)
    text = export(client, state="overdue").get_data(as_text=True)
    assert text.count("\r\n") == len(expected(OutstandingFilters(state=ItemState.OVERDUE))) + 1
    assert "\n" not in text.replace("\r\n", "")


def test_export_neutralises_formulas_in_patient_data(client, coordinator, surgeon, protocol):
    factories.episode(
        coordinator,
        surgeon,
        protocol,
        surgery_date=TODAY - timedelta(days=5),
        family_name='=HYPERLINK("http://evil.test")',
        given_name="+1-2",
    )
    login(client, coordinator)

    rows = parse(export(client, state="overdue"))

    assert rows[1][1] == '\'=HYPERLINK("http://evil.test")'
    assert rows[1][2] == "'+1-2"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows[1:] for cell in row)


def test_export_is_audited_with_who_and_which_filter(client, coordinator, surgeon2, site):
    login(client, coordinator)

    export(client, state="overdue", surgeon=str(surgeon2.id), required="1")

    [event] = export_events()
    assert event.actor_id == coordinator.id
    assert event.summary == (
        "Exported outstanding items as CSV: Overdue; surgeon Dr Tom Second; required only"
    )
    assert event.patient_id is None


def test_export_with_bad_filters_exports_nothing_and_says_why(client, coordinator, site):
    login(client, coordinator)

    response = export(client, state="bogus", q="Doe")

    assert response.status_code == 422
    assert export_events() == []
    page = response.get_data(as_text=True)
    assert "Nothing was exported: correct the filters first." in page
    assert "Choose a state from the list." in page


@pytest.mark.parametrize("role", [Role.NURSE, Role.ANAESTHETIST, Role.THERAPIST, Role.ADMIN])
def test_only_surgeons_and_coordinators_export(client, users, site, role):
    login(client, users[role])
    response = export(client)
    assert response.status_code == 403
    assert export_events() == []


def test_export_needs_a_csrf_token(client, coordinator, site):
    login(client, coordinator)
    response = client.post("/dashboard/export.csv", data={"state": "overdue"})
    assert response.status_code == 400
    assert export_events() == []


def test_an_export_cut_short_leaves_nothing_open(client, coordinator, site):
    login(client, coordinator)
    response = export(client)
    first = next(iter(response.response))  # the download starts, then the browser goes away
    assert first.decode().startswith(BOM)
    response.close()
    assert client.get("/dashboard").status_code == 200


@pytest.fixture
def graced(world):
    """Early mobilisation with 14 grace days (a step may declare them): due 8 Jun after surgery on
    7 Jun, it is due now until 22 Jun, not overdue; the wound check of surgery 14 days ago is due
    today; the episode's other post-op items are overdue as usual."""
    with db.write_unit():
        db.session.execute(
            update(ProtocolStep).where(ProtocolStep.code == "post_mobilise").values(grace_days=14)
        )
        db.session.commit()
    return {
        "post_op": world.episode(-10, complete=(Phase.BEFORE,), sign=True),
        "wound_today": world.episode(-14, complete=(Phase.BEFORE,), sign=True),
    }


@pytest.mark.parametrize("state", OPEN_STATES)
def test_each_state_lists_what_the_episode_page_shows_grace_days_included(client, coordinator, graced, state):
    login(client, coordinator)
    page = dashboard(client, state=state.value)
    assert shown_ids(page) == [i.id for i in expected(OutstandingFilters(state=state))]
    every = expected()
    n = sum(item_state(i.status, i.due_date, TODAY, DUE_SOON, i.overdue_from) is state for i in every)
    link = page[page.index(f'data-count="{state.value}"') :].split("</a>")[0]
    assert f'<span class="fw-semibold">{n}</span>' in link


def test_an_item_in_its_grace_days_is_due_now_not_overdue(client, coordinator, graced):
    login(client, coordinator)
    mobilise = factories.item(graced["post_op"], "post_mobilise")
    page = dashboard(client, state="due_now")
    both = {mobilise.id, factories.item(graced["wound_today"], "post_mobilise").id}  # due 8 Jun and 4 Jun
    assert set(shown_ids(page)) == both
    assert "Due now" in page and "grace until 22 Jun 2026" in page
    assert mobilise.id not in shown_ids(dashboard(client, state="overdue"))
    wound = factories.item(graced["wound_today"], "post_wound_check")
    assert wound.id in shown_ids(dashboard(client, state="due_today"))
