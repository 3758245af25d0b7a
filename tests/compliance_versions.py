"""A second numbered version of the default protocol, and a draft, for the compliance report's
protocol version filter."""

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import clock, db
from app.domain.vocab import VersionStatus
from app.models import ProtocolVersion
from app.services import protocols

NAME = "Lumbar spine surgery — FBSS prevention"


def publish_version_2() -> ProtocolVersion:
    """Version 2 of the default protocol: the same steps, the first one retitled (committed);
    returned with its template and steps loaded."""
    spec = protocols.read_protocol_file(protocols.PROTOCOL_DIR / "lumbar_fbss.yaml")
    first = replace(spec.steps[0], title=spec.steps[0].title + " (revised)")
    with db.write_unit():
        version, created = protocols.publish(db.session, replace(spec, steps=(first, *spec.steps[1:])))
        db.session.commit()
    assert created and version.number == 2
    return _loaded(version.id)


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
    return _loaded(draft.id)


def _loaded(version_id: int) -> ProtocolVersion:
    version = db.session.scalar(
        select(ProtocolVersion)
        .where(ProtocolVersion.id == version_id)
        .options(selectinload(ProtocolVersion.template), selectinload(ProtocolVersion.steps))
    )
    db.session.commit()  # end the read transaction; the objects stay loaded
    return version
