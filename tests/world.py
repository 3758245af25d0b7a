"""Episodes in given states (surgery date, phases completed, signed, closed), made through the services."""

from datetime import date, timedelta

from app import db
from app.domain.vocab import ItemStatus, Phase, Role, StepKind, TimePoint
from app.models import User
from app.queries.episodes import episode_with_checklist
from app.services import checklist, outcomes, signoffs
from tests import factories
from tests.conftest import PASSWORD

TODAY = date(2026, 6, 17)


class World:
    """Makes episodes in given states through the services."""

    def __init__(self, protocol, users, surgeon2):
        self.protocol = protocol
        self.users = users
        self.surgeon2 = surgeon2
        self.names = iter(f"Patient{chr(65 + a)}{chr(65 + b)}" for a in range(26) for b in range(26))

    def episode(
        self,
        days: int | None,
        surgeon=None,
        complete: tuple[Phase, ...] = (),
        sign: bool = False,
        close: bool = False,
        therapy_done: bool = False,
    ):
        surgeon = surgeon or self.users[Role.SURGEON]
        created = factories.episode(
            self.users[Role.COORDINATOR],
            surgeon,
            self.protocol,
            surgery_date=None if days is None else TODAY + timedelta(days=days),
            family_name=next(self.names),
        )
        if complete or sign or close or therapy_done:
            with db.write_unit():
                episode = episode_with_checklist(db.session, created.id)
                signer = db.session.get(User, surgeon.id)
                coordinator = db.session.get(User, self.users[Role.COORDINATOR].id)
                for item in episode.items:
                    if item.status is not ItemStatus.OPEN:
                        continue
                    if item.phase in complete and item.required:
                        actor = coordinator if item.role is Role.COORDINATOR else signer
                        if item.step.outcome_time_point is TimePoint.BASELINE:
                            taken_on = min(episode.surgery_date or TODAY, TODAY)
                            outcomes.record_scores(
                                db.session, actor, episode, TimePoint.BASELINE, taken_on, 40, 6, 7, TODAY
                            )
                        elif item.step.kind is StepKind.SESSIONS or item.step.outcome_time_point:
                            checklist.mark_not_applicable(db.session, actor, item, item.version, "No")
                        else:
                            checklist.mark_done(
                                db.session, actor, item, item.version, factories.sample_value(item)
                            )
                    elif therapy_done and item.phase is Phase.AFTER and item.role is Role.THERAPIST:
                        checklist.mark_not_applicable(db.session, signer, item, item.version, "Transferred")
                if sign:
                    signoffs.sign(db.session, signer, episode, Phase.BEFORE, PASSWORD, 5, 15)
                if close:
                    signoffs.close(db.session, coordinator, episode, episode.version, "Patient transferred")
                db.session.commit()
            db.session.remove()
        return created
