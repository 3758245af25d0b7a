"""Outcome windows through the web: the scores form says the window next to the date; the
edit-episode form refuses a surgery date the records would not fit, with the list."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app import db
from app.models import AuditEvent, Episode, OutcomeScore
from tests import factories, windowed
from tests.conftest import login

SURGERY = date(2026, 3, 1)  # 6-week window 29 Mar to 3 May 2026; today is 17 Jun 2026
SIX_WEEKS = {"time_point": "6w", "taken_on": "2026-04-15", "odi": "30", "nrs_back": "4", "nrs_leg": "4"}


@pytest.fixture
def operated(app, coordinator, surgeon):
    version = windowed.publish(db.session)
    return factories.episode(coordinator, surgeon, version, surgery_date=SURGERY)


def audit_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def date_field(page: str) -> str:
    """The date taken's field, with its messages (up to the next field)."""
    start = page.index('for="taken_on"')
    return page[start : page.index('for="odi"', start)]


def test_a_date_outside_the_window_is_refused_next_to_the_date(client, coordinator, operated):
    login(client, coordinator)
    events = audit_count()
    response = client.form_post(
        f"/episodes/{operated.id}/outcomes", {"version": "0", **SIX_WEEKS, "taken_on": "2026-05-04"}
    )
    assert response.status_code == 422
    field = date_field(response.get_data(as_text=True))
    assert "invalid-feedback" in field
    assert "6-week scores must be dated between 29 Mar and 3 May 2026 (days 28–63 after surgery)." in field
    assert 'value="2026-05-04"' in field  # what was typed stays
    assert audit_count() == events
    assert db.session.scalar(select(func.count()).select_from(OutcomeScore)) == 0


def test_a_date_inside_the_window_is_recorded(client, coordinator, operated):
    login(client, coordinator)
    response = client.form_post(
        f"/episodes/{operated.id}/outcomes", {"version": "0", **SIX_WEEKS, "taken_on": "2026-05-03"}
    )
    assert response.status_code == 302


def edit(client, episode, surgery_date: str):
    return client.form_post(
        f"/episodes/{episode.id}/edit",
        {
            "procedure": episode.procedure,
            "levels": episode.levels,
            "procedure_type": episode.procedure_type.value,
            "surgeon_id": str(episode.surgeon_id),
            "surgery_date": surgery_date,
            "version": str(episode.version),
        },
    )


def test_moving_surgery_past_recorded_scores_is_refused_with_the_list(client, coordinator, operated):
    login(client, coordinator)
    assert (
        client.form_post(f"/episodes/{operated.id}/outcomes", {"version": "0", **SIX_WEEKS}).status_code
        == 302
    )
    events = audit_count()
    response = edit(client, operated, "2026-03-20")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    field = page[page.index('for="surgery_date"') :]
    assert "The surgery date cannot move to 20 Mar 2026 until these are corrected first" in field
    assert "the 6-week scores dated 15 Apr 2026" in field
    assert "between 17 Apr and 22 May 2026 (days 28–63 after surgery)" in field
    assert 'value="2026-03-20"' in page  # what was typed stays
    assert audit_count() == events
    factories.fresh_read()
    assert db.session.get(Episode, operated.id).surgery_date == SURGERY
