"""Working checklist items: done, not applicable, reopen, notes; permissions and conflicts."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from app import audit, clock, db
from app.domain.vocab import ItemStatus, TimePoint
from app.models import AuditEvent, ChecklistItem, ItemNote
from app.services import checklist, outcomes
from app.services.errors import Conflict, NotPermitted, ServiceError
from tests import factories
from tests.conftest import NOW
from tests.factories import load_in_new_session

OPEN_STATE = {"status": "open", "value": None, "reason": None}


def item_events(item, action: str | None = None) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(
        AuditEvent.target_type == "checklist_item", AuditEvent.target_id == item.id
    )
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return list(db.session.scalars(stmt.order_by(AuditEvent.id)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def reloaded(item) -> ChecklistItem:
    db.session.expire_all()
    return db.session.get(ChecklistItem, item.id)


def assert_untouched(item) -> None:
    fresh = reloaded(item)
    assert fresh.status is ItemStatus.OPEN
    assert (fresh.value, fresh.reason, fresh.completed_by_id, fresh.updated_by_id) == (None, None, None, None)
    assert fresh.version == 1
    assert item_events(fresh) == []


# mark_done


def test_mark_done_closes_a_check_item_and_records_who_and_when(session, episode, nurse):
    item = factories.item(episode, "post_vte")
    checklist.mark_done(session, nurse, item, 1)
    session.commit()
    fresh = reloaded(item)
    assert fresh.status is ItemStatus.DONE
    assert fresh.value is None
    assert fresh.completed_by_id == nurse.id
    assert fresh.completed_at == NOW
    assert fresh.updated_by_id == nurse.id
    assert fresh.updated_at == NOW
    assert fresh.version == 2


def test_mark_done_writes_an_audit_event_with_before_and_after(session, episode, nurse):
    item = factories.item(episode, "post_vte")
    checklist.mark_done(session, nurse, item, 1)
    session.commit()
    (event,) = item_events(item)
    assert event.action == "item.done"
    assert event.actor_id == nurse.id
    assert event.actor_name == "Nina Nurse"
    assert event.at == NOW
    assert (event.patient_id, event.episode_id) == (episode.patient_id, episode.id)
    assert event.before == OPEN_STATE
    assert event.after == {"status": "done", "value": None, "reason": None}
    assert event.reason is None
    assert event.summary == "Marked done: VTE prophylaxis in place (mechanical ± pharmacological pe…"


def test_short_titles_appear_whole_in_the_audit_summary(session, episode, nurse):
    item = factories.item(episode, "post_wound_check")
    checklist.mark_done(session, nurse, item, 1, value="no")
    session.commit()
    (event,) = item_events(item)
    assert event.summary == "Marked done: Wound check / suture removal visit."


def test_long_titles_are_cut_to_60_characters_in_the_audit_summary(session, episode, surgeon):
    item = factories.item(episode, "intra_time_out")
    checklist.mark_done(session, surgeon, item, 1)
    session.commit()
    (event,) = item_events(item)
    assert event.summary.startswith("Marked done: WHO Time Out complete")
    assert event.summary.endswith("…")
    assert len(event.summary) == len("Marked done: ") + 58


def test_value_item_stores_the_cleaned_value(session, episode, nurse):
    item = factories.item(episode, "post_pain_managed")
    checklist.mark_done(session, nurse, item, 1, value=" 7,5 ")
    session.commit()
    assert reloaded(item).value == "7.5"
    (event,) = item_events(item)
    assert event.after == {"status": "done", "value": "7.5", "reason": None}


def test_yes_no_value_is_stored_lower_case(session, episode, nurse):
    item = factories.item(episode, "pre_smoking")
    checklist.mark_done(session, nurse, item, 1, value="YES")
    session.commit()
    assert reloaded(item).value == "yes"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "Enter a value."),
        ("", "Enter a value."),
        ("11", "Enter a number from 0 to 10."),
        ("-1", "Enter a number from 0 to 10."),
        ("abc", "Enter a number from 0 to 10."),
    ],
)
def test_value_item_requires_a_valid_value(session, episode, nurse, value, message):
    item = factories.item(episode, "post_pain_managed")
    with pytest.raises(ServiceError) as caught:
        checklist.mark_done(session, nurse, item, 1, value=value)
    assert str(caught.value) == message
    session.rollback()
    assert_untouched(item)


def test_check_item_ignores_a_submitted_value(session, episode, nurse):
    item = factories.item(episode, "post_vte")
    checklist.mark_done(session, nurse, item, 1, value="42")
    session.commit()
    assert reloaded(item).value is None


@pytest.mark.parametrize("code", ["post_mobilise", "post_pt_adherence", "pre_prehab"])
def test_sessions_item_cannot_be_marked_done(session, episode, therapist, code):
    item = factories.item(episode, code)
    with pytest.raises(ServiceError) as caught:
        checklist.mark_done(session, therapist, item, 1)
    assert str(caught.value) == "This item is completed by logged therapy sessions, not by a tick."
    assert_untouched(item)


def test_mark_done_with_a_note_adds_the_note_and_two_events(session, episode, nurse):
    item = factories.item(episode, "post_vte")
    checklist.mark_done(session, nurse, item, 1, note="  Stockings on.  ")
    session.commit()
    (note,) = reloaded(item).notes
    assert note.text == "Stockings on."
    assert [e.action for e in item_events(item)] == ["item.done", "item.note"]


def test_mark_done_refuses_a_note_that_is_too_long(session, episode, nurse):
    item = factories.item(episode, "post_vte")
    with pytest.raises(ServiceError, match="Keep the note to 2000 characters."):
        checklist.mark_done(session, nurse, item, 1, note="x" * 2001)
    assert_untouched(item)


def test_mark_done_refuses_an_item_that_is_not_open(session, episode, nurse):
    item = factories.item(episode, "post_vte")
    checklist.mark_not_applicable(session, nurse, item, 1, "Patient mobile")
    session.commit()
    with pytest.raises(ServiceError) as caught:
        checklist.mark_done(session, nurse, item, 2)
    assert str(caught.value) == "This item is not open; reopen it first."
    assert reloaded(item).status is ItemStatus.NOT_APPLICABLE


# stale submissions (a repeat of the very same form is answered by its one-time token, in the web layer)


def test_same_mark_done_from_a_stale_page_is_a_conflict_naming_who_and_when(session, episode, nurse):
    item = factories.item(episode, "post_pain_managed")
    checklist.mark_done(session, nurse, item, 1, value="4", note="first tab")
    session.commit()
    with pytest.raises(Conflict) as caught:
        checklist.mark_done(session, nurse, item, 1, value="4", note="second tab")
    assert (caught.value.by, caught.value.at) == (nurse.full_name, NOW)
    session.rollback()
    fresh = reloaded(item)
    assert (fresh.status, fresh.value, fresh.version) == (ItemStatus.DONE, "4", 2)
    assert [n.text for n in fresh.notes] == ["first tab"]
    assert [e.action for e in item_events(item)] == ["item.done", "item.note"]


def test_second_submit_with_a_different_value_is_a_conflict(session, episode, nurse):
    item = factories.item(episode, "post_pain_managed")
    checklist.mark_done(session, nurse, item, 1, value="4")
    session.commit()
    with pytest.raises(Conflict):
        checklist.mark_done(session, nurse, item, 1, value="5")
    assert reloaded(item).value == "4"


def test_same_mark_done_by_another_user_is_a_conflict_not_a_no_op(session, episode, nurse, surgeon):
    item = factories.item(episode, "post_vte")
    checklist.mark_done(session, nurse, item, 1)
    session.commit()
    with pytest.raises(Conflict) as caught:
        checklist.mark_done(session, surgeon, item, 1)
    assert caught.value.by == "Nina Nurse"
    assert reloaded(item).completed_by_id == nurse.id


# not applicable


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_not_applicable_requires_a_reason(session, episode, anaesthetist, reason):
    item = factories.item(episode, "pre_hba1c")
    with pytest.raises(ServiceError) as caught:
        checklist.mark_not_applicable(session, anaesthetist, item, 1, reason)
    assert str(caught.value) == "Enter a reason."
    assert_untouched(item)


def test_not_applicable_refuses_a_reason_over_500_characters(session, episode, anaesthetist):
    item = factories.item(episode, "pre_hba1c")
    with pytest.raises(ServiceError, match="Keep the reason to 500 characters."):
        checklist.mark_not_applicable(session, anaesthetist, item, 1, "x" * 501)
    assert_untouched(item)


def test_not_applicable_stores_the_reason_and_audits_it(session, episode, anaesthetist):
    item = factories.item(episode, "pre_hba1c")
    checklist.mark_not_applicable(session, anaesthetist, item, 1, "  Not diabetic  ")
    session.commit()
    fresh = reloaded(item)
    assert fresh.status is ItemStatus.NOT_APPLICABLE
    assert fresh.reason == "Not diabetic"
    assert fresh.completed_by_id == anaesthetist.id
    assert fresh.completed_at == NOW
    assert fresh.version == 2
    (event,) = item_events(item)
    assert event.action == "item.not_applicable"
    assert event.before == OPEN_STATE
    assert event.after == {"status": "not_applicable", "value": None, "reason": "Not diabetic"}
    assert event.reason == "Not diabetic"
    assert event.summary.startswith("Marked not applicable: HbA1c (diabetics).")


def test_not_applicable_refuses_an_item_that_is_not_open(session, episode, nurse):
    item = factories.item(episode, "post_vte")
    checklist.mark_done(session, nurse, item, 1)
    session.commit()
    with pytest.raises(ServiceError, match="This item is not open; reopen it first."):
        checklist.mark_not_applicable(session, nurse, item, 2, "Changed my mind")


# reopen


@pytest.mark.parametrize("reason", [None, "", "  "])
def test_reopen_requires_a_reason(session, episode, nurse, reason):
    item = factories.item(episode, "post_vte")
    checklist.mark_done(session, nurse, item, 1)
    session.commit()
    with pytest.raises(ServiceError, match="Enter a reason."):
        checklist.reopen(session, nurse, item, 2, reason)
    session.rollback()
    assert reloaded(item).status is ItemStatus.DONE


def test_reopen_clears_completion_and_audits_before_after_and_reason(session, episode, nurse):
    item = factories.item(episode, "post_pain_managed")
    checklist.mark_done(session, nurse, item, 1, value="6")
    session.commit()
    checklist.reopen(session, nurse, item, 2, "Wrong patient's score")
    session.commit()
    fresh = reloaded(item)
    assert fresh.status is ItemStatus.OPEN
    assert (fresh.value, fresh.reason, fresh.completed_by_id, fresh.completed_at) == (None, None, None, None)
    assert fresh.updated_by_id == nurse.id
    assert fresh.version == 3
    event = item_events(item, "item.reopen")[0]
    assert event.before == {"status": "done", "value": "6", "reason": None}
    assert event.after == OPEN_STATE
    assert event.reason == "Wrong patient's score"
    assert event.summary.startswith("Reopened: Pain assessed")


def test_reopen_of_a_not_applicable_item_clears_its_reason(session, episode, anaesthetist):
    item = factories.item(episode, "pre_hba1c")
    checklist.mark_not_applicable(session, anaesthetist, item, 1, "Not diabetic")
    session.commit()
    checklist.reopen(session, anaesthetist, item, 2, "Diabetes diagnosed")
    session.commit()
    assert reloaded(item).reason is None
    event = item_events(item, "item.reopen")[0]
    assert event.before["reason"] == "Not diabetic"
    assert event.reason == "Diabetes diagnosed"


def test_reopened_item_can_be_done_again(session, episode, nurse):
    item = factories.item(episode, "post_pain_managed")
    checklist.mark_done(session, nurse, item, 1, value="6")
    session.commit()
    checklist.reopen(session, nurse, item, 2, "Re-measure")
    session.commit()
    checklist.mark_done(session, nurse, item, 3, value="3")
    session.commit()
    assert (reloaded(item).value, reloaded(item).version) == ("3", 4)
    assert [e.action for e in item_events(item)] == ["item.done", "item.reopen", "item.done"]


def test_reopen_of_an_open_item_is_refused(session, episode, nurse):
    item = factories.item(episode, "post_vte")
    with pytest.raises(ServiceError) as caught:
        checklist.reopen(session, nurse, item, 1, "Why not")
    assert str(caught.value) == "This item is already open."
    assert_untouched(item)


# notes


def test_add_note_appends_an_item_note(session, episode, nurse):
    item = factories.item(episode, "post_vte")
    checklist.add_note(session, nurse, item, 1, "First")
    checklist.add_note(session, nurse, item, 1, "  Second  ")
    session.commit()
    notes = reloaded(item).notes
    assert [n.text for n in notes] == ["First", "Second"]
    assert {n.author_id for n in notes} == {nurse.id}
    assert notes[0].created_at == NOW
    events = item_events(item)
    assert [e.action for e in events] == ["item.note", "item.note"]
    assert events[1].after == {"note": "Second"}
    assert events[1].summary.startswith("Added a note: VTE prophylaxis")


def test_add_note_leaves_the_item_status_alone(session, episode, nurse):
    item = factories.item(episode, "post_vte")
    checklist.add_note(session, nurse, item, 1, "Checked")
    session.commit()
    assert reloaded(item).status is ItemStatus.OPEN


@pytest.mark.parametrize(("text", "message"), [("", "Enter a note."), ("x" * 2001, "Keep the note to 2000")])
def test_add_note_refuses_empty_or_too_long_notes(session, episode, nurse, text, message):
    item = factories.item(episode, "post_vte")
    with pytest.raises(ServiceError, match=message):
        checklist.add_note(session, nurse, item, 1, text)
    assert count(ItemNote) == 0


def test_add_note_with_a_stale_version_is_a_conflict(session, episode, nurse):
    item = factories.item(episode, "post_vte")
    checklist.mark_done(session, nurse, item, 1)
    session.commit()
    with pytest.raises(Conflict):
        checklist.add_note(session, nurse, item, 1, "Late note")
    assert count(ItemNote) == 0


# permissions


@pytest.mark.parametrize(
    ("role_fixture", "code", "owner"),
    [
        ("nurse", "pre_site_mark", "surgeon"),
        ("anaesthetist", "post_vte", "nurse"),
        ("therapist", "pre_hba1c", "anaesthetist"),
        ("coordinator", "post_vte", "nurse"),
        ("surgeon", "post_idt_review", "coordinator"),
        ("admin", "post_vte", "nurse"),
        ("admin", "pre_site_mark", "surgeon"),
    ],
)
def test_wrong_role_raises_not_permitted(request, session, episode, role_fixture, code, owner):
    actor = request.getfixturevalue(role_fixture)
    item = factories.item(episode, code)
    for attempt in (
        lambda: checklist.mark_done(session, actor, item, 1, value="7"),
        lambda: checklist.mark_not_applicable(session, actor, item, 1, "No"),
        lambda: checklist.add_note(session, actor, item, 1, "Hi"),
    ):
        with pytest.raises(NotPermitted) as caught:
            attempt()
        assert str(caught.value) == f"Only the {owner} responsible can change this item."
    assert_untouched(item)
    assert count(ItemNote) == 0


def test_inactive_user_may_not_work_their_own_items(session, episode, nurse):
    nurse.active = False
    session.commit()
    with pytest.raises(NotPermitted):
        checklist.mark_done(session, nurse, factories.item(episode, "post_vte"), 1)


@pytest.mark.parametrize("code", ["post_vte", "pre_hba1c", "intra_sign_in"])
def test_surgeon_may_work_other_clinical_roles_items(session, episode, surgeon, code):
    item = factories.item(episode, code)
    checklist.mark_done(session, surgeon, item, 1, value="7")
    session.commit()
    assert reloaded(item).completed_by_id == surgeon.id


def test_coordinator_works_coordinator_items(session, episode, coordinator):
    item = factories.item(episode, "pre_comp_litigation")
    checklist.mark_done(session, coordinator, item, 1, value="no")
    session.commit()
    assert reloaded(item).value == "no"


def test_outcome_items_are_not_ticked(session, episode, coordinator):
    item = factories.item(episode, "pre_baseline_prom")
    with pytest.raises(ServiceError, match="completed by recording the baseline outcome scores"):
        checklist.mark_done(session, coordinator, item, 1, value="42")


def test_permission_is_checked_before_the_version(session, episode, nurse, therapist):
    item = factories.item(episode, "post_vte")
    with pytest.raises(NotPermitted):
        checklist.mark_not_applicable(session, therapist, item, 99, "No")


# conflicts


def test_stale_expected_version_raises_conflict_naming_who_changed_it(session, episode, nurse, surgeon):
    item = factories.item(episode, "post_vte")
    checklist.mark_done(session, nurse, item, 1)
    session.commit()
    with pytest.raises(Conflict) as caught:
        checklist.reopen(session, surgeon, item, 1, "I disagree")
    conflict = caught.value
    assert conflict.by == "Nina Nurse"
    assert conflict.at == NOW
    assert conflict.what == "“VTE prophylaxis in place (mechanical ± pharmacological pe…”"
    assert str(conflict) == f"{conflict.what} was changed by someone else — review and try again."
    session.rollback()
    fresh = reloaded(item)
    assert (fresh.status, fresh.version, fresh.updated_by_id) == (ItemStatus.DONE, 2, nurse.id)
    assert [e.action for e in item_events(item)] == ["item.done"]


def test_conflict_before_anyone_changed_the_item_names_someone_else(session, episode, nurse):
    item = factories.item(episode, "post_vte")
    with pytest.raises(Conflict) as caught:
        checklist.mark_done(session, nurse, item, 0)
    assert caught.value.by == "someone else"
    assert_untouched(item)


def test_every_change_extends_an_intact_audit_chain(session, episode, nurse, anaesthetist):
    vte = factories.item(episode, "post_vte")
    hba1c = factories.item(episode, "pre_hba1c")
    checklist.mark_done(session, nurse, vte, 1, note="ok")
    checklist.mark_not_applicable(session, anaesthetist, hba1c, 1, "Not diabetic")
    session.commit()
    checklist.reopen(session, nurse, vte, 2, "Mistake")
    session.commit()
    assert audit.verify_chain(session) == []


# real concurrency: two sessions, one row


def test_concurrent_change_in_another_session_is_a_conflict_and_first_change_survives(
    app, episode, nurse, surgeon
):
    item_id = factories.item(episode, "post_vte").id
    db.session.rollback()  # no read transaction left open in the app's session
    first, item_1, nurse_1 = load_in_new_session(ChecklistItem, item_id, nurse.id)
    second, item_2, surgeon_2 = load_in_new_session(ChecklistItem, item_id, surgeon.id)
    try:
        assert item_1.version == item_2.version == 1
        with db.write_unit():
            checklist.mark_done(first, nurse_1, item_1, 1)
            first.commit()

        with db.write_unit():
            try:
                # The item in memory still says version 1; read again under the episode's lock,
                # it shows the first change, and the refusal names who made it and when.
                with pytest.raises(Conflict) as caught:
                    checklist.mark_not_applicable(second, surgeon_2, item_2, 1, "Not needed")
            finally:
                second.rollback()
        assert (caught.value.by, caught.value.at) == (nurse.full_name, NOW)
    finally:
        first.close()
        second.close()

    factories.fresh_read()
    fresh = db.session.get(ChecklistItem, item_id)
    assert fresh.status is ItemStatus.DONE
    assert fresh.version == 2
    assert fresh.completed_by_id == nurse.id
    assert fresh.reason is None
    actions = db.session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.target_type == "checklist_item", AuditEvent.target_id == item_id
        )
    ).all()
    assert actions == ["item.done"]
    assert audit.verify_chain(db.session) == []
    db.session.rollback()


def test_concurrent_change_in_second_session_raises_stale_data_at_commit(app, episode, nurse):
    item_id = factories.item(episode, "post_vte").id
    db.session.rollback()
    first, item_1, _ = load_in_new_session(ChecklistItem, item_id, nurse.id)
    second, item_2, _ = load_in_new_session(ChecklistItem, item_id, nurse.id)
    try:
        with db.write_unit():
            item_1.value = "first"
            first.commit()
        with db.write_unit():
            item_2.value = "second"
            try:
                with pytest.raises(StaleDataError):
                    second.commit()
            finally:
                second.rollback()
    finally:
        first.close()
        second.close()
    factories.fresh_read()
    fresh = db.session.get(ChecklistItem, item_id)
    assert (fresh.value, fresh.version) == ("first", 2)
    db.session.rollback()


# completed_on: the site's local day of completion


@pytest.fixture
def site_zone(session):
    """Set the time zone of the site the test's session works for."""

    def set_zone(zone: str) -> None:
        session.info["site"] = replace(db.site_of(session), zone=zone)

    return set_zone


def test_mark_done_records_the_local_day_of_completion(session, episode, nurse):
    item = factories.item(episode, "post_vte")
    assert reloaded(item).completed_on is None
    checklist.mark_done(session, nurse, item, 1)
    session.commit()
    assert reloaded(item).completed_on == date(2026, 6, 17)


def test_mark_not_applicable_records_the_local_day_of_completion(session, episode, anaesthetist):
    item = factories.item(episode, "pre_hba1c")
    checklist.mark_not_applicable(session, anaesthetist, item, 1, "Not diabetic")
    session.commit()
    assert reloaded(item).completed_on == date(2026, 6, 17)


def test_complete_by_records_records_the_local_day_of_completion(session, episode, therapist):
    item = factories.item(episode, "post_pt_adherence")
    assert checklist.complete_by_records(session, therapist, item, "6 of 6", "6 PT sessions") is True
    session.commit()
    fresh = reloaded(item)
    assert (fresh.status, fresh.completed_on, fresh.completed_at) == (ItemStatus.DONE, date(2026, 6, 17), NOW)


def test_recording_baseline_scores_dates_the_baseline_item(session, episode, coordinator):
    outcomes.record_scores(
        session, coordinator, episode, TimePoint.BASELINE, date(2026, 6, 17), 40, 6, 7, date(2026, 6, 17)
    )
    session.commit()
    fresh = reloaded(factories.item(episode, "pre_baseline_prom"))
    assert (fresh.status, fresh.completed_on) == (ItemStatus.DONE, date(2026, 6, 17))


def test_complete_by_records_leaves_the_day_of_an_item_already_done(session, episode, nurse, therapist):
    item = factories.item(episode, "post_vte")
    checklist.mark_done(session, nurse, item, 1)
    session.commit()
    clock.set_now(datetime(2026, 6, 19, 9, 0, tzinfo=UTC))
    assert checklist.complete_by_records(session, therapist, item, None, "records") is False
    session.commit()
    assert reloaded(item).completed_on == date(2026, 6, 17)


@pytest.mark.parametrize(("code", "role_fixture"), [("post_vte", "nurse"), ("pre_hba1c", "anaesthetist")])
def test_reopen_clears_the_day_of_completion(request, session, episode, code, role_fixture):
    actor = request.getfixturevalue(role_fixture)
    item = factories.item(episode, code)
    if code == "post_vte":
        checklist.mark_done(session, actor, item, 1)
    else:
        checklist.mark_not_applicable(session, actor, item, 1, "Not diabetic")
    session.commit()
    checklist.reopen(session, actor, item, 2, "Entered on the wrong patient")
    session.commit()
    assert reloaded(item).completed_on is None


def test_item_done_again_after_reopening_gets_the_new_day(session, episode, nurse):
    item = factories.item(episode, "post_vte")
    checklist.mark_done(session, nurse, item, 1)
    session.commit()
    checklist.reopen(session, nurse, item, 2, "Not yet in place")
    session.commit()
    clock.set_now(datetime(2026, 6, 20, 8, 0, tzinfo=UTC))
    checklist.mark_done(session, nurse, item, 3)
    session.commit()
    assert reloaded(item).completed_on == date(2026, 6, 20)


@pytest.mark.parametrize(
    ("zone", "moment", "day"),
    [
        ("Asia/Tokyo", datetime(2026, 6, 17, 20, 0, tzinfo=UTC), date(2026, 6, 18)),
        ("Asia/Tokyo", datetime(2026, 6, 17, 14, 59, tzinfo=UTC), date(2026, 6, 17)),
        ("Asia/Tokyo", datetime(2026, 6, 17, 15, 0, tzinfo=UTC), date(2026, 6, 18)),
        ("America/Los_Angeles", datetime(2026, 6, 18, 3, 0, tzinfo=UTC), date(2026, 6, 17)),
        ("UTC", datetime(2026, 6, 17, 23, 59, tzinfo=UTC), date(2026, 6, 17)),
    ],
)
def test_completion_day_is_the_day_in_the_site_time_zone(
    session, episode, nurse, site_zone, zone, moment, day
):
    site_zone(zone)
    clock.set_now(moment)
    item = factories.item(episode, "post_vte")
    checklist.mark_done(session, nurse, item, 1)
    session.commit()
    fresh = reloaded(item)
    assert fresh.completed_at == moment
    assert fresh.completed_on == day


@pytest.mark.parametrize("action", ["not_applicable", "records"])
def test_every_completion_dates_by_the_site_time_zone(session, episode, anaesthetist, site_zone, action):
    site_zone("Asia/Tokyo")
    clock.set_now(datetime(2026, 6, 17, 20, 0, tzinfo=UTC))
    item = factories.item(episode, "pre_hba1c")
    if action == "not_applicable":
        checklist.mark_not_applicable(session, anaesthetist, item, 1, "Not diabetic")
    else:
        checklist.complete_by_records(session, anaesthetist, item, None, "records")
    session.commit()
    assert reloaded(item).completed_on == date(2026, 6, 18)
