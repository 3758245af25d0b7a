"""Signing off a phase, revoking, locked items, the pre-op flag and closing, through the test client."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app import clock, db
from app.domain.vocab import EpisodeStatus, Phase, Role
from app.models import AuditEvent, ChecklistItem, Episode, Signoff, User
from app.queries.episodes import episode_with_checklist
from app.services import signoffs
from tests import factories
from tests.conftest import NOW, PASSWORD, login

TODAY = date(2026, 6, 17)
LOCKED = "Before surgery is signed off: a surgeon must revoke the sign-off before its items change."
SIGNED_LINE = "Signed off by Dr Sara Surgeon on 17 Jun 2026 12:00 UTC — pre-operative protocol complete"


# preparing data through the services


def sign_now(episode_id: int, surgeon, phase: Phase = Phase.BEFORE) -> int:
    with db.write_unit():
        episode = episode_with_checklist(db.session, episode_id)
        signoff = signoffs.sign(db.session, db.session.get(User, surgeon.id), episode, phase, PASSWORD, 5, 15)
        db.session.commit()
        signoff_id = signoff.id
    db.session.remove()
    return signoff_id


def fresh(model, ident):
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(model, ident)


def count(model, *where) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def page_of(client, episode_id: int) -> str:
    response = client.get(f"/episodes/{episode_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(page: str, phase: str) -> str:
    start = page.index(f'id="phase-{phase}"')
    return page[start : page.index("</section>", start)]


def row(page: str, item) -> str:
    return page[page.index(f'id="item-{item.id}"') :].split("</li>")[0]


def sign_url(episode, phase="before") -> str:
    return f"/episodes/{episode.id}/sign/{phase}"


@pytest.fixture
def ready(episode, surgeon, coordinator):
    """The episode with every required Before-surgery item done."""
    factories.complete_phase_by_id(episode.id, Phase.BEFORE, surgeon, coordinator)
    return episode


# the sign-off button or what blocks it


def test_surgeon_sees_what_blocks_an_incomplete_phase(client, surgeon, episode):
    login(client, surgeon)
    before = section(page_of(client, episode.id), "before")
    assert "Sign off Before surgery" not in before
    assert f'href="/episodes/{episode.id}/sign/before"' not in before
    blockers = before[before.index("data-blockers") :].split("</ul>")[0]
    assert "Before surgery cannot be signed off yet:" in blockers
    assert blockers.count("data-blocker-item=") == 13  # version 2: with pre_diabetes and pre_anticoag
    assert ">Open: Baseline PROMs: ODI, NRS back, NRS leg (± EQ-5D / PROMIS-PF). (Coordinator)</a>" in (
        blockers
    )
    assert "(Nurse)</a>" in blockers and "(Anaesthetist)</a>" in blockers and "(Surgeon)</a>" in blockers
    assert "HbA1c" not in blockers  # optional


def test_surgeon_sees_the_sign_off_button_when_the_phase_is_complete(client, surgeon, ready):
    login(client, surgeon)
    page = page_of(client, ready.id)
    before = section(page, "before")
    assert f'href="/episodes/{ready.id}/sign/before">Sign off Before surgery</a>' in before
    assert "data-blockers" not in before
    during = section(page, "during")
    assert "Sign off During surgery" not in during
    assert "<li>Before surgery must be signed off first.</li>" in during


@pytest.mark.parametrize("role", [Role.NURSE, Role.ANAESTHETIST, Role.THERAPIST, Role.COORDINATOR])
def test_other_roles_never_see_the_sign_off_button_nor_the_blockers(client, users, ready, role):
    login(client, users[role])
    page = page_of(client, ready.id)
    assert "Sign off Before surgery" not in page
    assert "/sign/before" not in page
    assert "cannot be signed off yet" not in page


def test_a_nurse_sees_that_an_incomplete_phase_is_not_signed_off(client, nurse, episode):
    login(client, nurse)
    before = section(page_of(client, episode.id), "before")
    assert "Not signed off." in before and "cannot be signed off yet" not in before
    assert "<li>Open: " not in before


# the sign page


def test_sign_page_shows_the_statement_with_patient_mrn_and_procedure(client, surgeon, ready):
    login(client, surgeon)
    response = client.get(sign_url(ready))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    mrn = ready.patient.mrn
    assert (
        f'<p class="card-text fs-5" id="statement">I confirm the pre-operative protocol for Jane Doe '
        f"(MRN {mrn}), L4-L5 microdiscectomy is complete.</p>"
    ) in page
    assert "Signing as Dr Sara Surgeon (Surgeon); meaning: pre-operative protocol complete." in page
    assert 'type="password"' in page and "Your password" in page


def test_sign_page_of_an_incomplete_phase_lists_the_blockers_and_no_form(client, surgeon, episode):
    login(client, surgeon)
    page = client.get(sign_url(episode)).get_data(as_text=True)
    assert "Before surgery cannot be signed off yet:" in page
    assert '">Open: Site and level marked' in page
    assert 'type="password"' not in page and 'id="statement"' not in page


def test_signing_with_the_right_password(client, surgeon, ready):
    login(client, surgeon)
    response = client.form_post(sign_url(ready), {"password": PASSWORD})
    assert response.status_code == 302
    assert response.location.endswith(f"/episodes/{ready.id}#phase-before")
    page = client.get(response.location).get_data(as_text=True)
    assert "Signed off Before surgery." in page
    before = section(page, "before")
    assert SIGNED_LINE in before
    assert "Sign off Before surgery" not in before and "Revoke sign-off" in before
    signoff = db.session.scalar(select(Signoff))
    assert (signoff.signer_id, signoff.phase, signoff.signed_at) == (surgeon.id, Phase.BEFORE, NOW)
    assert signoff.statement == (
        f"I confirm the pre-operative protocol for Jane Doe (MRN {ready.patient.mrn}), "
        "L4-L5 microdiscectomy is complete."
    )
    assert count(AuditEvent, AuditEvent.action == "signoff.sign") == 1


def test_signed_phase_locks_its_items_on_the_page(client, surgeon, ready):
    sign_now(ready.id, surgeon)
    login(client, surgeon)
    page = page_of(client, ready.id)
    before = section(page, "before")
    assert before.count("Locked: Before surgery is signed off.") == len(
        [i for i in ready.items if i.phase is Phase.BEFORE and i.role is not Role.COORDINATOR]
    )
    assert "Mark done" not in before and "Mark not applicable" not in before and "Reopen item" not in before
    assert "Add note" in before
    assert "Mark done" in section(page, "during")


def test_wrong_password_signs_nothing_and_says_so(client, surgeon, ready):
    login(client, surgeon)
    response = client.form_post(sign_url(ready), {"password": "not-my-password"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Wrong password: nothing was signed." in page
    assert 'id="statement"' in page  # the form is shown again
    assert count(Signoff) == 0
    assert fresh(User, surgeon.id).signature_failures == 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "signoff.failed"))
    assert event.actor_id == surgeon.id and event.episode_id == ready.id
    assert "Signed off by" not in section(page_of(client, ready.id), "before")


def test_an_empty_password_is_refused_without_counting(client, surgeon, ready):
    login(client, surgeon)
    response = client.form_post(sign_url(ready), {"password": ""})
    assert response.status_code == 422
    assert count(Signoff) == 0
    assert fresh(User, surgeon.id).signature_failures == 0


def test_five_wrong_passwords_lock_signing_for_15_minutes(app, client, surgeon, ready):
    app.config["SESSION_IDLE_MINUTES"] = 60  # the login outlives the signing lock
    login(client, surgeon)
    for _ in range(5):
        response = client.form_post(sign_url(ready), {"password": "not-my-password"})
        assert response.status_code == 422
        assert "Wrong password: nothing was signed." in response.get_data(as_text=True)
    assert fresh(User, surgeon.id).signature_locked_until == NOW + timedelta(minutes=15)
    summaries = db.session.scalars(
        select(AuditEvent.summary).where(AuditEvent.action == "signoff.failed").order_by(AuditEvent.id)
    ).all()
    assert len(summaries) == 5
    assert summaries[-1].endswith("(5 in a row); signing locked for 15 minutes")

    response = client.form_post(sign_url(ready), {"password": PASSWORD})
    assert response.status_code == 422
    assert "Signing is locked after too many wrong passwords." in response.get_data(as_text=True)
    assert count(Signoff) == 0

    clock.set_now(NOW + timedelta(minutes=15))
    response = client.form_post(sign_url(ready), {"password": PASSWORD})
    assert response.status_code == 302
    assert count(Signoff) == 1


def test_signing_an_incomplete_phase_is_refused_and_nothing_stored(client, surgeon, episode):
    login(client, surgeon)
    response = client.form_post(sign_url(episode), {"password": PASSWORD})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Cannot sign off yet: Open: Pain generator confirmed" in page
    assert count(Signoff) == 0
    assert count(AuditEvent, AuditEvent.action.like("signoff.%")) == 0


def test_signing_an_already_signed_phase_is_refused(client, surgeon2, surgeon, ready):
    sign_now(ready.id, surgeon)
    login(client, surgeon2)
    page = client.get(sign_url(ready)).get_data(as_text=True)
    assert "<li>Before surgery is already signed off.</li>" in page
    response = client.form_post(sign_url(ready), {"password": PASSWORD}, follow_redirects=True)
    assert "Cannot sign off yet: Before surgery is already signed off." in response.get_data(as_text=True)
    assert count(Signoff) == 1


def test_during_surgery_is_signed_the_same_way(client, surgeon, coordinator, ready):
    sign_now(ready.id, surgeon)
    factories.complete_phase_by_id(ready.id, Phase.DURING, surgeon, coordinator)
    login(client, surgeon)
    assert f'href="/episodes/{ready.id}/sign/during">Sign off During surgery</a>' in page_of(client, ready.id)
    page = client.get(sign_url(ready, "during")).get_data(as_text=True)
    assert (
        "I confirm all proper precautions were taken to minimise intra-operative issues for Jane Doe "
        f"(MRN {ready.patient.mrn}), L4-L5 microdiscectomy."
    ) in page
    response = client.form_post(sign_url(ready, "during"), {"password": PASSWORD})
    assert response.location.endswith(f"/episodes/{ready.id}#phase-during")
    during = section(page_of(client, ready.id), "during")
    signed = "Signed off by Dr Sara Surgeon on 17 Jun 2026 12:00 UTC — intra-operative precautions taken"
    assert signed in during


# revoking


def test_another_surgeon_revokes_with_a_reason_which_unlocks_the_phase(client, surgeon, surgeon2, ready):
    signoff_id = sign_now(ready.id, surgeon)
    login(client, surgeon2)
    response = client.form_post(
        f"/episodes/{ready.id}/signoffs/{signoff_id}/revoke", {"reason": "Smoking status to re-check"}
    )
    assert response.status_code == 302
    assert response.location.endswith(f"/episodes/{ready.id}#phase-before")
    page = client.get(response.location).get_data(as_text=True)
    assert "Revoked the sign-off of Before surgery: its items can change again." in page
    before = section(page, "before")
    assert "Signed off by" not in before and "Sign off Before surgery" in before
    assert "Locked:" not in before
    signoff = fresh(Signoff, signoff_id)
    assert signoff.revoked_by_id == surgeon2.id and signoff.revoke_reason == "Smoking status to re-check"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "signoff.revoke"))
    assert event.actor_id == surgeon2.id and event.reason == "Smoking status to re-check"


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_revoking_without_a_reason_is_refused(client, surgeon, ready, reason):
    signoff_id = sign_now(ready.id, surgeon)
    login(client, surgeon)
    response = client.form_post(f"/episodes/{ready.id}/signoffs/{signoff_id}/revoke", {"reason": reason})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter a reason" in page
    assert fresh(Signoff, signoff_id).revoked_at is None
    assert SIGNED_LINE in section(page, "before")
    assert count(AuditEvent, AuditEvent.action == "signoff.revoke") == 0


def test_revoking_a_sign_off_of_another_episode_is_not_found(client, surgeon, coordinator, protocol, ready):
    signoff_id = sign_now(ready.id, surgeon)
    other = factories.episode(coordinator, surgeon, protocol)
    login(client, surgeon)
    response = client.form_post(f"/episodes/{other.id}/signoffs/{signoff_id}/revoke", {"reason": "x"})
    assert response.status_code == 404
    assert fresh(Signoff, signoff_id).revoked_at is None


# who may sign


@pytest.mark.parametrize(
    "role", [Role.NURSE, Role.THERAPIST, Role.COORDINATOR, Role.ANAESTHETIST, Role.ADMIN]
)
def test_only_surgeons_may_use_the_sign_off_routes(client, users, surgeon, ready, role):
    login(client, users[role])
    assert client.get(sign_url(ready)).status_code == 403
    assert client.get(sign_url(ready, "during")).status_code == 403
    assert client.form_post(sign_url(ready), {"password": PASSWORD}).status_code == 403
    assert count(Signoff) == 0
    active = sign_now(ready.id, surgeon)
    response = client.form_post(f"/episodes/{ready.id}/signoffs/{active}/revoke", {"reason": "Mine"})
    assert response.status_code == 403
    assert fresh(Signoff, active).revoked_at is None
    assert count(AuditEvent, AuditEvent.action.like("signoff.%")) == 1  # the surgeon's signature only
    assert fresh(User, users[role].id).signature_failures == 0


@pytest.mark.parametrize("phase", ["after", "xyz", "BEFORE"])
def test_an_unknown_or_unsigned_phase_is_not_found(client, surgeon, ready, phase):
    login(client, surgeon)
    assert client.get(sign_url(ready, phase)).status_code == 404
    assert client.form_post(sign_url(ready, phase), {"password": PASSWORD}).status_code == 404
    assert count(Signoff) == 0


def test_signing_an_unknown_episode_is_not_found(client, surgeon):
    login(client, surgeon)
    assert client.get("/episodes/9999/sign/before").status_code == 404


def test_sign_off_routes_need_a_login(client, ready):
    response = client.get(sign_url(ready))
    assert response.status_code == 302 and "/login" in response.location


# locked items


@pytest.mark.parametrize(
    ("code", "action", "data"),
    [
        ("pre_smoking", "reopen", {"reason": "Wrong value"}),
        ("pre_hba1c", "done", {"value": "6.5"}),
        ("pre_hba1c", "not-applicable", {"reason": "Not diabetic"}),
    ],
)
def test_an_item_of_a_signed_phase_cannot_change(client, users, surgeon, ready, code, action, data):
    sign_now(ready.id, surgeon)
    item = factories.item(ready, code)
    before = fresh(ChecklistItem, item.id)
    status, version = before.status, before.version
    login(client, users[item.role])
    events = count(AuditEvent)
    response = client.form_post(
        f"/episodes/{ready.id}/items/{item.id}/{action}", {"version": str(version), **data}
    )
    assert response.status_code == 422
    assert LOCKED in response.get_data(as_text=True)
    after = fresh(ChecklistItem, item.id)
    assert (after.status, after.version) == (status, version)
    assert count(AuditEvent) == events


def test_a_note_can_still_be_added_to_a_signed_phase(client, nurse, surgeon, ready):
    sign_now(ready.id, surgeon)
    smoking = factories.item(ready, "pre_smoking")
    login(client, nurse)
    response = client.form_post(
        f"/episodes/{ready.id}/items/{smoking.id}/note",
        {"version": str(fresh(ChecklistItem, smoking.id).version), "note": "Quit in May"},
    )
    assert response.status_code == 302
    assert "Quit in May" in row(page_of(client, ready.id), smoking)


# the pre-op flag


def _flags(page: str) -> str:
    return page[page.index('id="episode-flags"') :].split("</div>")[0]


def _nav_count(page: str) -> int:
    return int(re.search(r"data-flag-count>(\d+)<", page).group(1))


def test_preop_flag_on_the_episode_the_patient_list_and_the_nav_count(client, coordinator, surgeon, protocol):
    tomorrow = factories.episode(
        coordinator, surgeon, protocol, surgery_date=TODAY + timedelta(days=1), family_name="Tomorrow"
    )
    later = factories.episode(
        coordinator, surgeon, protocol, surgery_date=TODAY + timedelta(days=3), family_name="Later"
    )
    login(client, coordinator)
    page = page_of(client, tomorrow.id)
    assert "Pre-op not signed off (surgery tomorrow)" in _flags(page)
    assert 'data-flag="preop_unsigned"' in _flags(page)
    assert _nav_count(page) == 1
    assert "Pre-op not signed off" not in _flags(page_of(client, later.id))

    patients = client.get("/patients").get_data(as_text=True)
    tomorrow_row = patients[patients.index("TOMORROW, Jane") :].split("</tr>")[0]
    later_row = patients[patients.index("LATER, Jane") :].split("</tr>")[0]
    assert "Pre-op not signed off (surgery tomorrow)" in tomorrow_row
    assert "Pre-op not signed off" not in later_row


def test_signing_clears_the_preop_flag(client, coordinator, surgeon, protocol):
    tomorrow = factories.episode(coordinator, surgeon, protocol, surgery_date=TODAY + timedelta(days=1))
    factories.complete_phase_by_id(tomorrow.id, Phase.BEFORE, surgeon, coordinator)
    login(client, surgeon)
    assert _nav_count(page_of(client, tomorrow.id)) == 1
    client.form_post(sign_url(tomorrow), {"password": PASSWORD})
    page = page_of(client, tomorrow.id)
    assert "Pre-op not signed off" not in _flags(page)
    assert _nav_count(page) == 0


def test_preop_flag_window_is_configurable(app, client, coordinator, surgeon, protocol):
    later = factories.episode(coordinator, surgeon, protocol, surgery_date=TODAY + timedelta(days=3))
    login(client, coordinator)
    assert _nav_count(page_of(client, later.id)) == 0
    app.config["SIGNOFF_WARNING_DAYS"] = 3
    page = page_of(client, later.id)
    assert "Pre-op not signed off (surgery in 3 days)" in _flags(page)
    assert _nav_count(page) == 1


# closing


def test_coordinator_closes_an_episode_with_a_reason(client, coordinator, episode):
    login(client, coordinator)
    page = page_of(client, episode.id)
    assert f'href="/episodes/{episode.id}/close">Close episode…</a>' in page
    form = client.get(f"/episodes/{episode.id}/close").get_data(as_text=True)
    assert "After surgery is not complete. Closing it now needs a reason" in form
    assert "<li>Open: VTE prophylaxis in place" in form
    version = str(fresh(Episode, episode.id).version)

    response = client.form_post(f"/episodes/{episode.id}/close", {"version": version, "reason": ""})
    assert response.status_code == 422
    assert "give a reason for closing (e.g. patient transferred)" in response.get_data(as_text=True)
    assert fresh(Episode, episode.id).status is not EpisodeStatus.CLOSED

    response = client.form_post(
        f"/episodes/{episode.id}/close", {"version": version, "reason": "Patient transferred"}
    )
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Episode closed." in page
    assert (
        "Closed by Cora Coordinator on 17 Jun 2026 12:00 UTC: Patient transferred. "
        "The checklist can no longer change."
    ) in page
    for action in ("Close episode", "Edit episode", "Mark done", "Mark not applicable", "Reopen item"):
        assert action not in page
    assert "Pre-op not signed off" not in _flags(page)
    assert _nav_count(page) == 0
    closed = fresh(Episode, episode.id)
    assert closed.status is EpisodeStatus.CLOSED and closed.close_reason == "Patient transferred"


def test_a_closed_episode_shows_no_sign_off_button_to_a_surgeon(client, coordinator, surgeon, ready):
    with db.write_unit():
        episode = episode_with_checklist(db.session, ready.id)
        signoffs.close(db.session, db.session.get(User, coordinator.id), episode, episode.version, "Moved")
        db.session.commit()
    db.session.remove()
    login(client, surgeon)
    page = page_of(client, ready.id)
    assert "Sign off Before surgery" not in page and "cannot be signed off yet" not in page
    assert "Close episode" not in page
    assert "Locked: episode closed." in page
    response = client.form_post(sign_url(ready), {"password": PASSWORD}, follow_redirects=True)
    assert "Cannot sign off yet: The episode is closed." in response.get_data(as_text=True)
    assert count(Signoff) == 0


def test_closing_a_complete_after_phase_needs_no_reason(client, surgeon, coordinator, episode):
    factories.complete_phase_by_id(episode.id, Phase.AFTER, surgeon, coordinator)
    login(client, surgeon)
    form = client.get(f"/episodes/{episode.id}/close").get_data(as_text=True)
    assert "Every required After-surgery item is done or not applicable." in form
    version = str(fresh(Episode, episode.id).version)
    response = client.form_post(f"/episodes/{episode.id}/close", {"version": version})
    assert response.status_code == 302
    assert "Closed by Dr Sara Surgeon on 17 Jun 2026 12:00 UTC. The checklist" in page_of(client, episode.id)


@pytest.mark.parametrize("role", [Role.NURSE, Role.ANAESTHETIST, Role.THERAPIST, Role.ADMIN])
def test_only_surgeons_and_coordinators_close(client, users, episode, role):
    login(client, users[role])
    assert "Close episode" not in client.get(f"/episodes/{episode.id}").get_data(as_text=True)
    assert client.get(f"/episodes/{episode.id}/close").status_code == 403
    response = client.form_post(f"/episodes/{episode.id}/close", {"version": "1", "reason": "Transferred"})
    assert response.status_code == 403
    assert fresh(Episode, episode.id).status is not EpisodeStatus.CLOSED
