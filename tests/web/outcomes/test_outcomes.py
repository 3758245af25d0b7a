"""The outcome-scores page: recording, correcting, bad input, who may record, the linked items."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app import db
from app.domain.site import SiteDay
from app.domain.vocab import Instrument, ItemStatus, Role, TimePoint
from app.models import AuditEvent, ChecklistItem, Episode, OutcomeScore
from tests import factories
from tests.conftest import login
from tests.querycount import counting_queries

SURGERY = date(2026, 4, 1)
BASELINE = {"time_point": "baseline", "taken_on": "2026-03-20", "odi": "40", "nrs_back": "6", "nrs_leg": "7"}
NOT_IMPROVING_6W = {
    "time_point": "6w",
    "taken_on": "2026-05-13",
    "odi": "36",
    "nrs_back": "5",
    "nrs_leg": "6",
}


@pytest.fixture
def operated(app, coordinator, surgeon, protocol):
    """An episode operated on 1 Apr 2026 (today is 17 Jun 2026)."""
    return factories.episode(coordinator, surgeon, protocol, surgery_date=SURGERY)


def url(episode) -> str:
    return f"/episodes/{episode.id}/outcomes"


def post(client, episode, data: dict, version: str = "0"):
    return client.form_post(url(episode), {"version": version, **data})


def scores(episode_id: int) -> dict:
    db.session.rollback()
    rows = db.session.scalars(select(OutcomeScore).where(OutcomeScore.episode_id == episode_id))
    return {(r.time_point, r.instrument): r.value for r in rows}


def item(episode, code: str) -> ChecklistItem:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(ChecklistItem, factories.item(episode, code).id)


def audit_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def row_of(page: str, item_id: int) -> str:
    return page[page.index(f'id="item-{item_id}"') :].split("</li>")[0]


def version_in(page: str) -> str:
    start = page.index('id="version"')
    tag = page[page.rindex("<input", 0, start) : page.index(">", start)]
    return tag.split('value="')[1].split('"')[0]


# recording and the table


def test_coordinator_records_baseline_and_sees_it_in_the_table(client, coordinator, operated):
    login(client, coordinator)
    response = post(client, operated, BASELINE)
    assert response.status_code == 302 and response.location.endswith(url(operated))
    assert scores(operated.id)[(TimePoint.BASELINE, Instrument.ODI)] == 40
    page = client.get(url(operated)).get_data(as_text=True)
    assert "Recorded: Baseline outcome scores — the protocol item is done." in page
    assert 'data-time-point="baseline"' in page and "20 Mar 2026" in page and "Cora Coordinator" in page


def test_the_table_shows_the_change_from_baseline_in_points_and_per_cent(client, coordinator, operated):
    login(client, coordinator)
    post(client, operated, BASELINE)
    post(client, operated, {**NOT_IMPROVING_6W, "odi": "20", "nrs_back": "3", "nrs_leg": "2"})
    page = client.get(url(operated)).get_data(as_text=True)
    six_weeks = page[page.index('data-time-point="6w"') :].split("</tr>")[0]
    assert '<td data-change="odi">−20 (−50%)</td>' in six_weeks
    assert '<td data-change="nrs_back">−3 (−50%)</td>' in six_weeks
    assert '<td data-change="nrs_leg">−5 (−71%)</td>' in six_weeks
    assert "Not improving" not in page


def test_the_linked_item_is_done_by_the_recorder_and_offers_no_mark_done(client, coordinator, operated):
    prom = factories.item(operated, "pre_baseline_prom")
    login(client, coordinator)
    before = client.get(f"/episodes/{operated.id}").get_data(as_text=True)
    assert "Mark done" not in row_of(before, prom.id)

    post(client, operated, BASELINE)

    page = client.get(f"/episodes/{operated.id}").get_data(as_text=True)
    row = row_of(page, prom.id)
    assert 'data-state="done"' in row
    assert "Done by Cora Coordinator on 17 Jun 2026 12:00 UTC · ODI: <strong>40 points</strong>" in row
    assert "Mark done" not in row


def test_ticking_an_outcome_item_by_hand_is_refused(client, coordinator, operated):
    prom = factories.item(operated, "pre_baseline_prom")
    login(client, coordinator)
    response = client.form_post(
        f"/episodes/{operated.id}/items/{prom.id}/done", {"version": "1", "value": "40"}
    )
    assert response.status_code == 422
    assert "completed by recording the baseline outcome scores" in response.get_data(as_text=True)
    assert item(operated, "pre_baseline_prom").status is ItemStatus.OPEN


def test_not_improving_flags_and_makes_the_review_required_with_the_reason(
    client, coordinator, surgeon, operated
):
    review = factories.item(operated, "post_idt_review")
    login(client, coordinator)
    post(client, operated, BASELINE)
    login(client, surgeon)
    response = post(client, operated, NOT_IMPROVING_6W)
    assert response.status_code == 302

    page = client.get(url(operated)).get_data(as_text=True)
    detail = "6 weeks: ODI 40 → 36, improved 4 points (10%), below 10 points and 30%"
    assert "now required: Interdisciplinary review (surgeon + PT + OT ± pain/psycho…" in page
    assert f"Not improving ({detail}" in page
    assert item(operated, "post_fu_6w").status is ItemStatus.DONE
    assert item(operated, "post_idt_review").required
    episode_page = client.get(f"/episodes/{operated.id}").get_data(as_text=True)
    row = row_of(episode_page, review.id)
    assert "Coordinator ·" in row and "Required since 17 Jun 2026" in row
    assert "(while “Not improving”, “Still on opioids at 3 months” or “12-month outcome” is raised" in row
    history = client.get(f"/episodes/{operated.id}/history").get_data(as_text=True)
    assert detail.replace("→", "&rarr;") in history or detail in history


def test_missing_baseline_shows_a_notice_and_no_flag(client, surgeon, operated):
    login(client, surgeon)
    post(client, operated, NOT_IMPROVING_6W)
    page = client.get(url(operated)).get_data(as_text=True)
    assert "Baseline missing" in page
    assert 'data-flag="not_improving"' not in page
    assert not item(operated, "post_idt_review").required


# correcting


def test_correcting_a_time_point_fills_the_form_and_saves_the_new_scores(client, coordinator, operated):
    login(client, coordinator)
    post(client, operated, BASELINE)
    form = client.get(f"{url(operated)}?time_point=baseline").get_data(as_text=True)
    assert "Correct scores" in form and 'value="40"' in form
    version = version_in(form)
    assert version != "0"

    response = post(client, operated, {**BASELINE, "odi": "44"}, version=version)

    assert response.status_code == 302
    assert scores(operated.id)[(TimePoint.BASELINE, Instrument.ODI)] == 44
    assert "Corrected: Baseline outcome scores" in client.get(url(operated)).get_data(as_text=True)
    assert item(operated, "pre_baseline_prom").value == "44"


def test_a_correction_from_an_out_of_date_form_is_a_conflict(client, coordinator, surgeon, operated):
    login(client, coordinator)
    post(client, operated, BASELINE)
    stale = version_in(client.get(f"{url(operated)}?time_point=baseline").get_data(as_text=True))
    post(client, operated, {**BASELINE, "odi": "44"}, version=stale)
    login(client, surgeon)

    response = post(client, operated, {**BASELINE, "odi": "50"}, version=stale)

    assert response.status_code == 409
    assert "were changed by Cora Coordinator" in response.get_data(as_text=True)
    assert scores(operated.id)[(TimePoint.BASELINE, Instrument.ODI)] == 44


def test_recording_over_scores_recorded_meanwhile_is_a_conflict(client, coordinator, operated):
    login(client, coordinator)
    post(client, operated, BASELINE)
    response = post(client, operated, {**BASELINE, "odi": "10"})  # the form said "none yet"
    assert response.status_code == 409
    assert scores(operated.id)[(TimePoint.BASELINE, Instrument.ODI)] == 40


# bad input


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"odi": "101"}, "Enter a whole number from 0 to 100."),
        ({"nrs_back": "11"}, "Enter a whole number from 0 to 10."),
        ({"nrs_leg": "-1"}, "Enter a whole number from 0 to 10."),
        ({"odi": "forty"}, "Enter a whole number from 0 to 100."),
        ({"nrs_leg": ""}, "Enter a whole number from 0 to 10."),
        ({"taken_on": "2026-06-18"}, "The date taken cannot be in the future."),
        ({"taken_on": "18/06/2026"}, "Enter a date as YYYY-MM-DD."),
        ({"taken_on": "2026-04-02"}, "Baseline scores must be dated between 1 Jan and 1 Apr 2026"),
        (
            {"time_point": "6w", "taken_on": "2026-03-31"},
            "6-week scores must be dated between 29 Apr and 3 Jun",
        ),
        ({"time_point": "13m"}, "Not a valid choice"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_saves_nothing(
    client, coordinator, operated, change, message
):
    login(client, coordinator)
    events = audit_count()
    response = post(client, operated, {**BASELINE, **change})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert scores(operated.id) == {} and audit_count() == events
    assert item(operated, "pre_baseline_prom").status is ItemStatus.OPEN


def test_the_form_keeps_what_was_typed(client, coordinator, operated):
    login(client, coordinator)
    page = post(client, operated, {**BASELINE, "odi": "140"}).get_data(as_text=True)
    assert 'value="140"' in page and 'value="2026-03-20"' in page


@pytest.mark.parametrize("version", ["abc", "", "1.5"])
def test_a_tampered_version_is_a_broken_form(client, coordinator, operated, version):
    login(client, coordinator)
    response = post(client, operated, BASELINE, version=version)
    assert response.status_code == 400
    assert scores(operated.id) == {}


def test_a_closed_episode_refuses_scores_and_hides_the_form(client, coordinator, operated):
    login(client, coordinator)
    close = client.get(f"/episodes/{operated.id}/close").get_data(as_text=True)
    version = close.split('name="version" type="hidden" value="')[1].split('"')[0]
    assert (
        client.form_post(
            f"/episodes/{operated.id}/close", {"version": version, "reason": "Moved"}
        ).status_code
        == 302
    )
    assert "Record scores" not in client.get(url(operated)).get_data(as_text=True)
    response = post(client, operated, BASELINE)
    assert response.status_code == 422
    assert "The episode is closed" in response.get_data(as_text=True)
    assert scores(operated.id) == {}


# who may record


@pytest.mark.parametrize("role", [Role.SURGEON, Role.COORDINATOR, Role.THERAPIST], ids=str)
def test_surgeons_coordinators_and_therapists_record(client, users, operated, role):
    login(client, users[role])
    assert "Record scores" in client.get(url(operated)).get_data(as_text=True)
    assert post(client, operated, BASELINE).status_code == 302
    assert len(scores(operated.id)) == 3


@pytest.mark.parametrize("role", [Role.NURSE, Role.ANAESTHETIST], ids=str)
def test_nurses_and_anaesthetists_see_the_scores_but_may_not_record(client, users, operated, role):
    login(client, users[role])
    page = client.get(url(operated))
    assert page.status_code == 200 and "Record scores" not in page.get_data(as_text=True)
    events = audit_count()
    assert post(client, operated, BASELINE).status_code == 403
    assert scores(operated.id) == {} and audit_count() == events


def test_admin_sees_no_scores(client, admin, operated):
    login(client, admin)
    assert client.get(url(operated)).status_code == 403
    assert post(client, operated, BASELINE).status_code == 403
    assert scores(operated.id) == {}


def test_an_unknown_episode_is_not_found(client, coordinator):
    login(client, coordinator)
    assert client.get("/episodes/999999/outcomes").status_code == 404


def test_the_page_runs_a_fixed_number_of_queries(app, client, coordinator, operated):
    login(client, coordinator)
    engine = app.extensions["periop_engine"]
    with counting_queries(engine) as few:
        client.get(url(operated))
    post(client, operated, BASELINE)
    post(client, operated, NOT_IMPROVING_6W)
    post(client, operated, {**NOT_IMPROVING_6W, "time_point": "3m", "taken_on": "2026-06-10"})
    with counting_queries(engine) as more:
        client.get(url(operated))
    assert len(more) == len(few)


def test_the_episode_panel_shows_the_scores_and_the_flag(app, client, coordinator, operated):
    from flask import render_template

    from app.queries.outcomes import episode_scores
    from app.web.panels.outcomes import outcome_panel

    login(client, coordinator)
    post(client, operated, BASELINE)
    post(client, operated, NOT_IMPROVING_6W)
    db.session.remove()
    with app.test_request_context():
        episode = db.session.get(Episode, operated.id)
        panel = outcome_panel(episode, episode_scores(db.session, episode.id), SiteDay(date(2026, 6, 17)))
        html = render_template("outcomes/_panel.html", panel=panel, episode=episode)
    assert 'data-flag="not_improving"' in html
    assert 'data-time-point="6w"' in html and "−4 (−10%)" in html
    assert f"/episodes/{operated.id}/outcomes" in html


# version 2: a baseline too low to judge, and the 12-month outcome


def test_a_baseline_too_low_to_judge_shows_a_notice_and_no_flag(app, client, coordinator, surgeon, operated):
    login(client, coordinator)
    post(client, operated, {**BASELINE, "odi": "19", "nrs_back": "2", "nrs_leg": "2"})
    post(client, operated, {**NOT_IMPROVING_6W, "odi": "19", "nrs_back": "2", "nrs_leg": "2"})
    page = client.get(url(operated)).get_data(as_text=True)
    assert 'id="outcome-notice">Baseline too low to judge improvement' in page
    assert "data-flag=" not in page[page.index("<main") :]
    assert not item(operated, "post_idt_review").required
    episode_page = client.get(f"/episodes/{operated.id}").get_data(as_text=True)
    panel = episode_page[episode_page.index('id="outcomes"') :].split("</section>")[0]
    assert "Baseline too low to judge improvement" in panel


def test_a_baseline_at_the_floors_is_judged(client, coordinator, operated):
    login(client, coordinator)
    post(client, operated, {**BASELINE, "odi": "20", "nrs_back": "2", "nrs_leg": "3"})
    post(client, operated, {**NOT_IMPROVING_6W, "odi": "20", "nrs_back": "2", "nrs_leg": "3"})
    page = client.get(url(operated)).get_data(as_text=True)
    assert "Baseline too low" not in page
    assert (
        "Not improving (6 weeks: ODI 20 → 20, improved 0 points (0%), below 10 points and 30%; "
        "NRS leg 3 → 3, improved 0 points (0%), below 2 points and 30%)"
    ) in page


@pytest.fixture
def a_year_ago(app, coordinator, surgeon, protocol):
    """An episode operated on 1 Jun 2025: its 12-month follow-up is due."""
    return factories.episode(coordinator, surgeon, protocol, surgery_date=date(2025, 6, 1))


def test_the_twelve_month_outcome_flags_and_makes_the_review_required(
    client, coordinator, surgeon, a_year_ago
):
    login(client, coordinator)
    post(client, a_year_ago, {**BASELINE, "taken_on": "2025-05-20", "odi": "78"})
    login(client, surgeon)
    response = post(
        client, a_year_ago, {**BASELINE, "time_point": "12m", "taken_on": "2026-06-01", "odi": "44"}
    )
    assert response.status_code == 302

    page = client.get(url(a_year_ago)).get_data(as_text=True)
    text = "12-month outcome: Failure (ODI 44 &gt; 31) despite improvement from 78"
    assert f"now required: Interdisciplinary review (surgeon + PT + OT ± pain/psycho… ({text})" in page
    assert f'data-flag="twelve_month_outcome"><span aria-hidden="true">&#9873;</span> {text}</span>' in page
    assert item(a_year_ago, "post_idt_review").required
    episode_page = client.get(f"/episodes/{a_year_ago.id}").get_data(as_text=True)
    assert text in episode_page[episode_page.index('id="episode-flags"') :].split("</div>")[0]


def test_the_episode_panel_shows_both_outcome_flags(app, client, coordinator, a_year_ago):
    from flask import render_template

    from app.queries.outcomes import episode_scores
    from app.web.panels.outcomes import outcome_panel

    login(client, coordinator)
    post(client, a_year_ago, {**BASELINE, "taken_on": "2025-05-20"})
    post(client, a_year_ago, {**BASELINE, "time_point": "6m", "taken_on": "2025-12-01", "odi": "38"})
    post(client, a_year_ago, {**BASELINE, "time_point": "12m", "taken_on": "2026-06-01", "odi": "41"})
    db.session.remove()
    with app.test_request_context():
        episode = db.session.get(Episode, a_year_ago.id)
        panel = outcome_panel(episode, episode_scores(db.session, episode.id), SiteDay(date(2026, 6, 17)))
        html = render_template("outcomes/_panel.html", panel=panel, episode=episode)
    assert [f.code for f in panel.flags] == ["not_improving", "twelve_month_outcome"]
    assert panel.notice is None
    assert "Not improving (6 months: ODI 40 → 38" in html.replace("&rarr;", "→")
    assert "12-month outcome: Worsening (ODI 41 &gt; 39)" in html
