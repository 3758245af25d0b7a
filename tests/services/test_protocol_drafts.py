"""A clinical lead's drafts: edit, check, publish with a password, retire; published versions never change."""

import pytest
from sqlalchemy import select

from app.domain.protocol_format import step_data
from app.domain.vocab import EpisodeStatus, VersionStatus
from app.models import AuditEvent, ProtocolVersion, User
from app.services import protocol_drafts as drafts
from app.services import protocols
from app.services.errors import Conflict, NotPermitted, ServiceError
from app.services.signoffs import SignatureRefused
from tests import factories
from tests.conftest import PASSWORD

CHECK = {
    "phase": "after",
    "code": "post_new_call",
    "title": "Phone call on day 3",
    "role": "nurse",
    "required": True,
    "due": 3,
    "kind": "check",
}


@pytest.fixture
def lead(session, surgeon):
    surgeon.edits_protocols = True
    session.flush()
    return surgeon


def _publish(session, lead, draft, password=PASSWORD):
    return drafts.publish(session, lead, draft, draft.lock_version, password, 5, 15)


def test_only_a_surgeon_made_clinical_lead_edits(session, surgeon, coordinator, protocol):
    with pytest.raises(NotPermitted):
        drafts.start_draft(session, surgeon, protocol)
    with pytest.raises(NotPermitted):
        drafts.start_draft(session, coordinator, protocol)


def test_a_draft_from_a_version_copies_its_steps_and_publishes_as_the_next_version(session, lead, protocol):
    draft = drafts.start_draft(session, lead, protocol)
    assert draft.status is VersionStatus.DRAFT and draft.number is None and draft.based_on is protocol
    assert [s.code for s in draft.steps] == [s.code for s in protocol.steps]
    drafts.save_step(session, lead, draft, draft.lock_version, CHECK)
    assert drafts.problems(draft) == []
    diff = drafts.changes_of(draft)
    assert [s.code for s in diff.added] == ["post_new_call"] and not diff.removed and not diff.changed
    published = _publish(session, lead, draft)
    assert published.number == protocol.number + 1 and published.status is VersionStatus.PUBLISHED
    assert published.published_by_id == lead.id and published.content_sha256
    assert published.changes["added"][0]["code"] == "post_new_call"
    assert protocol.status is VersionStatus.PUBLISHED  # the old one stays, for its episodes
    assert [v.id for v in protocols.current_versions(session) if v.template_id == protocol.template_id] == [
        published.id
    ]
    event = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "protocol.publish").order_by(AuditEvent.id.desc())
    )
    assert "approved for clinical use" in event.summary and event.actor_id == lead.id


def test_a_published_version_never_changes(session, lead, protocol):
    with pytest.raises(ServiceError, match="never changes"):
        drafts.save_step(session, lead, protocol, protocol.lock_version, CHECK)
    with pytest.raises(ServiceError, match="never changes"):
        drafts.remove_step(session, lead, protocol, protocol.lock_version, protocol.steps[0])


def test_a_wrong_password_publishes_nothing_and_is_counted(session, lead, protocol):
    draft = drafts.start_draft(session, lead, protocol)
    drafts.save_step(session, lead, draft, draft.lock_version, CHECK)
    with pytest.raises(SignatureRefused):
        _publish(session, lead, draft, "wrong")
    assert draft.status is VersionStatus.DRAFT and draft.number is None
    assert lead.signature_failures == 1


def test_an_unchanged_draft_is_not_published(session, lead, protocol):
    draft = drafts.start_draft(session, lead, protocol)
    with pytest.raises(ServiceError, match="the same as"):
        _publish(session, lead, draft)


def test_a_stale_draft_page_is_a_conflict(session, lead, protocol):
    draft = drafts.start_draft(session, lead, protocol)
    seen = draft.lock_version
    drafts.save_step(session, lead, draft, seen, CHECK)
    with pytest.raises(Conflict):
        drafts.save_step(session, lead, draft, seen, {**CHECK, "code": "other"})
    with pytest.raises(Conflict):
        drafts.publish(session, lead, draft, seen, PASSWORD, 5, 15)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code": "pre_dx_correlation"}, "already used"),
        ({"phase": "before", "due": 3}, "cannot be due after surgery"),
        (
            {"kind": "value", "value": {"type": "number", "min": 10, "max": 0}},
            r"min \(10\) is above max \(0\)",
        ),
        (
            {
                "kind": "value",
                "value": {"type": "number", "min": 0, "max": 10},
                "alert": {"when": {"at_least": 11}, "flag": "High", "acknowledged_by": ["surgeon"]},
            },
            "outside the step's range",
        ),
        ({"required": False, "required_if": {"step": "no_such_step", "answer": "yes"}}, "does not exist"),
        (
            {
                "kind": "value",
                "value": {"type": "number", "outcome": "6w"},
                "due": 42,
                "window": {"from": 50, "until": 60},
            },
            "does not contain the due day",
        ),
        ({"role": "admin"}, "clinical role"),
    ],
)
def test_a_bad_step_is_refused_with_a_clear_message_and_nothing_changes(
    session, lead, protocol, change, message
):
    draft = drafts.start_draft(session, lead, protocol)
    count, seen = len(draft.steps), draft.lock_version
    with pytest.raises(ServiceError, match=message):
        drafts.save_step(session, lead, draft, seen, {**CHECK, **change})
    session.refresh(draft)
    assert len(draft.steps) == count and draft.lock_version == seen


def test_a_condition_naming_a_later_step_is_refused(session, lead, protocol):
    draft = drafts.start_draft(session, lead, protocol)
    first = min(draft.steps, key=lambda s: s.position)
    raw = {
        **step_data(drafts.spec_of_step(first)),
        "required": False,
        "required_if": {"step": "pre_diabetes", "answer": "yes"},
    }
    with pytest.raises(ServiceError, match="comes later"):
        drafts.save_step(session, lead, draft, draft.lock_version, raw, first)


def test_an_empty_phase_stops_publication(session, lead):
    draft = drafts.start_draft(session, lead, None, name="Blank protocol")
    drafts.save_step(session, lead, draft, draft.lock_version, CHECK)
    found = drafts.problems(draft)
    assert "The Before surgery phase has no steps: add one." in found
    with pytest.raises(ServiceError, match="Not published"):
        _publish(session, lead, draft)


def test_steps_move_within_their_phase_and_are_removed(session, lead, protocol):
    draft = drafts.start_draft(session, lead, protocol)
    ordered = sorted(draft.steps, key=lambda s: s.position)
    first, second = ordered[0], ordered[1]
    drafts.move_step(session, lead, draft, draft.lock_version, second, up=True)
    assert second.position < first.position
    with pytest.raises(ServiceError, match="already the first"):
        drafts.move_step(session, lead, draft, draft.lock_version, second, up=True)
    drafts.remove_step(session, lead, draft, draft.lock_version, first)
    assert first.code not in {s.code for s in draft.steps}
    assert sorted(s.position for s in draft.steps) == list(range(1, len(draft.steps) + 1))
    diff = drafts.changes_of(draft)
    assert [s.code for s in diff.removed] == [first.code]


def test_a_step_named_by_a_condition_is_not_removed(session, lead, protocol):
    draft = drafts.start_draft(session, lead, protocol)
    diabetes = next(s for s in draft.steps if s.code == "pre_diabetes")
    with pytest.raises(ServiceError, match="pre_hba1c"):
        drafts.remove_step(session, lead, draft, draft.lock_version, diabetes)


def test_retiring_is_refused_while_open_episodes_use_the_version(session, lead, coordinator, protocol):
    episode = factories.episode(coordinator, lead, protocol)
    with pytest.raises(ServiceError, match="1 open episode"):
        drafts.retire(session, lead, protocol, protocol.lock_version)
    episode.status = EpisodeStatus.CLOSED
    session.flush()
    drafts.retire(session, lead, protocol, protocol.lock_version)
    assert protocol.status is VersionStatus.RETIRED
    assert protocol not in protocols.current_versions(session)


def test_export_then_import_gives_an_identical_version(session, lead, protocol):
    text = drafts.export_yaml(protocol)
    draft = drafts.import_draft(session, lead, text)
    assert draft.based_on is protocol and draft.template is protocol.template
    assert drafts.spec_of(draft) == drafts.spec_of(protocol)
    assert drafts.changes_of(draft).empty
    assert drafts.spec_of(draft).content_sha256 == protocol.content_sha256


def test_import_refuses_a_bad_file_with_its_line(session, lead):
    text = "slug: x\nname: X\nsteps:\n  - phase: before\n    code: a\n"
    with pytest.raises(ServiceError, match="line 4"):
        drafts.import_draft(session, lead, text)


def test_discarding_a_draft_leaves_the_versions(session, lead, protocol):
    draft = drafts.start_draft(session, lead, protocol)
    draft_id = draft.id
    drafts.discard(session, lead, draft, draft.lock_version)
    assert session.get(ProtocolVersion, draft_id) is None
    assert len(protocol.steps) == 45
    assert session.get(User, lead.id).edits_protocols
