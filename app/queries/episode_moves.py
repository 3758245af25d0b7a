"""Reads for moving episodes to another protocol version: the versions to move to, the open
episodes a version could take, and whether any open episode is behind its protocol's newest
version. A fixed number of queries whatever the number of episodes and items."""

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from app.domain.vocab import EpisodeStatus, VersionStatus
from app.models import ChecklistItem, Episode, Patient, ProtocolTemplate, ProtocolVersion


def published_versions(session: Session) -> list[ProtocolVersion]:
    """Every published version, with its protocol: by protocol name, newest first (one query)."""
    return list(
        session.scalars(
            select(ProtocolVersion)
            .join(ProtocolTemplate)
            .options(joinedload(ProtocolVersion.template))
            .where(ProtocolVersion.status == VersionStatus.PUBLISHED)
            .order_by(ProtocolTemplate.name, ProtocolVersion.number.desc())
        )
    )


def version_with_steps(session: Session, version_id: int) -> ProtocolVersion | None:
    """A version of any status with its protocol and steps (two queries)."""
    return session.scalar(
        select(ProtocolVersion)
        .where(ProtocolVersion.id == version_id)
        .options(joinedload(ProtocolVersion.template), selectinload(ProtocolVersion.steps))
    )


def episodes_to_move(
    session: Session, target: ProtocolVersion, page: int = 1, per_page: int = 50
) -> tuple[list[Episode], int]:
    """One page of the open episodes on other versions of the target's protocol, with their
    patients, versions, sign-offs and items (with their steps and who completed them): by surgery
    date (unscheduled last), then patient; and how many there are in all (five queries, whatever
    the number of episodes: a site publishing a new version may have thousands to move)."""
    where = (
        ProtocolVersion.template_id == target.template_id,
        ProtocolVersion.id != target.id,
        Episode.status != EpisodeStatus.CLOSED,
    )
    total = session.scalar(
        select(func.count())
        .select_from(Episode)
        .join(ProtocolVersion, ProtocolVersion.id == Episode.protocol_version_id)
        .where(*where)
    )
    episodes = list(
        session.scalars(
            select(Episode)
            .join(ProtocolVersion, ProtocolVersion.id == Episode.protocol_version_id)
            .join(Patient, Patient.id == Episode.patient_id)
            .where(*where)
            .options(
                joinedload(Episode.patient),
                joinedload(Episode.protocol_version).joinedload(ProtocolVersion.template),
                selectinload(Episode.signoffs),
                selectinload(Episode.items).options(
                    joinedload(ChecklistItem.step), joinedload(ChecklistItem.completed_by)
                ),
            )
            .order_by(
                Episode.surgery_date.is_(None),
                Episode.surgery_date,
                Patient.family_name,
                Patient.given_name,
                Episode.id,
            )
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return episodes, total or 0


def move_targets(session: Session) -> list:
    """The newest published version of each protocol some open episode is behind (on another of
    its versions): rows of id, name and number, by name (one query)."""
    return list(session.execute(_MOVE_TARGETS))


def _move_targets():
    newest = (
        select(ProtocolVersion.template_id, func.max(ProtocolVersion.number).label("number"))
        .where(ProtocolVersion.status == VersionStatus.PUBLISHED)
        .group_by(ProtocolVersion.template_id)
        .subquery()
    )
    target, held = aliased(ProtocolVersion), aliased(ProtocolVersion)
    behind = (
        select(Episode.id)
        .join(held, held.id == Episode.protocol_version_id)
        .where(
            held.template_id == target.template_id,
            held.id != target.id,
            Episode.status != EpisodeStatus.CLOSED,
        )
        .exists()
    )
    return (
        select(target.id, ProtocolTemplate.name, target.number)
        .join(newest, and_(newest.c.template_id == target.template_id, newest.c.number == target.number))
        .join(ProtocolTemplate, ProtocolTemplate.id == target.template_id)
        .where(behind)
        .order_by(ProtocolTemplate.name)
    )


_MOVE_TARGETS = _move_targets()  # every dashboard of a surgeon or coordinator: built once
