"""Protocol administration through the pages: a lead drafts, reviews and publishes; others read."""

import re

from sqlalchemy import func, select

from app import db
from app.domain.vocab import VersionStatus
from app.models import AuditEvent, ProtocolStep, ProtocolVersion
from tests import factories
from tests.conftest import PASSWORD, login
from tests.querycount import counting_queries

STEP = {
    "phase": "after",
    "code": "post_phone_call",
    "title": "Phone call on day 3: pain, wound, mobility",
    "guidance": "Early contact finds problems. Sources: ERAS.",
    "role": "nurse",
    "required": "y",
    "due": "3",
    "kind": "check",
}


def _lock(page: str) -> str:
    return re.search(r'name="lock"[^>]*value="(\d+)"', page).group(1)


def _draft_of(client, protocol) -> ProtocolVersion:
    response = client.form_post("/protocols/drafts", {"source": str(protocol.id)})
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    draft_id = int(response.headers["Location"].rsplit("/", 1)[1])
    return db.session.get(ProtocolVersion, draft_id)


def test_list_shows_versions_status_and_open_episodes(client, nurse, coordinator, surgeon, protocol):
    factories.episode(coordinator, surgeon, protocol)
    login(client, nurse)
    page = client.get("/protocols").get_data(as_text=True)
    row = page[page.index(f'data-version="{protocol.id}"') :].split("</tr>")[0]
    assert "Version 1" in row and "Published" in row and "<td>1</td>" in row
    assert "Start a draft" not in page and "Retire" not in page  # a nurse reads only


def test_a_lead_adds_a_step_reviews_the_changes_and_publishes_with_the_password(client, lead, protocol):
    login(client, lead)
    draft = _draft_of(client, protocol)
    page = client.get(f"/protocols/versions/{draft.id}").get_data(as_text=True)
    assert "Draft" in page and "Review and publish" in page
    response = client.form_post(f"/protocols/versions/{draft.id}/steps/new", {**STEP, "lock": _lock(page)})
    assert response.status_code == 302, response.get_data(as_text=True)[:600]
    review = client.get(f"/protocols/versions/{draft.id}/review").get_data(as_text=True)
    assert "Steps: 1 added" in review and "Phone call on day 3" in review
    assert "approved for clinical use" in review
    wrong = client.form_post(
        f"/protocols/versions/{draft.id}/review", {"password": "nope", "lock": _lock(review)}
    )
    assert wrong.status_code == 422 and "Wrong password: nothing was published." in wrong.get_data(
        as_text=True
    )
    db.session.remove()
    assert db.session.get(ProtocolVersion, draft.id).status is VersionStatus.DRAFT
    right = client.form_post(
        f"/protocols/versions/{draft.id}/review", {"password": PASSWORD, "lock": _lock(review)}
    )
    assert right.status_code == 302
    db.session.remove()
    published = db.session.get(ProtocolVersion, draft.id)
    assert published.status is VersionStatus.PUBLISHED and published.number == 2
    assert published.changes["added"][0]["code"] == "post_phone_call"
    page = client.get(f"/protocols/versions/{draft.id}").get_data(as_text=True)
    assert "Changes approved with this version" in page and "Dr Lena Lead" in page
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.target_type == "protocol_version")
    ).all()
    assert {"protocol.draft", "protocol.step", "protocol.publish_failed", "protocol.publish"} <= set(actions)


def test_a_step_with_a_bad_number_is_refused_on_its_field_and_nothing_changes(client, lead, protocol):
    login(client, lead)
    draft = _draft_of(client, protocol)
    page = client.get(f"/protocols/versions/{draft.id}").get_data(as_text=True)
    before = db.session.scalar(select(func.count()).select_from(ProtocolStep))
    response = client.form_post(
        f"/protocols/versions/{draft.id}/steps/new", {**STEP, "due": "three", "lock": _lock(page)}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Enter a whole number of days" in body and "is-invalid" in body
    response = client.form_post(
        f"/protocols/versions/{draft.id}/steps/new",
        {**STEP, "phase": "before", "due": "5", "lock": _lock(page)},
    )
    assert response.status_code == 422
    assert "cannot be due after surgery" in response.get_data(as_text=True)
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(ProtocolStep)) == before


def test_two_tabs_editing_one_draft_never_lose_an_update(client, lead, protocol):
    login(client, lead)
    draft = _draft_of(client, protocol)
    seen = _lock(client.get(f"/protocols/versions/{draft.id}").get_data(as_text=True))
    first = client.form_post(f"/protocols/versions/{draft.id}/steps/new", {**STEP, "lock": seen})
    assert first.status_code == 302
    second = client.form_post(
        f"/protocols/versions/{draft.id}/steps/new", {**STEP, "code": "post_other", "lock": seen}
    )
    assert second.status_code == 409 and "changed by someone else" in second.get_data(as_text=True)
    db.session.remove()
    codes = db.session.scalars(select(ProtocolStep.code).where(ProtocolStep.version_id == draft.id)).all()
    assert "post_phone_call" in codes and "post_other" not in codes


def test_editing_a_step_shows_its_fields_and_saves_the_change(client, lead, protocol):
    login(client, lead)
    draft = _draft_of(client, protocol)
    step = next(s for s in draft.steps if s.code == "pre_hba1c")
    form = client.get(f"/protocols/versions/{draft.id}/steps/{step.id}/edit").get_data(as_text=True)
    assert 'value="pre_diabetes"' in form and 'name="alert_at_least"' in form
    assert re.search(r'name="alert_at_least"[^>]*value="8(\.0)?"', form)


def test_export_gives_the_yaml_file_and_is_audited(client, nurse, protocol):
    login(client, nurse)
    response = client.form_post(f"/protocols/versions/{protocol.id}/export")
    assert response.status_code == 200 and response.mimetype == "application/yaml"
    text = response.get_data(as_text=True)
    assert "slug: lumbar-fbss" in text and "code: pre_hba1c" in text
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "protocol.export")) == 1


def test_import_of_a_bad_file_says_its_line_and_creates_nothing(client, lead):
    login(client, lead)
    before = db.session.scalar(select(func.count()).select_from(ProtocolVersion))
    response = client.form_post(
        "/protocols/import", {"text": "slug: x\nname: X\nsteps:\n  - phase: nowhere\n"}
    )
    assert response.status_code == 422 and "line 4" in response.get_data(as_text=True)
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(ProtocolVersion)) == before


def test_drafts_are_the_leads_others_may_not_see_or_change_them(client, lead, surgeon, nurse, protocol):
    login(client, lead)
    draft = _draft_of(client, protocol)
    assert f'data-version="{draft.id}"' in client.get("/protocols").get_data(as_text=True)
    client.form_post("/logout")
    login(client, surgeon)  # a surgeon who is not a clinical lead
    assert f'data-version="{draft.id}"' not in client.get("/protocols").get_data(as_text=True)
    assert client.get(f"/protocols/versions/{draft.id}").status_code == 404
    assert client.get(f"/protocols/versions/{draft.id}/review").status_code == 403
    assert client.form_post("/protocols/drafts", {"source": str(protocol.id)}).status_code == 403


def test_retire_is_refused_while_open_episodes_use_the_version(client, lead, coordinator, protocol):
    factories.episode(coordinator, lead, protocol)
    login(client, lead)
    page = client.get("/protocols").get_data(as_text=True)
    response = client.form_post(
        f"/protocols/versions/{protocol.id}/retire", {"lock": str(protocol.lock_version)}
    )
    assert response.status_code == 303
    assert "used by 1 open episode" in client.get("/protocols").get_data(as_text=True)
    assert "disabled" in page
    db.session.remove()
    assert db.session.get(ProtocolVersion, protocol.id).status is VersionStatus.PUBLISHED


def test_protocol_pages_run_a_fixed_number_of_queries(app, client, lead, coordinator, protocol):
    engine = app.extensions["periop_engine"]
    login(client, lead)

    def queries(url: str) -> int:
        with counting_queries(engine) as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    draft = _draft_of(client, protocol)
    pages = ["/protocols", f"/protocols/versions/{draft.id}", f"/protocols/versions/{draft.id}/review"]
    pages.append(f"/protocols/versions/{protocol.id}")
    few = [queries(url) for url in pages]
    for n in range(6):  # more steps, more versions, more episodes
        page = client.get(f"/protocols/versions/{draft.id}").get_data(as_text=True)
        client.form_post(
            f"/protocols/versions/{draft.id}/steps/new",
            {**STEP, "code": f"post_more_{n}", "lock": _lock(page)},
        )
        _draft_of(client, protocol)
        factories.episode(coordinator, lead, protocol)
    assert [queries(url) for url in pages] == few


def test_a_published_version_links_to_moving_open_episodes_to_it(client, coordinator, nurse, protocol):
    login(client, coordinator)
    page = client.get(f"/protocols/versions/{protocol.id}").get_data(as_text=True)
    assert f'href="/protocols/versions/{protocol.id}/move-episodes"' in page
    client.form_post("/logout")
    login(client, nurse)  # a nurse does not move episodes
    assert "move-episodes" not in client.get(f"/protocols/versions/{protocol.id}").get_data(as_text=True)
