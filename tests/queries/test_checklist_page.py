"""The episode page's checklist read as records: the same as the ORM objects in everything the page
and the domain read, in three queries whatever the checklist holds."""

from sqlalchemy import inspect

from app import db
from app.domain.vocab import ItemStatus, Phase, Role
from app.models import ChecklistItem, ProtocolStep
from app.queries.checklist_page import checklist_episode
from app.queries.episodes import episode_with_checklist
from app.services import checklist
from tests.querycount import counting_queries
from tests.web.checklist.test_print import NOTE, PLAN, _change, printed_episode

SPECS = ("alert_spec", "required_if_spec", "raises_spec", "risk_spec", "variants_spec")


def columns(model) -> list[str]:
    return [a.key for a in inspect(model).column_attrs]


def typed(record, names) -> dict:
    """The values, with their types: an enum is not its word, True is not 1 (the domain uses `is`)."""
    return {name: (type(getattr(record, name)), getattr(record, name)) for name in names}


def annotated_episode(world, users):
    """`printed_episode`, with a second note on its noted item and a note on another item."""
    episode = printed_episode(world, users)
    nurse = users[Role.NURSE]
    for code, text in (("intra_sign_in", "Second note"), ("post_neuro_obs", "Note on another item")):
        _change(
            episode.id, code, nurse, lambda s, a, i, text=text: checklist.add_note(s, a, i, i.version, text)
        )
    return episode


def both(episode_id: int):
    records = checklist_episode(db.session, episode_id)
    db.session.remove()
    orm = episode_with_checklist(db.session, episode_id)
    return records, orm


def test_every_item_and_step_reads_as_its_orm_object(world, users):
    episode = annotated_episode(world, users)
    records, orm = both(episode.id)
    assert [i.id for i in records.items] == [i.id for i in orm.items]  # in the checklist's order
    statuses = set()
    for record, item in zip(records.items, orm.items, strict=True):
        assert typed(record, columns(ChecklistItem)) == typed(item, columns(ChecklistItem))
        step_names = columns(ProtocolStep) + list(SPECS)
        assert typed(record.step, step_names) == typed(item.step, step_names)
        assert record.title == item.title
        for person in ("completed_by", "alert_acknowledged_by"):
            want = getattr(item, person)
            got = getattr(record, person)
            assert (got and (got.id, got.full_name)) == (want and (want.id, want.full_name))
        assert [(n.id, n.text, n.created_at, n.author.id, n.author.full_name) for n in record.notes] == [
            (n.id, n.text, n.created_at, n.author.id, n.author.full_name) for n in item.notes
        ]
        assert record.episode is records
        statuses.add(record.status)
    # The episode held what the records must carry: each state, a note, an acknowledged alert.
    assert statuses == {ItemStatus.OPEN, ItemStatus.DONE, ItemStatus.NOT_APPLICABLE}
    noted = {i.step.code: [n.text for n in i.notes] for i in records.items if i.notes}
    assert noted == {"intra_sign_in": [NOTE, "Second note"], "post_neuro_obs": ["Note on another item"]}
    assert any(i.alert_acknowledgement == PLAN and i.alert_acknowledged_by for i in records.items)


def test_the_episode_is_read_through_to_its_orm_object(world, users):
    episode = printed_episode(world, users)
    records, orm = both(episode.id)
    assert (records.id, records.status, records.surgery_date) == (orm.id, orm.status, orm.surgery_date)
    assert records.patient.display_name == orm.patient.display_name
    assert records.protocol_version.label == orm.protocol_version.label
    assert {s.phase for s in records.signoffs if s.revoked_at is None} == {Phase.BEFORE}


def test_three_queries_whatever_the_checklist_holds(app, world, users):
    plain = world.episode(10)
    worked = printed_episode(world, users)
    counts = []
    for episode in (plain, worked):
        db.session.remove()
        with counting_queries(app.extensions["periop_engine"]) as statements:
            page = checklist_episode(db.session, episode.id)
            assert len(page.items) > 40
        counts.append(len(statements))
    assert counts == [3, 3]


def test_no_such_episode_is_none(app, world):
    assert checklist_episode(db.session, 999_999) is None
