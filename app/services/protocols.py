"""Publish protocol versions from the data files."""

import functools
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit, clock
from app.domain.flags import CONDITION_FLAGS, STEP_VALUE_FLAGS
from app.domain.protocol_spec import ProtocolError, ProtocolSpec, parse_protocol
from app.domain.vocab import Procedure, VersionStatus
from app.models import ProtocolStep, ProtocolTemplate, ProtocolVersion
from app.services.errors import InvalidInput

PROTOCOL_DIR = Path(__file__).resolve().parent.parent / "protocols"
DEFAULT_SLUG = "lumbar-fbss"
# The choice "the protocol for the procedure type" on the forms that open an episode.
FOR_PROCEDURE = 0


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_protocol_file(path: Path) -> ProtocolSpec:
    """Parse and check a protocol file (cached until the file changes)."""
    stat = path.stat()
    return _read(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _read(path: Path, _mtime_ns: int, _size: int) -> ProtocolSpec:
    try:
        return parse_protocol_text(path.read_text(encoding="utf-8"))
    except ProtocolError as exc:
        raise ProtocolError(f"{path.name}: {exc}") from None


def parse_protocol_text(text: str) -> ProtocolSpec:
    """Parse and check a protocol in YAML; every problem names its line."""
    try:
        node = yaml.compose(text, Loader=_Loader)  # noqa: S506 - a safe loader
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise ProtocolError(f"{where}not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    return parse_protocol(data, _step_lines(node), CONDITION_FLAGS, STEP_VALUE_FLAGS)


def _step_lines(node) -> list[int]:
    """The line on which each step starts, from the YAML node tree."""
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if key.value == "steps" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def publish(session: Session, spec: ProtocolSpec) -> tuple[ProtocolVersion, bool]:
    """Publish the spec (a protocol file) as a new version unless a version of the protocol
    already has the same content: the newest, or an older one (a file left as it was while a
    clinical lead published later versions in the app does not undo their work)."""
    template = session.scalar(select(ProtocolTemplate).where(ProtocolTemplate.slug == spec.slug))
    if template is None:
        template = ProtocolTemplate(slug=spec.slug, name=spec.name, procedure_types=_types(spec))
        session.add(template)
        session.flush()
    else:
        _store_procedures(session, template, spec)
    same = session.scalar(
        select(ProtocolVersion)
        .where(
            ProtocolVersion.template_id == template.id,
            ProtocolVersion.content_sha256 == spec.content_sha256,
            ProtocolVersion.number.is_not(None),
        )
        .order_by(ProtocolVersion.number.desc())
        .limit(1)
    )
    if same is not None:
        return same, False
    latest = latest_version(session, spec.slug)
    template.name = spec.name
    now = clock.now()
    version = ProtocolVersion(
        template=template,
        number=(latest.number + 1) if latest else 1,
        content_sha256=spec.content_sha256,
        created_at=now,
        status=VersionStatus.PUBLISHED,
        published_at=now,
    )
    session.add(version)
    for step in spec.steps:
        session.add(ProtocolStep(version=version, **step.columns()))
    session.flush()
    audit.record(
        session,
        None,
        "protocol.publish",
        f"Published {spec.name} version {version.number} ({len(spec.steps)} steps)",
        target_type="protocol_version",
        target_id=version.id,
        after={
            "slug": spec.slug,
            "number": version.number,
            "sha256": spec.content_sha256,
            **({"procedures": _listed(template.procedure_types)} if template.procedure_types else {}),
        },
    )
    return version, True


def _types(spec: ProtocolSpec) -> list[str] | None:
    return [p.value for p in spec.procedures] or None


def _listed(types: list[str] | None) -> str | None:
    """Procedure types as the audit trail keeps them (text)."""
    return ", ".join(types) if types else None


def _store_procedures(session: Session, template: ProtocolTemplate, spec: ProtocolSpec) -> None:
    """Give the template the procedure types its file says it is meant for, when it has none
    yet (audited). Once it has some, they are the clinical lead's to change on the Protocols
    page: loading the shipped file again does not undo their choice."""
    types = _types(spec)
    if types is None or template.procedure_types:
        return
    before = template.procedure_types
    template.procedure_types = types
    session.flush()
    audit.record(
        session,
        None,
        "protocol.procedures",
        f"{template.name} is meant for {', '.join(p.label for p in spec.procedures)}",
        target_type="protocol_template",
        target_id=template.id,
        before={"procedures": _listed(before)},
        after={"procedures": _listed(types)},
    )


def load_all(session: Session, directory: Path = PROTOCOL_DIR) -> list[tuple[ProtocolVersion, bool]]:
    """Publish every protocol file in the directory (idempotent)."""
    return [publish(session, read_protocol_file(p)) for p in sorted(directory.glob("*.yaml"))]


def latest_version(session: Session, slug: str) -> ProtocolVersion | None:
    """The protocol's newest numbered version (published or retired; drafts have no number)."""
    return session.scalar(
        select(ProtocolVersion)
        .join(ProtocolTemplate)
        .where(ProtocolTemplate.slug == slug, ProtocolVersion.number.is_not(None))
        .order_by(ProtocolVersion.number.desc())
        .limit(1)
    )


def current_versions(session: Session) -> list[ProtocolVersion]:
    """The newest published version of every protocol: the ones new episodes may use."""
    versions = session.scalars(
        select(ProtocolVersion)
        .where(ProtocolVersion.status == VersionStatus.PUBLISHED)
        .order_by(ProtocolVersion.number.desc())
    ).all()
    newest: dict[int, ProtocolVersion] = {}
    for v in versions:
        newest.setdefault(v.template_id, v)
    return sorted(newest.values(), key=lambda v: v.template.name)


def protocol_for(session: Session, procedure: Procedure) -> ProtocolVersion | None:
    """The protocol meant for a procedure type: the newest published version of the protocol that
    names the type among its procedures (of several, the one named first alphabetically); None
    when no protocol is meant for it."""
    return protocols_for(session).get(procedure)


def protocols_for(session: Session) -> dict[Procedure, ProtocolVersion]:
    """`protocol_for` of every procedure type that has one."""
    known = {p.value for p in Procedure}
    chosen: dict[Procedure, ProtocolVersion] = {}
    for version in current_versions(session):  # by name
        for value in version.template.procedure_types or []:
            if value in known:
                chosen.setdefault(Procedure(value), version)
    return chosen


def chosen_protocol(session: Session, version_id: int, procedure: Procedure) -> ProtocolVersion:
    """The protocol a new episode gets: the published version chosen (its id), or, for
    `FOR_PROCEDURE`, the protocol meant for its procedure type. A refusal names the field."""
    if version_id == FOR_PROCEDURE:
        version = protocol_for(session, procedure)
        if version is None:
            raise InvalidInput(
                {"protocol_version_id": f"No protocol is meant for {procedure.label}: choose one."}
            )
        return version
    version = next((v for v in current_versions(session) if v.id == version_id), None)
    if version is None:
        raise InvalidInput({"protocol_version_id": "Choose a protocol from the list."})
    return version
