"""Changes made in place (htmx): the answer is the changed item with its message beside it, and
what the change led to elsewhere on the page, swapped out of band; a refusal is the item with the
field it is about marked invalid and focused, and nothing changed."""

import re
from datetime import timedelta

from sqlalchemy import func, select

from app import db
from app.models import AuditEvent, ChecklistItem
from app.web import once
from tests import factories
from tests.conftest import NOW, login

TODAY = NOW.date()
HX = {"HX-Request": "true"}


def _post(client, episode, item, action: str, **data):
    version = db.session.get(ChecklistItem, item.id).version
    db.session.remove()
    return client.form_post(
        f"/episodes/{episode.id}/items/{item.id}/{action}", {"version": str(version), **data}, headers=HX
    )


def _fresh(item_id: int) -> ChecklistItem:
    db.session.expire_all()
    return db.session.get(ChecklistItem, item_id)


def _top_item(body: str, item_id: int) -> str:
    """The fragment's first element: the changed item."""
    assert body.lstrip().startswith("<li"), body[:200]
    return body[: body.index("</li>")]


def _events() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def test_a_tick_answers_with_the_item_its_message_and_what_changed_around_it(client, nurse, episode):
    sign_in = factories.item(episode, "intra_sign_in")
    login(client, nurse)
    response = _post(client, episode, sign_in, "done")

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    item = _top_item(body, sign_in.id)
    assert f'id="item-{sign_in.id}"' in item and 'data-state="done"' in item
    assert "data-item-message>Marked done at 12:00 UTC.</div>" in item
    assert "Done by Nina Nurse on 17 Jun 2026 12:00 UTC" in item
    assert "<html" not in body and "<nav" not in body  # a fragment, not the page
    during = re.search(r'id="progress-during" hx-swap-oob="true">(.*?)</div>', body, re.S).group(1)
    assert 'data-done="1"' in during
    assert 'id="episode-flags" hx-swap-oob="true"' in body
    assert 'id="nav-flag-count" data-flag-count hx-swap-oob="true"' in body
    assert _fresh(sign_in.id).status.value == "done"


def test_a_bad_value_is_refused_on_its_field_and_changes_nothing(client, surgeon, episode):
    pain = next(i for i in episode.items if i.step.code == "post_pain_managed")
    login(client, surgeon)
    before = _events()
    response = _post(client, episode, pain, "done", value="eleven")

    assert response.status_code == 422
    item = _top_item(response.get_data(as_text=True), pain.id)
    field = re.search(rf'<input [^>]*id="value-{pain.id}"[^>]*>', item).group(0)
    assert 'aria-invalid="true"' in field and "autofocus" in field
    assert f'aria-describedby="error-{pain.id}"' in field and 'value="eleven"' in field
    error = re.search(rf'id="error-{pain.id}" role="alert">([^<]*)<', item).group(1)
    assert "number" in error.lower()
    assert _fresh(pain.id).status.value == "open" and _events() == before


def test_an_empty_reason_opens_its_form_with_the_field_marked(client, nurse, episode):
    sign_in = factories.item(episode, "intra_sign_in")
    login(client, nurse)
    response = _post(client, episode, sign_in, "not-applicable", reason="  ")

    assert response.status_code == 422
    item = _top_item(response.get_data(as_text=True), sign_in.id)
    assert "<details open><summary" in item
    field = re.search(rf'<textarea [^>]*id="na-{sign_in.id}"[^>]*>', item).group(0)
    assert 'aria-invalid="true"' in field and "autofocus" in field
    assert f'id="error-{sign_in.id}" role="alert">Enter a reason' in item
    assert _fresh(sign_in.id).status.value == "open"


def test_a_stale_change_says_who_changed_it_and_shows_the_item_as_it_is_now(client, nurse, episode):
    sign_in = factories.item(episode, "intra_sign_in")
    login(client, nurse)
    version = str(db.session.get(ChecklistItem, sign_in.id).version)
    db.session.remove()
    url = f"/episodes/{episode.id}/items/{sign_in.id}/done"
    assert client.form_post(url, {"version": version, "note": "tab A"}, headers=HX).status_code == 200
    stale = client.form_post(url, {"version": version, "note": "tab B"}, headers=HX)

    assert stale.status_code == 409
    item = _top_item(stale.get_data(as_text=True), sign_in.id)
    assert 'data-state="done"' in item  # as it is now
    assert 'role="alert" tabindex="-1" data-item-message>' in item
    assert "was changed by Nina Nurse at 17 Jun 2026 12:00 UTC" in item
    assert [n.text for n in _fresh(sign_in.id).notes] == ["tab A"]


def test_an_answer_that_makes_another_step_required_swaps_that_step_too(
    client, surgeon, coordinator, protocol
):
    episode = factories.episode(coordinator, surgeon, protocol, surgery_date=TODAY + timedelta(days=40))
    diabetes, hba1c = factories.item(episode, "pre_diabetes"), factories.item(episode, "pre_hba1c")
    login(client, surgeon)
    response = _post(client, episode, diabetes, "done", value="yes")

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    swapped = re.search(rf'<li [^>]*id="item-{hba1c.id}"[^>]*hx-swap-oob="true">(.*?)</li>', body, re.S)
    assert swapped and "Required since 17 Jun 2026 (when “Diabetic” is yes)" in swapped.group(1)
    assert f'id="item-{factories.item(episode, "pre_smoking").id}"' not in body  # unchanged: left alone


def test_a_form_sent_twice_loads_the_page_with_the_first_answer(client, nurse, episode):
    sign_in = factories.item(episode, "intra_sign_in")
    login(client, nurse)
    form = {"version": str(_fresh(sign_in.id).version), "form_token": once.new_token()}
    db.session.remove()
    url = f"/episodes/{episode.id}/items/{sign_in.id}/done"
    first = client.form_post(url, form, headers=HX)
    again = client.form_post(url, form, headers=HX)

    assert first.status_code == 200 and again.status_code == 200
    assert again.headers["HX-Redirect"].endswith(
        f"/episodes/{episode.id}?item={sign_in.id}#item-{sign_in.id}"
    )
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "item.done")) == 1


def test_without_javascript_a_refusal_shows_by_its_field_on_the_page(client, nurse, episode):
    sign_in = factories.item(episode, "intra_sign_in")
    login(client, nurse)
    version = str(_fresh(sign_in.id).version)
    db.session.remove()
    response = client.form_post(
        f"/episodes/{episode.id}/items/{sign_in.id}/not-applicable", {"version": version, "reason": ""}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<div class="alert' not in page[: page.index('id="main"') + 200]  # no banner on top
    row = page[page.index(f'id="item-{sign_in.id}"') :].split("</li>")[0]
    assert 'aria-invalid="true"' in row and "autofocus" in row  # the browser scrolls to it
