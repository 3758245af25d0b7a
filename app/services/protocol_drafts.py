"""A clinical lead's work on protocols: start a draft (from a version, from blank, from a YAML
file), edit its steps, publish it with an e-signature, retire a version no open episode uses.

A published version never changes: every change here is to a draft, version-checked
(`ProtocolVersion.lock_version`), audited, and checked by the protocol format's own rules
(app/domain/protocol_spec.py), so a draft publishes only what the file loader would accept.
"""

import re

import yaml
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app import audit, clock, passwords
from app.db import site_of
from app.domain.flags import CONDITION_FLAGS, STEP_VALUE_FLAGS
from app.domain.policy import Action, can
from app.domain.protocol_diff import VersionDiff, diff_versions
from app.domain.protocol_format import protocol_data, spec_of_step
from app.domain.protocol_spec import (
    ProtocolError,
    ProtocolSpec,
    StepSpec,
    check_references,
    parse_protocol,
    parse_step,
)
from app.domain.vocab import EpisodeStatus, Phase, Procedure, VersionStatus
from app.models import Episode, ProtocolStep, ProtocolTemplate, ProtocolVersion, User
from app.services.errors import Conflict, NotPermitted, ServiceError
from app.services.protocols import parse_protocol_text
from app.services.signoffs import SignatureRefused, count_signature_failure, refuse_if_signing_locked

MEANING = "Approved for clinical use"
MAX_NAME = 200


def _permit(actor: User) -> None:
    if not can(actor, Action.EDIT_PROTOCOLS):
        raise NotPermitted("Only a clinical lead edits protocols.")


def _audit(session: Session, actor: User, version: ProtocolVersion, action: str, summary: str, **kw) -> None:
    audit.record(session, actor, action, summary, target_type="protocol_version", target_id=version.id, **kw)


def spec_of(version: ProtocolVersion) -> ProtocolSpec:
    """The version's steps as specifications (in their order)."""
    steps = tuple(spec_of_step(s) for s in sorted(version.steps, key=lambda s: s.position))
    return ProtocolSpec(slug=version.template.slug, name=version.template.name, steps=steps)


def export_yaml(version: ProtocolVersion) -> str:
    """The version as a protocol file (the format of app/protocols/lumbar_fbss.yaml)."""
    spec = spec_of(version)
    head = (
        f"# {version.label}, exported from Periop on {clock.now():%Y-%m-%d}.\n"
        "# The format is described at the top of app/protocols/lumbar_fbss.yaml.\n"
    )
    data = protocol_data(spec, version.template.procedure_types or ())
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _claim(session: Session, draft: ProtocolVersion, expected: int) -> None:
    """Refuse a change to anything but a draft, or to a draft changed since the page showed it;
    else count this change (the lock version goes up by one, checked in the same statement)."""
    if draft.status is not VersionStatus.DRAFT:
        raise ServiceError("A published version never changes: start a new draft from it.")
    result = session.execute(
        update(ProtocolVersion)
        .where(ProtocolVersion.id == draft.id, ProtocolVersion.lock_version == expected)
        .values(lock_version=expected + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("This draft")
    session.expire(draft, ["lock_version"])


def _slug(session: Session, name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "protocol"
    slug, n = base, 1
    while session.scalar(select(ProtocolTemplate.id).where(ProtocolTemplate.slug == slug)):
        n += 1
        slug = f"{base}-{n}"
    return slug


def _name(raw: str | None) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise ServiceError("Enter the protocol's name.")
    if len(name) > MAX_NAME:
        raise ServiceError(f"Keep the name to {MAX_NAME} characters.")
    return name


def _copy_steps(draft: ProtocolVersion, steps) -> None:
    for position, step in enumerate(steps, start=1):
        columns = step.columns() if isinstance(step, StepSpec) else spec_of_step(step).columns()
        columns["position"] = position
        draft.steps.append(ProtocolStep(**columns))


def start_draft(
    session: Session,
    actor: User,
    source: ProtocolVersion | None,
    template: ProtocolTemplate | None = None,
    name: str | None = None,
) -> ProtocolVersion:
    """A new draft with the steps of `source` (any version of any protocol) or none: of
    `template`, or of a new protocol called `name`, or else of the source's own protocol."""
    _permit(actor)
    if template is None and name is None and source is not None:
        template = source.template
    if template is None:
        name = _name(name)
        template = ProtocolTemplate(slug=_slug(session, name), name=name, procedure_types=[])
        session.add(template)
    draft = ProtocolVersion(
        template=template,
        number=None,
        content_sha256="",
        created_at=clock.now(),
        status=VersionStatus.DRAFT,
        based_on=source if source is not None and source.number is not None else None,
        created_by_id=actor.id,
    )
    session.add(draft)
    if source is not None:
        _copy_steps(draft, source.steps)
    session.flush()
    origin = f"from {source.label}" if source is not None else "from blank"
    _audit(session, actor, draft, "protocol.draft", f"Started a draft of {template.name} {origin}")
    return draft


def import_draft(session: Session, actor: User, text: str) -> ProtocolVersion:
    """A draft from a protocol file: checked as `flask load-protocols` checks it (every problem
    with its line); a protocol of the same slug gets a draft of its next version."""
    _permit(actor)
    try:
        spec = parse_protocol_text(text)
    except ProtocolError as exc:
        raise ServiceError(f"The file was not imported: {exc}") from None
    template = session.scalar(select(ProtocolTemplate).where(ProtocolTemplate.slug == spec.slug))
    newest = None
    if template is None:
        template = ProtocolTemplate(slug=spec.slug, name=spec.name, procedure_types=[])
        session.add(template)
    else:
        newest = session.scalar(
            select(ProtocolVersion)
            .where(ProtocolVersion.template_id == template.id, ProtocolVersion.number.is_not(None))
            .order_by(ProtocolVersion.number.desc())
            .limit(1)
        )
    draft = ProtocolVersion(
        template=template,
        number=None,
        content_sha256="",
        created_at=clock.now(),
        status=VersionStatus.DRAFT,
        based_on=newest,
        created_by_id=actor.id,
    )
    session.add(draft)
    _copy_steps(draft, spec.steps)
    draft_name = spec.name
    session.flush()
    procedures = getattr(spec, "procedures", ())
    if procedures:
        template.procedure_types = [p.value for p in procedures]
    if template.name != draft_name:
        template.name = draft_name
    _audit(
        session,
        actor,
        draft,
        "protocol.import",
        f"Imported a draft of {spec.name} ({len(spec.steps)} steps)",
        after={"slug": spec.slug, "steps": len(spec.steps)},
    )
    return draft


def _ordered(draft: ProtocolVersion) -> list[ProtocolStep]:
    """The draft's steps by phase, in their order within it."""
    phases = list(Phase)
    return sorted(draft.steps, key=lambda s: (phases.index(s.phase), s.position))


def _renumber(steps: list[ProtocolStep]) -> None:
    for position, step in enumerate(steps, start=1):
        step.position = position


def save_step(
    session: Session,
    actor: User,
    draft: ProtocolVersion,
    expected: int,
    raw: dict,
    step: ProtocolStep | None = None,
) -> ProtocolStep:
    """Add a step to the draft (`step` None: at the end of its phase) or change one, from the
    step's fields in the file format; refused with the format's message when they do not hold."""
    _permit(actor)
    position = step.position if step is not None else len(draft.steps) + 1
    try:
        spec = parse_step(raw, position)
    except ProtocolError as exc:
        raise ServiceError(_plain(str(exc))) from None
    clash = next((s for s in draft.steps if s.code == spec.code and s is not step), None)
    if clash is not None:
        raise ServiceError(
            f"The code {spec.code} is already used by the step “{clash.title}”: codes are unique."
        )
    before = spec_of_step(step) if step is not None else None
    # Its place: where it is, or at the end of its phase when new or moved to another phase.
    others = [s for s in _ordered(draft) if s is not step]
    if step is not None and step.phase is spec.phase:
        at = _ordered(draft).index(step)
    else:
        rank = list(Phase).index(spec.phase)
        at = sum(1 for s in others if list(Phase).index(s.phase) <= rank)
    specs = [spec_of_step(s) for s in others]
    specs.insert(at, spec)
    _check_references(tuple(specs))  # before anything is written
    _claim(session, draft, expected)
    if step is None:
        step = ProtocolStep(**spec.columns())
        draft.steps.append(step)
    else:
        for name, value in spec.columns().items():
            setattr(step, name, value)
    others.insert(at, step)
    _renumber(others)
    session.flush()
    verb = "Added" if before is None else "Changed"
    _audit(
        session,
        actor,
        draft,
        "protocol.step",
        f"{verb} step {spec.code} of the draft of {draft.template.name}",
    )
    return step


def _check_references(steps: tuple[StepSpec, ...]) -> None:
    """A condition names an earlier yes/no step or a flag it may name; one step per raised flag."""
    try:
        check_references(steps, [None] * len(steps), CONDITION_FLAGS, STEP_VALUE_FLAGS)
    except ProtocolError as exc:
        raise ServiceError(_plain(str(exc))) from None


def _plain(message: str) -> str:
    """A parser message without the "step N (code): " it starts with (the form names the step)."""
    return re.sub(r"^(line \d+: )?step \d+ \([^)]*\): ", "", message)


def move_step(
    session: Session, actor: User, draft: ProtocolVersion, expected: int, step: ProtocolStep, up: bool
):
    """Move a step one place up or down within its phase."""
    _permit(actor)
    _claim(session, draft, expected)
    steps = _ordered(draft)
    n = steps.index(step)
    m = n - 1 if up else n + 1
    if not 0 <= m < len(steps) or steps[m].phase is not step.phase:
        raise ServiceError(f"“{step.title}” is already the {'first' if up else 'last'} step of its phase.")
    steps[n], steps[m] = steps[m], steps[n]
    _renumber(steps)
    session.flush()
    _audit(session, actor, draft, "protocol.step", f"Moved step {step.code} {'up' if up else 'down'}")


def remove_step(session: Session, actor: User, draft: ProtocolVersion, expected: int, step: ProtocolStep):
    """Remove a step from the draft (a step another names in its required_if is kept)."""
    _permit(actor)
    named_by = [s.code for s in draft.steps if (s.required_if or {}).get("step") == step.code]
    if named_by:
        raise ServiceError(
            f"Step {', '.join(named_by)} is required only when {step.code} is answered: change that first."
        )
    _claim(session, draft, expected)
    draft.steps.remove(step)
    session.delete(step)
    _renumber(_ordered(draft))
    session.flush()
    _audit(session, actor, draft, "protocol.step", f"Removed step {step.code} from the draft")


def set_procedures(
    session: Session, actor: User, template: ProtocolTemplate, procedures: list[Procedure]
) -> None:
    """The procedure types a protocol is meant for: registering an episode of one proposes the
    protocol's newest published version. About the protocol, not a version: no version changes."""
    _permit(actor)
    before = {"procedure_types": template.procedure_types}
    template.procedure_types = [p.value for p in procedures]
    session.flush()
    newest = max(template.versions, key=lambda v: (v.number is not None, v.number or 0, v.id))
    _audit(
        session,
        actor,
        newest,
        "protocol.procedures",
        f"{template.name} is meant for: {', '.join(p.label for p in procedures) or 'no procedure type'}",
        before=before,
        after={"procedure_types": template.procedure_types},
    )


def problems(draft: ProtocolVersion) -> list[str]:
    """What stops the draft being published, in words (empty: it may be published)."""
    found = []
    steps = _ordered(draft)
    for phase in Phase:
        if not any(s.phase is phase for s in steps):
            found.append(f"The {phase.label} phase has no steps: add one.")
    if found:
        return found
    try:
        parse_protocol(protocol_data(spec_of(draft)), None, CONDITION_FLAGS, STEP_VALUE_FLAGS)
    except ProtocolError as exc:
        found.append(str(exc)[0].upper() + str(exc)[1:] + ".")
    return found


def changes_of(draft: ProtocolVersion) -> VersionDiff:
    """The draft against the version it came from (all steps added when from blank)."""
    base = draft.based_on
    old = spec_of(base).steps if base is not None else ()
    return diff_versions(old, spec_of(draft).steps)


def publish(
    session: Session,
    actor: User,
    draft: ProtocolVersion,
    expected: int,
    password: str,
    max_failures: int,
    lock_minutes: int,
) -> ProtocolVersion:
    """Publish the draft as the protocol's next version: an e-signature (the lead's password;
    "approved for clinical use"), with the changes approved kept on the version."""
    _permit(actor)
    refuse_if_signing_locked(actor)
    if draft.status is not VersionStatus.DRAFT:
        raise ServiceError("This version is already published.")
    if draft.lock_version != expected:
        raise Conflict("This draft")
    found = problems(draft)
    if found:
        raise ServiceError("Not published: " + " ".join(found))
    diff = changes_of(draft)
    if draft.based_on is not None and diff.empty:
        raise ServiceError(f"Not published: the draft is the same as {draft.based_on.label}.")
    if not passwords.verify_password(actor.password_hash, password or "", site_of(session).password_cost):
        what = f"publishing {draft.template.name}"
        summary = count_signature_failure(actor, what, max_failures, lock_minutes)
        _audit(session, actor, draft, "protocol.publish_failed", summary)
        raise SignatureRefused("Wrong password: nothing was published.")
    actor.signature_failures = 0
    _claim(session, draft, expected)
    spec = spec_of(draft)
    number = (
        session.scalar(
            select(func.max(ProtocolVersion.number)).where(ProtocolVersion.template_id == draft.template_id)
        )
        or 0
    ) + 1
    draft.number = number
    draft.status = VersionStatus.PUBLISHED
    draft.content_sha256 = spec.content_sha256
    draft.published_at, draft.published_by_id = clock.now(), actor.id
    draft.changes = {"against": draft.based_on.label if draft.based_on else None, **diff.to_json()}
    session.flush()
    _audit(
        session,
        actor,
        draft,
        "protocol.publish",
        f"Published {draft.template.name} version {number} ({len(spec.steps)} steps), "
        f"{MEANING.lower()}. {diff.counts}.",
        after={"slug": spec.slug, "number": number, "sha256": spec.content_sha256, "meaning": MEANING},
    )
    return draft


def open_episodes_on(session: Session, version_ids) -> dict[int, int]:
    """How many open episodes use each version (one query)."""
    rows = session.execute(
        select(Episode.protocol_version_id, func.count())
        .where(Episode.protocol_version_id.in_(list(version_ids)), Episode.status != EpisodeStatus.CLOSED)
        .group_by(Episode.protocol_version_id)
    )
    return {vid: n for vid, n in rows}


def retire(session: Session, actor: User, version: ProtocolVersion, expected: int) -> None:
    """Retire a published version: no new episode may use it. Refused while open episodes do."""
    _permit(actor)
    if version.status is not VersionStatus.PUBLISHED:
        raise ServiceError("Only a published version can be retired.")
    if version.lock_version != expected:
        raise Conflict("This version")
    using = open_episodes_on(session, [version.id]).get(version.id, 0)
    if using:
        raise ServiceError(
            f"{version.label} is used by {using} open episode{'s' if using != 1 else ''}: "
            "move them to another version or close them first."
        )
    version.status = VersionStatus.RETIRED
    version.retired_at, version.retired_by_id = clock.now(), actor.id
    session.flush()
    _audit(session, actor, version, "protocol.retire", f"Retired {version.label}")


def discard(session: Session, actor: User, draft: ProtocolVersion, expected: int) -> None:
    """Throw a draft away (its steps with it); nothing published changes."""
    _permit(actor)
    _claim(session, draft, expected)
    label = draft.label
    session.execute(delete(ProtocolStep).where(ProtocolStep.version_id == draft.id))
    _audit(session, actor, draft, "protocol.discard", f"Discarded the draft {label}")
    session.delete(draft)
    session.flush()
