"""Newer published versions of the default protocol, for moving episodes to them: steps dropped,
added, retitled or reworded, published as the file loader publishes (committed)."""

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import clock, db
from app.domain.vocab import Role, VersionStatus
from app.models import ProtocolVersion
from app.services import protocols

# A step the default protocol does not have: a nurse's phone call on day 3 after surgery.
NEW_CALL = "post_new_call"


def default_steps():
    return protocols.read_protocol_file(protocols.PROTOCOL_DIR / "lumbar_fbss.yaml").steps


def publish_next(
    drop: tuple[str, ...] = (),
    add_call: bool = False,
    retitle: dict[str, str] | None = None,
    guidance: dict[str, str] | None = None,
) -> ProtocolVersion:
    """The next version of the default protocol: the file's steps without
    `drop`, with the phone call added after the last After-surgery step, some retitled, some with
    new guidance; returned with its template and steps loaded."""
    spec = protocols.read_protocol_file(protocols.PROTOCOL_DIR / "lumbar_fbss.yaml")
    retitle, guidance = retitle or {}, guidance or {}
    steps = [
        replace(s, title=retitle.get(s.code, s.title), guidance=guidance.get(s.code, s.guidance))
        for s in spec.steps
        if s.code not in drop
    ]
    if add_call:
        vte = next(s for s in spec.steps if s.code == "post_vte")
        steps.append(
            replace(
                vte,
                code=NEW_CALL,
                title="Phone call on day 3",
                guidance="",
                role=Role.NURSE,
                due_offset_days=3,
            )
        )
    steps = [replace(s, position=n) for n, s in enumerate(steps, start=1)]
    with db.write_unit():
        version, created = protocols.publish(db.session, replace(spec, steps=tuple(steps)))
        db.session.commit()
    assert created
    return loaded(version.id)


def add_draft() -> ProtocolVersion:
    """A draft of the default protocol (no number, no steps), committed."""
    with db.write_unit():
        template = protocols.latest_version(db.session, protocols.DEFAULT_SLUG).template
        draft = ProtocolVersion(
            template=template,
            number=None,
            content_sha256="",
            created_at=clock.now(),
            status=VersionStatus.DRAFT,
        )
        db.session.add(draft)
        db.session.commit()
    return loaded(draft.id)


def loaded(version_id: int) -> ProtocolVersion:
    version = db.session.scalar(
        select(ProtocolVersion)
        .where(ProtocolVersion.id == version_id)
        .options(selectinload(ProtocolVersion.template), selectinload(ProtocolVersion.steps))
    )
    db.session.commit()  # end the read transaction; the objects stay loaded
    return version
