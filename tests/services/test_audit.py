"""The audit trail: hash-chained, append-only, tampering detectable."""

from datetime import date

import pytest
from sqlalchemy import exc, select, text

from app import audit, db
from app.models import AuditEvent
from app.services import checklist
from app.services.patients import EpisodeDetails, update_episode
from tests import factories
from tests.conftest import NOW


def all_events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def copy_of(event: AuditEvent, **changes) -> AuditEvent:
    """A detached copy of an event's hashed fields, with some changed."""
    fields = {
        name: getattr(event, name)
        for name in (
            "at",
            "actor_id",
            "actor_name",
            "action",
            "target_type",
            "target_id",
            "patient_id",
            "episode_id",
            "summary",
            "before",
            "after",
            "reason",
            "prev_hash",
        )
    }
    return AuditEvent(**{**fields, **changes})


def is_postgres(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def drop_update_guard(session) -> None:
    """Drop the append-only trigger inside the current transaction (rolled back by the test)."""
    if is_postgres(session):
        session.execute(text("DROP TRIGGER audit_event_append_only ON audit_event"))
    else:
        session.execute(text("DROP TRIGGER audit_event_no_update"))


@pytest.fixture
def worked_episode(session, episode, nurse, anaesthetist, coordinator):
    """An episode with several audited changes committed."""
    vte = factories.item(episode, "post_vte")
    checklist.mark_done(session, nurse, vte, 1, note="Stockings on")
    session.commit()
    hba1c = factories.item(episode, "pre_hba1c")
    checklist.mark_not_applicable(session, anaesthetist, hba1c, 1, "Not diabetic")
    session.commit()
    checklist.reopen(session, nurse, vte, 2, "Recorded on the wrong patient")
    session.commit()
    details = EpisodeDetails(episode.procedure, episode.levels, episode.surgeon_id, date(2026, 7, 1))
    update_episode(session, coordinator, episode, details, episode.version)
    session.commit()
    return episode


# the chain


def test_chain_is_intact_after_several_changes(session, worked_episode):
    events = all_events()
    assert [e.action for e in events][-5:] == [
        "item.done",
        "item.note",
        "item.not_applicable",
        "item.reopen",
        "episode.update",
    ]
    assert audit.verify_chain(session) == []


def test_first_event_links_to_genesis_and_each_next_to_the_one_before(session, worked_episode):
    events = all_events()
    assert events[0].action == "protocol.publish"
    assert events[0].prev_hash == audit.GENESIS
    for earlier, later in zip(events, events[1:], strict=False):
        assert later.prev_hash == earlier.row_hash
    assert len({e.row_hash for e in events}) == len(events)


def test_row_hash_is_the_digest_of_the_stored_content(session, worked_episode):
    for event in all_events():
        assert audit._digest(event) == event.row_hash


def test_record_fills_system_actor_and_stringifies_values(session):
    event = audit.record(
        session,
        None,
        "test.action",
        "x" * 400,
        target_type="thing",
        before={"when": date(2026, 1, 2), "n": 3, "ok": True, "none": None},
        after={"ratio": 0.5},
    )
    session.commit()
    stored = session.get(AuditEvent, event.id)
    assert stored.actor_id is None
    assert stored.actor_name == "system"
    assert stored.at == NOW
    assert len(stored.summary) == 300
    assert stored.before == {"when": "2026-01-02", "n": 3, "ok": True, "none": None}
    assert stored.after == {"ratio": 0.5}
    assert audit.verify_chain(session) == []


def test_record_accepts_an_explicit_actor_name(session):
    event = audit.record(
        session, None, "auth.login_failed", "Failed", target_type="user", actor_name="unknown"
    )
    session.commit()
    assert session.get(AuditEvent, event.id).actor_name == "unknown"


# append-only in the database


def test_update_of_an_audit_event_is_refused_by_the_database(session, worked_episode):
    event = all_events()[-1]
    original = (event.id, event.summary, event.row_hash)
    with pytest.raises(exc.DatabaseError, match="append-only"):
        session.execute(text("UPDATE audit_event SET summary = 'edited' WHERE id = :id"), {"id": event.id})
    session.rollback()
    session.expire_all()
    stored = session.get(AuditEvent, event.id)
    assert (stored.id, stored.summary, stored.row_hash) == original


def test_update_through_the_orm_is_refused_too(session, worked_episode):
    event = all_events()[-1]
    event.reason = "rewritten"
    with pytest.raises(exc.DatabaseError, match="append-only"):
        session.flush()
    session.rollback()
    session.expire_all()
    assert session.get(AuditEvent, event.id).reason is None


def test_delete_of_an_audit_event_is_refused_by_the_database(session, worked_episode):
    count = len(all_events())
    with pytest.raises(exc.DatabaseError, match="append-only"):
        session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": all_events()[-1].id})
    session.rollback()
    assert len(all_events()) == count


def test_delete_of_every_audit_event_is_refused(session, worked_episode):
    count = len(all_events())
    with pytest.raises(exc.DatabaseError, match="append-only"):
        session.execute(text("DELETE FROM audit_event"))
    session.rollback()
    assert len(all_events()) == count


# tampering is detected


def test_digest_changes_when_any_hashed_field_changes(session, worked_episode):
    event = all_events()[-1]
    assert audit._digest(copy_of(event)) == event.row_hash
    for change in (
        {"summary": event.summary + "!"},
        {"actor_name": "Someone Else"},
        {"after": {**event.after, "surgery_date": "2026-07-02"}},
        {"before": None},
        {"reason": "added later"},
        {"prev_hash": audit.GENESIS},
        {"at": NOW.replace(minute=1)},
    ):
        assert audit._digest(copy_of(event, **change)) != event.row_hash, change


def test_verify_chain_reports_an_edited_event(session, worked_episode):
    target = all_events()[3]
    drop_update_guard(session)  # inside this transaction only; rolled back below
    session.execute(
        text("UPDATE audit_event SET summary = 'Nothing happened' WHERE id = :id"), {"id": target.id}
    )
    session.expire_all()
    assert audit.verify_chain(session) == [f"event {target.id}: content does not match its hash"]
    session.rollback()
    session.expire_all()
    assert audit.verify_chain(session) == []
    with pytest.raises(exc.DatabaseError, match="append-only"):
        session.execute(text("UPDATE audit_event SET summary = 'x' WHERE id = :id"), {"id": target.id})
    session.rollback()


def test_verify_chain_reports_an_edit_that_recomputes_the_row_hash(session, worked_episode):
    events = all_events()
    target, following = events[3], events[4]
    forged = copy_of(target, summary="Nothing happened")
    drop_update_guard(session)
    session.execute(
        text("UPDATE audit_event SET summary = :s, row_hash = :h WHERE id = :id"),
        {"s": forged.summary, "h": audit._digest(forged), "id": target.id},
    )
    session.expire_all()
    assert audit.verify_chain(session) == [f"event {following.id}: previous hash does not match"]
    session.rollback()


def test_verify_chain_reports_an_event_inserted_outside_the_chain(session, worked_episode):
    last = all_events()[-1]
    forged = copy_of(last, summary="Backdated entry", prev_hash=audit.GENESIS)
    forged.row_hash = audit._digest(forged)
    session.add(forged)
    session.flush()
    assert audit.verify_chain(session) == [f"event {forged.id}: previous hash does not match"]
    session.rollback()
