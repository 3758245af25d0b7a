"""Registering patients, opening episodes and rescheduling them."""

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app import db
from app.domain.vocab import EpisodeStatus, Phase, Sex
from app.models import AuditEvent, ChecklistItem, Episode, Patient
from app.services import checklist
from app.services.errors import Conflict, ServiceError
from app.services.patients import (
    EpisodeDetails,
    PatientDetails,
    open_episode,
    register_patient,
    update_episode,
    update_patient,
)
from tests import factories
from tests.factories import load_in_new_session

TODAY = factories.TODAY
SURGERY = date(2026, 7, 1)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def events(action: str | None = None) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return list(db.session.scalars(stmt))


def patient_details(mrn="MRN77001", dob=date(1965, 4, 2)) -> PatientDetails:
    return PatientDetails(mrn, "Smith", "Ann", dob, Sex.FEMALE)


def episode_details(surgeon, surgery_date: date | None = SURGERY) -> EpisodeDetails:
    return EpisodeDetails(" L4-L5 TLIF ", " L4-L5 ", surgeon.id, surgery_date)


def register(session, actor, surgeon, protocol, patient=None, surgery_date: date | None = SURGERY):
    return register_patient(
        session,
        actor,
        patient or patient_details(),
        episode_details(surgeon, surgery_date),
        protocol,
        TODAY,
    )


def snapshot() -> tuple[int, int, int, int]:
    return count(Patient), count(Episode), count(ChecklistItem), count(AuditEvent)


# register_patient


def test_register_creates_one_item_per_step_due_on_surgery_date_plus_offset(
    session, coordinator, surgeon, protocol
):
    episode = register(session, coordinator, surgeon, protocol)
    session.commit()
    items = session.scalars(select(ChecklistItem).where(ChecklistItem.episode_id == episode.id)).all()
    assert len(items) == 45
    for item in items:
        step = item.step
        assert item.due_date == SURGERY + timedelta(days=step.due_offset_days), step.code
        assert (item.phase, item.position, item.required, item.role) == (
            step.phase,
            step.position,
            step.required,
            step.role,
        )
        assert item.version == 1
        assert item.completed_by_id is None
    assert {i.status.value for i in items} == {"open"}
    assert sum(i.phase is Phase.BEFORE for i in items) == 16
    smoking = factories.item(episode, "pre_smoking")
    assert smoking.due_date == date(2026, 6, 3)
    assert factories.item(episode, "post_fu_12m").due_date == date(2027, 7, 1)


def test_register_stores_patient_and_episode_details(session, coordinator, surgeon, protocol):
    episode = register(session, coordinator, surgeon, protocol)
    session.commit()
    patient = session.get(Patient, episode.patient_id)
    assert (patient.mrn, patient.family_name, patient.given_name) == ("MRN77001", "Smith", "Ann")
    assert patient.date_of_birth == date(1965, 4, 2)
    assert (episode.procedure, episode.levels) == ("L4-L5 TLIF", "L4-L5")
    assert episode.surgeon_id == surgeon.id
    assert episode.protocol_version_id == protocol.id
    assert episode.status is EpisodeStatus.SCHEDULED
    assert episode.surgery_date == SURGERY


def test_register_writes_patient_and_episode_audit_events(session, coordinator, surgeon, protocol):
    before = count(AuditEvent)
    episode = register(session, coordinator, surgeon, protocol)
    session.commit()
    new = events()[before:]
    assert [e.action for e in new] == ["patient.create", "episode.create"]
    created, opened = new
    assert created.actor_id == coordinator.id
    assert created.summary == "Registered patient MRN77001"
    assert created.after["mrn"] == "MRN77001"
    assert created.after["date_of_birth"] == "1965-04-02"
    assert created.before is None
    assert opened.episode_id == episode.id
    assert opened.patient_id == episode.patient_id
    assert opened.summary == "Opened episode: L4-L5 TLIF (45 checklist items)"
    assert opened.after["surgery_date"] == "2026-07-01"
    assert opened.after["surgeon_id"] == surgeon.id


def test_unscheduled_surgery_leaves_every_due_date_empty(session, coordinator, surgeon, protocol):
    episode = register(session, coordinator, surgeon, protocol, surgery_date=None)
    session.commit()
    assert len(episode.items) == 45
    assert all(item.due_date is None for item in episode.items)
    assert episode.surgery_date is None


def test_duplicate_mrn_is_refused_and_nothing_is_added(session, coordinator, surgeon, protocol):
    register(session, coordinator, surgeon, protocol)
    session.commit()
    counts = snapshot()
    with pytest.raises(ServiceError) as caught:
        register(session, coordinator, surgeon, protocol, patient_details("MRN77001"))
    assert str(caught.value) == "A patient with MRN MRN77001 is already registered."
    assert snapshot() == counts


def test_duplicate_mrn_check_ignores_case_and_spaces(session, coordinator, surgeon, protocol):
    register(session, coordinator, surgeon, protocol)
    session.commit()
    with pytest.raises(ServiceError, match="already registered"):
        register(session, coordinator, surgeon, protocol, patient_details("  mrn77001 "))
    assert count(Patient) == 1


def test_mrn_is_normalised_to_upper_case(session, coordinator, surgeon, protocol):
    episode = register(session, coordinator, surgeon, protocol, patient_details(" ab12cd34 "))
    session.commit()
    assert session.get(Patient, episode.patient_id).mrn == "AB12CD34"


@pytest.mark.parametrize("mrn", ["AB1", "MRN 123", "MRN-123", "X" * 21, ""])
def test_malformed_mrn_is_refused(session, coordinator, surgeon, protocol, mrn):
    with pytest.raises(ServiceError) as caught:
        register(session, coordinator, surgeon, protocol, patient_details(mrn))
    assert str(caught.value) == "An MRN is 4 to 20 letters and digits, no spaces or symbols."
    assert count(Patient) == 0


def test_future_date_of_birth_is_refused(session, coordinator, surgeon, protocol):
    with pytest.raises(ServiceError) as caught:
        register(session, coordinator, surgeon, protocol, patient_details(dob=TODAY + timedelta(days=1)))
    assert str(caught.value) == "The date of birth cannot be in the future."
    assert snapshot()[:3] == (0, 0, 0)


def test_date_of_birth_today_is_accepted(session, coordinator, surgeon, protocol):
    episode = register(session, coordinator, surgeon, protocol, patient_details(dob=TODAY))
    assert episode.patient.date_of_birth == TODAY


def test_date_of_birth_before_1900_is_refused(session, coordinator, surgeon, protocol):
    with pytest.raises(ServiceError, match="enter a date from 1 Jan 1900"):
        register(session, coordinator, surgeon, protocol, patient_details(dob=date(1899, 12, 31)))
    assert snapshot()[:3] == (0, 0, 0)


def test_date_of_birth_on_1_january_1900_is_accepted(session, coordinator, surgeon, protocol):
    episode = register(session, coordinator, surgeon, protocol, patient_details(dob=date(1900, 1, 1)))
    assert episode.patient.date_of_birth == date(1900, 1, 1)


@pytest.mark.parametrize("surgery", [date(1, 1, 1), date(2021, 6, 16), date(2031, 6, 18), date(9999, 12, 31)])
def test_surgery_date_more_than_five_years_from_today_is_refused(
    session, coordinator, surgeon, protocol, surgery
):
    with pytest.raises(ServiceError, match="within 5 years of today"):
        register(session, coordinator, surgeon, protocol, surgery_date=surgery)
    assert snapshot()[:3] == (0, 0, 0)


@pytest.mark.parametrize("surgery", [date(2021, 6, 17), date(2031, 6, 17)])
def test_surgery_date_five_years_from_today_is_accepted(session, coordinator, surgeon, protocol, surgery):
    episode = register(session, coordinator, surgeon, protocol, surgery_date=surgery)
    assert episode.surgery_date == surgery


def test_rescheduling_beyond_five_years_is_refused(session, coordinator, episode):
    details = details_for(episode, date(2032, 1, 1))
    with pytest.raises(ServiceError, match="within 5 years of today"):
        update_episode(session, coordinator, episode, details, episode.version)


def test_non_surgeon_as_surgeon_is_refused_on_register(session, coordinator, nurse, protocol):
    with pytest.raises(ServiceError) as caught:
        register(session, coordinator, nurse, protocol)
    assert str(caught.value) == "Choose an active surgeon."
    session.rollback()
    assert snapshot()[:3] == (0, 0, 0)


def test_inactive_surgeon_is_refused(session, coordinator, surgeon, protocol):
    surgeon.active = False
    session.commit()
    with pytest.raises(ServiceError, match="Choose an active surgeon."):
        register(session, coordinator, surgeon, protocol)


def test_unknown_surgeon_id_is_refused(session, coordinator, protocol):
    details = EpisodeDetails("Decompression", "L3-L4", 9999, SURGERY)
    with pytest.raises(ServiceError, match="Choose an active surgeon."):
        register_patient(session, coordinator, patient_details(), details, protocol, TODAY)


def test_second_episode_for_same_patient_gets_its_own_items(session, coordinator, surgeon, protocol):
    first = register(session, coordinator, surgeon, protocol)
    second = open_episode(session, coordinator, first.patient, episode_details(surgeon, None), protocol)
    session.commit()
    assert second.id != first.id
    assert len(second.items) == 45
    assert {i.id for i in second.items}.isdisjoint({i.id for i in first.items})
    assert [e.id for e in first.patient.episodes] == [first.id, second.id]


# update_episode


def test_new_surgery_date_recomputes_every_due_date_with_one_audit_event(session, episode, coordinator):
    events_before = count(AuditEvent)
    new_date = date(2026, 8, 3)
    details = EpisodeDetails(episode.procedure, episode.levels, episode.surgeon_id, new_date)

    assert update_episode(session, coordinator, episode, details, episode.version) is True
    session.commit()

    session.expire_all()
    reloaded = session.get(Episode, episode.id)
    assert reloaded.surgery_date == new_date
    assert reloaded.version == 2
    for item in reloaded.items:
        assert item.due_date == new_date + timedelta(days=item.step.due_offset_days), item.step.code
    new = events()[events_before:]
    assert len(new) == 1
    (event,) = new
    assert event.action == "episode.update"
    assert event.actor_id == coordinator.id
    assert event.episode_id == episode.id
    assert event.before == {"surgery_date": "2026-06-17"}
    assert event.after == {"surgery_date": "2026-08-03"}
    assert event.summary == "Rescheduled surgery; 45 due dates recomputed (surgery_date)"


def test_unscheduling_surgery_clears_every_due_date(session, episode, coordinator):
    details = EpisodeDetails(episode.procedure, episode.levels, episode.surgeon_id, None)
    assert update_episode(session, coordinator, episode, details, episode.version)
    session.commit()
    session.expire_all()
    assert all(i.due_date is None for i in session.get(Episode, episode.id).items)
    (event,) = events("episode.update")
    assert event.before == {"surgery_date": "2026-06-17"}
    assert event.after == {"surgery_date": None}


def test_scheduling_an_unscheduled_episode_sets_due_dates(session, coordinator, surgeon, protocol):
    episode = factories.episode(coordinator, surgeon, protocol, surgery_date=None)
    details = EpisodeDetails(episode.procedure, episode.levels, surgeon.id, SURGERY)
    update_episode(session, coordinator, episode, details, episode.version)
    session.commit()
    assert factories.item(episode, "intra_time_out").due_date == SURGERY
    assert factories.item(episode, "pre_hba1c").due_date == date(2026, 6, 1)


def test_rescheduling_keeps_closed_items_closed(session, episode, coordinator, nurse):
    vte = factories.item(episode, "post_vte")
    checklist.mark_done(session, nurse, vte, vte.version)
    session.commit()
    details = EpisodeDetails(episode.procedure, episode.levels, episode.surgeon_id, SURGERY)
    update_episode(session, coordinator, episode, details, episode.version)
    session.commit()
    assert vte.status.value == "done"
    assert vte.due_date == SURGERY


def test_update_without_changes_returns_false_and_writes_nothing(session, episode, coordinator):
    before = count(AuditEvent)
    details = EpisodeDetails(episode.procedure, episode.levels, episode.surgeon_id, episode.surgery_date)
    assert update_episode(session, coordinator, episode, details, episode.version) is False
    session.commit()
    assert count(AuditEvent) == before
    assert session.get(Episode, episode.id).version == 1


def test_changing_only_the_procedure_leaves_due_dates(session, episode, coordinator):
    due = {i.id: i.due_date for i in episode.items}
    details = EpisodeDetails(
        "Revision decompression", episode.levels, episode.surgeon_id, episode.surgery_date
    )
    assert update_episode(session, coordinator, episode, details, episode.version)
    session.commit()
    assert {i.id: i.due_date for i in episode.items} == due
    (event,) = events("episode.update")
    assert event.summary == "Updated episode (procedure)"
    assert event.before == {"procedure": "L4-L5 microdiscectomy"}
    assert event.after == {"procedure": "Revision decompression"}


def test_changing_the_surgeon_to_another_surgeon_is_recorded(session, episode, coordinator, surgeon2):
    details = replace(
        EpisodeDetails(episode.procedure, episode.levels, episode.surgeon_id, episode.surgery_date),
        surgeon_id=surgeon2.id,
    )
    assert update_episode(session, coordinator, episode, details, episode.version)
    session.commit()
    assert session.get(Episode, episode.id).surgeon_id == surgeon2.id
    (event,) = events("episode.update")
    assert event.after == {"surgeon_id": surgeon2.id}


def test_stale_expected_version_raises_conflict_and_changes_nothing(session, episode, coordinator):
    due = {i.id: i.due_date for i in episode.items}
    audit_count = count(AuditEvent)
    details = EpisodeDetails("Other", episode.levels, episode.surgeon_id, date(2026, 9, 1))
    with pytest.raises(Conflict) as caught:
        update_episode(session, coordinator, episode, details, episode.version - 1)
    assert str(caught.value) == "This episode was changed by someone else — review and try again."
    session.rollback()
    session.expire_all()
    reloaded = session.get(Episode, episode.id)
    assert reloaded.surgery_date == TODAY
    assert reloaded.procedure == "L4-L5 microdiscectomy"
    assert reloaded.version == 1
    assert {i.id: i.due_date for i in reloaded.items} == due
    assert count(AuditEvent) == audit_count


def test_conflict_is_a_service_error(session, episode, coordinator):
    details = EpisodeDetails(episode.procedure, episode.levels, episode.surgeon_id, None)
    with pytest.raises(ServiceError):
        update_episode(session, coordinator, episode, details, episode.version + 1)


def test_non_surgeon_as_surgeon_is_refused_on_update(session, episode, coordinator, anaesthetist):
    details = EpisodeDetails(episode.procedure, episode.levels, anaesthetist.id, episode.surgery_date)
    with pytest.raises(ServiceError) as caught:
        update_episode(session, coordinator, episode, details, episode.version)
    assert str(caught.value) == "Choose an active surgeon."
    session.rollback()
    session.expire_all()
    assert session.get(Episode, episode.id).surgeon_id != anaesthetist.id
    assert events("episode.update") == []


# update_patient


def test_update_patient_records_only_the_changed_fields(session, episode, coordinator):
    patient = episode.patient
    details = PatientDetails(
        patient.mrn.lower(), "Roe", patient.given_name, patient.date_of_birth, patient.sex
    )
    assert update_patient(session, coordinator, patient, details, patient.version, TODAY)
    session.commit()
    assert patient.family_name == "Roe"
    assert patient.version == 2
    (event,) = events("patient.update")
    assert event.before == {"family_name": "Doe"}
    assert event.after == {"family_name": "Roe"}
    assert event.summary == f"Updated patient {patient.mrn}: family_name"


def test_update_patient_without_changes_returns_false(session, episode, coordinator):
    patient = episode.patient
    details = PatientDetails(
        patient.mrn, patient.family_name, patient.given_name, patient.date_of_birth, patient.sex
    )
    assert update_patient(session, coordinator, patient, details, patient.version, TODAY) is False
    assert events("patient.update") == []


def test_update_patient_refuses_another_patients_mrn(session, coordinator, surgeon, protocol):
    first = factories.episode(coordinator, surgeon, protocol, mrn="AAA1111")
    second = factories.episode(coordinator, surgeon, protocol, mrn="BBB2222")
    patient = second.patient
    details = PatientDetails(
        "aaa1111", patient.family_name, patient.given_name, patient.date_of_birth, patient.sex
    )
    with pytest.raises(ServiceError, match="A patient with MRN AAA1111 is already registered."):
        update_patient(session, coordinator, patient, details, patient.version, TODAY)
    assert first.patient.mrn == "AAA1111"


def test_update_patient_with_stale_version_raises_conflict(session, episode, coordinator):
    patient = episode.patient
    details = PatientDetails(patient.mrn, "Roe", patient.given_name, patient.date_of_birth, patient.sex)
    with pytest.raises(Conflict) as caught:
        update_patient(session, coordinator, patient, details, patient.version + 1, TODAY)
    assert str(caught.value) == "This patient was changed by someone else — review and try again."
    assert patient.family_name == "Doe"


# real concurrency: two sessions, one episode


def details_for(episode: Episode, surgery_date: date | None) -> EpisodeDetails:
    return EpisodeDetails(episode.procedure, episode.levels, episode.surgeon_id, surgery_date)


def test_concurrent_reschedules_the_second_is_a_conflict_and_the_first_survives(
    app, episode, coordinator, surgeon
):
    db.session.rollback()
    first, episode_1, coordinator_1 = load_in_new_session(Episode, episode.id, coordinator.id)
    second, episode_2, surgeon_2 = load_in_new_session(Episode, episode.id, surgeon.id)
    try:
        with db.write_unit():
            assert update_episode(first, coordinator_1, episode_1, details_for(episode_1, SURGERY), 1)
            first.commit()
        with db.write_unit():
            try:
                with pytest.raises(Conflict) as caught:
                    update_episode(second, surgeon_2, episode_2, details_for(episode_2, date(2026, 9, 1)), 1)
            finally:
                second.rollback()
        assert str(caught.value) == "This episode was changed by someone else — review and try again."
    finally:
        first.close()
        second.close()

    factories.fresh_read()
    fresh = db.session.get(Episode, episode.id)
    assert (fresh.surgery_date, fresh.version) == (SURGERY, 2)
    assert {i.due_date - timedelta(days=i.step.due_offset_days) for i in fresh.items} == {SURGERY}
    assert [e.actor_id for e in events("episode.update")] == [coordinator.id]
    db.session.rollback()


def test_reschedule_after_a_concurrent_tick_keeps_the_tick(app, episode, coordinator, nurse):
    item_id = factories.item(episode, "post_vte").id
    db.session.rollback()
    first, item_1, nurse_1 = load_in_new_session(ChecklistItem, item_id, nurse.id)
    second, episode_2, coordinator_2 = load_in_new_session(Episode, episode.id, coordinator.id)
    second.expire(episode_2, ["items"])  # the items are read when rescheduling, after the tick
    try:
        with db.write_unit():
            checklist.mark_done(first, nurse_1, item_1, 1)
            first.commit()
        with db.write_unit():
            assert update_episode(second, coordinator_2, episode_2, details_for(episode_2, SURGERY), 1)
            second.commit()
    finally:
        first.close()
        second.close()

    factories.fresh_read()
    fresh = db.session.get(ChecklistItem, item_id)
    assert fresh.status.value == "done"
    assert fresh.completed_by_id == nurse.id
    assert fresh.due_date == SURGERY
    assert fresh.version == 3
    db.session.rollback()


def test_reschedule_over_stale_items_is_a_conflict(app, episode, coordinator, nurse):
    item_id = factories.item(episode, "post_vte").id
    db.session.rollback()
    first, item_1, nurse_1 = load_in_new_session(ChecklistItem, item_id, nurse.id)
    second, episode_2, coordinator_2 = load_in_new_session(Episode, episode.id, coordinator.id)
    assert len(episode_2.items) == 45  # loaded now, at version 1
    second.commit()
    try:
        with db.write_unit():
            checklist.mark_done(first, nurse_1, item_1, 1)
            first.commit()
        with db.write_unit():
            try:
                with pytest.raises(Conflict):
                    update_episode(second, coordinator_2, episode_2, details_for(episode_2, SURGERY), 1)
            finally:
                second.rollback()
    finally:
        first.close()
        second.close()

    factories.fresh_read()
    assert db.session.get(Episode, episode.id).surgery_date == TODAY
    fresh = db.session.get(ChecklistItem, item_id)
    assert (fresh.status.value, fresh.due_date, fresh.version) == ("done", TODAY, 2)
    assert events("episode.update") == []
    db.session.rollback()


def test_concurrent_patient_edits_the_second_is_a_conflict(app, episode, coordinator, surgeon):
    db.session.rollback()
    first, patient_1, coordinator_1 = load_in_new_session(Patient, episode.patient_id, coordinator.id)
    second, patient_2, surgeon_2 = load_in_new_session(Patient, episode.patient_id, surgeon.id)

    def renamed(patient, family_name):
        return PatientDetails(
            patient.mrn, family_name, patient.given_name, patient.date_of_birth, patient.sex
        )

    try:
        with db.write_unit():
            update_patient(first, coordinator_1, patient_1, renamed(patient_1, "Roe"), 1, TODAY)
            first.commit()
        with db.write_unit():
            try:
                with pytest.raises(Conflict, match="This patient was changed by someone else"):
                    update_patient(second, surgeon_2, patient_2, renamed(patient_2, "Poe"), 1, TODAY)
            finally:
                second.rollback()
    finally:
        first.close()
        second.close()
    factories.fresh_read()
    assert db.session.get(Patient, episode.patient_id).family_name == "Roe"
    assert len(events("patient.update")) == 1
    db.session.rollback()
