"""The Record form offers the time point due next; recorded time points are changed with Correct; a
form sent for scores recorded meanwhile says so and shows them, and the next submit works."""

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from app import db
from app.domain.vocab import Instrument, TimePoint
from app.models import AuditEvent
from tests import factories
from tests.conftest import login
from tests.web.outcomes.test_outcomes import BASELINE, NOT_IMPROVING_6W, post, scores, url, version_in

SURGERY = date(2026, 4, 1)  # today, 17 Jun 2026, is day 77: the 3-month window (days 70-120) is open
THREE_MONTHS = {**NOT_IMPROVING_6W, "time_point": "3m", "taken_on": "2026-06-10"}


@pytest.fixture
def operated(app, coordinator, surgeon, protocol):
    return factories.episode(coordinator, surgeon, protocol, surgery_date=SURGERY)


def selected(page: str) -> str | None:
    """The time point the Record form's select starts on."""
    start = page.index('id="time_point"')
    select_tag = page[page.rindex("<select", 0, start) : page.index("</select>", start)]
    match = re.search(r'<option selected value="([^"]+)"', select_tag)
    return match.group(1) if match else None


def switch(client, user) -> None:
    """Log out, then in as another user (logging in while logged in changes nobody)."""
    client.form_post("/logout")
    login(client, user)


def record_section(page: str) -> str:
    return page[page.index('id="record"') :].split("</section>")[0]


def events(action: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def count_events() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


# the time point due next


def test_the_record_form_starts_on_baseline_while_it_is_missing(client, coordinator, operated):
    login(client, coordinator)
    assert selected(client.get(url(operated)).get_data(as_text=True)) == "baseline"


def test_with_baseline_and_6_weeks_recorded_the_record_form_starts_on_3_months(client, coordinator, operated):
    login(client, coordinator)
    post(client, operated, BASELINE)
    post(client, operated, NOT_IMPROVING_6W)
    page = client.get(url(operated)).get_data(as_text=True)
    assert selected(page) == "3m"
    section = record_section(page)
    assert "Record scores" in section and "Correct scores" not in section
    assert '<option value="baseline">Baseline — recorded</option>' in section
    assert '<option value="6w">6 weeks — recorded</option>' in section


def test_a_missed_6_weeks_does_not_hold_the_form_back_from_the_open_3_months(client, coordinator, operated):
    login(client, coordinator)
    post(client, operated, BASELINE)
    assert selected(client.get(url(operated)).get_data(as_text=True)) == "3m"


def test_a_time_point_asked_for_and_not_recorded_is_offered_for_recording(client, coordinator, operated):
    login(client, coordinator)
    page = client.get(f"{url(operated)}?time_point=6m").get_data(as_text=True)
    assert selected(page) == "6m" and version_in(page) == "0"


def test_the_page_says_recorded_scores_are_changed_with_correct(client, coordinator, operated):
    login(client, coordinator)
    post(client, operated, BASELINE)
    page = client.get(url(operated)).get_data(as_text=True)
    assert "Recording a time point again corrects" not in page
    assert "To change scores already recorded, use <strong>Correct</strong> on their row." in page
    assert f'href="{url(operated)}?time_point=baseline#record">Correct' in page


def test_with_every_time_point_recorded_there_is_nothing_to_record(client, coordinator, surgeon, protocol):
    a_year_ago = factories.episode(coordinator, surgeon, protocol, surgery_date=date(2025, 6, 1))
    login(client, coordinator)
    for time_point, taken_on in [
        ("baseline", "2025-05-20"),
        ("6w", "2025-07-13"),
        ("3m", "2025-09-01"),
        ("6m", "2025-12-01"),
        ("12m", "2026-06-01"),
    ]:
        response = post(client, a_year_ago, {**BASELINE, "time_point": time_point, "taken_on": taken_on})
        assert response.status_code == 302
    page = client.get(url(a_year_ago)).get_data(as_text=True)
    assert "Every time point is recorded. To change scores, use <strong>Correct</strong> on their row" in page
    assert 'name="odi"' not in page


def test_with_baseline_recorded_and_surgery_unscheduled_there_is_nothing_to_record(
    client, coordinator, surgeon, protocol
):
    unscheduled = factories.episode(coordinator, surgeon, protocol, surgery_date=None)
    login(client, coordinator)
    assert post(client, unscheduled, {**BASELINE, "taken_on": "2026-06-10"}).status_code == 302
    page = client.get(url(unscheduled)).get_data(as_text=True)
    assert "follow-up scores can be recorded once surgery is scheduled" in page
    assert 'name="odi"' not in page


# correcting


def test_correct_loads_the_time_point_its_scores_and_version_with_the_time_point_fixed(
    client, coordinator, operated
):
    login(client, coordinator)
    post(client, operated, BASELINE)
    post(client, operated, NOT_IMPROVING_6W)
    page = client.get(f"{url(operated)}?time_point=6w").get_data(as_text=True)
    section = record_section(page)
    assert "Correct scores — 6 weeks" in section and "Save correction</button>" in section
    assert '<input type="hidden" name="time_point" value="6w">' in section
    assert "<select" not in section  # the time point cannot be switched under the scores' version
    assert 'value="2026-05-13"' in section and 'value="36"' in section
    assert version_in(page) != "0"

    response = post(client, operated, {**NOT_IMPROVING_6W, "odi": "20"}, version=version_in(page))

    assert response.status_code == 302
    assert scores(operated.id)[(TimePoint.WEEKS_6, Instrument.ODI)] == 20
    (event,) = events("outcome.correct")
    assert event.before["odi"] == 36 and event.after["odi"] == 20


# conflicts that say what happened, and a form that works on the next submit


def test_recording_a_time_point_already_recorded_says_so_and_shows_the_recorded_scores(
    client, coordinator, surgeon, operated
):
    login(client, coordinator)
    post(client, operated, BASELINE)
    post(client, operated, NOT_IMPROVING_6W)
    switch(client, surgeon)
    before = count_events()

    typed = {**NOT_IMPROVING_6W, "odi": "30", "nrs_leg": "2"}
    response = post(client, operated, typed)  # from a form for "none yet"

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "The 6-week scores were already recorded by Cora Coordinator at 17 Jun 2026 12:00" in page
    assert "— shown below; correct them if needed." in page
    assert "changed by" not in page
    section = record_section(page)
    assert "Correct scores — 6 weeks" in section
    assert 'value="36"' in section and 'value="30"' not in section
    entered = "Not saved — you entered: 6 weeks, 13 May 2026, ODI 30, NRS back pain 5, NRS leg pain 2."
    assert entered in " ".join(section.split())
    assert scores(operated.id)[(TimePoint.WEEKS_6, Instrument.ODI)] == 36
    assert count_events() == before

    retry = post(client, operated, typed, version=version_in(page))

    assert retry.status_code == 302
    assert scores(operated.id)[(TimePoint.WEEKS_6, Instrument.ODI)] == 30
    assert scores(operated.id)[(TimePoint.WEEKS_6, Instrument.NRS_LEG)] == 2
    assert "Corrected: 6 weeks outcome scores" in client.get(url(operated)).get_data(as_text=True)
    (event,) = events("outcome.correct")
    assert event.actor_name == "Dr Sara Surgeon" and (event.before["odi"], event.after["odi"]) == (36, 30)


def test_a_correction_from_a_stale_form_says_who_changed_the_scores_and_the_next_submit_works(
    client, coordinator, surgeon, operated
):
    login(client, coordinator)
    post(client, operated, BASELINE)
    stale = version_in(client.get(f"{url(operated)}?time_point=baseline").get_data(as_text=True))
    post(client, operated, {**BASELINE, "odi": "44"}, version=stale)
    switch(client, surgeon)

    response = post(client, operated, {**BASELINE, "odi": "50"}, version=stale)

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "The baseline scores were changed by Cora Coordinator at 17 Jun 2026 12:00" in page
    assert "— shown below; correct them if needed." in page
    assert 'value="44"' in record_section(page)
    assert "ODI 50" in record_section(page)  # what the surgeon typed, not saved
    assert version_in(page) != stale

    assert post(client, operated, {**BASELINE, "odi": "50"}, version=version_in(page)).status_code == 302
    assert scores(operated.id)[(TimePoint.BASELINE, Instrument.ODI)] == 50
