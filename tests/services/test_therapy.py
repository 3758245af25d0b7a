"""Logging, correcting and adding to therapy sessions; sessions items completing themselves."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app import clock, db
from app.domain.therapy import SessionInput
from app.domain.vocab import ItemStatus, Phase, Role
from app.models import AuditEvent, ChecklistItem, SessionAddendum, TherapySession
from app.queries.episodes import episode_with_checklist
from app.services import checklist, signoffs
from app.services import therapy as service
from app.services.errors import Conflict, NotPermitted, ServiceError
from app.services.users import create_user
from tests import factories
from tests.conftest import NOW, PASSWORD

TODAY = NOW.date()
SURGERY = TODAY - timedelta(days=30)


def day(n: int) -> date:
    return SURGERY + timedelta(days=n)


def entry(n: int = 0, **changes) -> SessionInput:
    values = dict(
        session_date=day(n),
        discipline="PT",
        minutes=45,
        attendance="attended",
        pain_before=6,
        pain_after=4,
        activities="Bed mobility, walked 20 m with frame",
        home_exercise_plan=True,
        prehabilitation=False,
    )
    return SessionInput(**{**values, **changes})


@pytest.fixture
def operated(coordinator, surgeon, protocol):
    """An episode whose surgery was 30 days ago."""
    return factories.episode(coordinator, surgeon, protocol, surgery_date=SURGERY)


@pytest.fixture
def operated_60(coordinator, surgeon, protocol):
    """An episode whose surgery was 60 days ago: log its day k as `k - 30` (`day` counts from
    the surgery 30 days ago)."""
    return factories.episode(coordinator, surgeon, protocol, surgery_date=SURGERY - timedelta(days=30))


@pytest.fixture
def therapist2(app):
    with db.write_unit():
        user = create_user(db.session, None, "therapist2", "Olga Other", Role.THERAPIST, PASSWORD)
        db.session.commit()
    return user


def item(episode, code: str) -> ChecklistItem:
    db.session.expire_all()
    return db.session.scalar(
        select(ChecklistItem).where(
            ChecklistItem.episode_id == episode.id,
            ChecklistItem.id == factories.item(episode, code).id,
        )
    )


def events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def log(session, therapist, episode, n: int = 0, **changes):
    logged, completed = service.log_session(session, therapist, episode, entry(n, **changes), TODAY)
    session.commit()
    return logged, completed


# --- logging ---------------------------------------------------------------------------------


def test_log_session_stores_it_and_audits_it(session, therapist, operated):
    logged, _ = log(session, therapist, operated, 5)
    fresh = session.get(TherapySession, logged.id)
    assert (fresh.session_date, fresh.discipline.value, fresh.minutes, fresh.attendance.value) == (
        day(5),
        "PT",
        45,
        "attended",
    )
    assert (fresh.pain_before, fresh.pain_after, fresh.home_exercise_plan) == (6, 4, True)
    assert (fresh.therapist_id, fresh.created_at, fresh.updated_at) == (therapist.id, NOW, None)
    (event,) = events("session.logged")
    assert (event.target_type, event.target_id, event.episode_id) == (
        "therapy_session",
        logged.id,
        operated.id,
    )
    assert event.summary == f"Logged a PT session on {day(5).isoformat()} (attended)"
    assert event.after["minutes"] == 45


def test_attended_pt_session_completes_the_pt_item_audited_with_the_sessions(session, therapist, operated):
    _, completed = log(session, therapist, operated, 0)
    mobilise = item(operated, "post_mobilise")
    assert [i.id for i in completed] == [mobilise.id]
    assert mobilise.status is ItemStatus.DONE
    assert mobilise.value == "1 of 1 PT sessions"
    assert mobilise.completed_by_id == therapist.id
    (event,) = events("item.satisfied")
    assert event.target_id == mobilise.id
    assert event.summary.startswith("Completed by 1 attended PT session: ")
    assert event.after["value"] == "1 of 1 PT sessions"


def test_a_pt_session_never_completes_an_ot_item(session, therapist, operated):
    log(session, therapist, operated, 0)
    assert item(operated, "post_ot_adl").status is ItemStatus.OPEN
    _, completed = log(session, therapist, operated, 1, discipline="OT")
    assert [i.step.code for i in completed] == ["post_ot_adl"]


@pytest.mark.parametrize("attendance", ["missed", "cancelled_by_patient", "cancelled_by_clinic"])
def test_sessions_not_attended_complete_nothing(session, therapist, operated, attendance):
    _, completed = log(session, therapist, operated, 0, attendance=attendance)
    assert completed == []
    assert item(operated, "post_mobilise").status is ItemStatus.OPEN


def test_a_session_after_the_due_date_counts_for_a_later_step_only(session, therapist, operated):
    _, completed = log(session, therapist, operated, 29)  # outpatient PT counts from day 28
    assert [i.step.code for i in completed] == ["post_pt_start"]
    assert item(operated, "post_mobilise").status is ItemStatus.OPEN
    assert item(operated, "post_pt_adherence").status is ItemStatus.OPEN


def test_the_eighth_attended_session_completes_the_adherence_step(session, therapist, operated_60):
    for k in range(28, 42, 2):  # 7 sessions on days 28 to 40 of the window 28-120
        log(session, therapist, operated_60, k - 30)
    assert item(operated_60, "post_pt_adherence").status is ItemStatus.OPEN
    _, completed = log(session, therapist, operated_60, 43 - 30)
    assert [i.step.code for i in completed] == ["post_pt_adherence"]
    assert item(operated_60, "post_pt_adherence").value == "8 of 8 PT sessions"


def test_items_not_applicable_are_left_alone(session, therapist, nurse, surgeon, operated):
    mobilise = item(operated, "post_mobilise")
    checklist.mark_not_applicable(session, surgeon, mobilise, mobilise.version, "Mobilised on the ward")
    session.commit()
    _, completed = log(session, therapist, operated, 0)
    assert completed == []
    fresh = item(operated, "post_mobilise")
    assert (fresh.status, fresh.reason) == (ItemStatus.NOT_APPLICABLE, "Mobilised on the ward")


def test_items_in_a_signed_off_phase_are_left_alone(session, therapist, operated):
    log(session, therapist, operated, 0, attendance="missed")
    episode = episode_with_checklist(session, operated.id)
    session.add(
        TherapySession(
            episode=episode,
            therapist_id=therapist.id,
            session_date=day(0),
            discipline="PT",
            minutes=30,
            attendance="attended",
            created_at=NOW,
        )
    )
    session.flush()
    assert service.satisfy_items(session, therapist, episode, {Phase.AFTER}) == []
    assert [i.step.code for i in service.satisfy_items(session, therapist, episode, set())] == [
        "post_mobilise"
    ]


def test_prehabilitation_before_surgery_completes_the_before_surgery_step(session, therapist, operated):
    _, completed = log(session, therapist, operated, -30, prehabilitation=True)
    assert [i.step.code for i in completed] == ["pre_prehab"]


def test_logging_on_a_closed_episode_is_refused(session, therapist, coordinator, operated):
    episode = episode_with_checklist(session, operated.id)
    signoffs.close(session, coordinator, episode, episode.version, "Patient transferred")
    session.commit()
    with pytest.raises(
        ServiceError, match="^The episode is closed: its therapy sessions can no longer change.$"
    ):
        service.log_session(session, therapist, episode, entry(0), TODAY)
    session.rollback()
    assert count(TherapySession) == 0


def test_a_missed_session_is_logged_without_minutes_an_attended_one_is_not(session, therapist, operated):
    logged, _ = service.log_session(
        session, therapist, operated, entry(1, minutes=None, attendance="missed"), TODAY
    )
    session.commit()
    assert session.get(TherapySession, logged.id).minutes is None
    (event,) = events("session.logged")
    assert event.after["minutes"] is None
    with pytest.raises(service.InvalidSession) as caught:
        service.log_session(session, therapist, operated, entry(2, minutes=None), TODAY)
    session.rollback()
    assert caught.value.problems == {"minutes": "An attended session needs its minutes: enter 1 to 600."}
    assert count(TherapySession) == 1


def test_bad_entry_is_refused_with_its_problems_and_saves_nothing(session, therapist, operated):
    with pytest.raises(service.InvalidSession) as caught:
        service.log_session(session, therapist, operated, entry(31, minutes=0, pain_after=11), TODAY)
    session.rollback()
    assert caught.value.problems == {
        "session_date": "The session date cannot be in the future.",
        "minutes": "Enter the minutes, from 1 to 600.",
        "pain_after": "Enter a pain score from 0 to 10, or leave it blank.",
    }
    assert count(TherapySession) == 0
    assert events("session.logged") == []


@pytest.mark.parametrize("role", [Role.SURGEON, Role.NURSE, Role.COORDINATOR, Role.ADMIN], ids=str)
def test_only_therapists_log_sessions(session, users, operated, role):
    with pytest.raises(NotPermitted, match="^Only therapists log therapy sessions.$"):
        service.log_session(session, users[role], operated, entry(0), TODAY)


# --- correcting ----------------------------------------------------------------------------


def test_therapist_corrects_own_session_within_24_hours_audited(session, therapist, operated):
    logged, _ = log(session, therapist, operated, 0, attendance="missed")
    clock.set_now(NOW + timedelta(hours=23))
    completed = service.correct_session(session, therapist, logged, 1, entry(0, minutes=50), TODAY)
    session.commit()
    fresh = session.get(TherapySession, logged.id)
    assert (fresh.attendance.value, fresh.minutes, fresh.version) == ("attended", 50, 2)
    assert fresh.updated_at == NOW + timedelta(hours=23)
    (event,) = events("session.corrected")
    assert event.before == {"minutes": 45, "attendance": "missed"}
    assert event.after == {"minutes": 50, "attendance": "attended"}
    assert event.summary == f"Corrected a PT session on {day(0).isoformat()} (attended): minutes, attendance"
    assert [i.step.code for i in completed] == ["post_mobilise"]


def test_correction_after_24_hours_is_refused(session, therapist, operated):
    logged, _ = log(session, therapist, operated, 0)
    clock.set_now(NOW + timedelta(hours=24, seconds=1))
    with pytest.raises(NotPermitted) as caught:
        service.correct_session(session, therapist, logged, 1, entry(0, minutes=50), TODAY)
    assert str(caught.value) == (
        "A session can be corrected for 24 hours after it is logged; add an addendum instead."
    )
    session.rollback()
    assert session.get(TherapySession, logged.id).minutes == 45


def test_another_therapist_cannot_correct_a_session(session, therapist, therapist2, operated):
    logged, _ = log(session, therapist, operated, 0)
    with pytest.raises(NotPermitted, match="^Only the therapist who logged a session can correct it"):
        service.correct_session(session, therapist2, logged, 1, entry(0, minutes=50), TODAY)


def test_correction_from_a_stale_page_is_a_conflict(session, therapist, operated):
    logged, _ = log(session, therapist, operated, 0)
    service.correct_session(session, therapist, logged, 1, entry(0, minutes=50), TODAY)
    session.commit()
    with pytest.raises(Conflict) as caught:
        service.correct_session(session, therapist, logged, 1, entry(0, minutes=55), TODAY)
    assert caught.value.by == "Theo Therapist"
    session.rollback()
    assert session.get(TherapySession, logged.id).minutes == 50


def test_a_completed_item_stays_completed_when_its_session_is_corrected_away(session, therapist, operated):
    logged, _ = log(session, therapist, operated, 0)
    service.correct_session(session, therapist, logged, 1, entry(0, discipline="OT"), TODAY)
    session.commit()
    assert item(operated, "post_mobilise").status is ItemStatus.DONE
    assert item(operated, "post_ot_adl").status is ItemStatus.DONE


def test_an_unchanged_correction_writes_nothing(session, therapist, operated):
    logged, _ = log(session, therapist, operated, 0)
    assert service.correct_session(session, therapist, logged, 1, entry(0), TODAY) == []
    session.commit()
    assert events("session.corrected") == []
    assert session.get(TherapySession, logged.id).version == 1


# --- addenda -------------------------------------------------------------------------------


def test_own_therapist_adds_an_addendum_audited(session, therapist, operated):
    logged, _ = log(session, therapist, operated, 0)
    service.add_addendum(session, therapist, logged, "  Patient called: dizzy after the session.  ")
    session.commit()
    (addendum,) = session.scalars(select(SessionAddendum)).all()
    assert (addendum.text, addendum.author_id, addendum.created_at) == (
        "Patient called: dizzy after the session.",
        therapist.id,
        NOW,
    )
    (event,) = events("session.addendum")
    assert (event.target_type, event.target_id) == ("therapy_session", logged.id)


def test_another_therapist_adds_an_addendum_only_after_24_hours(session, therapist, therapist2, operated):
    logged, _ = log(session, therapist, operated, 0)
    with pytest.raises(NotPermitted) as caught:
        service.add_addendum(session, therapist2, logged, "Seen the next day.")
    assert str(caught.value) == "For 24 hours after logging it, only Theo Therapist can add to this session."
    session.rollback()
    clock.set_now(NOW + timedelta(hours=25))
    service.add_addendum(session, therapist2, logged, "Seen the next day.")
    session.commit()
    assert count(SessionAddendum) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter the addendum text."),
        ("   ", "Enter the addendum text."),
        ("x" * 2001, "Keep the addendum to 2000 characters."),
    ],
)
def test_addendum_text_is_required_and_limited(session, therapist, operated, text, message):
    logged, _ = log(session, therapist, operated, 0)
    with pytest.raises(ServiceError) as caught:
        service.add_addendum(session, therapist, logged, text)
    assert str(caught.value) == message
    session.rollback()
    assert count(SessionAddendum) == 0


def test_rescheduling_surgery_re_checks_sessions_items(session, therapist, coordinator, operated):
    """A session on day 29 counts for outpatient PT; with surgery moved 28 days later it is day 1."""
    from app.services.patients import EpisodeDetails, update_episode

    log(session, therapist, operated, 29)
    assert item(operated, "post_mobilise").status is ItemStatus.OPEN
    assert item(operated, "post_pt_start").status is ItemStatus.DONE
    episode = episode_with_checklist(session, operated.id)
    details = EpisodeDetails(episode.procedure, episode.levels, episode.surgeon_id, day(28))
    assert update_episode(session, coordinator, episode, details, episode.version)
    session.commit()
    mobilise = item(operated, "post_mobilise")
    assert mobilise.status is ItemStatus.DONE and mobilise.value == "1 of 1 PT sessions"


def test_a_step_completed_by_sessions_is_done_on_the_day_of_the_session_that_reached_its_count(
    session, therapist, operated_60
):
    for k in (47, 34, 40, 36, 38, 44, 42):  # 7 sessions in the window 28-120, logged out of order
        log(session, therapist, operated_60, k - 30)
    log(session, therapist, operated_60, 35 - 30)  # the eighth, dated before the last ones logged

    adherence = item(operated_60, "post_pt_adherence")
    assert adherence.status is ItemStatus.DONE
    assert adherence.completed_on == day(47 - 30)  # the eighth session in date order, not today


def test_logging_an_early_session_late_keeps_the_item_on_time(session, therapist, operated):
    log(session, therapist, operated, 1)  # first mobilisation on day 1, logged on day 30
    mobilise = item(operated, "post_mobilise")
    assert mobilise.completed_on == day(1) <= mobilise.due_date
