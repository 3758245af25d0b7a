"""Reads for moving episodes to another protocol version: the versions to move to, the open
episodes a version could take, and whether any open episode is behind its protocol's newest
version. A fixed number of queries whatever the number of episodes and items."""

from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session, joinedload, selectinload

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


class MoveTarget(NamedTuple):
    id: int
    name: str
    number: int


# Every version with its protocol's name: a few rows (protocols have a handful of versions).
_VERSIONS = select(
    ProtocolVersion.id,
    ProtocolVersion.template_id,
    ProtocolVersion.number,
    ProtocolVersion.status,
    ProtocolTemplate.name,
).join(ProtocolTemplate, ProtocolTemplate.id == ProtocolVersion.template_id)


def move_targets(session: Session) -> list[MoveTarget]:
    """The newest published version of each protocol some open episode is behind (on another of
    its versions), by name: one query of the versions, then, only if a protocol has other
    versions, one that asks of each whether an open episode holds it (an indexed look-up per
    version, not a read of every open episode: as a join, PostgreSQL hashed them all, 30 ms at
    50,000 patients)."""
    versions = session.execute(_VERSIONS).all()
    newest: dict[int, tuple] = {}
    for v in versions:
        if v.status is VersionStatus.PUBLISHED and (
            v.template_id not in newest or v.number > newest[v.template_id].number
        ):
            newest[v.template_id] = v
    others = {
        v.id: v.template_id for v in versions if v.template_id in newest and v.id != newest[v.template_id].id
    }
    if not others:
        return []
    behind = {others[version_id] for version_id in session.scalars(_held(tuple(sorted(others))))}
    return sorted(
        (MoveTarget(v.id, v.name, v.number) for template_id, v in newest.items() if template_id in behind),
        key=lambda t: t.name,
    )


@lru_cache(maxsize=64)
def _held(version_ids: tuple[int, ...]):
    """Which of these versions an open episode holds: each asked on its own, so that the index of
    episodes by version answers with the first open one it finds."""
    asked = [
        select(literal(version_id)).where(
            select(Episode.id)
            .where(Episode.protocol_version_id == version_id, Episode.status != EpisodeStatus.CLOSED)
            .exists()
        )
        for version_id in version_ids
    ]
    return union_all(*asked) if len(asked) > 1 else asked[0]
