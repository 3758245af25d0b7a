"""What the episode page's Therapy section shows: the counts of its sessions items, the message of
the session just logged or corrected, the session log and the pain chart."""

from dataclasses import dataclass
from datetime import date

from app import clock, db
from app.domain.policy import Action, can
from app.domain.therapy import addendum_problem, attended_count, correction_problem, count_text, plan_of
from app.domain.vocab import EpisodeStatus, Instrument, ItemStatus, StepKind
from app.models import Episode, OutcomeScore, TherapySession
from app.queries.therapy import episode_sessions
from app.web.panels.pain_chart import Chart, pain_chart
from app.web.responses import beside


@dataclass
class SessionRow:
    session: TherapySession
    may_correct: bool
    may_add: bool


@dataclass
class SessionCount:
    code: str  # the step's
    text: str  # "PT sessions logged against plan: 3 of 8 (days 28–120)"
    done: bool


@dataclass
class TherapyPanel:
    episode: Episode
    rows: list[SessionRow]  # newest first
    sessions: list[TherapySession]  # the same sessions, for counting items
    chart: Chart
    may_log: bool
    counts: list[SessionCount]  # the sessions items (but those not applicable), soonest due first
    message: tuple[str, str] | None = None  # (text, category): the answer to the session just saved


def place(episode_id: int) -> str:
    """Where the answer to a session logged or corrected is shown: the top of the Therapy section."""
    return f"therapy-{episode_id}"


def session_counts(episode: Episode, sessions: list[TherapySession]) -> list[SessionCount]:
    """The counts of the episode's sessions items (but those not applicable), soonest due first."""
    items = sorted(
        (
            i
            for i in episode.items
            if i.step.kind is StepKind.SESSIONS
            and i.step.discipline is not None
            and i.status is not ItemStatus.NOT_APPLICABLE
        ),
        key=lambda i: (i.due_date or date.max, i.step.position),
    )
    counts = []
    for item in items:
        plan = plan_of(item)
        attended = attended_count(plan, sessions, episode.surgery_date)
        counts.append(
            SessionCount(
                item.step.code,
                count_text(plan, attended, episode.surgery_date),
                item.status is ItemStatus.DONE,
            )
        )
    return counts


def therapy_panel(episode: Episode, scores: list[OutcomeScore], user, today: date) -> TherapyPanel:
    """The session log and pain chart of an episode (with its outcome scores, for the NRS
    points), in a fixed number of queries (one)."""
    sessions = episode_sessions(db.session, episode.id)
    now = clock.now()
    values: dict[str, list[tuple[date, int]]] = {"pain_before": [], "pain_after": []}
    for s in sessions:
        if s.pain_before is not None:
            values["pain_before"].append((s.session_date, s.pain_before))
        if s.pain_after is not None:
            values["pain_after"].append((s.session_date, s.pain_after))
    for score in scores:
        if score.instrument in (Instrument.NRS_BACK, Instrument.NRS_LEG):
            values.setdefault(score.instrument.value, []).append((score.taken_on, score.value))
    open_episode = episode.status is not EpisodeStatus.CLOSED
    therapist = can(user, Action.LOG_SESSION)
    rows = [
        SessionRow(
            session=s,
            may_correct=therapist and open_episode and correction_problem(user, s, now) is None,
            may_add=therapist and open_episode and addendum_problem(user, s, now) is None,
        )
        for s in sessions
    ]
    return TherapyPanel(
        episode=episode,
        rows=rows,
        sessions=sessions,
        chart=pain_chart(values),
        may_log=therapist and open_episode,
        counts=session_counts(episode, sessions),
        message=beside(place(episode.id)),
    )
