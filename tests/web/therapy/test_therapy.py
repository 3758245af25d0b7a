"""Logging and correcting therapy sessions through the pages; bad input; the Therapy panel."""

import re
from datetime import timedelta

import pytest
from flask import render_template
from sqlalchemy import func, select

from app import clock, db
from app.domain.vocab import ItemStatus, Role
from app.models import AuditEvent, ChecklistItem, OutcomeScore, SessionAddendum, TherapySession, User
from app.queries.episodes import episode_with_checklist
from app.queries.outcomes import episode_scores
from app.services.users import create_user
from app.web.panels.therapy import therapy_panel
from tests import factories
from tests.conftest import NOW, PASSWORD, login
from tests.querycount import counting_queries
from tests.web.test_permissions import snapshot

TODAY = NOW.date()
SURGERY = TODAY - timedelta(days=30)


@pytest.fixture
def operated(coordinator, surgeon, protocol):
    """An episode whose surgery was 30 days ago."""
    return factories.episode(coordinator, surgeon, protocol, surgery_date=SURGERY)


@pytest.fixture
def therapist2(app):
    with db.write_unit():
        user = create_user(db.session, None, "therapist2", "Olga Other", Role.THERAPIST, PASSWORD)
        db.session.commit()
    return user


def form(days_after_surgery: int = 0, **changes) -> dict:
    values = {
        "session_date": (SURGERY + timedelta(days=days_after_surgery)).isoformat(),
        "discipline": "PT",
        "minutes": "45",
        "attendance": "attended",
        "pain_before": "6",
        "pain_after": "4",
        "activities": "Bed mobility, walked 20 m with frame",
        "home_exercise_plan": "y",
    }
    return {k: v for k, v in {**values, **changes}.items() if v is not None}


def sessions() -> list[TherapySession]:
    db.session.rollback()
    db.session.expire_all()
    return list(db.session.scalars(select(TherapySession).order_by(TherapySession.id)))


def item_status(episode, code: str) -> ItemStatus:
    db.session.rollback()
    return db.session.scalar(
        select(ChecklistItem.status).where(ChecklistItem.id == factories.item(episode, code).id)
    )


def log(client, episode, **data):
    return client.form_post(f"/episodes/{episode.id}/sessions/new", form(**data))


# --- logging ---------------------------------------------------------------------------------


def test_log_session_page_offers_today_as_the_date(client, therapist, operated):
    login(client, therapist)
    page = client.get(f"/episodes/{operated.id}/sessions/new").get_data(as_text=True)
    assert '<h1 class="h3">Log session</h1>' in page
    assert f'value="{TODAY.isoformat()}"' in page
    assert "PT — Physical therapy" in page and "Cancelled by clinic" in page


def test_therapist_logs_a_session_and_the_pt_item_is_done(client, therapist, operated):
    login(client, therapist)
    response = log(client, operated)
    (logged,) = sessions()
    assert response.status_code == 302
    assert response.location.endswith(f"/episodes/{operated.id}#therapy")
    assert (logged.minutes, logged.pain_before, logged.pain_after, logged.home_exercise_plan) == (
        45,
        6,
        4,
        True,
    )
    assert logged.activities == "Bed mobility, walked 20 m with frame"
    assert logged.prehabilitation is False
    assert item_status(operated, "post_mobilise") is ItemStatus.DONE
    page = client.get(f"/episodes/{operated.id}").get_data(as_text=True)
    # The answer and the updated count sit at the top of the Therapy section the page scrolls to.
    therapy = page[page.index('<section class="mb-4" id="therapy"') :].split("</section>")[0]
    top = therapy[: therapy.index('id="pain-chart"')]
    assert "Session logged: PT session on 18 May 2026 — 12:00" in top
    assert "(1 of 1 PT sessions)." in top
    assert '<li data-count="post_mobilise">First mobilisation with PT: 1 of 1 (days 0–1) — done</li>' in top
    assert page.count("Session logged:") == 1  # not at the top of the page as well
    assert "Session logged:" not in client.get(f"/episodes/{operated.id}").get_data(as_text=True)  # once


REFUSED = [
    ({"days_after_surgery": 31}, "The session date cannot be in the future."),
    (
        {"days_after_surgery": -1},
        "The date is before surgery: only a prehabilitation session can be dated before surgery.",
    ),
    ({"session_date": "18/05/2026"}, "Enter a date as YYYY-MM-DD."),
    ({"minutes": "0"}, "Enter the minutes, from 1 to 600."),
    ({"minutes": "601"}, "Enter the minutes, from 1 to 600."),
    ({"minutes": "forty"}, "Enter the minutes, from 1 to 600."),
    ({"minutes": None}, "An attended session needs its minutes: enter 1 to 600."),
    ({"pain_before": "11"}, "Enter a pain score from 0 to 10, or leave it blank."),
    ({"pain_after": "-1"}, "Enter a pain score from 0 to 10, or leave it blank."),
    ({"discipline": "XX"}, "Choose PT or OT."),
    ({"attendance": "late"}, "Choose attended, missed, cancelled by patient or cancelled by clinic."),
    ({"activities": "x" * 2001}, "Keep what was done to 2000 characters."),
]


@pytest.mark.parametrize(("data", "message"), REFUSED, ids=[m for _, m in REFUSED])
def test_bad_input_is_refused_with_a_clear_message_and_changes_nothing(
    client, therapist, operated, data, message
):
    login(client, therapist)
    before = snapshot()
    response = log(client, operated, **data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    if "activities" not in data:
        assert "Bed mobility, walked 20 m with frame" in page  # what was typed is kept
    assert snapshot() == before


@pytest.mark.parametrize("attendance", ["missed", "cancelled_by_patient", "cancelled_by_clinic"])
def test_a_missed_or_cancelled_session_may_leave_the_minutes_blank(client, therapist, operated, attendance):
    login(client, therapist)
    page = client.get(f"/episodes/{operated.id}/sessions/new").get_data(as_text=True)
    assert "Leave blank for a missed or cancelled session." in page

    response = log(client, operated, minutes="", attendance=attendance)

    assert response.status_code == 302
    (logged,) = sessions()
    assert (logged.minutes, logged.attendance.value) == (None, attendance)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "session.logged"))
    assert event.after["minutes"] is None
    row = client.get(f"/episodes/{operated.id}").get_data(as_text=True).split(f'id="session-{logged.id}"')[1]
    assert " min</span>" not in row.split("</li>")[0]


def test_minutes_given_for_a_missed_session_are_still_checked(client, therapist, operated):
    login(client, therapist)
    before = snapshot()
    response = log(client, operated, minutes="0", attendance="missed")
    assert response.status_code == 422
    assert "Enter the minutes, from 1 to 600." in response.get_data(as_text=True)
    assert snapshot() == before


def test_the_minutes_of_an_attended_session_are_asked_for_next_to_the_field(client, therapist, operated):
    login(client, therapist)
    page = log(client, operated, minutes="").get_data(as_text=True)
    field = page[page.index('for="minutes"') :].split('<div class="mb-3')[0]
    assert 'class="form-control is-invalid"' in field
    assert "An attended session needs its minutes: enter 1 to 600." in field
    assert sessions() == []


def test_prehabilitation_session_may_be_dated_before_surgery(client, therapist, operated):
    login(client, therapist)
    assert log(client, operated, days_after_surgery=-30, prehabilitation="y").status_code == 302
    assert item_status(operated, "pre_prehab") is ItemStatus.DONE


def test_logging_on_an_unknown_episode_is_not_found(client, therapist):
    login(client, therapist)
    assert client.get("/episodes/999999/sessions/new").status_code == 404


# --- correcting ----------------------------------------------------------------------------


def edit_url(episode, session) -> str:
    return f"/episodes/{episode.id}/sessions/{session.id}/edit"


def test_therapist_corrects_own_session_and_the_change_is_audited(client, therapist, operated):
    login(client, therapist)
    log(client, operated, attendance="missed")
    (logged,) = sessions()
    page = client.get(edit_url(operated, logged)).get_data(as_text=True)
    assert '<h1 class="h3">Correct session</h1>' in page
    assert 'value="missed" selected' in page or 'selected value="missed"' in page

    response = client.form_post(edit_url(operated, logged), form(version="1", minutes="50"))

    assert response.status_code == 302
    (fresh,) = sessions()
    assert (fresh.minutes, fresh.attendance.value, fresh.version) == (50, "attended", 2)
    assert item_status(operated, "post_mobilise") is ItemStatus.DONE
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "session.corrected"))
    assert event.before == {"minutes": 45, "attendance": "missed"}
    assert "Session corrected: PT session on 18 May 2026" in client.get(f"/episodes/{operated.id}").get_data(
        as_text=True
    )


def test_a_correction_to_missed_may_clear_the_minutes(client, therapist, operated):
    login(client, therapist)
    log(client, operated)
    (logged,) = sessions()
    missed = form(version="1", minutes="", attendance="missed")
    response = client.form_post(edit_url(operated, logged), missed)
    assert response.status_code == 302 and response.location.endswith(f"/episodes/{operated.id}#therapy")
    (fresh,) = sessions()
    assert (fresh.minutes, fresh.attendance.value) == (None, "missed")


def test_correction_after_24_hours_is_refused_and_changes_nothing(client, therapist, operated):
    login(client, therapist)
    log(client, operated)
    (logged,) = sessions()
    clock.set_now(NOW + timedelta(hours=25))
    client.form_post("/logout")
    login(client, therapist)  # the login session has timed out meanwhile
    message = "A session can be corrected for 24 hours after it is logged; add an addendum instead."
    page = client.get(edit_url(operated, logged)).get_data(as_text=True)
    assert message in page
    assert 'name="minutes"' not in page
    assert 'name="text"' in page  # the addendum form instead
    before = snapshot()
    response = client.form_post(edit_url(operated, logged), form(version="1", minutes="50"))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert snapshot() == before


def test_another_therapist_cannot_correct_a_session(client, therapist, therapist2, operated):
    login(client, therapist)
    log(client, operated)
    (logged,) = sessions()
    client.form_post("/logout")
    login(client, therapist2)
    before = snapshot()
    response = client.form_post(edit_url(operated, logged), form(version="1", minutes="50"))
    assert response.status_code == 422
    assert "Only the therapist who logged a session can correct it" in response.get_data(as_text=True)
    assert snapshot() == before


def test_correcting_with_bad_input_changes_nothing(client, therapist, operated):
    login(client, therapist)
    log(client, operated)
    (logged,) = sessions()
    before = snapshot()
    response = client.form_post(edit_url(operated, logged), form(version="1", pain_after="11"))
    assert response.status_code == 422
    assert "Enter a pain score from 0 to 10, or leave it blank." in response.get_data(as_text=True)
    assert snapshot() == before


@pytest.mark.parametrize("version", [None, "", "abc"])
def test_tampered_version_is_a_broken_form(client, therapist, operated, version):
    login(client, therapist)
    log(client, operated)
    (logged,) = sessions()
    before = snapshot()
    data = form(minutes="50")
    if version is not None:
        data["version"] = version
    assert client.form_post(edit_url(operated, logged), data).status_code == 400
    assert snapshot() == before


def test_stale_version_is_a_conflict_naming_who_changed_it(client, therapist, operated):
    login(client, therapist)
    log(client, operated)
    (logged,) = sessions()
    client.form_post(edit_url(operated, logged), form(version="1", minutes="50"))
    before = snapshot()
    response = client.form_post(edit_url(operated, logged), form(version="1", minutes="55"))
    assert response.status_code == 409
    assert "This session was changed by Theo Therapist at 17 Jun 2026 12:00 UTC — review and try again." in (
        response.get_data(as_text=True)
    )
    assert snapshot() == before


def test_session_of_another_episode_is_not_found(client, therapist, operated, coordinator, surgeon, protocol):
    other = factories.episode(coordinator, surgeon, protocol, surgery_date=SURGERY, family_name="Other")
    login(client, therapist)
    log(client, other)
    (foreign,) = sessions()
    before = snapshot()
    assert client.get(edit_url(operated, foreign)).status_code == 404
    assert client.form_post(edit_url(operated, foreign), form(version="1", minutes="50")).status_code == 404
    url = f"/episodes/{operated.id}/sessions/{foreign.id}/addendum"
    assert client.form_post(url, {"text": "Wrong patient"}).status_code == 404
    assert snapshot() == before


# --- addenda -------------------------------------------------------------------------------


def test_addendum_is_added_and_shown(client, therapist, operated):
    login(client, therapist)
    log(client, operated)
    (logged,) = sessions()
    response = client.form_post(
        f"/episodes/{operated.id}/sessions/{logged.id}/addendum", {"text": "Patient dizzy afterwards."}
    )
    assert response.status_code == 302
    assert response.location.endswith(f"#session-{logged.id}")
    assert [a.text for a in db.session.scalars(select(SessionAddendum))] == ["Patient dizzy afterwards."]
    page = client.get(f"/episodes/{operated.id}").get_data(as_text=True)
    assert "Addendum added to the PT session on 18 May 2026 — 12:00 UTC." in page


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter the addendum text."),
        ("  ", "Enter the addendum text."),
        ("x" * 2001, "Keep the addendum to 2000 characters."),
    ],
)
def test_bad_addendum_is_refused_and_changes_nothing(client, therapist, operated, text, message):
    login(client, therapist)
    log(client, operated)
    (logged,) = sessions()
    before = snapshot()
    response = client.form_post(
        f"/episodes/{operated.id}/sessions/{logged.id}/addendum", {"text": text}, follow_redirects=True
    )
    assert message in response.get_data(as_text=True)
    assert snapshot() == before


# --- the panel -----------------------------------------------------------------------------


def _add_sessions(client, episode, n: int) -> None:
    for i in range(n):
        log(client, episode, days_after_surgery=i + 1, pain_before=str(7 - i % 3), pain_after=str(5 - i % 3))


def _panel_html(app, episode_id: int, user) -> tuple[str, int]:
    with app.test_request_context("/"):
        episode = episode_with_checklist(db.session, episode_id)  # as the episode page has it
        with counting_queries(db.session.get_bind()) as queries:
            panel = therapy_panel(episode, episode_scores(db.session, episode_id), user, TODAY)
        html = render_template("therapy/_panel.html", therapy=panel)
        db.session.remove()
    return html, len(queries)


def test_panel_lists_sessions_newest_first_with_a_pain_chart(app, client, therapist, operated, coordinator):
    login(client, therapist)
    _add_sessions(client, operated, 3)
    with db.write_unit():
        db.session.add(
            OutcomeScore(
                episode_id=operated.id,
                time_point="6w",
                instrument="nrs_back",
                value=3,
                taken_on=SURGERY + timedelta(days=2),
                recorded_by_id=coordinator.id,
                recorded_at=NOW,
            )
        )
        db.session.commit()
    html, _ = _panel_html(app, operated.id, db.session.get(User, therapist.id))
    ids = [s.id for s in sessions()]
    positions = [html.index(f'id="session-{i}"') for i in reversed(ids)]
    assert positions == sorted(positions)  # newest first
    for key in ("pain_before", "pain_after", "nrs_back"):
        assert f'data-series="{key}"' in html
    assert 'data-series="nrs_leg"' not in html
    assert "NRS back pain (outcome): 3 on 20 May 2026" in html
    assert "Pain before session: 7 on 19 May 2026" in html
    assert "Log session" in html and ">Correct</a>" in html


def test_panel_runs_a_fixed_number_of_queries(app, client, therapist, operated):
    login(client, therapist)
    user = db.session.get(User, therapist.id)
    _add_sessions(client, operated, 1)
    _, few = _panel_html(app, operated.id, user)
    _add_sessions(client, operated, 6)
    with db.write_unit():
        for s in db.session.scalars(select(TherapySession)):
            db.session.add(SessionAddendum(session=s, author_id=therapist.id, created_at=NOW, text="Note"))
        db.session.commit()
    _, many = _panel_html(app, operated.id, user)
    assert few == many == 2  # the scores (shared with the outcome panel), the sessions


def test_panel_for_a_non_therapist_offers_no_actions(app, client, therapist, nurse, operated):
    login(client, therapist)
    _add_sessions(client, operated, 1)
    html, _ = _panel_html(app, operated.id, db.session.get(User, nurse.id))
    assert "Log session" not in html and ">Correct</a>" not in html and "Add addendum" not in html


def test_panel_when_nothing_is_logged(app, therapist, operated):
    html, _ = _panel_html(app, operated.id, db.session.get(User, therapist.id))
    assert 'data-empty="sessions"' in html and 'data-empty="pain-chart"' in html
    assert "No therapy sessions logged yet — Log session." in html


def test_audit_count_moves_by_one_per_logged_session_plus_one_per_completed_item(client, therapist, operated):
    login(client, therapist)
    log(client, operated)
    db.session.rollback()
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(2)).all()
    assert sorted(actions) == ["item.satisfied", "session.logged"]
    assert db.session.scalar(select(func.count()).select_from(TherapySession)) == 1


# --- the therapist's caseload -----------------------------------------------------------------


def caseload_row(page: str, episode) -> str:
    table = page[page.index('id="caseload"') :]
    return table[table.index(f'data-episode="{episode.id}"') :].split("</tr>")[0]


def test_caseload_shows_sessions_against_plan_last_session_and_flag(client, therapist, operated):
    login(client, therapist)
    log(client, operated, days_after_surgery=0)
    log(client, operated, days_after_surgery=20)
    row = caseload_row(client.get("/").get_data(as_text=True), operated)
    # Each count says the item it is for: the sessions of days 0 and 20 count for none of the
    # open ones (first mobilisation, days 0-1, is done; outpatient PT counts from day 28).
    assert [c.strip() for c in re.findall(r"<li>([^<]*)</li>", row)] == [
        "OT session: 0 of 1 (days 0–2)",
        "Outpatient PT programme started: 0 of 1 (days 28–42)",
        "PT sessions logged against plan: 0 of 8 (days 28–120)",
    ]
    assert "Last session: 7 Jun 2026 (PT, attended)" in row
    assert f'href="/episodes/{operated.id}/sessions/new" data-log-session>Log session</a>' in row
    assert "Therapy behind plan" not in row

    log(client, operated, days_after_surgery=25, attendance="missed")
    log(client, operated, days_after_surgery=28, attendance="missed")
    row = caseload_row(client.get("/").get_data(as_text=True), operated)
    assert "Last session: 15 Jun 2026 (PT, missed)" in row
    assert "Therapy behind plan (2 PT sessions missed in a row)" in row


def test_caseload_sessions_column_has_a_heading(client, therapist, operated):
    login(client, therapist)
    page = client.get("/").get_data(as_text=True)
    head = page[page.index('id="caseload"') :].split("</thead>")[0]
    assert head.endswith("<th>Flags</th><th>Therapy sessions</th></tr>")


def test_log_session_from_the_caseload_returns_to_the_therapy_section_with_the_new_count(
    client, therapist, operated
):
    login(client, therapist)
    row = caseload_row(client.get("/").get_data(as_text=True), operated)
    link = re.search(r'href="([^"]+)" data-log-session>Log session</a>', row).group(1)
    assert client.get(link).status_code == 200

    response = client.form_post(link, form(days_after_surgery=29))

    assert response.status_code == 302 and response.location.endswith(f"/episodes/{operated.id}#therapy")
    page = client.get(response.location).get_data(as_text=True)
    top = page[page.index('id="therapy"') : page.index('id="pain-chart"')]
    assert "Session logged: PT session on 16 Jun 2026" in top
    assert "Outpatient PT programme started: 1 of 1 (days 28–42) — done" in top
    assert "PT sessions logged against plan: 1 of 8 (days 28–120)</li>" in top
    row = caseload_row(client.get("/").get_data(as_text=True), operated)
    assert "PT sessions logged against plan: 1 of 8 (days 28–120)" in row
    assert "Outpatient PT programme started" not in row  # done: no longer open


def test_caseload_leaves_out_episodes_before_surgery_and_without_open_sessions_steps(
    client, therapist, coordinator, surgeon, protocol, operated
):
    later = factories.episode(coordinator, surgeon, protocol, surgery_date=TODAY + timedelta(days=3))
    login(client, therapist)
    page = client.get("/").get_data(as_text=True)
    assert f'data-episode="{operated.id}"' in page
    assert f'data-episode="{later.id}"' not in page


def test_caseload_runs_a_fixed_number_of_queries(
    app, client, therapist, coordinator, surgeon, protocol, operated
):
    login(client, therapist)
    log(client, operated, days_after_surgery=1)
    client.get("/")
    with counting_queries(app.extensions["periop_engine"]) as few:
        client.get("/")
    for n in range(3):
        other = factories.episode(
            coordinator, surgeon, protocol, surgery_date=SURGERY + timedelta(days=n), family_name=f"More{n}"
        )
        log(client, other, days_after_surgery=2)
        log(client, other, days_after_surgery=3, discipline="OT")
    with counting_queries(app.extensions["periop_engine"]) as many:
        page = client.get("/").get_data(as_text=True)
    assert page.count("data-episode=") == 4
    assert len(many) == len(few)


def test_episode_page_offers_log_session_at_the_top_to_therapists_only(client, therapist, nurse, operated):
    login(client, therapist)
    page = client.get(f"/episodes/{operated.id}").get_data(as_text=True)
    top = page.index('data-log-session="top"')
    assert top < page.index('id="phase-bar"')  # in the header, before the checklist
    assert f'href="/episodes/{operated.id}/sessions/new" data-log-session="top">Log session</a>' in page
    client.form_post("/logout")
    login(client, nurse)
    assert 'data-log-session="top"' not in client.get(f"/episodes/{operated.id}").get_data(as_text=True)
