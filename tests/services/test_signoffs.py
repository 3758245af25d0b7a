"""Signing off a phase, failed signatures and the signing lock, revoking, closing an episode."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import audit, clock, db
from app.domain.signoff import active_signoffs, close_blockers, content_digest
from app.domain.site import SiteDay
from app.domain.vocab import EpisodeStatus, ItemStatus, Phase, Role
from app.models import AuditEvent, ChecklistItem, Episode, ItemNote, Signoff, User
from app.queries.episodes import episode_summaries
from app.queries.flags import flagged_episode_count
from app.services import checklist, signoffs
from app.services.errors import Conflict, NotPermitted, ServiceError
from app.services.signoffs import SignatureRefused
from tests import factories
from tests.conftest import NOW, PASSWORD
from tests.factories import load_in_new_session

MAX_FAILURES, LOCK_MINUTES = 5, 15
STATEMENT = (
    "I confirm the pre-operative protocol for Jane Doe (MRN {mrn}), L4-L5 microdiscectomy is complete."
)


def sign(session, actor, episode, phase=Phase.BEFORE, password=PASSWORD) -> Signoff:
    return signoffs.sign(session, actor, episode, phase, password, MAX_FAILURES, LOCK_MINUTES)


def events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


def signoff_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Signoff))


def wrong(session, actor, episode, times: int = 1) -> None:
    """Sign with a wrong password, keeping each failure as the view does (commit)."""
    for _ in range(times):
        with pytest.raises(SignatureRefused, match="Wrong password: nothing was signed."):
            sign(session, actor, episode, password="not-my-password")
        session.commit()


@pytest.fixture
def ready(session, episode, surgeon, coordinator):
    """The episode with every required Before-surgery item done."""
    factories.complete_phase(session, episode, Phase.BEFORE, surgeon, coordinator)
    return episode


# signing


def test_right_password_signs_and_stores_signer_time_meaning_statement(session, ready, surgeon):
    signoff = sign(session, surgeon, ready)
    session.commit()
    session.expire_all()
    stored = session.scalar(select(Signoff))
    assert stored.id == signoff.id
    assert (stored.episode_id, stored.phase) == (ready.id, Phase.BEFORE)
    assert (stored.signer_id, stored.signer_name, stored.signer_role) == (
        surgeon.id,
        "Dr Sara Surgeon",
        Role.SURGEON,
    )
    assert stored.signed_at == NOW
    assert stored.meaning == "pre-operative protocol complete"
    assert stored.statement == STATEMENT.format(mrn=ready.patient.mrn)
    assert stored.revoked_at is None and stored.revoke_reason is None


def test_the_content_hash_of_what_was_signed_is_stored(session, ready, surgeon):
    signoff = sign(session, surgeon, ready)
    session.commit()
    assert signoff.content_sha256 == content_digest(ready.id, ready.patient_id, Phase.BEFORE, ready.items)
    assert len(signoff.content_sha256) == 64


def test_signing_is_audited_with_statement_and_hash(session, ready, surgeon):
    signoff = sign(session, surgeon, ready)
    session.commit()
    (event,) = events("signoff.sign")
    assert event.actor_id == surgeon.id and event.at == NOW
    assert (event.target_type, event.target_id) == ("episode", ready.id)
    assert (event.patient_id, event.episode_id) == (ready.patient_id, ready.id)
    assert event.summary == "Signed off Before surgery: pre-operative protocol complete"
    assert event.after == {
        "phase": "before",
        "statement": signoff.statement,
        "sha256": signoff.content_sha256,
    }
    assert audit.verify_chain(session) == []


def test_wrong_password_signs_nothing_counts_and_is_audited(session, ready, surgeon):
    wrong(session, surgeon, ready)
    assert signoff_count() == 0
    assert session.get(User, surgeon.id).signature_failures == 1
    (event,) = events("signoff.failed")
    assert event.actor_id == surgeon.id and event.episode_id == ready.id
    assert event.summary == "Wrong password when signing off Before surgery (1 in a row)"
    assert events("signoff.sign") == []


def test_empty_password_is_a_wrong_password(session, ready, surgeon):
    with pytest.raises(SignatureRefused):
        sign(session, surgeon, ready, password="")
    session.commit()
    assert signoff_count() == 0 and surgeon.signature_failures == 1


def test_five_wrong_passwords_lock_signing_for_15_minutes(session, ready, surgeon):
    wrong(session, surgeon, ready, MAX_FAILURES - 1)
    assert surgeon.signature_failures == 4 and surgeon.signature_locked_until is None
    wrong(session, surgeon, ready)
    session.expire_all()
    user = session.get(User, surgeon.id)
    assert user.signature_locked_until == NOW + timedelta(minutes=15)
    assert user.signature_failures == 0
    failed = events("signoff.failed")
    assert [e.summary for e in failed] == [
        f"Wrong password when signing off Before surgery ({n} in a row)" for n in range(1, 5)
    ] + ["Wrong password when signing off Before surgery (5 in a row); signing locked for 15 minutes"]
    assert signoff_count() == 0


def test_the_right_password_is_refused_while_locked_and_accepted_after_15_minutes(session, ready, surgeon):
    wrong(session, surgeon, ready, MAX_FAILURES)
    with pytest.raises(SignatureRefused, match="Signing is locked after too many wrong passwords"):
        sign(session, surgeon, ready)
    session.rollback()
    clock.set_now(NOW + timedelta(minutes=14, seconds=59))
    with pytest.raises(SignatureRefused, match="Signing is locked"):
        sign(session, surgeon, ready)
    session.rollback()
    assert signoff_count() == 0
    clock.set_now(NOW + timedelta(minutes=15))
    signoff = sign(session, surgeon, ready)
    session.commit()
    assert signoff.signed_at == NOW + timedelta(minutes=15)
    assert signoff_count() == 1


def test_the_lock_is_per_user(session, ready, surgeon, surgeon2):
    wrong(session, surgeon, ready, MAX_FAILURES)
    sign(session, surgeon2, ready)
    session.commit()
    assert signoff_count() == 1


def test_a_successful_signature_resets_the_count(session, ready, surgeon):
    wrong(session, surgeon, ready, 3)
    assert surgeon.signature_failures == 3
    signoff = sign(session, surgeon, ready)
    session.commit()
    assert session.get(User, surgeon.id).signature_failures == 0
    # Four more wrong passwords after the reset do not lock (they would with the old count).
    signoffs.revoke(session, surgeon, ready, signoff, "Re-sign")
    session.commit()
    wrong(session, surgeon, ready, 4)
    assert surgeon.signature_locked_until is None
    sign(session, surgeon, ready)
    session.commit()


def test_lock_settings_are_parameters(session, ready, surgeon):
    with pytest.raises(SignatureRefused):
        signoffs.sign(session, surgeon, ready, Phase.BEFORE, "nope", 2, 30)
    session.commit()
    with pytest.raises(SignatureRefused):
        signoffs.sign(session, surgeon, ready, Phase.BEFORE, "nope", 2, 30)
    session.commit()
    assert surgeon.signature_locked_until == NOW + timedelta(minutes=30)
    assert events("signoff.failed")[-1].summary.endswith("; signing locked for 30 minutes")


@pytest.mark.parametrize(
    "role", [Role.NURSE, Role.ANAESTHETIST, Role.THERAPIST, Role.COORDINATOR, Role.ADMIN]
)
def test_only_surgeons_sign(session, ready, users, role):
    actor = users[role]
    with pytest.raises(NotPermitted, match="Only surgeons sign off a phase."):
        sign(session, actor, ready)
    session.rollback()
    assert signoff_count() == 0
    assert events("signoff.failed") == []
    assert session.get(User, actor.id).signature_failures == 0


def test_an_incomplete_phase_is_refused_naming_what_is_open(session, episode, surgeon):
    with pytest.raises(ServiceError) as caught:
        sign(session, surgeon, episode)
    session.rollback()
    message = str(caught.value)
    assert message.startswith("Cannot sign off yet: Open: Pain generator confirmed")
    assert "(Coordinator)" in message and "(Nurse)" in message and "(Anaesthetist)" in message
    assert "HbA1c" not in message  # optional
    assert signoff_count() == 0


def test_an_incomplete_phase_is_refused_before_the_password_is_checked(session, episode, surgeon):
    with pytest.raises(ServiceError, match="Cannot sign off yet"):
        sign(session, surgeon, episode, password="wrong")
    session.rollback()
    assert surgeon.signature_failures == 0 and events("signoff.failed") == []


def test_one_open_required_item_blocks(session, ready, surgeon):
    site_mark = factories.item(ready, "pre_site_mark")
    checklist.reopen(session, surgeon, site_mark, site_mark.version, "Not marked yet")
    session.commit()
    with pytest.raises(ServiceError) as caught:
        sign(session, surgeon, ready)
    assert str(caught.value) == (
        "Cannot sign off yet: Open: Site and level marked; patient-diagnosis diagram shared "
        '(SMaX "Sign/Mark"). (Surgeon)'
    )


def test_a_phase_cannot_be_signed_twice(session, ready, surgeon, surgeon2):
    sign(session, surgeon, ready)
    session.commit()
    with pytest.raises(ServiceError, match="Cannot sign off yet: Before surgery is already signed off."):
        sign(session, surgeon2, ready)
    session.rollback()
    assert signoff_count() == 1


def test_during_surgery_is_signed_after_before_surgery(session, ready, surgeon, coordinator):
    factories.complete_phase(session, ready, Phase.DURING, surgeon, coordinator)
    with pytest.raises(ServiceError, match="Before surgery must be signed off first."):
        sign(session, surgeon, ready, Phase.DURING)
    session.rollback()
    sign(session, surgeon, ready)
    during = sign(session, surgeon, ready, Phase.DURING)
    session.commit()
    assert during.meaning == "intra-operative precautions taken"
    assert during.statement == (
        "I confirm all proper precautions were taken to minimise intra-operative issues for "
        f"Jane Doe (MRN {ready.patient.mrn}), L4-L5 microdiscectomy."
    )


def test_after_surgery_has_no_sign_off(session, ready, surgeon):
    with pytest.raises(ServiceError, match="After surgery has no sign-off; the episode is closed instead."):
        sign(session, surgeon, ready, Phase.AFTER)


# locking


@pytest.fixture
def signed(session, ready, surgeon):
    signoff = sign(session, surgeon, ready)
    session.commit()
    return signoff


LOCKED = "Before surgery is signed off: a surgeon must revoke the sign-off before its items change."


def test_items_of_a_signed_phase_cannot_be_marked_done(session, ready, signed, anaesthetist):
    hba1c = factories.item(ready, "pre_hba1c")  # optional, still open
    with pytest.raises(ServiceError, match=LOCKED):
        checklist.mark_done(session, anaesthetist, hba1c, hba1c.version, "6.5")
    session.rollback()
    assert session.get(ChecklistItem, hba1c.id).status is ItemStatus.OPEN


def test_items_of_a_signed_phase_cannot_be_marked_not_applicable(session, ready, signed, anaesthetist):
    hba1c = factories.item(ready, "pre_hba1c")
    with pytest.raises(ServiceError, match=LOCKED):
        checklist.mark_not_applicable(session, anaesthetist, hba1c, hba1c.version, "Not diabetic")
    session.rollback()
    assert session.get(ChecklistItem, hba1c.id).status is ItemStatus.OPEN


def test_items_of_a_signed_phase_cannot_be_reopened(session, ready, signed, nurse):
    smoking = factories.item(ready, "pre_smoking")
    version = smoking.version
    with pytest.raises(ServiceError, match=LOCKED):
        checklist.reopen(session, nurse, smoking, version, "Wrong value")
    session.rollback()
    session.expire_all()
    fresh = session.get(ChecklistItem, smoking.id)
    assert fresh.status is ItemStatus.DONE and fresh.version == version
    assert events("item.reopen") == []


def test_notes_can_still_be_added_to_a_signed_phase(session, ready, signed, nurse):
    smoking = factories.item(ready, "pre_smoking")
    checklist.add_note(session, nurse, smoking, smoking.version, "Stopped smoking in May")
    session.commit()
    assert session.scalar(select(ItemNote)).text == "Stopped smoking in May"


def test_other_phases_stay_open_after_a_sign_off(session, ready, signed, nurse):
    sign_in = factories.item(ready, "intra_sign_in")
    checklist.mark_done(session, nurse, sign_in, sign_in.version)
    session.commit()


# revoking


def test_revoking_needs_a_reason(session, ready, signed, surgeon):
    for reason in (None, "", "   "):
        with pytest.raises(ServiceError, match="Enter a reason."):
            signoffs.revoke(session, surgeon, ready, signed, reason)
        session.rollback()
    assert session.get(Signoff, signed.id).revoked_at is None
    assert events("signoff.revoke") == []


def test_revoking_keeps_the_reason_to_500_characters(session, ready, signed, surgeon):
    with pytest.raises(ServiceError, match="Keep the reason to 500 characters."):
        signoffs.revoke(session, surgeon, ready, signed, "x" * 501)


def test_another_surgeon_revokes_which_unlocks_the_phase(session, ready, signed, surgeon2, nurse):
    clock.set_now(NOW + timedelta(hours=1))
    signoffs.revoke(session, surgeon2, ready, signed, "  Smoking status was wrong  ")
    session.commit()
    session.expire_all()
    stored = session.get(Signoff, signed.id)
    assert stored.revoked_at == NOW + timedelta(hours=1)
    assert stored.revoked_by_id == surgeon2.id
    assert stored.revoke_reason == "Smoking status was wrong"
    # What was signed is unchanged.
    assert (stored.signer_name, stored.signed_at) == ("Dr Sara Surgeon", NOW)
    (event,) = events("signoff.revoke")
    assert event.actor_id == surgeon2.id and event.episode_id == ready.id
    assert event.summary == "Revoked the sign-off of Before surgery by Dr Sara Surgeon"
    assert event.reason == "Smoking status was wrong"
    assert event.before == {"signed_by": "Dr Sara Surgeon", "signed_at": NOW.isoformat()}

    episode = session.get(Episode, ready.id)
    smoking = factories.item(episode, "pre_smoking")
    checklist.reopen(session, nurse, smoking, smoking.version, "Wrong value")
    session.commit()
    assert session.get(ChecklistItem, smoking.id).status is ItemStatus.OPEN


def test_a_revoked_phase_can_be_signed_again(session, ready, signed, surgeon):
    signoffs.revoke(session, surgeon, ready, signed, "Checked again")
    session.commit()
    again = sign(session, surgeon, ready)
    session.commit()
    assert again.id != signed.id
    assert signoff_count() == 2
    assert active_signoffs(session.get(Episode, ready.id)) == {Phase.BEFORE: again}


def test_a_sign_off_is_revoked_once(session, ready, signed, surgeon):
    signoffs.revoke(session, surgeon, ready, signed, "First")
    session.commit()
    with pytest.raises(ServiceError, match="This sign-off was already revoked."):
        signoffs.revoke(session, surgeon, ready, signed, "Second")


@pytest.mark.parametrize(
    "role", [Role.NURSE, Role.ANAESTHETIST, Role.THERAPIST, Role.COORDINATOR, Role.ADMIN]
)
def test_only_surgeons_revoke(session, ready, signed, users, role):
    with pytest.raises(NotPermitted, match="Only surgeons revoke a sign-off."):
        signoffs.revoke(session, users[role], ready, signed, "Because")
    session.rollback()
    assert session.get(Signoff, signed.id).revoked_at is None


# the partial unique index: one active sign-off per phase


def test_two_sessions_signing_the_same_phase_the_second_is_told_it_is_signed(
    app, episode, surgeon, surgeon2, coordinator
):
    """Both surgeons loaded the page unsigned; the second signature re-reads under the lock."""
    with db.write_unit():
        factories.complete_phase(db.session, episode, Phase.BEFORE, surgeon, coordinator)
    db.session.rollback()  # no transaction left open in the app's session
    first, episode_1, surgeon_1 = load_in_new_session(Episode, episode.id, surgeon.id)
    second, episode_2, surgeon_2 = load_in_new_session(Episode, episode.id, surgeon2.id)
    try:
        for other, loaded in ((first, episode_1), (second, episode_2)):
            # Both pages were loaded while the phase was unsigned.
            assert loaded.signoffs == []
            assert all(i.step for i in loaded.items) and loaded.patient
            other.commit()
        with db.write_unit():
            sign(first, surgeon_1, episode_1)
            first.commit()
        with db.write_unit():
            try:
                with pytest.raises(ServiceError) as caught:
                    sign(second, surgeon_2, episode_2)
            finally:
                second.rollback()
        assert str(caught.value) == "Cannot sign off yet: Before surgery is already signed off."
    finally:
        first.close()
        second.close()
    db.session.rollback()
    db.session.expire_all()
    (stored,) = db.session.scalars(select(Signoff)).all()
    assert stored.signer_id == surgeon.id
    assert [e.actor_id for e in events("signoff.sign")] == [surgeon.id]


def test_the_database_refuses_a_second_active_signoff_of_a_phase(app, episode, surgeon, coordinator):
    """The last line of defence: a partial unique index, whatever the code above it does."""
    from sqlalchemy.exc import IntegrityError

    with db.write_unit():
        factories.complete_phase(db.session, episode, Phase.BEFORE, surgeon, coordinator)
        first = sign(db.session, surgeon, episode)
        db.session.commit()
        duplicate = Signoff(
            episode_id=episode.id,
            phase=Phase.BEFORE,
            signer_id=surgeon.id,
            signer_name="x",
            signer_role=surgeon.role,
            meaning="x",
            statement="x",
            content_sha256="0" * 64,
            signed_at=first.signed_at,
        )
        db.session.add(duplicate)
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


# closing


def test_closing_with_after_surgery_open_needs_a_reason(session, episode, coordinator):
    for reason in (None, "  "):
        with pytest.raises(ServiceError, match="After surgery is not complete: give a reason"):
            signoffs.close(session, coordinator, episode, episode.version, reason)
        session.rollback()
    assert session.get(Episode, episode.id).status is not EpisodeStatus.CLOSED


def test_close_blockers_name_the_open_after_surgery_items(session, episode):
    blockers = close_blockers(episode)
    assert "Open: VTE prophylaxis in place (mechanical ± pharmacological per risk). (Nurse)" in blockers
    assert all(b.startswith("Open: ") for b in blockers)
    assert not any("Interdisciplinary review" in b for b in blockers)  # optional


def test_coordinator_closes_with_a_documented_reason(session, episode, coordinator):
    signoffs.close(session, coordinator, episode, episode.version, " Patient transferred ")
    session.commit()
    session.expire_all()
    stored = session.get(Episode, episode.id)
    assert stored.status is EpisodeStatus.CLOSED
    assert (stored.closed_at, stored.closed_by_id) == (NOW, coordinator.id)
    assert stored.close_reason == "Patient transferred"
    (event,) = events("episode.close")
    assert event.actor_id == coordinator.id and event.reason == "Patient transferred"
    assert event.before == {"status": "scheduled"} and event.after == {"status": "closed"}


def test_surgeon_closes_a_complete_after_phase_without_a_reason(session, episode, surgeon, coordinator):
    factories.complete_phase(session, episode, Phase.AFTER, surgeon, coordinator, not_applicable=True)
    assert close_blockers(episode) == []
    signoffs.close(session, surgeon, episode, episode.version, "")
    session.commit()
    stored = session.get(Episode, episode.id)
    assert stored.status is EpisodeStatus.CLOSED and stored.close_reason is None
    assert events("episode.close")[0].reason is None


@pytest.mark.parametrize("role", [Role.NURSE, Role.ANAESTHETIST, Role.THERAPIST, Role.ADMIN])
def test_only_surgeons_and_coordinators_close(session, episode, users, role):
    with pytest.raises(NotPermitted, match="Only surgeons and coordinators close an episode."):
        signoffs.close(session, users[role], episode, episode.version, "Transferred")


def test_closing_from_an_out_of_date_page_is_a_conflict(session, episode, coordinator):
    with pytest.raises(Conflict):
        signoffs.close(session, coordinator, episode, episode.version - 1, "Transferred")


def test_an_episode_is_closed_once(session, episode, coordinator):
    signoffs.close(session, coordinator, episode, episode.version, "Transferred")
    session.commit()
    with pytest.raises(ServiceError, match="The episode is already closed."):
        signoffs.close(session, coordinator, episode, episode.version, "Again")


CLOSED = "The episode is closed: its checklist can no longer change."


def test_a_closed_episode_locks_every_item_sign_off_and_revocation(
    session, ready, signed, surgeon, coordinator, nurse
):
    signoffs.close(session, coordinator, ready, ready.version, "Patient transferred")
    session.commit()
    vte = factories.item(ready, "post_vte")
    sign_in = factories.item(ready, "intra_sign_in")
    smoking = factories.item(ready, "pre_smoking")
    for call in (
        lambda: checklist.mark_done(session, nurse, vte, vte.version),
        lambda: checklist.mark_not_applicable(session, nurse, sign_in, sign_in.version, "No"),
        lambda: checklist.reopen(session, nurse, smoking, smoking.version, "Wrong"),
    ):
        with pytest.raises(ServiceError, match=CLOSED):
            call()
        session.rollback()
    with pytest.raises(ServiceError, match="Cannot sign off yet: The episode is closed."):
        sign(session, surgeon, ready, Phase.DURING)
    session.rollback()
    with pytest.raises(ServiceError, match="The episode is closed."):
        signoffs.revoke(session, surgeon, ready, signed, "Too late")
    session.rollback()
    assert session.get(Signoff, signed.id).revoked_at is None


def test_a_closed_episode_raises_no_flags(session, coordinator, surgeon, protocol):
    late = factories.episode(coordinator, surgeon, protocol, surgery_date=NOW.date() - timedelta(days=3))
    today = NOW.date()
    flags = episode_summaries(session, [late.id], SiteDay(today, warning_days=2))[late.id].flags
    # No PT session three days after surgery: mobilisation is overdue (a one-session step is
    # followed by its due date alone, never "Therapy behind plan").
    assert {f.code for f in flags} == {"incomplete_postop", "preop_unsigned"}
    assert flagged_episode_count(session, SiteDay(today, warning_days=2)) == 1
    signoffs.close(session, coordinator, late, late.version, "Patient transferred")
    session.commit()
    assert episode_summaries(session, [late.id], SiteDay(today, warning_days=2))[late.id].flags == []
    assert flagged_episode_count(session, SiteDay(today, warning_days=2)) == 0
