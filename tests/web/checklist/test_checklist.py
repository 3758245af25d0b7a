"""Working the checklist on the episode page: tick, value, not applicable, reopen, notes, conflicts."""

import re
from datetime import date, timedelta

from sqlalchemy import func, select

from app import db
from app.domain.vocab import ItemStatus
from app.models import AuditEvent, ChecklistItem, ItemNote
from app.web import once
from tests import factories
from tests.conftest import login
from tests.querycount import counting_queries


def _item(item_id: int) -> ChecklistItem:
    factories.fresh_read()
    return db.session.get(ChecklistItem, item_id)


def _audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def _post(client, episode, item, action, **data):
    payload = {"version": str(_item(item.id).version), **data}
    return client.form_post(f"/episodes/{episode.id}/items/{item.id}/{action}", payload)


def test_nurse_marks_own_item_done_and_sees_it_with_name_and_time(client, nurse, episode):
    sign_in = factories.item(episode, "intra_sign_in")
    login(client, nurse)
    response = _post(client, episode, sign_in, "done")
    assert response.status_code == 302
    assert response.location.endswith(f"/episodes/{episode.id}?item={sign_in.id}#item-{sign_in.id}")
    item = _item(sign_in.id)
    assert item.status is ItemStatus.DONE and item.completed_by_id == nurse.id
    page = client.get(response.location).get_data(as_text=True)
    row = page[page.index(f'id="item-{sign_in.id}"') :].split("</li>")[0]
    assert (
        'role="status" tabindex="-1" data-item-message>Marked done at 12:00 UTC.</div>' in row
    )  # by the item
    assert "Marked done at" not in page[: page.index(f'id="item-{sign_in.id}"')]  # not in a banner on top
    again = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    assert "Marked done at" not in again  # said once
    assert 'data-state="done"' in row
    assert "Done by Nina Nurse on 17 Jun 2026 12:00 UTC" in row
    assert "1 of 9 required done" in page  # During surgery
    event_ = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "item.done"))
    assert event_.actor_id == nurse.id and event_.episode_id == episode.id
    assert event_.before["status"] == "open" and event_.after["status"] == "done"


def test_value_item_stores_the_cleaned_value(client, anaesthetist, episode):
    blood_loss = factories.item(episode, "intra_blood_loss")
    login(client, anaesthetist)
    assert _post(client, episode, blood_loss, "done", value="350.0").status_code == 302
    assert _item(blood_loss.id).value == "350"
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    assert "Estimated blood loss: <strong>350 mL</strong>" in page


def test_out_of_range_value_is_refused_and_the_input_kept(client, nurse, episode):
    psych = factories.item(episode, "pre_psych_screen")
    login(client, nurse)
    events = _audit_count()
    response = _post(client, episode, psych, "done", value="99")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter a number from 0 to 27." in page
    assert 'value="99"' in page
    assert _item(psych.id).status is ItemStatus.OPEN and _audit_count() == events


def test_value_of_the_wrong_type_is_refused(client, nurse, episode):
    smoking = factories.item(episode, "pre_smoking")
    login(client, nurse)
    response = _post(client, episode, smoking, "done", value="sometimes")
    assert response.status_code == 422
    assert "Choose yes or no." in response.get_data(as_text=True)
    assert _item(smoking.id).status is ItemStatus.OPEN


def test_not_applicable_needs_a_reason(client, anaesthetist, episode):
    hba1c = factories.item(episode, "pre_hba1c")
    login(client, anaesthetist)
    response = _post(client, episode, hba1c, "not-applicable", reason="   ")
    assert response.status_code == 422
    assert "Enter a reason." in response.get_data(as_text=True)
    assert _item(hba1c.id).status is ItemStatus.OPEN
    assert _post(client, episode, hba1c, "not-applicable", reason="Not diabetic").status_code == 302
    item = _item(hba1c.id)
    assert item.status is ItemStatus.NOT_APPLICABLE and item.reason == "Not diabetic"
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    assert "Not applicable — Dr Ana Esthetist on 17 Jun 2026 12:00 UTC: Not diabetic" in page


def test_reopen_needs_a_reason_and_is_audited(client, nurse, episode):
    vte = factories.item(episode, "post_vte")
    login(client, nurse)
    _post(client, episode, vte, "done")
    assert _post(client, episode, vte, "reopen", reason="").status_code == 422
    assert _item(vte.id).status is ItemStatus.DONE
    assert _post(client, episode, vte, "reopen", reason="Ticked the wrong patient").status_code == 302
    item = _item(vte.id)
    assert item.status is ItemStatus.OPEN and item.completed_by_id is None
    reopen = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "item.reopen"))
    assert reopen.reason == "Ticked the wrong patient" and reopen.before["status"] == "done"


def test_notes_are_added_and_shown_escaped(client, nurse, episode):
    vte = factories.item(episode, "post_vte")
    login(client, nurse)
    assert (
        _post(client, episode, vte, "note", note="<script>alert(1)</script> stockings on").status_code == 302
    )
    note = db.session.scalar(select(ItemNote))
    assert note.author_id == nurse.id
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; stockings on" in page
    assert "<script>alert(1)</script>" not in page


def test_other_roles_see_the_item_read_only(client, therapist, episode):
    sign_in = factories.item(episode, "intra_sign_in")
    login(client, therapist)
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    row = page[page.index(f'id="item-{sign_in.id}"') :].split("</li>")[0]
    assert "Read-only: nurse responsible." in row and "Mark done" not in row
    events = _audit_count()
    assert _post(client, episode, sign_in, "done").status_code == 403
    assert _item(sign_in.id).status is ItemStatus.OPEN and _audit_count() == events


def test_surgeon_may_work_clinical_items_but_not_coordinator_items(client, surgeon, episode):
    login(client, surgeon)
    assert _post(client, episode, factories.item(episode, "intra_sign_in"), "done").status_code == 302
    prom = factories.item(episode, "pre_baseline_prom")
    assert _post(client, episode, prom, "done", value="40").status_code == 403


def test_admin_cannot_tick(client, admin, episode):
    login(client, admin)
    assert _post(client, episode, factories.item(episode, "intra_sign_in"), "done").status_code == 403


def test_sessions_items_stay_open_with_a_placeholder(client, therapist, episode):
    mobilise = factories.item(episode, "post_mobilise")
    login(client, therapist)
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    row = page[page.index(f'id="item-{mobilise.id}"') :].split("</li>")[0]
    assert "0 of 1 PT sessions" in row and "Mark done" not in row
    response = _post(client, episode, mobilise, "done")
    assert response.status_code == 422
    assert "completed by logged therapy sessions" in response.get_data(as_text=True)


def test_item_of_another_episode_is_not_found(client, nurse, episode, coordinator, surgeon, protocol):
    other = factories.episode(coordinator, surgeon, protocol)
    login(client, nurse)
    foreign = factories.item(other, "intra_sign_in")
    assert _post(client, episode, foreign, "done").status_code == 404
    assert _item(foreign.id).status is ItemStatus.OPEN


def test_tampered_version_field_is_a_bad_request(client, nurse, episode):
    sign_in = factories.item(episode, "intra_sign_in")
    login(client, nurse)
    for version in ("abc", "", "1e9"):
        response = client.form_post(f"/episodes/{episode.id}/items/{sign_in.id}/done", {"version": version})
        assert response.status_code == 400
    assert _item(sign_in.id).status is ItemStatus.OPEN


def test_unknown_action_is_not_found(client, nurse, episode):
    sign_in = factories.item(episode, "intra_sign_in")
    login(client, nurse)
    assert _post(client, episode, sign_in, "delete").status_code == 404


def test_second_of_two_concurrent_edits_gets_a_conflict_and_loses_nothing(app, nurse, surgeon, episode):
    """Two people load the same item; the first saves, the second is told and overwrites nothing."""
    sign_in = factories.item(episode, "intra_sign_in")
    first, second = app.test_client(), app.test_client()
    login(first, nurse)
    login(second, surgeon)
    version = str(_item(sign_in.id).version)  # both pages were loaded at this version
    url = f"/episodes/{episode.id}/items/{sign_in.id}"
    assert first.form_post(f"{url}/done", {"version": version}).status_code == 302
    response = second.form_post(f"{url}/not-applicable", {"version": version, "reason": "Not needed"})
    assert response.status_code == 409
    assert "was changed by Nina Nurse at 17 Jun 2026 12:00 UTC — review and try again." in response.get_data(
        as_text=True
    )
    item = _item(sign_in.id)
    assert item.status is ItemStatus.DONE and item.completed_by_id == nurse.id
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "item.not_applicable")) == 0


def test_double_click_on_mark_done_is_answered_as_before_and_changes_nothing(client, nurse, episode):
    sign_in = factories.item(episode, "intra_sign_in")
    login(client, nurse)
    url = f"/episodes/{episode.id}/items/{sign_in.id}/done"
    form = {"version": str(_item(sign_in.id).version), "note": "Sign-in done", "form_token": once.new_token()}
    first = client.form_post(url, form)
    client.get(first.headers["Location"])  # the answer shown, its message with it
    again = client.form_post(url, form)  # the same form, sent twice
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert page.count("Marked done at 12:00 UTC.") == 1  # the answer, given again
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "item.done")) == 1
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "item.note")) == 1
    assert [n.text for n in _item(sign_in.id).notes] == ["Sign-in done"]


def test_same_change_from_a_stale_page_is_a_conflict_naming_who_and_when(client, nurse, episode):
    """Two tabs of the same user: the second, from the stale page, is refused and says why."""
    sign_in = factories.item(episode, "intra_sign_in")
    login(client, nurse)
    url = f"/episodes/{episode.id}/items/{sign_in.id}/done"
    version = str(_item(sign_in.id).version)
    assert client.form_post(url, {"version": version, "note": "tab A"}).status_code == 302
    stale = client.form_post(url, {"version": version, "note": "tab B"})
    assert stale.status_code == 409
    assert "was changed by Nina Nurse at 17 Jun 2026 12:00 UTC" in stale.get_data(as_text=True)
    assert [n.text for n in _item(sign_in.id).notes] == ["tab A"]
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "item.note")) == 1


def test_a_used_form_sent_again_with_other_content_is_a_conflict(client, nurse, episode):
    sign_in = factories.item(episode, "intra_sign_in")
    login(client, nurse)
    url = f"/episodes/{episode.id}/items/{sign_in.id}/done"
    token = once.new_token()
    version = str(_item(sign_in.id).version)
    assert (
        client.form_post(url, {"version": version, "note": "first", "form_token": token}).status_code == 302
    )
    again = client.form_post(url, {"version": version, "note": "edited", "form_token": token})
    assert again.status_code == 409
    assert "This form was already sent, and saved, at 17 Jun 2026 12:00 UTC" in again.get_data(as_text=True)
    assert [n.text for n in _item(sign_in.id).notes] == ["first"]


def test_a_state_changing_form_without_its_one_time_token_is_refused(client, nurse, episode):
    sign_in = factories.item(episode, "intra_sign_in")
    login(client, nurse)
    url = f"/episodes/{episode.id}/items/{sign_in.id}/done"
    for token in ("", "short", "x" * 65, "bad token with spaces!!"):
        response = client.form_post(url, {"version": "1", "form_token": token})
        assert response.status_code == 400
        assert "The form was out of date or incomplete." in response.get_data(as_text=True)
    assert _item(sign_in.id).status is ItemStatus.OPEN


def test_episode_page_flags_overdue_post_op_steps(client, coordinator, surgeon, protocol):
    late = factories.episode(
        coordinator, surgeon, protocol, surgery_date=date(2026, 6, 17) - timedelta(days=3)
    )
    login(client, coordinator)
    page = client.get(f"/episodes/{late.id}").get_data(as_text=True)
    flags = page[page.index('id="episode-flags"') :].split("</div>")[0]
    # Due day 0 to +2: recovery review, neuro checks, pain, VTE, voiding, mobilisation,
    # discharge instructions.
    assert "Incomplete post-op steps (7 overdue)" in flags
    assert re.search(r"data-flag-count>1<", page)


def test_history_lists_changes_newest_first(client, nurse, episode):
    sign_in = factories.item(episode, "intra_sign_in")
    login(client, nurse)
    _post(client, episode, sign_in, "done")
    _post(client, episode, sign_in, "reopen", reason="Wrong item")
    page = client.get(f"/episodes/{episode.id}/history").get_data(as_text=True)
    actions = re.findall(r'data-action="([^"]+)"', page)
    assert actions[:2] == ["item.reopen", "item.done"]
    assert actions[-2:] == ["episode.create", "patient.create"]
    assert "Wrong item" in page and "Nina Nurse" in page


def test_episode_page_runs_a_fixed_number_of_queries(app, client, nurse, coordinator, surgeon, protocol):
    engine = app.extensions["periop_engine"]
    login(client, nurse)

    def queries_for(episode_id: int) -> int:
        with counting_queries(engine) as statements:
            assert client.get(f"/episodes/{episode_id}").status_code == 200
        return len(statements)

    quiet = factories.episode(coordinator, surgeon, protocol)
    busy = factories.episode(coordinator, surgeon, protocol)
    baseline = queries_for(quiet.id)
    nurse_items = [i for i in busy.items if i.role.value == "nurse"]
    for n, item in enumerate(nurse_items):
        _post(client, busy, item, "note", note=f"note {n}")
        if item.step.kind.value == "check":
            _post(client, busy, item, "done")
    assert queries_for(busy.id) == baseline


def test_times_are_shown_in_the_site_time_zone(app, client, nurse, episode):
    app.config["TIMEZONE"] = "Europe/Paris"  # 12:00 UTC is 14:00 in Paris in June
    sign_in = factories.item(episode, "intra_sign_in")
    login(client, nurse)
    _post(client, episode, sign_in, "done")
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    assert "Done by Nina Nurse on 17 Jun 2026 14:00 CEST" in page


def test_due_soon_window_is_configurable(app, client, nurse, coordinator, surgeon, protocol):
    soon = factories.episode(
        coordinator, surgeon, protocol, surgery_date=date(2026, 6, 17) + timedelta(days=10)
    )
    site_mark = factories.item(soon, "pre_site_mark")  # due on the surgery day, in 10 days
    login(client, nurse)

    def state() -> str:
        page = client.get(f"/episodes/{soon.id}").get_data(as_text=True)
        row = page[page.index(f'id="item-{site_mark.id}"') :]
        return re.search(r'data-state="([a-z_]+)"', row).group(1)

    assert state() == "pending"
    app.config["DUE_SOON_DAYS"] = 10
    assert state() == "due_soon"
