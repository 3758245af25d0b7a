"""Small factories: real records made through the services, committed."""

import itertools
from datetime import date

from app import db
from app.domain.vocab import Sex
from app.models import ChecklistItem, Episode, User
from app.queries import episode_with_checklist
from app.services.patients import EpisodeDetails, PatientDetails, register_patient

_numbers = itertools.count(1)
TODAY = date(2026, 6, 17)


def episode(
    actor,
    surgeon,
    protocol,
    surgery_date: date | None = TODAY,
    family_name: str = "Doe",
    given_name: str = "Jane",
    mrn: str | None = None,
) -> Episode:
    """Register a patient with one episode and return the episode."""
    mrn = mrn or f"MRN{next(_numbers):05d}"
    with db.write_unit():
        created = register_patient(
            db.session,
            actor,
            PatientDetails(mrn, family_name, given_name, date(1970, 1, 1), Sex.FEMALE),
            EpisodeDetails("L4-L5 microdiscectomy", "L4-L5", surgeon.id, surgery_date),
            protocol,
            TODAY,
        )
        db.session.commit()
    # Load everything tests read, so the episode stays usable after requests end the session.
    loaded = episode_with_checklist(db.session, created.id)
    db.session.commit()  # end the read transaction; the objects stay loaded
    return loaded


def item(episode: Episode, code: str) -> ChecklistItem:
    """The episode's item for a protocol step code."""
    return next(i for i in episode.items if i.step.code == code)


def load_in_new_session(model, ident: int, user_id: int):
    """A second, independent session holding the record and a user, no transaction open."""
    other = db.session.session_factory()
    record = other.get(model, ident)
    user = other.get(User, user_id)
    other.commit()  # ends the read transaction; the objects stay loaded (expire_on_commit=False)
    return other, record, user
