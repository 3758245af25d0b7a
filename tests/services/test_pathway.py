"""Procedure types (clinical rules version 2, section 1): an episode's items follow the step's
variant for its procedure type and only the steps meant for it; changing the type re-times them."""

from dataclasses import replace
from datetime import date, timedelta

import pytest

from app import db
from app.domain.protocol_spec import parse_protocol
from app.domain.therapy import plan_of
from app.domain.vocab import ItemStatus, Procedure, Sex
from app.models import AuditEvent, ChecklistItem
from app.queries.episodes import episode_with_checklist
from app.services import protocols
from app.services.patients import EpisodeDetails, PatientDetails, register_patient, update_episode
from tests import factories

TODAY = factories.TODAY
SURGERY = date(2026, 7, 1)

PATHWAY = {
    "slug": "pathway-test",
    "name": "Pathway test",
    "steps": [
        {
            "phase": "before",
            "code": "pre_a",
            "title": "A",
            "role": "nurse",
            "required": True,
            "due": -7,
            "kind": "check",
        },
        {
            "phase": "before",
            "code": "pre_fusion_only",
            "title": "Bone health checked",
            "role": "surgeon",
            "required": True,
            "due": -14,
            "kind": "check",
            "only_for": ["fusion"],
        },
        {
            "phase": "during",
            "code": "intra_a",
            "title": "B",
            "role": "surgeon",
            "required": True,
            "due": 0,
            "kind": "check",
        },
        {
            "phase": "after",
            "code": "post_pt",
            "title": "PT sessions",
            "role": "therapist",
            "required": True,
            "due": 120,
            "kind": "sessions",
            "sessions": {"discipline": "PT", "count": 8, "from": 28, "until": 120},
            "variants": {"fusion": {"due": 180, "from": 70, "until": 180, "count": 10}},
        },
        {
            "phase": "after",
            "code": "post_visit",
            "title": "Visit",
            "role": "surgeon",
            "required": True,
            "due": 42,
            "grace": 14,
            "kind": "check",
            "variants": {"fusion": {"due": 84}},
        },
    ],
}


@pytest.fixture
def pathway(session):
    version, _ = protocols.publish(session, parse_protocol(PATHWAY))
    session.commit()
    return version


def register(coordinator, surgeon, pathway, procedure: Procedure):
    with db.write_unit():
        episode = register_patient(
            db.session,
            coordinator,
            PatientDetails(
                f"MRN{procedure.value[:4].upper()}1", "Smith", "Ann", date(1960, 1, 1), Sex.FEMALE
            ),
            EpisodeDetails("L4-L5 surgery", "L4-L5", surgeon.id, SURGERY, procedure),
            pathway,
            TODAY,
        )
        db.session.commit()
        return episode.id


def items(episode_id: int) -> dict[str, ChecklistItem]:
    db.session.expire_all()
    return {i.step.code: i for i in episode_with_checklist(db.session, episode_id).items}


def test_a_discectomy_gets_the_steps_own_plan_and_not_the_fusion_only_step(coordinator, surgeon, pathway):
    got = items(register(coordinator, surgeon, pathway, Procedure.DISCECTOMY))
    assert set(got) == {"pre_a", "intra_a", "post_pt", "post_visit"}
    pt = got["post_pt"]
    assert (pt.due_date, pt.session_count, pt.sessions_from_days, pt.sessions_until_days) == (
        SURGERY + timedelta(days=120),
        8,
        28,
        120,
    )
    assert plan_of(pt).count == 8
    visit = got["post_visit"]
    assert (visit.due_date, visit.overdue_from) == (
        SURGERY + timedelta(days=42),
        SURGERY + timedelta(days=57),
    )


def test_a_fusion_gets_the_fusion_variant_and_its_own_step(coordinator, surgeon, pathway):
    got = items(register(coordinator, surgeon, pathway, Procedure.FUSION))
    assert "pre_fusion_only" in got
    pt = got["post_pt"]
    assert (pt.due_date, pt.session_count, pt.sessions_from_days, pt.sessions_until_days) == (
        SURGERY + timedelta(days=180),
        10,
        70,
        180,
    )
    assert got["post_visit"].due_date == SURGERY + timedelta(days=84)


def test_changing_the_type_re_times_items_adds_new_steps_and_sets_aside_open_ones(
    coordinator, surgeon, pathway
):
    episode_id = register(coordinator, surgeon, pathway, Procedure.FUSION)
    with db.write_unit():
        episode = episode_with_checklist(db.session, episode_id)
        details = EpisodeDetails(
            episode.procedure, episode.levels, surgeon.id, SURGERY, Procedure.DECOMPRESSION
        )
        assert update_episode(db.session, surgeon, episode, details, episode.version)
        db.session.commit()
    got = items(episode_id)
    assert got["post_pt"].due_date == SURGERY + timedelta(days=120)
    assert (got["post_pt"].session_count, got["post_pt"].sessions_from_days) == (8, 28)
    assert got["post_visit"].due_date == SURGERY + timedelta(days=42)
    dropped = got["pre_fusion_only"]
    assert dropped.status is ItemStatus.NOT_APPLICABLE
    assert dropped.reason == "Not part of the Decompression pathway"
    event = db.session.query(AuditEvent).filter_by(action="item.not_applicable", target_id=dropped.id).one()
    assert "not part of the Decompression pathway" in event.summary

    with db.write_unit():  # and back: the step applies again, its item (set aside) keeps its history
        episode = episode_with_checklist(db.session, episode_id)
        details = replace(details, procedure_type=Procedure.FUSION)
        assert update_episode(db.session, surgeon, episode, details, episode.version)
        db.session.commit()
    got = items(episode_id)
    assert got["post_pt"].session_count == 10
    assert got["pre_fusion_only"].status is ItemStatus.NOT_APPLICABLE  # worked items keep their state
