"""The move forms driven with generated input, with a newer version to move to: whatever is sent
(versions that are no version, a draft, the episode's own, stale or hostile episode versions,
episodes of no one, ticked choices of any shape), the answer is never a 5xx; an answer of 400 or
more changed nothing; a move wrote exactly its events (one per dropped item, then the move's)."""

from collections import Counter

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from app import db
from app.domain.vocab import Phase, Role
from app.models import Episode
from app.web import once
from tests.conftest import login
from tests.move_versions import add_draft, publish_next
from tests.web.test_fuzz import (
    CONSEQUENCES,
    FUZZ,
    HOSTILE,
    MISSING_ID,
    _chain_problems,
    _events_after,
    _last_event_id,
)
from tests.web.test_permissions import snapshot

MOVE_EVENTS = {"item.dropped", "episode.protocol_move"}


@pytest.fixture
def moving(world, protocol):
    """Episodes to move (one open, one signed, one to the bulk form), a newer version, a draft."""
    episodes = [world.episode(10), world.episode(3, complete=(Phase.BEFORE,), sign=True), world.episode(20)]
    newer = publish_next(drop=("pre_home_readiness",), add_call=True)
    draft = add_draft()
    return episodes, {"newer": newer.id, "own": protocol.id, "draft": draft.id}


def current_version(episode_id: int) -> str:
    row = db.session.get(Episode, episode_id)
    version = str(row.version) if row is not None else "1"
    db.session.remove()
    return version


def _check(response, before, last) -> None:
    status = response.status_code
    event(f"answered {status}")  # pytest --hypothesis-show-statistics shows how often
    assert status < 500, f"answered {status}"
    events = _events_after(last)
    if status >= 400 or snapshot() == before:
        assert snapshot() == before and events == [], f"answered {status}, wrote {events}"
        return
    counted = Counter(events)
    assert counted["episode.protocol_move"] >= 1, events
    assert set(events) <= MOVE_EVENTS | CONSEQUENCES, events


def test_the_move_form_answers_any_input_clearly(client, users, moving):
    episodes, versions = moving
    login(client, users[Role.SURGEON])
    token = client.csrf_token()
    newer = st.just(str(versions["newer"]))

    @FUZZ
    @given(
        episode=st.sampled_from([*(e.id for e in episodes), MISSING_ID]),
        to=st.one_of(newer, newer, st.sampled_from([*versions.values(), MISSING_ID]).map(str), HOSTILE),
        version=st.one_of(st.none(), st.none(), HOSTILE),
        extra=st.lists(st.tuples(st.sampled_from(["to", "version", "status", "id"]), HOSTILE), max_size=2),
    )
    def send(episode, to, version, extra):
        form = [("to", to), ("version", current_version(episode) if version is None else version), *extra]
        before, last = snapshot(), _last_event_id()
        response = client.post(
            f"/episodes/{episode}/protocol",
            data=MultiDict([("csrf_token", token), ("form_token", once.new_token()), *form]),
        )
        _check(response, before, last)

    send()
    assert _chain_problems() == []


def test_the_bulk_move_form_answers_any_input_clearly(client, users, moving):
    episodes, versions = moving
    login(client, users[Role.COORDINATOR])
    token = client.csrf_token()
    choice = st.builds(
        lambda e, v: f"{e}:{v}" if v is not None else f"{e}:{current_version(e)}",
        st.sampled_from([*(e.id for e in episodes), MISSING_ID]),
        st.one_of(st.none(), st.integers(-1, 5)),
    )

    @FUZZ
    @given(
        target=st.sampled_from([*versions.values(), MISSING_ID]),
        ticked=st.lists(st.one_of(choice, choice, HOSTILE), max_size=4),
    )
    def send(target, ticked):
        before, last = snapshot(), _last_event_id()
        response = client.post(
            f"/protocols/versions/{target}/move-episodes",
            data=MultiDict(
                [("csrf_token", token), ("form_token", once.new_token()), *(("episode", t) for t in ticked)]
            ),
        )
        _check(response, before, last)

    send()
    assert _chain_problems() == []
