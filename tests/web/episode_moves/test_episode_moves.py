"""The Protocol version page of an episode (preview, then move), the page that moves many episodes,
and the links to them: what they show, what a move does, what is refused, who may."""

import re

import pytest
from sqlalchemy import select, update

from app import db
from app.domain.vocab import EpisodeStatus, Phase, Role
from app.models import ChecklistItem, Episode, ProtocolStep
from app.queries.episode_moves import move_targets
from app.services import checklist
from tests import factories
from tests.conftest import login
from tests.move_versions import NEW_CALL, add_draft, publish_next
from tests.querycount import counting_queries
from tests.web.test_permissions import snapshot

DROPPED = "pre_home_readiness"  # a Before-surgery therapist tick
CALL_DUE = "Due 20 Jun 2026"  # the phone call: day 3 after a surgery on 17 Jun 2026


def page_of(response) -> str:
    return response.get_data(as_text=True)


def stored(episode_id: int) -> Episode:
    db.session.expire_all()
    episode = db.session.get(Episode, episode_id)
    db.session.commit()
    return episode


def version_of(episode_id: int) -> int:
    return stored(episode_id).version


def codes(episode_id: int) -> set[str]:
    found = set(
        db.session.scalars(
            select(ProtocolStep.code).join(ChecklistItem).where(ChecklistItem.episode_id == episode_id)
        )
    )
    db.session.commit()
    return found


@pytest.fixture
def newer():
    """Version 2 of the default protocol: one Before-surgery tick dropped, a phone call added."""
    return publish_next(drop=(DROPPED,), add_call=True)


def test_the_page_previews_what_would_change_with_the_newest_version_chosen(
    client, surgeon, episode, protocol, newer
):
    login(client, surgeon)
    page = page_of(client.get(f"/episodes/{episode.id}/protocol"))
    assert f"This episode follows <strong>{protocol.label}</strong>" in page
    assert f'<option value="{newer.id}" selected>{newer.label}</option>' in page
    carried = len(protocol.steps) - 1
    assert f"Carried over ({carried})" in page and "Added (1)" in page and "Dropped (1)" in page
    assert "Phone call on day 3" in page and CALL_DUE in page
    assert factories.item(episode, DROPPED).step.title in page and "Their history stays" in page
    assert f'name="version" type="hidden" value="{episode.version}"' in page
    assert f"Move to {newer.label}</button>" in page


def test_moving_returns_to_the_episode_saying_what_changed(client, coordinator, episode, protocol, newer):
    login(client, coordinator)
    response = client.form_post(
        f"/episodes/{episode.id}/protocol", {"to": str(newer.id), "version": str(episode.version)}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/episodes/{episode.id}")
    page = page_of(client.get(f"/episodes/{episode.id}"))
    carried = len(protocol.steps) - 1
    assert f"Moved to {newer.label}: {carried} carried, 1 added, 1 dropped." in page
    assert f"Protocol: {newer.label}" in page and "Phone call on day 3" in page
    assert stored(episode.id).protocol_version_id == newer.id
    assert NEW_CALL in codes(episode.id) and DROPPED not in codes(episode.id)


def test_a_move_from_a_stale_page_is_a_conflict_and_changes_nothing(client, coordinator, episode, newer):
    login(client, coordinator)
    previewed = episode.version
    with db.write_unit():
        db.session.get(Episode, episode.id).levels = "L3-L4"  # someone edits the episode meanwhile
        db.session.commit()
    before = snapshot()
    response = client.form_post(
        f"/episodes/{episode.id}/protocol", {"to": str(newer.id), "version": str(previewed)}
    )
    assert response.status_code == 409
    assert "This episode was changed by someone else — review and try again." in page_of(response)
    assert snapshot() == before


def test_a_signed_phase_that_would_change_refuses_the_move_and_says_to_revoke(client, surgeon, world, newer):
    signed = world.episode(3, complete=(Phase.BEFORE,), sign=True)
    login(client, surgeon)
    page = page_of(client.get(f"/episodes/{signed.id}/protocol"))
    assert 'id="move-refusals"' in page
    assert "Before surgery is signed off: a surgeon must revoke the sign-off before its items change" in page
    assert 'id="move-form"' not in page
    before = snapshot()
    response = client.form_post(
        f"/episodes/{signed.id}/protocol", {"to": str(newer.id), "version": str(version_of(signed.id))}
    )
    assert response.status_code == 422 and "must revoke the sign-off" in page_of(response)
    assert snapshot() == before


@pytest.mark.parametrize("role", [Role.NURSE, Role.THERAPIST, Role.ANAESTHETIST, Role.ADMIN], ids=str)
def test_other_roles_may_not_move_an_episode(client, users, episode, newer, role):
    login(client, users[role])
    before = snapshot()
    assert client.get(f"/episodes/{episode.id}/protocol").status_code == 403
    assert client.get(f"/protocols/versions/{newer.id}/move-episodes").status_code == 403
    posted = client.form_post(f"/episodes/{episode.id}/protocol", {"to": str(newer.id), "version": "1"})
    bulk = client.form_post(f"/protocols/versions/{newer.id}/move-episodes", {"episode": f"{episode.id}:1"})
    assert (posted.status_code, bulk.status_code) == (403, 403)
    assert snapshot() == before


def test_anonymous_is_sent_to_log_in(client, episode, newer):
    for url in (f"/episodes/{episode.id}/protocol", f"/protocols/versions/{newer.id}/move-episodes"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("to", ["abc", "", "99999", "１", "0", "99999999999999999999", "-1"])
def test_a_version_that_is_not_one_is_named_and_nothing_moves(
    client, coordinator, episode, protocol, newer, to
):
    login(client, coordinator)
    shown = client.get(f"/episodes/{episode.id}/protocol", query_string={"to": to})
    assert shown.status_code == 422 and "Choose a protocol version from the list." in page_of(shown)
    before = snapshot()
    posted = client.form_post(f"/episodes/{episode.id}/protocol", {"to": to, "version": str(episode.version)})
    assert posted.status_code == 422 and "Choose a protocol version from the list." in page_of(posted)
    assert snapshot() == before


def test_a_draft_or_the_episodes_own_version_is_refused_in_words(client, coordinator, episode, protocol):
    draft = add_draft()
    login(client, coordinator)
    page = page_of(client.get(f"/episodes/{episode.id}/protocol", query_string={"to": draft.id}))
    assert f"{draft.label} is a draft: an episode moves only to a published version." in page
    own = page_of(client.get(f"/episodes/{episode.id}/protocol", query_string={"to": protocol.id}))
    assert f"The episode is already on {protocol.label}." in own
    before = snapshot()
    for target in (draft, protocol):
        posted = client.form_post(
            f"/episodes/{episode.id}/protocol", {"to": str(target.id), "version": str(episode.version)}
        )
        assert posted.status_code == 422
    assert snapshot() == before


def test_the_episode_page_links_to_the_move_for_those_who_may(client, users, episode):
    link = f'href="/episodes/{episode.id}/protocol" data-change-protocol'
    for role, shown in ((Role.SURGEON, True), (Role.COORDINATOR, True), (Role.NURSE, False)):
        login(client, users[role])
        assert (link in page_of(client.get(f"/episodes/{episode.id}"))) is shown, role
        client.form_post("/logout")


def test_the_history_still_names_a_dropped_item_and_keeps_what_it_recorded(
    client, coordinator, therapist, episode, newer
):
    item = factories.item(episode, DROPPED)
    with db.write_unit():
        checklist.mark_done(
            db.session, db.session.merge(therapist), db.session.merge(item), item.version, None, "At home"
        )
        db.session.commit()
    login(client, coordinator)
    client.form_post(
        f"/episodes/{episode.id}/protocol", {"to": str(newer.id), "version": str(episode.version)}
    )
    page = page_of(client.get(f"/episodes/{episode.id}/history"))
    assert 'data-action="item.dropped"' in page and 'data-action="episode.protocol_move"' in page
    assert page.count(f"No longer on the checklist: {item.step.title}") == 2  # marked done, its note
    assert "“At home” (Theo Therapist, 17 Jun 2026" in page
    assert f"Protocol version:</span>\n          {episode.protocol_version.label} → {newer.label}" in page


# --- the dashboard ------------------------------------------------------------------------------


def _all_count(page: str) -> int:
    return int(re.search(r'data-count="all">All <span class="badge[^"]*">(\d+)</span>', page).group(1))


def test_the_dashboard_links_to_the_bulk_move_while_an_episode_is_behind(client, users, episode, newer):
    login(client, users[Role.COORDINATOR])
    link = f'href="/protocols/versions/{newer.id}/move-episodes" data-move-episodes'
    assert link in page_of(client.get("/dashboard"))
    client.form_post("/logout")
    login(client, users[Role.NURSE])
    assert "data-move-episodes" not in page_of(client.get("/dashboard"))


def test_the_dashboard_has_no_move_link_when_every_open_episode_is_on_the_newest_version(
    client, coordinator, episode
):
    login(client, coordinator)
    assert "data-move-episodes" not in page_of(client.get("/dashboard"))


def test_the_dashboard_counts_follow_the_items_added_and_dropped(client, coordinator, episode):
    target = publish_next(drop=(DROPPED, "post_vte"), add_call=True)  # two open items out, one in
    login(client, coordinator)
    before = _all_count(page_of(client.get("/dashboard")))
    client.form_post(
        f"/episodes/{episode.id}/protocol", {"to": str(target.id), "version": str(episode.version)}
    )
    page = page_of(client.get("/dashboard"))
    assert _all_count(page) == before - 1
    assert "Phone call on day 3" in page_of(client.get("/dashboard", query_string={"q": episode.patient.mrn}))


# --- many episodes at once ------------------------------------------------------------------------


def test_the_bulk_page_lists_open_episodes_on_other_versions_with_a_preview(client, surgeon, world, protocol):
    plain = world.episode(10)
    signed = world.episode(3, complete=(Phase.BEFORE,), sign=True)
    closed = world.episode(-30, close=True)
    target = publish_next(drop=(DROPPED,), add_call=True)
    login(client, surgeon)
    page = page_of(client.get(f"/protocols/versions/{target.id}/move-episodes"))
    assert f'data-episode="{plain.id}"' in page and f'data-episode="{signed.id}"' in page
    assert f'data-episode="{closed.id}"' not in page
    assert f"{len(protocol.steps) - 1} carried, 1 added, 1 dropped" in page
    assert re.search(rf'value="{signed.id}:\d+" id="episode-{signed.id}" disabled', page)
    assert "a surgeon must revoke the sign-off" in page


def test_the_bulk_move_moves_the_ticked_episodes_each_on_its_own_and_says_why_others_did_not(
    client, coordinator, world, protocol
):
    plain, other, stale = world.episode(10), world.episode(12), world.episode(20)
    signed = world.episode(3, complete=(Phase.BEFORE,), sign=True)
    target = publish_next(drop=(DROPPED,), add_call=True)
    login(client, coordinator)
    wanted = [f"{e.id}:{version_of(e.id)}" for e in (plain, other, signed, stale)]  # as the page shows them
    with db.write_unit():
        db.session.get(Episode, stale.id).levels = "L3-L4"  # someone edits this one meanwhile
        db.session.commit()
    response = client.form_post(f"/protocols/versions/{target.id}/move-episodes", {"episode": wanted})
    page = page_of(response)
    assert response.status_code == 200
    assert f"Moved 2 episodes to {target.label}." in page and "Not moved (2):" in page
    assert f'data-conflicted="{stale.id}"' in page and f'data-refused="{signed.id}"' in page
    moved = {e.id: stored(e.id).protocol_version_id for e in (plain, other, signed, stale)}
    assert moved == {plain.id: target.id, other.id: target.id, signed.id: protocol.id, stale.id: protocol.id}


@pytest.mark.parametrize(
    "episodes",
    [[], ["abc"], ["1"], ["1:x"], ["99999999999:1"], ["１:1"]],
    ids=["none", "a", "b", "c", "d", "e"],
)
def test_the_bulk_move_refuses_a_choice_that_is_not_one_and_changes_nothing(
    client, coordinator, episode, newer, episodes
):
    login(client, coordinator)
    before = snapshot()
    response = client.form_post(f"/protocols/versions/{newer.id}/move-episodes", {"episode": episodes})
    assert response.status_code == 422
    assert "Tick the episodes to move." in page_of(response) or "Choose the episodes to move" in page_of(
        response
    )
    assert snapshot() == before


def test_the_bulk_page_of_a_draft_says_episodes_move_only_to_a_published_version(
    client, coordinator, episode
):
    draft = add_draft()
    login(client, coordinator)
    page = page_of(client.get(f"/protocols/versions/{draft.id}/move-episodes"))
    assert "episodes move only to a published version" in page and 'id="move-episodes"' not in page
    before = snapshot()
    response = client.form_post(
        f"/protocols/versions/{draft.id}/move-episodes", {"episode": f"{episode.id}:{episode.version}"}
    )
    assert response.status_code == 422 and snapshot() == before
    assert client.get("/protocols/versions/999999/move-episodes").status_code == 404


# --- query counts -------------------------------------------------------------------------------


def _count(app, client, url: str) -> int:
    engine = app.extensions["periop_engine"]
    client.get(url)  # warm up what is loaded once
    with counting_queries(engine) as statements:
        response = client.get(url)
        assert response.status_code == 200, url
    return len(statements)


def test_the_move_pages_run_a_fixed_number_of_queries_whatever_the_episodes_and_items(
    app, client, world, users
):
    login(client, users[Role.COORDINATOR])
    world.episode(10)
    worked = world.episode(5, complete=(Phase.BEFORE,))  # items done by several people, with values
    target = publish_next(drop=(DROPPED,), add_call=True)
    pages = [
        f"/episodes/{worked.id}/protocol",
        f"/protocols/versions/{target.id}/move-episodes",
        "/dashboard",
    ]
    baseline = {url: _count(app, client, url) for url in pages}

    for days in (1, 2, 4):  # more episodes, with work recorded on their items
        world.episode(days, complete=(Phase.BEFORE,))
    world.episode(3, complete=(Phase.BEFORE,), sign=True)

    assert {url: _count(app, client, url) for url in pages} == baseline


def test_the_bulk_page_shows_a_page_of_episodes_at_a_time(client, surgeon, world, monkeypatch):
    """A site publishing a new version may have thousands of open episodes to move: a page at a time."""
    from app.episode_moves import views

    monkeypatch.setattr(views, "PER_PAGE", 2)
    episodes = [world.episode(10 + n) for n in range(5)]
    target = publish_next(add_call=True)
    login(client, surgeon)
    first = page_of(client.get(f"/protocols/versions/{target.id}/move-episodes"))
    assert "5 open episodes on other versions · page 1 of 3, 2 shown" in first
    assert first.count("data-episode=") == 2 and "Next</a>" in first
    last = page_of(client.get(f"/protocols/versions/{target.id}/move-episodes?page=3"))
    assert last.count("data-episode=") == 1 and "Previous</a>" in last
    shown = set(re.findall(r'data-episode="(\d+)"', first + last))
    shown |= set(
        re.findall(
            r'data-episode="(\d+)"',
            page_of(client.get(f"/protocols/versions/{target.id}/move-episodes?page=2")),
        )
    )
    assert shown == {str(e.id) for e in episodes}
    assert (
        page_of(client.get(f"/protocols/versions/{target.id}/move-episodes?page=x")).count("data-episode=")
        == 2
    )


def test_move_targets_name_the_newest_version_while_an_open_episode_holds_an_older_one(
    app, coordinator, episode, newer
):
    with db.read_unit():
        assert move_targets(db.session) == [(newer.id, newer.template.name, newer.number)]
    with db.write_unit():
        db.session.execute(
            update(Episode).where(Episode.id == episode.id).values(status=EpisodeStatus.CLOSED)
        )
        db.session.commit()
    with db.read_unit():
        assert move_targets(db.session) == []  # a closed episode on the old version is not behind
