"""Each role's home page: which episodes and items it lists, in which order, and its query count."""

import re
from datetime import date, datetime, timedelta

import pytest

from app.domain.requirement import is_waiting
from app.domain.vocab import Phase, Role
from tests import factories
from tests.conftest import login
from tests.querycount import counting_queries

TODAY = date(2026, 6, 17)


def home(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def table(page: str, table_id: str) -> str:
    if f'data-empty="{table_id}"' in page:
        return ""
    start = page.index(f'id="{table_id}"')
    return page[start : page.index("</table>", start)]


def episode_ids(page: str, table_id: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-episode="(\d+)"', table(page, table_id))]


def table_row(page: str, table_id: str, episode) -> str:
    rows = table(page, table_id)
    return rows[rows.index(f'data-episode="{episode.id}"') :].split("</tr>")[0]


def assert_row_shows_the_episode(row: str, episode) -> None:
    """Patient, MRN, procedure, surgery date, phase progress, flags and a link to the episode."""
    patient = episode.patient
    assert f'<a href="/episodes/{episode.id}">{patient.display_name}</a>' in row
    assert f"<td>{patient.mrn}</td>" in row
    assert "<td>L4-L5 microdiscectomy</td>" in row
    surgery = episode.surgery_date
    assert (f"{surgery.day} {surgery:%b %Y}" if surgery else "Not yet scheduled") in row
    for phase, total in (("Before", 13), ("During", 9), ("After", 15)):
        assert re.search(rf"{phase} surgery: \d+/{total}<", row)


# surgeon


def test_surgeon_home_lists_my_episodes_awaiting_sign_off_ready_first(client, world, surgeon, surgeon2):
    not_ready_soon = world.episode(5)
    ready_later = world.episode(10, complete=(Phase.BEFORE,))
    not_ready_tomorrow = world.episode(1)
    signed_tomorrow = world.episode(1, complete=(Phase.BEFORE,), sign=True)
    others = world.episode(1, surgeon=surgeon2)
    passed = world.episode(-10)
    closed = world.episode(-20, close=True)
    unscheduled = world.episode(None)
    ready_sooner = world.episode(8, complete=(Phase.BEFORE,))

    login(client, surgeon)
    page = home(client)
    assert '<h1 class="h3">My episodes</h1>' in page
    assert episode_ids(page, "awaiting") == [
        ready_sooner.id,
        ready_later.id,
        passed.id,
        not_ready_tomorrow.id,
        not_ready_soon.id,
        unscheduled.id,
    ]
    awaiting = table(page, "awaiting")
    assert str(signed_tomorrow.id) not in re.findall(r'data-episode="(\d+)"', awaiting)
    for excluded in (others, closed):
        assert f"/episodes/{excluded.id}" not in page

    ready_row = table_row(page, "awaiting", ready_sooner)
    assert_row_shows_the_episode(ready_row, ready_sooner)
    assert f'href="/episodes/{ready_sooner.id}/sign/before">Sign off</a>' in ready_row
    assert "Before surgery: 13/13" in ready_row
    not_ready_row = table_row(page, "awaiting", not_ready_tomorrow)
    assert "Not ready" in not_ready_row and "/sign/before" not in not_ready_row
    assert "Pre-op not signed off (surgery tomorrow)" in not_ready_row


def test_surgeon_home_lists_my_surgery_in_the_next_7_days(client, world, surgeon, surgeon2):
    today = world.episode(0)
    in_7 = world.episode(7, complete=(Phase.BEFORE,), sign=True)
    in_8 = world.episode(8)
    yesterday = world.episode(-1)
    tomorrow_signed = world.episode(1, complete=(Phase.BEFORE,), sign=True)
    tomorrow_others = world.episode(1, surgeon=surgeon2)
    tomorrow_closed = world.episode(1, close=True)
    tomorrow = world.episode(1)

    login(client, surgeon)
    page = home(client)
    assert episode_ids(page, "soon") == [today.id, tomorrow_signed.id, tomorrow.id, in_7.id]
    for excluded in (in_8, yesterday, tomorrow_others, tomorrow_closed):
        assert excluded.id not in episode_ids(page, "soon")
    row = table_row(page, "soon", tomorrow_signed)
    assert_row_shows_the_episode(row, tomorrow_signed)
    assert "data-flag" not in row  # signed: no pre-op flag
    assert "Pre-op not signed off (surgery today)" in table_row(page, "soon", today)


def test_surgeon_home_lists_flagged_episodes_of_my_patients_most_overdue_first(
    client, world, surgeon, surgeon2
):
    preop_only = world.episode(2)
    three_days_ago = world.episode(-3, complete=(Phase.BEFORE,), sign=True)
    twenty_days_ago = world.episode(-20, complete=(Phase.BEFORE,), sign=True)
    world.episode(-20, surgeon=surgeon2)
    not_flagged = world.episode(10)
    closed = world.episode(-20, close=True)

    login(client, surgeon)
    page = home(client)
    assert episode_ids(page, "flagged") == [twenty_days_ago.id, three_days_ago.id, preop_only.id]
    assert not_flagged.id not in episode_ids(page, "flagged") and closed.id not in episode_ids(
        page, "flagged"
    )
    row = table_row(page, "flagged", twenty_days_ago)
    assert_row_shows_the_episode(row, twenty_days_ago)
    assert "Incomplete post-op steps (8 overdue)" in row
    assert "Pre-op not signed off (surgery in 2 days)" in table_row(page, "flagged", preop_only)


def test_surgeon_home_says_when_lists_are_empty(client, surgeon):
    login(client, surgeon)
    page = home(client)
    assert "Nothing awaits your sign-off." in page
    assert "No surgery in the next 7 days." in page
    assert "None of your patients&#39; episodes is flagged." in page


# nurse and anaesthetist


def _worklist(page: str) -> str:
    if 'data-empty="items"' in page:
        return ""
    start = page.index('id="items"')
    return page[start : page.index("</main>", start)]


def _groups(page: str) -> list[tuple[int, str]]:
    """(episode id, its section) of each patient group, in the page's order."""
    parts = re.split(r'<section class="card mb-3" data-episode="(\d+)">', _worklist(page))[1:]
    return [(int(parts[i]), parts[i + 1].split("</section>")[0]) for i in range(0, len(parts), 2)]


def _item_rows(page: str) -> list[tuple[int, str]]:
    """(item id, its due date as shown, or "—") of every item, in the page's order."""
    return [
        (int(item_id), due or "—")
        for item_id, due in re.findall(
            r'<li [^>]*data-item="(\d+)"[^>]*>.*?(?:Due (\d+ \w+ \d{4})|Due date set when)',
            _worklist(page),
            flags=re.S,
        )
    ]


def _due(text: str) -> date | None:
    return None if text == "—" else datetime.strptime(text, "%d %b %Y").date()


def test_nurse_home_lists_open_nurse_items_due_soonest_first(client, world, nurse, surgeon2):
    later = world.episode(30)
    past = world.episode(-5, complete=(Phase.BEFORE,), sign=True)
    unscheduled = world.episode(None)
    others = world.episode(40, surgeon=surgeon2)  # every surgeon's patients
    closed = world.episode(-2, close=True)

    login(client, nurse)
    page = home(client)
    rows = _item_rows(page)
    ids = [item_id for item_id, _ in rows]
    dues = [_due(d) for _, d in rows]
    groups = _groups(page)
    assert len(groups) == len({e for e, _ in groups})  # each patient once, its items together
    firsts = []
    for _, section in groups:
        group_dues = [_due(d) for _, d in _item_rows(f'id="items">{section}</main>')]
        dated = [d for d in group_dues if d is not None]
        assert dated == sorted(dated) and group_dues[len(dated) :] == [None] * (len(group_dues) - len(dated))
        firsts.append(group_dues[0] or date.max)
    assert firsts == sorted(firsts)  # the patient with the most pressing item first; unscheduled last

    def nurse_items(episode, phases=(Phase.BEFORE, Phase.DURING, Phase.AFTER)):
        return {i.id for i in episode.items if i.role is Role.NURSE and i.phase in phases}

    assert nurse_items(later) | nurse_items(others) | nurse_items(unscheduled) <= set(ids)
    assert nurse_items(past, (Phase.DURING, Phase.AFTER)) <= set(ids)
    assert not nurse_items(past, (Phase.BEFORE,)) & set(ids)  # signed off: locked, not work
    assert not nurse_items(closed) & set(ids)
    every_nurse_item = {i.id for e in (later, past, unscheduled, others, closed) for i in e.items}
    assert set(ids) <= every_nurse_item and len(ids) == len(set(ids))
    # First come the oldest open ones: the past episode's items due on its surgery day.
    due_on_surgery_day = [
        factories.item(past, c).id for c in ("intra_sign_in", "intra_sign_out", "post_vte", "post_neuro_obs")
    ]
    assert ids[:4] == sorted(due_on_surgery_day)
    assert dues[:5] == [TODAY - timedelta(days=5)] * 4 + [TODAY - timedelta(days=4)]
    vte = factories.item(past, "post_vte")

    (group,) = [section for e, section in groups if e == past.id]
    row = group[group.index(f'data-item="{vte.id}"') :].split("</li>")[0]
    assert f'href="/episodes/{past.id}?item={vte.id}#item-{vte.id}"' in row
    assert f'action="/episodes/{past.id}/items/{vte.id}/done"' in row  # marked done from the list
    assert 'data-state="overdue"' in row and "5 days overdue" in row
    assert "Prophylaxis" in row or "VTE" in row  # the full title, not cut
    header = group.split("</h2>")[0]
    assert past.patient.display_name in header and past.patient.mrn in header
    assert "L4-L5 microdiscectomy" in header and "Surgery 12 Jun 2026" in header
    assert "Before surgery: 13/13" in group
    assert group.count('data-flag="incomplete_postop"') == 1  # the patient's flags once
    assert "Incomplete post-op steps (" in group  # short words, the details on demand


def test_anaesthetist_home_lists_only_anaesthetist_items(client, world, anaesthetist):
    episode = world.episode(3)
    login(client, anaesthetist)
    page = home(client)
    expected = {
        i.id
        for i in episode.items
        if i.role is Role.ANAESTHETIST and not is_waiting(i.step.required_if, i.required, i.status)
    }
    assert len(expected) > 1
    assert {item_id for item_id, _ in _item_rows(page)} == expected
    assert "Open items for anaesthetists" in page


def test_done_items_leave_the_nurse_home(client, world, nurse):
    episode = world.episode(3)
    vte = factories.item(episode, "post_vte")
    login(client, nurse)
    assert vte.id in [i for i, _ in _item_rows(home(client))]
    client.form_post(f"/episodes/{episode.id}/items/{vte.id}/done", {"version": "1"})
    assert vte.id not in [i for i, _ in _item_rows(home(client))]


# therapist


def test_therapist_home_lists_episodes_after_surgery_with_therapy_open(client, world, therapist):
    three_days_ago = world.episode(-3, complete=(Phase.BEFORE,), sign=True)
    twenty_days_ago = world.episode(-20)
    today = world.episode(0)
    before_surgery = world.episode(5)
    therapy_done = world.episode(-10, therapy_done=True)
    closed = world.episode(-4, close=True)
    unscheduled = world.episode(None)

    login(client, therapist)
    page = home(client)
    assert episode_ids(page, "caseload") == [today.id, three_days_ago.id, twenty_days_ago.id]
    for excluded in (before_surgery, therapy_done, closed, unscheduled):
        assert f"/episodes/{excluded.id}" not in page
    row = table_row(page, "caseload", three_days_ago)
    assert_row_shows_the_episode(row, three_days_ago)
    for count in (
        "First mobilisation with PT: 0 of 1 (days 0–1)",
        "OT session: 0 of 1 (days 0–2)",
        "Outpatient PT programme started: 0 of 1 (days 28–42)",
        "PT sessions logged against plan: 0 of 8 (days 28–120)",
    ):
        assert f"<li>{count}</li>" in row
    assert "Last session: none yet" in row
    # Day 3: no step's plan expects sessions yet (mobilisation, one session, is overdue instead).
    assert "Therapy behind plan" not in row
    assert "Incomplete post-op steps (7 overdue)" in row


# coordinator


def test_coordinator_home_is_the_outstanding_items_dashboard(client, world, coordinator):
    world.episode(-3)
    login(client, coordinator)

    response = client.get("/")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard")
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert '<h1 class="h3 mb-0">Outstanding items</h1>' in page


def test_home_needs_a_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.location


# query counts


def _populate(world, surgeon, surgeon2, copies: int) -> None:
    """Episodes in every state the home pages list."""
    for _ in range(copies):
        world.episode(1)  # awaiting, soon, flagged (pre-op)
        world.episode(6, complete=(Phase.BEFORE,))  # ready to sign
        world.episode(-4, complete=(Phase.BEFORE,), sign=True)  # post-op overdue, therapy open
        world.episode(-2, surgeon=surgeon2)  # another surgeon's, flagged
        world.episode(None)  # unscheduled


@pytest.mark.parametrize("role", [Role.SURGEON, Role.NURSE, Role.ANAESTHETIST, Role.THERAPIST])
def test_home_pages_run_a_fixed_number_of_queries(app, client, world, users, surgeon2, role):
    engine = app.extensions["periop_engine"]
    surgeon = users[Role.SURGEON]
    login(client, users[role])

    def queries() -> int:
        home(client)  # warm up anything loaded once
        with counting_queries(engine) as statements:
            page = home(client)
        assert "data-episode=" in page or "data-item=" in page
        return len(statements)

    _populate(world, surgeon, surgeon2, 1)
    baseline = queries()
    _populate(world, surgeon, surgeon2, 4)  # five times the data
    assert queries() == baseline


def test_a_tick_is_marked_done_from_the_worklist_in_place(client, world, nurse):
    episode = world.episode(3)
    vte = factories.item(episode, "post_vte")
    login(client, nurse)
    page = home(client)
    assert 'id="work-' in page and "htmx.min.js" in page
    value_step = factories.item(episode, "post_neuro_obs")  # a value: answered on the episode page
    row = page[page.index(f'id="work-{value_step.id}"') :].split("</li>")[0]
    assert "Mark done" not in row

    response = client.form_post(
        f"/episodes/{episode.id}/items/{vte.id}/done",
        {"version": "1", "origin": "worklist"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    fragment = body[: body.index("</li>")]
    assert fragment.lstrip().startswith('<li class="list-group-item') and f'id="work-{vte.id}"' in fragment
    assert 'data-state="done"' in fragment and "Marked done at 12:00 UTC." in fragment
    assert "Mark done<" not in fragment  # done: nothing left to tick
    assert 'id="nav-flag-count" data-flag-count hx-swap-oob="true"' in body
    assert vte.id not in [i for i, _ in _item_rows(home(client))]  # off the list at the next visit


def test_without_javascript_a_tick_from_the_worklist_returns_to_it(client, world, nurse):
    episode = world.episode(3)
    vte = factories.item(episode, "post_vte")
    login(client, nurse)
    response = client.form_post(
        f"/episodes/{episode.id}/items/{vte.id}/done", {"version": "1", "origin": "worklist"}
    )
    assert response.status_code == 302 and response.location.endswith("/")
    page = client.get("/").get_data(as_text=True)
    assert "Marked done: VTE prophylaxis" in page
    assert vte.id not in [i for i, _ in _item_rows(page)]


def test_lists_of_episodes_show_flags_in_short_words_with_the_details_on_demand(client, world, surgeon):
    past = world.episode(-5, complete=(Phase.BEFORE,), sign=True)
    login(client, surgeon)
    row = table_row(home(client), "flagged", past)
    badge = row[row.index('data-flag="incomplete_postop"') :].split("</span></span>")[0]
    assert "Incomplete post-op steps (" in row and 'title="Incomplete post-op steps (' in badge
    assert "<summary>Flag details</summary>" in row
