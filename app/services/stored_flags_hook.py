"""Keep the stored flag dates and outstanding items in step with every change, on commit.

Installed on the app's own session factory (app/db.py make_session_factory): each ORM change to
an episode, its items, sign-offs, therapy sessions or outcome scores marks the episode; just
before the transaction commits, its flags and outstanding items are worked out again
(app/services/stored_flags.py) and stored in the same transaction.
"""

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app import audit
from app.models import ChecklistItem, Episode, OutcomeScore, Signoff, TherapySession
from app.services.stored_flags import refresh

_TOUCHED = "periop_flag_episodes"
_BY_EPISODE = (ChecklistItem, Signoff, TherapySession, OutcomeScore)


def _note_touched(session: Session, _flush_context) -> None:
    touched = session.info.setdefault(_TOUCHED, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Episode):
            touched.add(obj.id)
        elif isinstance(obj, _BY_EPISODE) and obj.episode_id is not None:
            touched.add(obj.episode_id)


def _refresh_touched(session: Session) -> None:
    session.flush()  # the last changes, and so the last touched episodes
    touched = session.info.pop(_TOUCHED, None)
    if touched:
        with session.no_autoflush:
            refresh(session, touched)
        session.flush()  # the audit events of requirements it changed ...
        session.info.pop(_TOUCHED, None)  # ... which touch no episode it has not just refreshed


def _forget_touched(session: Session, _previous_transaction=None) -> None:
    session.info.pop(_TOUCHED, None)
    session.info.pop(audit.ACTOR, None)


def install(factory: sessionmaker) -> None:
    """Listen to the sessions of one factory."""
    event.listen(factory, "after_flush", _note_touched)
    event.listen(factory, "before_commit", _refresh_touched)
    event.listen(factory, "after_soft_rollback", _forget_touched)
    event.listen(factory, "after_commit", _forget_touched)
