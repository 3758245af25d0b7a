"""Conditional requirement through the services (clinical rules version 2, section 3): an answer or
a flag makes a step required, from that day, with its due date; undoing it makes it not required
again; every change is audited by the user whose change caused it; the lists follow."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import db
from app.domain.vocab import ItemStatus
from app.models import AuditEvent, ChecklistItem
from app.queries.episodes import episode_with_checklist
from app.services import checklist, patients, stored_flags
from app.services.patients import EpisodeDetails
from tests import factories

TODAY = date(2026, 6, 17)


@pytest.fixture
def scheduled(app, coordinator, surgeon, protocol):
    """An episode with surgery in 40 days: HbA1c (day -30) is due in 10 days."""
    return factories.episode(coordinator, surgeon, protocol, surgery_date=TODAY + timedelta(days=40))


@pytest.fixture
def soon(app, coordinator, surgeon, protocol):
    """An episode with surgery in 10 days: HbA1c's own due date (day -30) has passed."""
    return factories.episode(coordinator, surgeon, protocol, surgery_date=TODAY + timedelta(days=10))


def fresh(episode_id: int, code: str) -> ChecklistItem:
    db.session.expire_all()
    episode = episode_with_checklist(db.session, episode_id)
    return next(i for i in episode.items if i.step.code == code)


def answer(actor, episode, code: str, value: str) -> None:
    item = fresh(episode.id, code)
    if item.status is not ItemStatus.OPEN:
        checklist.reopen(db.session, actor, item, item.version, "Answered again")
    checklist.mark_done(db.session, actor, item, item.version, value)
    db.session.commit()


def outstanding(item_id: int) -> bool:
    db.session.expire_all()
    return db.session.scalar(select(ChecklistItem.outstanding).where(ChecklistItem.id == item_id))


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_hba1c_waits_until_the_patient_is_diabetic(session, scheduled, surgeon):
    hba1c = fresh(scheduled.id, "pre_hba1c")
    assert not hba1c.required and hba1c.overdue_from is None and not outstanding(hba1c.id)

    answer(surgeon, scheduled, "pre_diabetes", "no")
    assert not fresh(scheduled.id, "pre_hba1c").required and events("item.required") == []

    answer(surgeon, scheduled, "pre_diabetes", "yes")
    hba1c = fresh(scheduled.id, "pre_hba1c")
    own_due = scheduled.surgery_date - timedelta(days=30)
    assert hba1c.required and hba1c.required_since == TODAY and hba1c.due_date == own_due
    assert hba1c.overdue_from == own_due + timedelta(days=1) and outstanding(hba1c.id)
    (event,) = events("item.required")
    assert event.actor_id == surgeon.id and event.target_id == hba1c.id
    assert event.reason == "“Diabetic” is yes"
    assert event.summary == "Now required: HbA1c (diabetics). HbA1c ≥ 8 %: optimise, postpone or doc…"


def test_a_required_hba1c_goes_back_to_not_required_when_the_answer_is_corrected(session, scheduled, surgeon):
    answer(surgeon, scheduled, "pre_diabetes", "yes")
    answer(surgeon, scheduled, "pre_diabetes", "no")

    hba1c = fresh(scheduled.id, "pre_hba1c")
    assert not hba1c.required and hba1c.required_since is None and hba1c.overdue_from is None
    assert not outstanding(hba1c.id)
    (event,) = events("item.not_required")
    assert event.reason == "“Diabetic” is no longer yes" and event.actor_id == surgeon.id
    assert event.before["required"] is True and event.after["required"] is False


def test_reopening_the_answer_alone_makes_it_not_required_too(session, scheduled, surgeon):
    answer(surgeon, scheduled, "pre_diabetes", "yes")
    item = fresh(scheduled.id, "pre_diabetes")
    checklist.reopen(db.session, surgeon, item, item.version, "Not asked yet")
    db.session.commit()
    assert not fresh(scheduled.id, "pre_hba1c").required


def test_required_after_its_own_due_date_it_is_due_14_days_on(session, soon, surgeon):
    answer(surgeon, soon, "pre_diabetes", "yes")
    hba1c = fresh(soon.id, "pre_hba1c")
    assert hba1c.due_date == TODAY + timedelta(days=14) and hba1c.overdue_from == TODAY + timedelta(days=15)


def test_an_hba1c_already_recorded_stays_done_whatever_the_answer(session, scheduled, surgeon, anaesthetist):
    hba1c = fresh(scheduled.id, "pre_hba1c")
    checklist.mark_done(db.session, anaesthetist, hba1c, hba1c.version, "6.1")
    db.session.commit()
    answer(surgeon, scheduled, "pre_diabetes", "yes")
    answer(surgeon, scheduled, "pre_diabetes", "no")
    hba1c = fresh(scheduled.id, "pre_hba1c")
    assert hba1c.status is ItemStatus.DONE and hba1c.value == "6.1"
    assert events("item.required") == [] and events("item.not_required") == []


def test_a_required_item_keeps_its_day_when_the_surgery_moves(session, scheduled, surgeon, coordinator):
    answer(surgeon, scheduled, "pre_diabetes", "yes")
    episode = episode_with_checklist(db.session, scheduled.id)
    moved = TODAY + timedelta(days=20)  # HbA1c's own due date (day -30) now passed: 14 days on
    details = EpisodeDetails(episode.procedure, episode.levels, episode.surgeon_id, moved)
    patients.update_episode(db.session, coordinator, episode, details, episode.version)
    db.session.commit()
    hba1c = fresh(scheduled.id, "pre_hba1c")
    assert hba1c.required and hba1c.required_since == TODAY
    assert hba1c.due_date == TODAY + timedelta(days=14)


def test_a_waiting_item_stays_waiting_when_the_surgery_moves(session, scheduled, coordinator):
    episode = episode_with_checklist(db.session, scheduled.id)
    details = EpisodeDetails(
        episode.procedure, episode.levels, episode.surgeon_id, TODAY - timedelta(days=200)
    )
    patients.update_episode(db.session, coordinator, episode, details, episode.version)
    db.session.commit()
    review = fresh(scheduled.id, "post_idt_review")
    assert not review.required and review.overdue_from is None and not outstanding(review.id)


def test_anticoagulants_make_the_restart_plan_required(session, scheduled, surgeon):
    answer(surgeon, scheduled, "pre_anticoag", "yes")
    restart = fresh(scheduled.id, "post_anticoag_restart")
    assert restart.required and restart.due_date == scheduled.surgery_date + timedelta(days=2)
    assert events("item.required")[0].reason == "“On an anticoagulant or antiplatelet” is yes"


def test_opioids_at_3_months_make_the_review_required(session, coordinator, surgeon, protocol):
    operated = factories.episode(coordinator, surgeon, protocol, surgery_date=TODAY - timedelta(days=95))
    answer(surgeon, operated, "post_opioid_90d", "30")
    review = fresh(operated.id, "post_idt_review")
    assert review.required and review.required_since == TODAY
    assert review.due_date == TODAY + timedelta(days=14)  # its own (day 90) has passed
    (event,) = events("item.required")
    assert event.reason == "Still on opioids at 3 months (30 MME/day)"

    answer(surgeon, operated, "post_opioid_90d", "0")  # corrected: none
    review = fresh(operated.id, "post_idt_review")
    assert not review.required and review.overdue_from is None
    assert events("item.not_required")[0].reason == (
        "no longer raised: not_improving, still_on_opioids, twelve_month_outcome"
    )


def test_a_closed_episode_is_left_as_it_is(session, scheduled, surgeon, coordinator):
    from app.services import signoffs

    episode = episode_with_checklist(db.session, scheduled.id)
    signoffs.close(db.session, coordinator, episode, episode.version, "Moved away")
    db.session.commit()
    with db.write_unit():
        stored_flags.refresh_all(db.session)
        db.session.commit()
    assert events("item.required") == [] and not fresh(scheduled.id, "pre_hba1c").required


def test_refresh_all_brings_every_episode_in_line_as_the_system(session, scheduled, surgeon):
    """After a bulk change that bypassed the hook (or the upgrade to migration 0013)."""
    item = fresh(scheduled.id, "pre_diabetes")
    db.session.execute(
        ChecklistItem.__table__.update()
        .where(ChecklistItem.id == item.id)
        .values(status=ItemStatus.DONE, value="yes", completed_on=TODAY)
    )
    db.session.commit()
    assert not fresh(scheduled.id, "pre_hba1c").required
    with db.write_unit():
        stored_flags.refresh_all(db.session)
        db.session.commit()
    assert fresh(scheduled.id, "pre_hba1c").required
    (event,) = events("item.required")
    assert event.actor_id is None and event.actor_name == "system"
