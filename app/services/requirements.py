"""Keep conditional items' requirement in step with their conditions (clinical rules version 2,
section 3; the rule is app/domain/requirement.py).

Run for every changed episode just before its transaction commits, with the flag dates
(app/services/stored_flags.py `refresh`), and by a service that wants to tell the user what its
change made required (outcome scores). Each change of requirement is audited, by the user whose
change caused it, with the reason. The items are written with Core updates: their version does
not change, so a form open in another tab on the same item still saves.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import audit, clock
from app.db import site_of
from app.domain.flags import CONDITION_FLAGS, RULES, EpisodeFacts
from app.domain.pathway import item_plan
from app.domain.requirement import Answer, Requirement, answer_name, condition_holds, next_requirement
from app.domain.signoff import is_locked
from app.domain.site import SiteDay
from app.domain.step_options import RequiredIf
from app.domain.text import shortened
from app.models import ChecklistItem, Episode, ProtocolStep
from app.queries.flags import EpisodeState, episode_states, flag_facts, item_rows


@dataclass(frozen=True)
class Change:
    """An item whose requirement changed, and why."""

    episode_id: int
    item_id: int
    title: str
    required: bool
    why: str


def apply(
    session: Session,
    episode_ids,
    states: dict[int, EpisodeState] | None = None,
    items: dict[int, list] | None = None,
    facts: dict[int, EpisodeFacts] | None = None,
) -> list[Change]:
    """Bring the requirement of the conditional items of some episodes in line with their
    conditions today, in the caller's transaction; returns what changed. `states`
    (`episode_states`), `items` (`item_rows`) and `facts` (`flag_facts`) when the caller has them.
    Items in a closed episode or a signed-off phase are left as they are."""
    ids = sorted(set(episode_ids))
    items = item_rows(session, ids) if items is None else items
    if not any(r.required_if for rows in items.values() for r in rows):
        return []
    states = episode_states(session, ids) if states is None else states
    facts = flag_facts(session, ids, items, states) if facts is None else facts
    day = site_of(session).day(clock.now())
    changes = []
    for episode_id in ids:
        state = states.get(episode_id)
        if state is None or state.closed:
            continue
        changes += _episode(session, episode_id, items[episode_id], facts[episode_id], state.signed, day)
    return changes


def _episode(
    session: Session, episode_id: int, rows: list, facts: EpisodeFacts, signed: frozenset, day: SiteDay
) -> list[Change]:
    answers = {r.code: Answer(r.status, r.value) for r in rows}
    titles = {r.code: answer_name(r.title, r.value_label) for r in rows}
    raised = {
        rule.code: flag
        for rule in RULES
        if rule.code in CONDITION_FLAGS and (flag := rule.today(facts, day)) is not None
    }
    changes = []
    for r in rows:
        condition = RequiredIf.from_json(r.required_if)
        if condition is None or is_locked(r.phase, signed, False):
            continue
        now = Requirement(r.required, r.required_since)
        holds = condition_holds(condition, answers, raised)
        then = next_requirement(holds, r.status, now, day.date)
        if then == now:
            continue
        why = _why(condition, holds, titles, raised)
        changes.append(_write(session, episode_id, r, then, why))
    return changes


def _why(condition: RequiredIf, holds: bool, titles: dict[str, str], raised: dict) -> str:
    if condition.step:
        named = f"“{titles.get(condition.step, condition.step)}”"
        return f"{named} is {condition.answer}" if holds else f"{named} is no longer {condition.answer}"
    if holds:
        return "; ".join(flag.text for code, flag in raised.items() if code in condition.flags)
    return "no longer raised: " + ", ".join(condition.flags)


def _write(session: Session, episode_id: int, row, then: Requirement, why: str) -> Change:
    """Store an item's new requirement and the dates that go with it; audit it."""
    item_id = row.id
    episode = session.get(Episode, episode_id)
    step = session.scalar(select(ProtocolStep).join(ChecklistItem).where(ChecklistItem.id == item_id))
    plan = item_plan(step, episode.procedure_type, episode.surgery_date, then.since)
    values = {
        "required": then.required,
        "required_since": then.since,
        "due_date": plan.due_date,
        "overdue_from": plan.overdue_from,
    }
    session.execute(update(ChecklistItem).where(ChecklistItem.id == item_id).values(**values))
    loaded = session.identity_map.get(session.identity_key(ChecklistItem, item_id))
    if loaded is not None:  # what the caller may read next is what is stored
        session.expire(loaded)
    before = _state(row.required, row.required_since, row.due_date)
    after = _state(then.required, then.since, plan.due_date)
    title = shortened(step.title)
    audit.record(
        session,
        session.info.get(audit.ACTOR),
        "item.required" if then.required else "item.not_required",
        f"{'Now required' if then.required else 'No longer required'}: {title}",
        target_type="checklist_item",
        target_id=item_id,
        patient_id=episode.patient_id,
        episode_id=episode_id,
        before=before,
        after=after,
        reason=why,
    )
    return Change(episode_id, item_id, title, then.required, why)


def _state(required: bool, since: date | None, due: date | None) -> dict:
    return {
        "required": required,
        "required_since": since.isoformat() if since else None,
        "due_date": due.isoformat() if due else None,
    }
