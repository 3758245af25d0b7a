"""A second numbered version of the default protocol, and a draft, for the compliance report's
protocol version filter."""

from dataclasses import replace

from app import db
from app.models import ProtocolVersion
from app.services import protocols
from tests.move_versions import add_draft, loaded

__all__ = ["NAME", "add_draft", "publish_version_2"]

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
    return loaded(version.id)
