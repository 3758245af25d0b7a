"""The benchmark's synthetic site: a small one is consistent and its audit chain holds.

Only the generator is checked here (a few seconds); the benchmark itself prints figures and
asserts none (`make bench`).
"""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app import audit, clock, db
from app.domain import second_factor as rules
from app.domain.requirement import is_waiting, required_due
from app.domain.vocab import ItemStatus
from app.models import (
    ChecklistItem,
    Episode,
    OutcomeScore,
    Patient,
    ProtocolStep,
    RecoveryCode,
    Signoff,
    TherapySession,
    User,
)
from app.services import protocols, second_factor
from bench import synth
from tests.conftest import NOW

PATIENTS = 20


@pytest.fixture(scope="module")
def site(tmp_path_factory):

    clock.set_now(NOW)  # the module fixture runs before the autouse clock of each test
    url = f"sqlite:///{tmp_path_factory.mktemp('bench') / 'site.db'}"
    counts = synth.generate(url, PATIENTS, seed=3, password_cost=(1, 8, 1), log=lambda *_: None)
    engine = db.make_engine(url)
    yield engine, counts
    engine.dispose()


def test_one_item_per_step_per_episode(site):
    engine, counts = site
    with Session(engine) as s:
        steps = len(protocols.latest_version(s, protocols.DEFAULT_SLUG).steps)  # every episode's protocol
        assert s.scalar(select(func.count()).select_from(Patient)) == PATIENTS
        assert s.scalar(select(func.count()).select_from(Episode)) == PATIENTS
        per_episode = s.execute(
            select(ChecklistItem.episode_id, func.count(func.distinct(ChecklistItem.step_id))).group_by(
                ChecklistItem.episode_id
            )
        ).all()
        assert len(per_episode) == PATIENTS
        assert {n for _, n in per_episode} == {steps}
        assert counts["checklist_item"] == PATIENTS * steps
        assert counts["user_account"] == sum(synth.USER_COUNTS.values())


def test_items_copy_their_step_and_surgery_date(site):
    engine, _ = site
    with Session(engine) as s:
        rows = s.execute(
            select(ChecklistItem, ProtocolStep, Episode.surgery_date)
            .join(ProtocolStep, ProtocolStep.id == ChecklistItem.step_id)
            .join(Episode, Episode.id == ChecklistItem.episode_id)
        ).all()
        for item, step, surgery in rows:
            assert (item.phase, item.position, item.role) == (step.phase, step.position, step.role)
            expected = surgery + timedelta(days=step.due_offset_days) if surgery else None
            if step.required_if:  # a conditional item, due 14 days after it was required if later
                expected = required_due(expected, item.required_since)
            assert item.due_date == expected


def test_completed_items_say_who_when_and_on_which_day(site):
    engine, _ = site
    with Session(engine) as s:
        items = s.scalars(select(ChecklistItem)).all()
        done = [i for i in items if i.status is not ItemStatus.OPEN]
        assert done, "a two-year site has completed items"
        for item in done:
            assert item.completed_on is not None
            assert item.completed_at is not None and item.completed_by_id is not None
            assert item.completed_at <= NOW
            assert item.version == 2
        for item in items:
            if item.status is ItemStatus.NOT_APPLICABLE:
                assert item.reason
            if item.status is ItemStatus.OPEN:
                assert item.completed_on is None and item.completed_by_id is None


def test_records_are_in_the_past_and_unique(site):
    engine, _ = site
    with Session(engine) as s:
        assert all(t.session_date <= NOW.date() for t in s.scalars(select(TherapySession)))
        scores = s.scalars(select(OutcomeScore)).all()
        keys = {(o.episode_id, o.time_point, o.instrument) for o in scores}
        assert len(keys) == len(scores)
        assert all(o.taken_on <= NOW.date() for o in scores)
        assert all(sig.revoked_at is None for sig in s.scalars(select(Signoff)))


def test_audit_chain_verifies_and_the_app_extends_it(site):
    engine, counts = site
    with Session(engine) as s:
        assert audit.verify_chain(s) == []
        assert counts["audit_event"] > counts["patient"]
    with db.write_unit(), Session(engine) as s:
        audit.record(s, None, "bench.check", "One more event after the synthetic ones", target_type="test")
        s.commit()
    with Session(engine) as s:
        assert audit.verify_chain(s) == []


def test_the_site_is_marked_complete(site):
    engine, _ = site
    info = synth.site_info(engine)
    assert info is not None and info["patients"] == str(PATIENTS)
    with engine.connect() as conn:
        assert (
            conn.scalar(text("SELECT count(*) FROM episode WHERE status = 'closed' AND closed_at IS NULL"))
            == 0
        )


def test_stored_flags_and_outstanding_items_are_worked_out(site):
    engine, _ = site
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM episode_flag_date")) == PATIENTS
        unsigned_open = set(
            conn.scalars(
                text(
                    "SELECT i.id FROM checklist_item i JOIN episode e ON e.id = i.episode_id "
                    "WHERE i.status = 'open' AND e.status != 'closed' AND NOT EXISTS ("
                    "SELECT 1 FROM signoff g WHERE g.episode_id = i.episode_id AND g.phase = i.phase "
                    "AND g.revoked_at IS NULL)"
                )
            )
        )
        waiting = {  # conditional items not required now: nobody's to do
            item_id
            for item_id, condition, required, status in conn.execute(
                select(
                    ChecklistItem.id, ProtocolStep.required_if, ChecklistItem.required, ChecklistItem.status
                ).join(ProtocolStep, ProtocolStep.id == ChecklistItem.step_id)
            )
            if is_waiting(condition, required, ItemStatus(status))
        }
        assert waiting & unsigned_open
        outstanding = set(conn.scalars(text("SELECT id FROM checklist_item WHERE outstanding")))
        assert outstanding == unsigned_open - waiting


def test_every_user_has_two_step_login_with_a_known_secret(site):
    engine, _ = site
    with db.write_unit(), Session(engine) as s:
        staff = s.scalars(select(User)).all()
        assert len(staff) == sum(synth.USER_COUNTS.values())
        for user in staff:
            assert user.totp_secret == synth.totp_secret(user.username)
            assert user.totp_enrolled_at < NOW
            assert second_factor.recovery_codes_left(s, user.id) == 10
        assert len({u.totp_secret for u in staff}) == len(staff)
        assert s.scalar(select(func.count()).select_from(RecoveryCode)) == 10 * len(staff)
        # The code the user's app shows now logs them in (as bench/client.py sends it).
        coordinator = next(u for u in staff if u.username == "coordinator1")
        code = rules.code_at(synth.totp_secret("coordinator1"), NOW)
        assert second_factor.check_login_code(s, coordinator, code, 10, 15).accepted
        s.rollback()
