"""Publishing protocol versions from the data files."""

from datetime import date

from sqlalchemy import func, select

from app import db
from app.models import AuditEvent, Episode, ProtocolStep, ProtocolTemplate, ProtocolVersion
from app.services import protocols
from tests import factories

SHIPPED = protocols.PROTOCOL_DIR / "lumbar_fbss.yaml"


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def publish_events() -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "protocol.publish").order_by(AuditEvent.id)
        )
    )


def write_changed_copy(tmp_path, old: str, new: str):
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    directory = tmp_path / "protocols"
    directory.mkdir()
    (directory / "lumbar_fbss.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return directory


def test_app_start_publishes_version_1_with_45_steps_and_one_audit_event(session, protocol):
    """An empty database: the shipped file (the protocol's version 2 content) is its first version."""
    assert protocol.number == 1
    assert protocol.template.slug == protocols.DEFAULT_SLUG
    assert len(protocol.steps) == 45
    assert [s.position for s in protocol.steps] == list(range(1, 46))
    (event,) = publish_events()
    assert event.actor_id is None
    assert event.actor_name == "system"
    assert event.after == {"slug": "lumbar-fbss", "number": 1, "sha256": protocol.content_sha256}
    assert event.summary == "Published Lumbar spine surgery — FBSS prevention version 1 (45 steps)"


def test_load_all_is_idempotent(session, protocol):
    results = protocols.load_all(session)
    session.commit()
    assert [(version.id, created) for version, created in results] == [(protocol.id, False)]
    assert count(ProtocolTemplate) == 1
    assert count(ProtocolVersion) == 1
    assert count(ProtocolStep) == 45
    assert len(publish_events()) == 1


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
    assert count(ProtocolVersion) == 2
    assert count(ProtocolStep) == 90
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

    assert [e.after["number"] for e in publish_events()] == [1, 2]


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
    assert count(ProtocolVersion) == 2
    assert len(publish_events()) == 2


def test_renamed_protocol_updates_the_template_name(session, tmp_path, protocol):
    directory = write_changed_copy(
        tmp_path, 'name: "Lumbar spine surgery — FBSS prevention"', 'name: "Lumbar spine surgery (v2)"'
    )
    ((version, created),) = protocols.load_all(session, directory)
    session.commit()
    assert created
    assert version.template.name == "Lumbar spine surgery (v2)"
    assert version.label == "Lumbar spine surgery (v2) (version 2)"


def test_current_versions_lists_only_the_newest(session, tmp_path, protocol):
    directory = write_changed_copy(tmp_path, "    due: -28\n", "    due: -42\n")
    protocols.load_all(session, directory)
    session.commit()
    assert [v.number for v in protocols.current_versions(session)] == [2]


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
    assert [p.name for p in sorted(protocols.PROTOCOL_DIR.glob("*.yaml"))] == ["lumbar_fbss.yaml"]
    assert (protocols.PROTOCOL_DIR / "archive" / "lumbar_fbss_v1.yaml").exists()
    ((version, created),) = protocols.load_all(session)
    assert not created and len(version.steps) == 45
