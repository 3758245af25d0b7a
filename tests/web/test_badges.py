"""An item's state badge: written once per state, the same for every page that shows it."""

import re

import pytest

from app.domain.vocab import ItemState
from app.web.badges import STATE_STYLE, state_badge

BADGE = re.compile(
    r'<span class="badge (?P<style>[^"]+)" data-state="(?P<state>[a-z_]+)">'
    r'<span aria-hidden="true">(?P<symbol>[^<]+)</span> (?P<label>[^<]+)</span>'
)


@pytest.mark.parametrize("state", list(ItemState))
def test_every_state_has_a_badge_with_its_colour_symbol_and_label(state):
    match = BADGE.fullmatch(str(state_badge(state)))
    assert match is not None
    assert match["state"] == state.value
    assert match["label"] == state.label
    assert (match["style"], match["symbol"]) == STATE_STYLE[state]


def test_overdue_and_pending_badges_as_written():
    assert str(state_badge(ItemState.OVERDUE)) == (
        '<span class="badge bg-danger" data-state="overdue"><span aria-hidden="true">!</span> Overdue</span>'
    )
    assert str(state_badge(ItemState.PENDING)) == (
        '<span class="badge bg-light text-dark border" data-state="pending">'
        '<span aria-hidden="true">○</span> Pending</span>'
    )


def test_a_badge_is_markup_and_the_same_for_the_state_or_its_stored_word():
    assert state_badge(ItemState.OVERDUE).__html__() == str(state_badge("overdue"))
    assert 'class="badge bg-danger"' in state_badge(ItemState.OVERDUE)


def test_pages_render_the_badge_unescaped(app):
    with app.test_request_context():
        rendered = app.jinja_env.from_string("{{ state_badge(s) }}").render(s=ItemState.DUE_SOON)
    assert rendered == str(state_badge(ItemState.DUE_SOON))
    assert "&lt;" not in rendered
