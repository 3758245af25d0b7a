"""The episode's summary for printing: the patient and episode in a header repeated on every page,
each item with its state, who did it and when, its value or reason, sign-offs, safety alerts,
sessions and scores; who printed it and when at the foot of every page; and no form or button.
Printing discloses the record: each print is an audit event, as an export is."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import db
from app.domain.therapy import SessionInput
from app.domain.vocab import Phase, Role
from app.models import AuditEvent, User
from app.queries.episodes import episode_with_checklist
from app.services import checklist, therapy
from tests.conftest import NOW, login

TODAY = NOW.date()
PLAN = "Level re-checked on a second image: L4-L5 confirmed"
NA_REASON = "Single level, no deformity: not indicated"
NOTE = "Swab and instrument counts correct"


def _change(episode_id: int, code: str, actor, call) -> None:
    """Change one item of the episode through the services, as `actor`."""
    with db.write_unit():
        episode = episode_with_checklist(db.session, episode_id)
        item = next(i for i in episode.items if i.step.code == code)
        call(db.session, db.session.get(User, actor.id), item)
        db.session.commit()
    db.session.remove()


def printed_episode(world, users):
    """An episode 30 days after surgery with most of what a summary shows: Before surgery done and
    signed off; During surgery with an acknowledged safety alert, an item not applicable and a
    note; After surgery with a safety alert waiting; a therapy session and baseline scores."""
    surgeon, nurse = users[Role.SURGEON], users[Role.NURSE]
    episode = world.episode(-30, complete=(Phase.BEFORE,), sign=True)
    _change(
        episode.id, "intra_level_xray", surgeon, lambda s, a, i: checklist.mark_done(s, a, i, i.version, "no")
    )
    _change(
        episode.id,
        "intra_level_xray",
        surgeon,
        lambda s, a, i: checklist.acknowledge_alert(s, a, i, i.version, PLAN),
    )
    _change(
        episode.id,
        "intra_ionm",
        surgeon,
        lambda s, a, i: checklist.mark_not_applicable(s, a, i, i.version, NA_REASON),
    )
    _change(episode.id, "intra_sign_in", nurse, lambda s, a, i: checklist.mark_done(s, a, i, i.version))
    _change(episode.id, "intra_sign_in", nurse, lambda s, a, i: checklist.add_note(s, a, i, i.version, NOTE))
    _change(
        episode.id, "post_neuro_obs", nurse, lambda s, a, i: checklist.mark_done(s, a, i, i.version, "yes")
    )
    entry = SessionInput(TODAY - timedelta(days=29), "PT", 40, "attended", 6, 4, "Gait training", True, False)
    with db.write_unit():
        loaded = episode_with_checklist(db.session, episode.id)
        therapy.log_session(db.session, db.session.get(User, users[Role.THERAPIST].id), loaded, entry, TODAY)
        db.session.commit()
    db.session.remove()
    return episode


def print_summary(client, episode):
    return client.form_post(f"/episodes/{episode.id}/summary")


def _part(page: str, start: str, end: str) -> str:
    return page[page.index(start) :].split(end)[0]


def _row(page: str, code: str) -> str:
    """An item's row of the summary, its tags taken out and its spaces folded."""
    row = _part(page, f'data-code="{code}"', "</tr>")
    return " ".join(re.sub(r"<[^>]+>", " ", row).split())


@pytest.fixture
def episode_to_print(world, users):
    return printed_episode(world, users)


def test_summary_header_names_the_patient_and_the_episode(client, surgeon, episode_to_print):
    login(client, surgeon)

    response = print_summary(client, episode_to_print)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    head = _part(page, "<thead>", "</thead>")  # the sheet's header: repeated on every printed page
    patient = episode_to_print.patient
    assert f"{patient.display_name}</strong>" in head
    assert f"MRN <strong data-mrn>{patient.mrn}</strong>" in head
    assert "Born <span data-born>1 Jan 1970</span>" in head
    assert "L4-L5 microdiscectomy" in head
    assert "Levels <span data-levels>L4-L5</span>" in head
    assert "Surgeon <span data-surgeon>Dr Sara Surgeon</span>" in head
    assert f"Surgery <span data-surgery>{(TODAY - timedelta(days=30)).strftime('%-d %b %Y')}</span>" in head


def test_summary_footer_says_who_printed_it_and_when(client, nurse, episode_to_print):
    login(client, nurse)

    page = print_summary(client, episode_to_print).get_data(as_text=True)

    foot = _part(page, "<tfoot>", "</tfoot>")  # repeated at the foot of every printed page
    assert "Printed by Nina Nurse (Nurse) on 17 Jun 2026 12:00 UTC" in foot


def test_printing_is_recorded_in_the_audit_trail_and_shown_in_the_history(client, surgeon, episode_to_print):
    login(client, surgeon)
    before = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    db.session.remove()

    print_summary(client, episode_to_print)

    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.id > before)))
    assert [(e.action, e.actor_id, e.episode_id, e.patient_id, e.at) for e in events] == [
        ("export.print", surgeon.id, episode_to_print.id, episode_to_print.patient_id, NOW)
    ]
    assert events[0].summary.startswith(f"Printed the episode summary: {episode_to_print.patient.mrn}")
    db.session.remove()
    history = client.get(f"/episodes/{episode_to_print.id}/history").get_data(as_text=True)
    assert 'data-action="export.print"' in history


def test_summary_has_no_form_button_field_or_script(client, surgeon, episode_to_print):
    login(client, surgeon)

    page = print_summary(client, episode_to_print).get_data(as_text=True).lower()

    for tag in ("<form", "<button", "<input", "<select", "<textarea", "<details", "<script", "<nav"):
        assert tag not in page, tag


def test_summary_shows_states_who_when_values_reasons_alerts_and_notes(client, surgeon, episode_to_print):
    login(client, surgeon)

    page = print_summary(client, episode_to_print).get_data(as_text=True)

    level = _row(page, "intra_level_xray")
    assert "Done" in level
    assert "Dr Sara Surgeon, 17 Jun 2026 12:00 UTC" in level
    assert "Level confirmed on imaging: no" in level
    assert f"acknowledged by Dr Sara Surgeon, 17 Jun 2026 12:00 UTC: {PLAN}" in level
    assert f"Reason: {NA_REASON}" in _row(page, "intra_ionm")
    assert "Not applicable" in _row(page, "intra_ionm")
    sign_in = _row(page, "intra_sign_in")
    assert "Nina Nurse, 17 Jun 2026 12:00 UTC" in sign_in
    assert f"Note by Nina Nurse, 17 Jun 2026 12:00 UTC: {NOTE}" in sign_in
    neuro = _row(page, "post_neuro_obs")
    assert "Safety: New deficit on neuro checks — not acknowledged" in neuro
    assert "Overdue" in _row(page, "intra_sign_out")  # due on the day of surgery, not done
    assert "Signed off by Dr Sara Surgeon on" in _part(page, 'data-signoff="before"', "</div>")
    assert "Not signed off." in _part(page, 'data-signoff="during"', "</div>")


def test_summary_shows_flags_sessions_and_scores_in_brief(client, surgeon, episode_to_print):
    login(client, surgeon)

    page = print_summary(client, episode_to_print).get_data(as_text=True)

    flags = _part(page, "<div data-flags>", "</div>")
    assert "Safety: New deficit on neuro checks" in flags
    sessions = _part(page, 'id="therapy"', "</section>")
    assert "19 May 2026" in sessions and "Attended" in sessions and "Theo Therapist" in sessions
    assert "6 → 4" in sessions
    scores = _part(page, 'id="outcomes"', "</section>")
    assert 'data-time-point="baseline"' in scores
    assert "<td>40</td>" in scores


def test_summary_is_posted_not_fetched(client, surgeon, episode_to_print):
    """Only a POST prints (it writes an audit event; GETs write nothing)."""
    login(client, surgeon)

    assert client.get(f"/episodes/{episode_to_print.id}/summary").status_code == 405


def test_admin_may_not_print_an_episode_and_nothing_is_recorded(client, admin, episode_to_print):
    login(client, admin)
    events = len(db.session.scalars(select(AuditEvent.id)).all())
    db.session.remove()

    assert print_summary(client, episode_to_print).status_code == 403
    assert len(db.session.scalars(select(AuditEvent.id)).all()) == events


def test_episode_page_offers_print_summary_and_a_running_head_for_printing(client, nurse, episode_to_print):
    login(client, nurse)

    page = client.get(f"/episodes/{episode_to_print.id}").get_data(as_text=True)

    form = _part(page, 'id="print-summary"', "</form>")
    assert (
        f'action="/episodes/{episode_to_print.id}/summary"' in page[: page.index('id="print-summary"')][-200:]
    )
    assert 'name="csrf_token"' in form
    assert ">Print summary</button>" in form
    head = _part(page, 'class="print-head', "</div>")  # printed at the top of every page
    patient = episode_to_print.patient
    assert f"{patient.display_name} · MRN {patient.mrn}" in head
