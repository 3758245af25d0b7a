"""Registering, listing, searching and editing patients and episodes through the web."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app import db
from app.domain.vocab import Procedure
from app.models import AuditEvent, ChecklistItem, Episode, Patient, ProtocolTemplate
from app.services import protocols
from tests import factories
from tests.conftest import login
from tests.querycount import counting_queries


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _register_data(surgeon, protocol, **overrides) -> dict:
    data = {
        "mrn": "ab12345",
        "family_name": "Kowalski",
        "given_name": "Anna",
        "date_of_birth": "1971-04-02",
        "sex": "female",
        "procedure": "L4-L5 microdiscectomy",
        "levels": "L4-L5",
        "procedure_type": "discectomy",
        "surgeon_id": str(surgeon.id),
        "surgery_date": "2026-07-01",
        "protocol_version_id": str(protocol.id),
    }
    data.update(overrides)
    return data


def test_coordinator_registers_patient_with_first_episode_and_checklist(
    client, coordinator, surgeon, protocol
):
    login(client, coordinator)
    response = client.form_post("/patients/new", _register_data(surgeon, protocol))
    assert response.status_code == 302
    patient = db.session.scalar(select(Patient))
    assert patient.mrn == "AB12345"
    episode = db.session.scalar(select(Episode))
    assert response.location.endswith(f"/episodes/{episode.id}")
    assert episode.surgeon_id == surgeon.id and episode.surgery_date == date(2026, 7, 1)
    items = db.session.scalars(select(ChecklistItem)).all()
    assert len(items) == 45
    consent = next(i for i in items if i.step.code == "pre_education_consent")
    assert consent.due_date == date(2026, 6, 24)
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.patient_id == patient.id)).all()
    assert actions == ["patient.create", "episode.create"]


def test_registration_without_surgery_date_is_unscheduled(client, surgeon, protocol):
    login(client, surgeon)
    client.form_post("/patients/new", _register_data(surgeon, protocol, surgery_date=""))
    episode = db.session.scalar(select(Episode))
    assert episode.surgery_date is None
    page = client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    assert "Not yet scheduled" in page
    assert "Unscheduled" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mrn", "", "This field is required."),
        ("mrn", "AB-12 345", "An MRN is 4 to 20 letters and digits"),
        ("mrn", "X" * 21, "Field cannot be longer than 20 characters."),
        ("family_name", "", "This field is required."),
        ("family_name", "x" * 101, "Field cannot be longer than 100 characters."),
        ("date_of_birth", "02/04/1971", "Enter a date as YYYY-MM-DD."),
        ("date_of_birth", "2030-01-01", "The date of birth cannot be in the future."),
        ("date_of_birth", "", "Enter a date as YYYY-MM-DD."),
        ("sex", "robot", "Not a valid choice."),
        ("surgery_date", "next week", "Enter a date as YYYY-MM-DD."),
        ("surgeon_id", "", "Choose a surgeon."),
        ("surgeon_id", "abc", "Choose a surgeon."),
        ("procedure", "", "This field is required."),
        ("protocol_version_id", "999", "Not a valid choice."),
    ],
)
def test_bad_registration_input_is_refused_with_a_message(
    client, coordinator, surgeon, protocol, field, value, message
):
    login(client, coordinator)
    response = client.form_post("/patients/new", _register_data(surgeon, protocol, **{field: value}))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert _count(Patient) == 0 and _count(ChecklistItem) == 0
    # What the user typed is kept.
    assert "Kowalski" in page or field == "family_name"


def test_surgeon_must_have_the_surgeon_role(client, coordinator, surgeon, nurse, protocol):
    login(client, coordinator)
    response = client.form_post("/patients/new", _register_data(surgeon, protocol, surgeon_id=str(nurse.id)))
    assert response.status_code == 422
    assert _count(Patient) == 0


def test_duplicate_mrn_is_refused_and_nothing_changes(client, coordinator, surgeon, protocol):
    factories.episode(coordinator, surgeon, protocol, mrn="AB12345")
    login(client, coordinator)
    events = _count(AuditEvent)
    response = client.form_post("/patients/new", _register_data(surgeon, protocol, mrn=" ab12345 "))
    assert response.status_code == 422
    assert "A patient with MRN AB12345 is already registered." in response.get_data(as_text=True)
    assert _count(Patient) == 1 and _count(AuditEvent) == events


# the protocol for the procedure type


def _cervical():
    return protocols.latest_version(db.session, "cervical-acdf")


def _options(page: str) -> list[tuple[str, str, bool]]:
    """The Protocol select's options: (value, label, selected)."""
    select_ = page[page.index('name="protocol_version_id"') :].split("</select>")[0]
    return [
        (value, label, "selected" in attributes)
        for attributes, value, label in re.findall(
            r'<option([^>]*?)value="([^"]*)"[^>]*>([^<]*)</option>', select_
        )
    ]


def test_the_protocol_select_proposes_the_protocol_for_the_procedure_type_and_says_which_that_is(
    client, coordinator, protocol
):
    login(client, coordinator)
    page = client.get("/patients/new").get_data(as_text=True)
    cervical = _cervical()
    assert _options(page) == [
        ("0", "The protocol for the procedure type", True),
        (str(cervical.id), "Cervical spine surgery (ACDF) (version 1)", False),
        (str(protocol.id), "Lumbar spine surgery — FBSS prevention (version 1)", False),
    ]
    assert (
        'id="protocol_version_id-help">The protocol for the procedure type: Lumbar spine surgery — FBSS '
        "prevention for Discectomy, Decompression, Fusion, Other; Cervical spine surgery (ACDF) for "
        "ACDF (cervical).<"
    ) in page


@pytest.mark.parametrize(
    ("procedure_type", "slug", "items"),
    [("acdf", "cervical-acdf", 49), ("fusion", "lumbar-fbss", 45), ("discectomy", "lumbar-fbss", 45)],
)
def test_a_registration_left_on_the_protocol_for_the_procedure_type_gets_the_one_meant_for_it(
    client, coordinator, surgeon, protocol, procedure_type, slug, items
):
    login(client, coordinator)
    data = _register_data(surgeon, protocol, procedure_type=procedure_type, protocol_version_id="0")
    response = client.form_post("/patients/new", data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    episode = db.session.scalar(select(Episode))
    assert episode.protocol_version.template.slug == slug
    assert episode.protocol_version_id == protocols.latest_version(db.session, slug).id
    assert _count(ChecklistItem) == items


def test_a_blank_protocol_choice_is_the_protocol_for_the_procedure_type(
    client, coordinator, surgeon, protocol
):
    login(client, coordinator)
    data = _register_data(surgeon, protocol, procedure_type="acdf", protocol_version_id="")
    assert client.form_post("/patients/new", data).status_code == 302
    assert db.session.scalar(select(Episode)).protocol_version_id == _cervical().id


def test_a_protocol_chosen_explicitly_wins_over_the_one_for_the_procedure_type(
    client, coordinator, surgeon, protocol
):
    login(client, coordinator)
    response = client.form_post("/patients/new", _register_data(surgeon, protocol, procedure_type="acdf"))
    assert response.status_code == 302
    episode = db.session.scalar(select(Episode))
    assert episode.procedure_type is Procedure.ACDF and episode.protocol_version_id == protocol.id


def test_no_protocol_meant_for_the_procedure_type_is_said_next_to_the_field_and_nothing_is_saved(
    client, coordinator, surgeon, protocol
):
    with db.write_unit():
        template = db.session.get(ProtocolTemplate, protocol.template_id)
        template.procedure_types = ["discectomy", "decompression", "fusion"]
        db.session.commit()
    login(client, coordinator)
    events = _count(AuditEvent)
    data = _register_data(surgeon, protocol, procedure_type="other", protocol_version_id="0")
    response = client.form_post("/patients/new", data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    field = page[page.index('name="protocol_version_id"') :].split('class="form-text"')[0]
    assert "No protocol is meant for Other: choose one." in field
    assert "none for Other (choose one)" in page  # the help says so before anyone tries
    assert _count(Patient) == 0 and _count(AuditEvent) == events
    assert "Kowalski" in page  # what the user typed is kept


def test_a_new_episode_gets_the_protocol_for_its_procedure_type_unless_one_is_chosen(
    client, surgeon, episode, protocol
):
    login(client, surgeon)
    data = {
        "procedure": "C5-C6 anterior cervical discectomy and fusion",
        "levels": "C5-C6",
        "procedure_type": "acdf",
        "surgeon_id": str(surgeon.id),
        "surgery_date": "",
    }
    page = client.get(f"/patients/{episode.patient_id}/episodes/new").get_data(as_text=True)
    assert _options(page)[0] == ("0", "The protocol for the procedure type", True)
    first = client.form_post(
        f"/patients/{episode.patient_id}/episodes/new", {**data, "protocol_version_id": "0"}
    )
    chosen = {**data, "procedure": "C6-C7 ACDF", "protocol_version_id": str(protocol.id)}
    second = client.form_post(f"/patients/{episode.patient_id}/episodes/new", chosen)
    assert first.status_code == second.status_code == 302
    new = db.session.scalars(select(Episode).where(Episode.id != episode.id).order_by(Episode.id)).all()
    assert [e.protocol_version_id for e in new] == [_cervical().id, protocol.id]


def test_patient_list_searches_by_name_and_mrn(client, coordinator, surgeon, protocol):
    factories.episode(coordinator, surgeon, protocol, family_name="Okafor", mrn="MRN77777")
    factories.episode(coordinator, surgeon, protocol, family_name="Lindqvist", mrn="MRN88888")
    login(client, coordinator)
    assert "OKAFOR" in client.get("/patients").get_data(as_text=True)
    by_name = client.get("/patients?q=lindq").get_data(as_text=True)
    assert "LINDQVIST" in by_name and "OKAFOR" not in by_name
    by_mrn = client.get("/patients?q=77777").get_data(as_text=True)
    assert "OKAFOR" in by_mrn and "LINDQVIST" not in by_mrn
    assert "No patient matches" in client.get("/patients?q=nobody").get_data(as_text=True)


def test_patient_list_flags_patients_with_overdue_post_op_steps(client, coordinator, surgeon, protocol):
    late = factories.episode(
        coordinator,
        surgeon,
        protocol,
        family_name="Late",
        surgery_date=date(2026, 6, 17) - timedelta(days=20),
    )
    factories.episode(coordinator, surgeon, protocol, family_name="Ontime", surgery_date=date(2026, 6, 30))
    login(client, coordinator)
    page = client.get("/patients").get_data(as_text=True)
    late_row = page[page.index('data-mrn="' + late.patient.mrn) :].split("</tr>")[0]
    # Overdue required after-items 20 days after surgery: recovery review, neuro checks, pain,
    # VTE, voiding, mobilisation (sessions), discharge instructions, wound check (due day 14,
    # overdue after its 3 days' grace).
    assert "Incomplete post-op steps (8 overdue)" in late_row
    ontime_row = page[page.index("ONTIME") :].split("</tr>")[0]
    assert "Incomplete post-op steps" not in ontime_row
    assert "Before surgery: 0/13" in ontime_row and "After surgery: 0/15" in ontime_row
    assert "data-flag-count>1<" in page


def test_patient_list_runs_a_fixed_number_of_queries(client, coordinator, surgeon, protocol, app):
    login(client, coordinator)
    engine = app.extensions["periop_engine"]

    def count_queries() -> int:
        with counting_queries(engine) as statements:
            assert client.get("/patients").status_code == 200
        return len(statements)

    factories.episode(coordinator, surgeon, protocol)
    few = count_queries()
    for _ in range(10):
        factories.episode(coordinator, surgeon, protocol)
    assert count_queries() == few


def test_edit_patient_saves_and_audits(client, coordinator, episode):
    login(client, coordinator)
    patient = episode.patient
    response = client.form_post(
        f"/patients/{patient.id}/edit",
        {
            "mrn": patient.mrn,
            "family_name": "Doe-Smith",
            "given_name": "Jane",
            "date_of_birth": "1970-01-01",
            "sex": "female",
            "version": str(patient.version),
        },
    )
    assert response.status_code == 302
    factories.fresh_read()
    assert db.session.get(Patient, patient.id).family_name == "Doe-Smith"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.update"))
    assert event.before == {"family_name": "Doe"} and event.after == {"family_name": "Doe-Smith"}


def test_edit_patient_with_a_stale_version_changes_nothing(client, coordinator, episode):
    login(client, coordinator)
    patient = episode.patient
    response = client.form_post(
        f"/patients/{patient.id}/edit",
        {
            "mrn": patient.mrn,
            "family_name": "Other",
            "given_name": "Jane",
            "date_of_birth": "1970-01-01",
            "sex": "female",
            "version": str(patient.version - 1),
        },
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.get_data(as_text=True)
    factories.fresh_read()
    assert db.session.get(Patient, patient.id).family_name == "Doe"


def test_rescheduling_surgery_moves_every_due_date(client, surgeon, episode):
    login(client, surgeon)
    response = client.form_post(
        f"/episodes/{episode.id}/edit",
        {
            "procedure": episode.procedure,
            "levels": episode.levels,
            "procedure_type": episode.procedure_type.value,
            "surgeon_id": str(surgeon.id),
            "surgery_date": "2026-07-17",
            "version": str(episode.version),
        },
    )
    assert response.status_code == 302
    factories.fresh_read()
    items = db.session.scalars(select(ChecklistItem).where(ChecklistItem.episode_id == episode.id)).all()
    assert all(i.due_date == date(2026, 7, 17) + timedelta(days=i.step.due_offset_days) for i in items)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "episode.update"))
    assert "45 due dates recomputed" in event.summary
    assert event.before == {"surgery_date": "2026-06-17"} and event.after == {"surgery_date": "2026-07-17"}


def test_clearing_the_surgery_date_unschedules_every_item(client, surgeon, episode):
    login(client, surgeon)
    client.form_post(
        f"/episodes/{episode.id}/edit",
        {
            "procedure": episode.procedure,
            "levels": episode.levels,
            "procedure_type": episode.procedure_type.value,
            "surgeon_id": str(surgeon.id),
            "surgery_date": "",
            "version": str(episode.version),
        },
    )
    factories.fresh_read()
    dues = db.session.scalars(
        select(ChecklistItem.due_date).where(ChecklistItem.episode_id == episode.id)
    ).all()
    assert set(dues) == {None}


def test_a_patient_can_have_a_second_episode(client, surgeon, episode, protocol):
    login(client, surgeon)
    response = client.form_post(
        f"/patients/{episode.patient_id}/episodes/new",
        {
            "procedure": "L4-L5 revision decompression",
            "levels": "L4-L5",
            "procedure_type": "discectomy",
            "surgeon_id": str(surgeon.id),
            "surgery_date": "",
            "protocol_version_id": str(protocol.id),
        },
    )
    assert response.status_code == 302
    assert _count(Episode) == 2
    page = client.get(f"/patients/{episode.patient_id}").get_data(as_text=True)
    assert "L4-L5 revision decompression" in page and "L4-L5 microdiscectomy" in page


def test_unknown_patient_and_episode_are_404(client, coordinator):
    login(client, coordinator)
    assert client.get("/patients/9999").status_code == 404
    assert client.get("/episodes/9999").status_code == 404
    assert client.get("/episodes/9999/edit").status_code == 404


def test_history_names_the_surgeons_of_a_surgeon_change(client, surgeon, surgeon2, episode):
    login(client, surgeon)
    client.form_post(
        f"/episodes/{episode.id}/edit",
        {
            "procedure": episode.procedure,
            "levels": episode.levels,
            "procedure_type": episode.procedure_type.value,
            "surgeon_id": str(surgeon2.id),
            "surgery_date": episode.surgery_date.isoformat(),
            "version": str(episode.version),
        },
    )
    page = client.get(f"/episodes/{episode.id}/history").get_data(as_text=True)
    change = page[page.index('data-action="episode.update"') :].split("</tr>")[0]
    assert "Dr Sara Surgeon" in change and "Dr Tom Second" in change
    assert f"→ {surgeon2.id}<" not in change and f"{surgeon.id} →" not in change
