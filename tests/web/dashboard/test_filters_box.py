"""The dashboard's filter box, kept once rendered: whatever filters came before, a request is shown
the box of its own filters and surgeons; a patient search and a refusal are never kept."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from app.dashboard import filters_box as box_module
from app.dashboard.filters_box import MAX_KEPT, _render, filters_box
from app.dashboard.views import _filter_form
from app.domain.vocab import Role
from tests.conftest import _make_user
from tests.web.test_fuzz import FUZZ

FIELD_VALUES = {
    "phase": st.sampled_from(["", "before", "during", "after", "later"]),
    "state": st.sampled_from(["", "overdue", "due_soon", "pending", "done"]),
    "role": st.sampled_from(["", "surgeon", "nurse", "physiotherapist", "admin"]),
    "surgeon": st.sampled_from(["", "1", "2", "99", "x"]),
    "due_from": st.sampled_from(["", "2026-06-01", "2026-6-1", "2026-13-01"]),
    "due_to": st.sampled_from(["", "2026-06-30", "2026-05-01"]),
    "required": st.sampled_from(["", "y", "0"]),
    "flagged": st.sampled_from(["", "y"]),
    "safety": st.sampled_from(["", "y"]),
    "view": st.sampled_from(["", "items", "episodes", "cards"]),
    "page": st.sampled_from(["", "2", "-1"]),
}
FILTERS = st.fixed_dictionaries({}, optional=FIELD_VALUES).map(
    lambda values: MultiDict({k: v for k, v in values.items() if v != ""})
)


def shown(app, args: MultiDict, root: str = "") -> tuple[str, str]:
    """The box a request with `args` is shown, and the box rendered afresh for it."""
    with app.test_request_context("/dashboard", query_string=args, base_url=f"http://localhost{root}/"):
        form = _filter_form(args)
        form.validate()
        given_box = str(filters_box(form, args))
        fresh = _filter_form(args)
        fresh.validate()
        return given_box, str(_render(fresh))


def kept(app) -> dict:
    return app.extensions.get(box_module._KEY, {})


@pytest.mark.parametrize("changed", sorted(FIELD_VALUES))
@FUZZ
@given(first=FILTERS, data=st.data())
def test_each_request_is_shown_the_box_of_its_own_filters(app, surgeon, changed, first, data):
    """Filters that differ in one field only (what a box kept under too short a key would mix
    up), each shown after the other was kept."""
    second = first.copy()
    second[changed] = data.draw(FIELD_VALUES[changed].filter(lambda v: v != first.get(changed, "")))
    for args in (first, second, first):
        given_box, fresh = shown(app, args)
        assert given_box == fresh


def test_the_box_shows_the_filters_asked_for(app, surgeon):
    plain, _ = shown(app, MultiDict())
    filtered, _ = shown(app, MultiDict({"phase": "after", "safety": "y"}))
    assert "Filters (0)" in plain and "Filters (2)" in filtered
    assert '<option selected value="after">' in filtered and '<option selected value="after">' not in plain


def test_a_new_surgeon_is_offered_at_once(app, surgeon):
    before, _ = shown(app, MultiDict())
    _make_user(Role.SURGEON, "surgeon9", "Dr Nina Newcomer")
    after, _ = shown(app, MultiDict())
    assert "Dr Nina Newcomer" not in before and "Dr Nina Newcomer" in after


@pytest.mark.parametrize(
    "args",
    [
        [("q", "Smith-0042")],
        [("q", ""), ("q", "Smith-0042")],  # a search as a second value
        [("required", "SMITH, John 0042")],  # typed into a box's value
        [("flagged", "y"), ("flagged", "Smith-0042")],
        [("due_from", "2026-6-1 Smith-0042")],
        [("phase", "after"), ("phase", "Smith-0042")],
    ],
)
def test_text_typed_into_the_address_is_never_kept(app, surgeon, args):
    app.extensions.pop(box_module._KEY, None)
    given_box, fresh = shown(app, MultiDict(args))
    assert given_box == fresh
    assert kept(app) == {}
    assert "Smith" not in repr(kept(app)) and "SMITH" not in repr(kept(app))


@pytest.mark.parametrize(
    "args", [{}, {"safety": "1"}, {"flagged": "y", "view": "episodes"}, {"due_to": "2026-06-30"}]
)
def test_the_boxes_the_app_links_to_are_kept(app, surgeon, args):
    app.extensions.pop(box_module._KEY, None)
    shown(app, MultiDict(args))
    assert len(kept(app)) == 1


def test_the_box_of_an_app_served_under_a_prefix_posts_there(app, surgeon):
    plain, _ = shown(app, MultiDict())
    prefixed, fresh = shown(app, MultiDict(), root="/periop")
    assert 'action="/dashboard"' in plain
    assert 'action="/periop/dashboard"' in prefixed and prefixed == fresh


def test_a_box_with_a_refusal_is_not_kept_and_shows_it(app, surgeon):
    app.extensions.pop(box_module._KEY, None)
    box, _ = shown(app, MultiDict({"due_from": "2026-13-01"}))
    assert "is-invalid" in box and 'id="filters-box" open>' in box
    assert kept(app) == {}


def test_at_most_max_kept_boxes_are_kept(app, surgeon):
    for day in range(MAX_KEPT + 10):
        dates = {"due_from": f"2026-01-{day % 28 + 1:02d}", "due_to": f"2027-{day % 12 + 1:02d}-01"}
        shown(app, MultiDict(dates))
    assert 0 < len(kept(app)) <= MAX_KEPT
