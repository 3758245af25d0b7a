"""Turn an episode and its items into what the episode page shows."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from app.domain.alerts import item_open_alert
from app.domain.flags import FLAG_LABELS, EpisodeFacts, Flag, episode_flags
from app.domain.policy import Action, can
from app.domain.progress import Progress, phase_progress
from app.domain.requirement import answer_name, condition_words, is_waiting
from app.domain.risk import RiskTier, risk_of_items
from app.domain.schedule import age_on, item_state, relative_hint
from app.domain.signoff import SIGNABLE_PHASES, active_signoffs, close_blockers, is_locked, signoff_blockers
from app.domain.site import SiteDay
from app.domain.step_options import Alert
from app.domain.therapy import sessions_text
from app.domain.values import range_text
from app.domain.vocab import EpisodeStatus, ItemState, ItemStatus, Phase, StepKind, ValueType
from app.models import ChecklistItem, Episode, Signoff


@dataclass
class ItemView:
    item: ChecklistItem
    state: ItemState
    hint: str
    may_work: bool  # add notes
    may_change: bool  # mark done, not applicable, reopen (not in a locked phase)
    may_mark_done: bool
    value_hint: str
    sessions_text: str
    alert: Alert | None = None  # the safety alert its answer raised and nobody acknowledged yet
    may_acknowledge: bool = False
    # A conditional step's condition in words ("when “Diabetic” is yes"); "" for other steps.
    condition: str = ""


@dataclass
class PhaseView:
    phase: Phase
    progress: Progress
    items: list[ItemView]  # every item of the phase
    shown: list[ItemView] = field(default_factory=list)  # those the chosen view shows
    todo: int = 0  # items open and asked for (`_to_do`)
    # Folded (its summary shown, its items one click away): signed off, or nothing left to do.
    collapsed: bool = False
    signable: bool = False
    signoff: Signoff | None = None
    blockers: list[str] = field(default_factory=list)
    may_sign: bool = False
    may_revoke: bool = False
    locked: bool = False


@dataclass
class EpisodeView:
    episode: Episode
    age: int
    flags: list[Flag]
    phases: list[PhaseView]
    closed: bool
    may_close: bool
    close_blockers: list[str]
    risk: RiskTier | None = None  # the pre-operative risk tier, informational
    show: str = "all"  # which items the page shows: a key of SHOWS


# The episode page's views of its items.
SHOWS = {"all": "All", "open": "Open only", "mine": "My open items"}


def _to_do(iv: ItemView) -> bool:
    """Open and asked for: not done, not applicable, not waiting for its condition."""
    return iv.item.status is ItemStatus.OPEN and iv.state is not ItemState.NOT_REQUIRED


def _shown(items: list[ItemView], show: str, user) -> list[ItemView]:
    if show == "open":
        return [iv for iv in items if _to_do(iv)]
    if show == "mine":
        return [iv for iv in items if _to_do(iv) and iv.item.role is user.role]
    return items


def _value_hint(item: ChecklistItem) -> str:
    """What to enter beside a value's field, in words ("from 3 to 20 %", "24-hour time, e.g. 08:45");
    none where the field says it already (a yes/no choice, free text named by its placeholder)."""
    step = item.step
    if step.kind is not StepKind.VALUE:
        return ""
    if step.value_type is ValueType.NUMBER:
        return range_text(step)
    if step.value_type is ValueType.TIME:
        return "24-hour time, e.g. 08:45"
    return ""


def _item_view(
    item: ChecklistItem,
    user,
    today: date,
    due_soon_days: int,
    locked: bool,
    sessions: list,
    titles: dict[str, str],
) -> ItemView:
    step = item.step
    waiting = is_waiting(step.required_if, item.required, item.status)
    state = item_state(item.status, item.due_date, today, due_soon_days, item.overdue_from, waiting)
    condition = step.required_if_spec
    may_work = can(user, Action.WORK_ITEM, item)
    may_change = may_work and not locked
    is_sessions = step.kind is StepKind.SESSIONS
    by_records = is_sessions or step.outcome_time_point is not None
    return ItemView(
        item=item,
        state=state,
        hint=relative_hint(item.due_date, today, state, item.overdue_from),
        may_work=may_work,
        may_change=may_change,
        may_mark_done=may_change and item.status is ItemStatus.OPEN and not by_records,
        value_hint=_value_hint(item),
        condition=condition_words(condition, titles.get(condition.step), FLAG_LABELS) if condition else "",
        alert=(alert := item_open_alert(item)),
        may_acknowledge=alert is not None and can(user, Action.ACKNOWLEDGE_ALERT, alert),
        sessions_text=(
            sessions_text(item, sessions, item.episode.surgery_date)
            if is_sessions and item.status is ItemStatus.OPEN
            else ""
        ),
    )


def episode_view(
    episode: Episode,
    user,
    day: SiteDay,
    sessions: Iterable = (),
    score_rows: Iterable = (),
    show: str = "all",
    unfold: int | None = None,
) -> EpisodeView:
    """Everything the episode page shows; the sessions and outcome scores come from their own
    panels, already loaded. `show`: all items, open ones only, or the user's open ones (SHOWS);
    a phase signed off or with nothing left to do is folded, unless it holds item `unfold` (the
    one a link or a change points at)."""
    show = show if show in SHOWS else "all"
    items = episode.items
    today = day.date
    sessions = list(sessions)
    active = active_signoffs(episode)
    signed = set(active)
    closed = episode.status is EpisodeStatus.CLOSED
    may_sign = can(user, Action.SIGN_OFF)
    titles = {i.step.code: answer_name(i.step.title, i.step.value_label) for i in items}
    phases = []
    for phase in Phase:
        locked = is_locked(phase, signed, closed)
        view = PhaseView(
            phase=phase,
            progress=phase_progress(items, phase),
            items=[
                _item_view(i, user, today, day.due_soon_days, locked, sessions, titles)
                for i in items
                if i.phase is phase
            ],
            locked=locked,
        )
        view.shown = _shown(view.items, show, user)
        view.todo = sum(_to_do(iv) for iv in view.items)
        view.collapsed = (phase in signed or not view.todo) and not any(
            iv.item.id == unfold for iv in view.items
        )
        if phase in SIGNABLE_PHASES:
            view.signable = True
            view.signoff = active.get(phase)
            view.blockers = signoff_blockers(phase, items, signed, closed)
            view.may_sign = may_sign and not view.blockers
            view.may_revoke = may_sign and view.signoff is not None and not closed
        phases.append(view)
    return EpisodeView(
        episode=episode,
        age=age_on(episode.patient.date_of_birth, today),
        flags=episode_flags(EpisodeFacts.of_episode(episode, sessions, score_rows), day),
        phases=phases,
        closed=closed,
        may_close=can(user, Action.CLOSE_EPISODE) and not closed,
        close_blockers=close_blockers(episode),
        risk=risk_of_items(items),
        show=show,
    )
