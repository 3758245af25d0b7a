"""Input Periop cannot use gets a clear message and changes nothing; never a 500.

These are the cases a review found answering 500; tests/web/test_fuzz.py closes the class.
"""

import pytest
from sqlalchemy import func, select

from app import db
from app.domain.text import CONTROL_MESSAGE
from app.models import AuditEvent, Patient
from tests import compliance_versions
from tests.conftest import login
from tests.web.patients.test_patients import _register_data


def _count(model) -> int:
    count = db.session.scalar(select(func.count()).select_from(model))
    db.session.remove()
    return count


@pytest.mark.parametrize("field", ["mrn", "family_name", "given_name", "procedure", "levels"])
def test_a_nul_in_any_text_of_the_register_form_is_named_next_to_it(
    client, coordinator, surgeon, protocol, field
):
    login(client, coordinator)
    events = _count(AuditEvent)
    response = client.form_post("/patients/new", _register_data(surgeon, protocol, **{field: "Ann\x00a"}))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert CONTROL_MESSAGE in page
    assert f'id="{field}"' in page and "is-invalid" in page
    assert (_count(Patient), _count(AuditEvent)) == (0, events)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0001-01-01", "Enter a date from 1900 to 2199."),
        ("9999-12-31", "Enter a date from 1900 to 2199."),
        ("２０２６-０７-０１", "Enter a date as YYYY-MM-DD."),
        ("2032-01-01", "Check the surgery date: enter a date within 5 years of today"),
    ],
)
def test_an_implausible_surgery_date_is_refused_with_a_message(
    client, coordinator, surgeon, protocol, typed, message
):
    login(client, coordinator)
    response = client.form_post("/patients/new", _register_data(surgeon, protocol, surgery_date=typed))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count(Patient) == 0


def test_a_date_of_birth_before_1900_is_refused_with_a_message(client, coordinator, surgeon, protocol):
    login(client, coordinator)
    response = client.form_post(
        "/patients/new", _register_data(surgeon, protocol, date_of_birth="1899-12-31")
    )
    assert response.status_code == 422
    assert "Enter a date from 1900 to 2199." in response.get_data(as_text=True)
    assert _count(Patient) == 0


def test_a_request_body_over_one_mib_is_answered_413_with_a_page(client, nurse):
    response = client.post("/login", data={"username": "nurse", "password": "x" * (1100 * 1024)})
    assert response.status_code == 413
    assert "What you sent is too large." in response.get_data(as_text=True)


def test_a_body_over_one_mib_from_a_logged_in_user_is_a_413_too(client, nurse, episode):
    login(client, nurse)
    item = episode.items[0]
    response = client.form_post(f"/episodes/{episode.id}/items/{item.id}/note", {"note": "x" * (1100 * 1024)})
    assert response.status_code == 413
    assert "What you sent is too large." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query", ["end=0001-01", "end=9999-12", "start=0001-01&end=0001-12", "end=２０２６-０１"]
)
def test_an_implausible_compliance_month_is_named_not_a_500(client, coordinator, query):
    login(client, coordinator)
    for path in ("/dashboard/compliance", "/dashboard/compliance.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code in (200, 400)
        page = response.get_data(as_text=True)
        assert "Enter a month" in page


@pytest.mark.parametrize(
    "version",
    ["abc", "99999999999999999999", "2147483648", "-1", "1e3", "1%00", "%EF%BC%91%EF%BC%91", "draft"],
)
def test_a_protocol_version_the_compliance_report_cannot_use_is_named_not_a_500(
    client, coordinator, episode, version
):
    if version == "draft":
        version = str(compliance_versions.add_draft().id)
    login(client, coordinator)
    page = client.get(f"/dashboard/compliance?version={version}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Choose a protocol version from the list." in text
    assert "· all protocol versions</h2>" in text  # the report, unfiltered
    csv_response = client.get(f"/dashboard/compliance.csv?version={version}")
    assert csv_response.status_code == 400
    assert "Choose a protocol version from the list." in csv_response.get_data(as_text=True)


def test_a_nul_in_the_patient_search_is_named_and_nothing_listed(client, coordinator, episode):
    login(client, coordinator)
    response = client.get("/patients?q=Doe%00")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert CONTROL_MESSAGE in page and "Correct the search above to see the list." in page
    assert episode.patient.mrn not in page


@pytest.mark.parametrize("ident", ["99999999999999999999", "2147483648", "１"])
def test_an_id_no_record_can_have_is_not_found(client, coordinator, ident):
    login(client, coordinator)
    assert client.get(f"/episodes/{ident}").status_code == 404
    assert client.get(f"/patients/{ident}").status_code == 404
