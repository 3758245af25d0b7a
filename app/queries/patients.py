"""Reads of patients: search, a page of them, their episodes."""

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload

from app.models import Episode, Patient


def patient_matches(q: str):
    """The condition "the patient's MRN or name contains q" (case-insensitive; % and _ literal)."""
    fragment = q.strip().lower()  # the forms refuse control characters (app/web/forms.py)
    return or_(
        *(
            column.contains(fragment, autoescape=True)
            for column in (
                func.lower(Patient.mrn),
                func.lower(Patient.family_name),
                func.lower(Patient.given_name),
                func.lower(Patient.given_name + " " + Patient.family_name),
            )
        )
    )


def patient_search(q: str = "") -> Select:
    """Patients matching a name or MRN fragment, by family name."""
    stmt = select(Patient).order_by(Patient.family_name, Patient.given_name, Patient.id)
    if q.strip():
        stmt = stmt.where(patient_matches(q))
    return stmt


def patient_page(session: Session, q: str, page: int, size: int) -> tuple[list[Patient], int]:
    """One page of the patients matching `q`, and how many match in all (two queries)."""
    stmt = patient_search(q)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return list(session.scalars(stmt.limit(size).offset((page - 1) * size))), total


def latest_episodes(session: Session, patient_ids: list[int]) -> dict[int, Episode]:
    """Each patient's most recent episode, with its surgeon."""
    if not patient_ids:
        return {}
    newest = (
        select(func.max(Episode.id)).where(Episode.patient_id.in_(patient_ids)).group_by(Episode.patient_id)
    )
    episodes = session.scalars(
        select(Episode).options(joinedload(Episode.surgeon)).where(Episode.id.in_(newest))
    )
    return {e.patient_id: e for e in episodes}


def patient_episodes(session: Session, patient_id: int) -> list[Episode]:
    """A patient's episodes, newest first, with their surgeons (one query)."""
    return list(
        session.scalars(
            select(Episode)
            .options(joinedload(Episode.surgeon))
            .where(Episode.patient_id == patient_id)
            .order_by(Episode.id.desc())
        )
    )
