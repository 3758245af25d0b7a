"""Publishing protocol versions from the data files."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app import db
from app.domain.vocab import Procedure
from app.models import AuditEvent, Episode, ProtocolStep, ProtocolTemplate, ProtocolVersion
from app.services import protocols
from app.services.errors import InvalidInput
from tests import factories

SHIPPED = protocols.PROTOCOL_DIR / "lumbar_fbss.yaml"
CERVICAL = protocols.PROTOCOL_DIR / "cervical_acdf.yaml"
LUMBAR_TYPES = [Procedure.DISCECTOMY, Procedure.DECOMPRESSION, Procedure.FUSION, Procedure.OTHER]


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def publish_events(slug: str | None = None) -> list[AuditEvent]:
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "protocol.publish").order_by(AuditEvent.id)
    )
    return [e for e in events if slug is None or e.after["slug"] == slug]


def write_changed_copy(tmp_path, old: str, new: str, *more: tuple[str, str], source=SHIPPED):
    text = source.read_text(encoding="utf-8")
    for before, after in ((old, new), *more):
        assert before in text
        text = text.replace(before, after, 1)
    directory = tmp_path / "protocols"
    directory.mkdir()
    (directory / source.name).write_text(text, encoding="utf-8")
    return directory


def versions_of(protocol) -> int:
    return count(ProtocolVersion, ProtocolVersion.template_id == protocol.template_id)


@pytest.fixture
def cervical(app):
    """The cervical protocol's current version."""
    return protocols.latest_version(db.session, "cervical-acdf")


def test_app_start_publishes_each_shipped_protocol_as_its_version_1_with_one_audit_event(
    session, protocol, cervical
):
    """An empty database: each shipped file is its protocol's first version (the lumbar file holds
    the protocol's version 2 content)."""
    assert protocol.number == 1 and cervical.number == 1
    assert protocol.template.slug == protocols.DEFAULT_SLUG
    assert len(protocol.steps) == 45
    assert [s.position for s in protocol.steps] == list(range(1, 46))
    assert cervical.template.name == "Cervical spine surgery (ACDF)"
    assert [s.position for s in cervical.steps] == list(range(1, len(cervical.steps) + 1))
    first, second = publish_events()  # the files in the order of their names
    assert {first.actor_name, second.actor_name} == {"system"} and first.actor_id is second.actor_id is None
    assert first.summary == f"Published Cervical spine surgery (ACDF) version 1 ({len(cervical.steps)} steps)"
    assert first.after == {
        "slug": "cervical-acdf",
        "number": 1,
        "sha256": cervical.content_sha256,
        "procedures": "acdf",
    }
    assert second.after == {
        "slug": "lumbar-fbss",
        "number": 1,
        "sha256": protocol.content_sha256,
        "procedures": "discectomy, decompression, fusion, other",
    }
    assert second.summary == "Published Lumbar spine surgery — FBSS prevention version 1 (45 steps)"


def test_the_shipped_protocols_are_kept_with_the_procedure_types_they_are_meant_for(protocol, cervical):
    assert protocol.template.procedure_types == ["discectomy", "decompression", "fusion", "other"]
    assert cervical.template.procedure_types == ["acdf"]


def test_load_all_is_idempotent(session, protocol, cervical):
    results = protocols.load_all(session)
    session.commit()
    assert [(v.id, created) for v, created in results] == [(cervical.id, False), (protocol.id, False)]
    assert count(ProtocolTemplate) == 2
    assert count(ProtocolVersion) == 2
    assert count(ProtocolStep) == 45 + len(cervical.steps)
    assert len(publish_events()) == 2
    assert count(AuditEvent, AuditEvent.action == "protocol.procedures") == 0


def test_changed_file_publishes_version_2_and_existing_episode_keeps_version_1(
    session, tmp_path, protocol, coordinator, surgeon
):
    episode = factories.episode(coordinator, surgeon, protocol)
    old_item_ids = sorted(i.id for i in episode.items)
    old_step_ids = {s.id for s in protocol.steps}
    directory = write_changed_copy(tmp_path, "    due: -28\n", "    due: -42\n")

    ((version, created),) = protocols.load_all(session, directory)
    session.commit()

    assert created
    assert version.number == 2
    assert version.template_id == protocol.template_id
    assert version.content_sha256 != protocol.content_sha256
    assert protocols.latest_version(session, protocols.DEFAULT_SLUG).id == version.id
    assert versions_of(protocol) == 2
    assert count(ProtocolStep, ProtocolStep.version_id.in_([protocol.id, version.id])) == 90
    smoking = next(s for s in version.steps if s.code == "pre_smoking")
    assert smoking.due_offset_days == -42
    old_smoking = next(s for s in protocol.steps if s.code == "pre_smoking")
    assert old_smoking.due_offset_days == -28

    session.expire_all()
    kept = session.get(Episode, episode.id)
    assert kept.protocol_version_id == protocol.id
    assert sorted(i.id for i in kept.items) == old_item_ids
    assert {i.step_id for i in kept.items} == old_step_ids
    assert factories.item(kept, "pre_smoking").due_date == date(2026, 5, 20)

    assert [e.after["number"] for e in publish_events("lumbar-fbss")] == [1, 2]


def test_new_episode_uses_the_latest_version(session, tmp_path, protocol, coordinator, surgeon):
    directory = write_changed_copy(tmp_path, "    due: -28\n", "    due: -42\n")
    ((version, _),) = protocols.load_all(session, directory)
    session.commit()
    episode = factories.episode(
        coordinator, surgeon, protocols.latest_version(session, protocols.DEFAULT_SLUG)
    )
    assert episode.protocol_version_id == version.id
    assert factories.item(episode, "pre_smoking").due_date == date(2026, 5, 6)


def test_reloading_the_changed_file_publishes_nothing_more(session, tmp_path, protocol):
    directory = write_changed_copy(tmp_path, "    due: -28\n", "    due: -42\n")
    protocols.load_all(session, directory)
    session.commit()
    ((version, created),) = protocols.load_all(session, directory)
    session.commit()
    assert not created
    assert version.number == 2
    assert versions_of(protocol) == 2
    assert len(publish_events("lumbar-fbss")) == 2


def test_renamed_protocol_updates_the_template_name(session, tmp_path, protocol):
    directory = write_changed_copy(
        tmp_path, 'name: "Lumbar spine surgery — FBSS prevention"', 'name: "Lumbar spine surgery (v2)"'
    )
    ((version, created),) = protocols.load_all(session, directory)
    session.commit()
    assert created
    assert version.template.name == "Lumbar spine surgery (v2)"
    assert version.label == "Lumbar spine surgery (v2) (version 2)"


def test_current_versions_lists_only_the_newest_of_each_protocol_by_name(session, tmp_path, protocol):
    directory = write_changed_copy(tmp_path, "    due: -28\n", "    due: -42\n")
    protocols.load_all(session, directory)
    session.commit()
    assert [(v.template.slug, v.number) for v in protocols.current_versions(session)] == [
        ("cervical-acdf", 1),
        ("lumbar-fbss", 2),
    ]


def test_latest_version_of_unknown_slug_is_none(session):
    assert protocols.latest_version(session, "no-such-protocol") is None


def test_loading_version_2_over_version_1_publishes_version_2_and_an_open_episode_keeps_its_39_items(
    session, tmp_path, protocol, coordinator, surgeon
):
    """A site that runs version 1 (app/protocols/archive/lumbar_fbss_v1.yaml) and loads the
    shipped file gets version 2 for new episodes; an episode opened on version 1 keeps its items.
    (The test database already holds the shipped file under its slug, so both files are loaded
    here under a slug of their own.)"""
    v1_dir, v2_dir = tmp_path / "v1", tmp_path / "v2"
    for directory, source in (
        (v1_dir, protocols.PROTOCOL_DIR / "archive" / "lumbar_fbss_v1.yaml"),
        (v2_dir, SHIPPED),
    ):
        directory.mkdir()
        text = source.read_text(encoding="utf-8").replace("slug: lumbar-fbss\n", "slug: site-lumbar\n", 1)
        (directory / "lumbar_fbss.yaml").write_text(text, encoding="utf-8")
    ((version_1, created),) = protocols.load_all(session, v1_dir)
    session.commit()
    assert created and version_1.number == 1 and len(version_1.steps) == 39
    episode = factories.episode(coordinator, surgeon, version_1)
    assert len(episode.items) == 39

    ((version_2, created),) = protocols.load_all(session, v2_dir)
    session.commit()
    assert created and version_2.number == 2 and version_2.template_id == version_1.template_id
    assert len(version_2.steps) == 45
    assert protocols.latest_version(session, "site-lumbar").id == version_2.id
    assert [e.summary for e in publish_events()][-1] == (
        "Published Lumbar spine surgery — FBSS prevention version 2 (45 steps)"
    )

    session.expire_all()
    kept = session.get(Episode, episode.id)
    assert kept.protocol_version_id == version_1.id
    assert len(kept.items) == 39
    assert not {"post_opioid_90d", "pre_anticoag"} & {i.step.code for i in kept.items}
    new = factories.episode(coordinator, surgeon, protocols.latest_version(session, "site-lumbar"))
    assert len(new.items) == 45
    assert factories.item(new, "post_opioid_90d").step.raises == {"flag": "still_on_opioids", "above": 0}


def test_load_all_reads_only_the_top_level_files_not_the_archive(session, protocol):
    names = [p.name for p in sorted(protocols.PROTOCOL_DIR.glob("*.yaml"))]
    assert names == ["cervical_acdf.yaml", "lumbar_fbss.yaml"]
    assert (protocols.PROTOCOL_DIR / "archive" / "lumbar_fbss_v1.yaml").exists()
    (cervical, cervical_created), (lumbar, lumbar_created) = protocols.load_all(session)
    assert not cervical_created and not lumbar_created
    assert cervical.template.slug == "cervical-acdf" and len(lumbar.steps) == 45


# the procedure types a protocol is meant for


def test_loading_a_file_again_never_undoes_the_procedure_types_a_lead_chose(session, tmp_path, protocol):
    """The procedure types are the protocol's, not a version's: a file changing only them makes no
    new version, and once the protocol has types, they are the lead's (Protocols page) to change."""
    directory = write_changed_copy(
        tmp_path,
        "procedures: [discectomy, decompression, fusion, other]",
        "procedures: [discectomy, decompression]",
    )
    ((version, created),) = protocols.load_all(session, directory)
    session.commit()
    assert not created and version.id == protocol.id
    assert version.template.procedure_types == ["discectomy", "decompression", "fusion", "other"]
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "protocol.procedures")).all()


def test_a_protocol_without_types_takes_those_of_its_file_once(session, tmp_path, protocol):
    protocol.template.procedure_types = None
    session.flush()
    loaded = {version.template.slug: (version, created) for version, created in protocols.load_all(session)}
    version, created = loaded[protocols.DEFAULT_SLUG]
    assert not created
    assert version.template.procedure_types == ["discectomy", "decompression", "fusion", "other"]
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "protocol.procedures"))
    assert event.after == {"procedures": "discectomy, decompression, fusion, other"}
    assert protocols.protocol_for(session, Procedure.FUSION).id == protocol.id


def test_a_file_without_procedures_leaves_the_protocols_types_as_they_are(session, tmp_path, protocol):
    directory = write_changed_copy(tmp_path, "procedures: [discectomy, decompression, fusion, other]\n", "")
    ((version, created),) = protocols.load_all(session, directory)
    session.commit()
    assert not created and version.id == protocol.id
    assert version.template.procedure_types == ["discectomy", "decompression", "fusion", "other"]


@pytest.mark.parametrize("procedure", LUMBAR_TYPES)
def test_the_protocol_for_a_lumbar_procedure_type_is_the_lumbar_one(session, protocol, procedure):
    assert protocols.protocol_for(session, procedure).id == protocol.id


def test_the_protocol_for_an_acdf_is_the_cervical_one(session, cervical):
    assert protocols.protocol_for(session, Procedure.ACDF).id == cervical.id


def test_the_protocol_for_a_type_is_its_newest_published_version(session, tmp_path, protocol):
    directory = write_changed_copy(tmp_path, "    due: -28\n", "    due: -42\n")
    ((version, _),) = protocols.load_all(session, directory)
    session.commit()
    assert version.number == 2
    assert protocols.protocol_for(session, Procedure.FUSION).id == version.id


def test_of_two_protocols_meant_for_a_type_the_one_named_first_alphabetically_is_proposed(
    session, tmp_path, protocol
):
    directory = write_changed_copy(
        tmp_path,
        "slug: lumbar-fbss\n",
        "slug: a-site-lumbar\n",
        ('name: "Lumbar spine surgery — FBSS prevention"', 'name: "A site\'s lumbar protocol"'),
        ("procedures: [discectomy, decompression, fusion, other]", "procedures: [fusion]"),
    )
    ((site, created),) = protocols.load_all(session, directory)
    session.commit()
    assert created and site.template.procedure_types == ["fusion"]
    assert protocols.protocol_for(session, Procedure.FUSION).id == site.id
    assert protocols.protocol_for(session, Procedure.DISCECTOMY).id == protocol.id


def test_no_protocol_is_meant_for_a_type_no_protocol_names(session, protocol):
    protocol.template.procedure_types = ["discectomy"]
    session.commit()
    assert protocols.protocol_for(session, Procedure.OTHER) is None
    assert Procedure.OTHER not in protocols.protocols_for(session)


def test_the_protocol_for_the_procedure_type_is_chosen_unless_a_version_is(session, protocol, cervical):
    chosen = protocols.chosen_protocol
    assert chosen(session, protocols.FOR_PROCEDURE, Procedure.ACDF).id == cervical.id
    assert chosen(session, protocols.FOR_PROCEDURE, Procedure.FUSION).id == protocol.id
    # A version chosen explicitly wins, even one meant for other procedure types.
    assert chosen(session, protocol.id, Procedure.ACDF).id == protocol.id
    assert chosen(session, cervical.id, Procedure.FUSION).id == cervical.id


def test_choosing_a_protocol_refuses_an_unknown_version_and_a_type_no_protocol_is_meant_for(
    session, protocol
):
    with pytest.raises(InvalidInput) as unknown:
        protocols.chosen_protocol(session, 9999, Procedure.FUSION)
    assert unknown.value.problems == {"protocol_version_id": "Choose a protocol from the list."}
    protocol.template.procedure_types = ["fusion"]
    session.commit()
    with pytest.raises(InvalidInput) as none:
        protocols.chosen_protocol(session, protocols.FOR_PROCEDURE, Procedure.OTHER)
    assert none.value.problems == {"protocol_version_id": "No protocol is meant for Other: choose one."}
