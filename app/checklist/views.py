from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import abort, get_flashed_messages, render_template, request, url_for
from flask_login import current_user, login_required

from app import clock, db
from app.checklist import bp
from app.checklist.forms import ItemForm
from app.checklist.presenter import SHOWS, episode_view
from app.domain.history import dropped_titles, field_changes
from app.domain.policy import Action
from app.domain.text import shortened
from app.domain.vocab import StepKind
from app.models import ChecklistItem
from app.queries.episodes import item_snapshot, item_snapshot_of
from app.queries.history import episode_history, reference_names
from app.queries.outcomes import episode_scores
from app.services import checklist as service
from app.services.errors import ServiceError
from app.web import load_checklist, load_item, require, site_day
from app.web.forms import int_field
from app.web.htmx import is_htmx
from app.web.panels.outcomes import outcome_panel
from app.web.panels.therapy import therapy_panel
from app.web.responses import REFUSED, attempt, beside, saved, saved_beside
from app.web.templating import fmt_time
from app.web.urls import url_maker
from app.web.worklist import work_item

HISTORY_LIMIT = 500


@dataclass(frozen=True)
class ItemAnswer:
    """What the page says by one item after a change to it: the answer, or why it was refused
    (`field`: the form field the refusal is about, marked invalid and focused)."""

    item_id: int
    message: str
    category: str = "success"
    field: str | None = None
    form: ItemForm | None = None


def _parts(episode):
    user = current_user._get_current_object()  # asked about every item: once, not through the proxy
    scores = episode_scores(db.session, episode.id)
    day = site_day()
    therapy = therapy_panel(episode, scores, user, day.date)
    show, unfold = request.args.get("show", "all"), request.args.get("item", type=int)
    view = episode_view(episode, user, day, therapy.sessions, scores, show, unfold)
    return view, therapy, scores, day


def _item_urls(episode_id: int) -> dict:
    """Each item form's address maker, by action (templates/checklist/_item.html)."""
    urls = {
        action: url_maker("checklist.item_action", "item_id", episode_id=episode_id, action=action)
        for action in ACTIONS
    }
    urls["acknowledge"] = url_maker("checklist.acknowledge", "item_id", episode_id=episode_id)
    return urls


def episode_page(episode, answer: ItemAnswer | None = None, status=200):
    view, therapy, scores, day = _parts(episode)
    answer = answer or _kept_answer()
    return render_template(
        "checklist/episode.html",
        view=view,
        therapy=therapy,
        outcomes=outcome_panel(episode, scores, day),
        answer=answer,
        item_form=ItemForm(formdata=None),
        item_urls=_item_urls(episode.id),
        guidance=request.args.get("guidance") == "1",
        shows=SHOWS,
        today=day.date,
    ), status


def item_fragment(episode, answer: ItemAnswer, before: dict, status=200):
    """The changed item with its answer, and what changed around it (other items, the phases'
    progress and sign-off, the flags, the navigation count), for htmx to swap in place."""
    view, _, _, _ = _parts(episode)
    phases = {iv.item.id: ph for ph in view.phases for iv in ph.items}
    changed = [
        (phases[iv.item.id], iv)
        for ph in view.phases
        for iv in ph.items
        if iv.item.id != answer.item_id and before.get(iv.item.id) != item_snapshot_of(iv.item)
    ]
    target = next(iv for ph in view.phases for iv in ph.items if iv.item.id == answer.item_id)
    return render_template(
        "checklist/_item_update.html",
        view=view,
        target=target,
        target_phase=phases[answer.item_id],
        changed=changed,
        answer=answer,
        item_form=ItemForm(formdata=None),
        item_urls=_item_urls(view.episode.id),
        guidance="guidance=1" in urlsplit(request.headers.get("HX-Current-URL", "")).query,
    ), status


@bp.route("/episodes/<int:episode_id>")
@login_required
def episode(episode_id: int):
    return episode_page(load_checklist(episode_id))


def _kept_answer() -> ItemAnswer | None:
    """The answer a change without JavaScript left for its item (shown beside it, not on top)."""
    place = request.args.get("item", type=int)
    kept = beside(f"item-{place}") if place else None
    return ItemAnswer(place, *kept) if kept else None


ACTIONS = {
    # url word: (service call, message verb)
    "done": (
        lambda a, i, v, f: service.mark_done(db.session, a, i, v, f.value.data, f.note.data),
        "Marked done",
    ),
    "not-applicable": (
        lambda a, i, v, f: service.mark_not_applicable(db.session, a, i, v, f.reason.data),
        "Marked not applicable",
    ),
    "reopen": (lambda a, i, v, f: service.reopen(db.session, a, i, v, f.reason.data), "Reopened"),
    "note": (lambda a, i, v, f: service.add_note(db.session, a, i, v, f.note.data), "Note added"),
}


# The form field a refusal of each action is about (None: the item as a whole).
FIELDS = {
    "done": "value",
    "not-applicable": "reason",
    "reopen": "reason",
    "note": "note",
    "acknowledge": "plan",
}


@bp.route(
    "/episodes/<int:episode_id>/items/<int:item_id>/<any(done, 'not-applicable', reopen, note):action>",
    methods=["POST"],
)
@login_required
def item_action(episode_id: int, item_id: int, action: str):
    """Apply one action to one item: in place (htmx), or back to the item on the episode page."""
    item = load_item(episode_id, item_id)
    require(Action.WORK_ITEM, item)
    call, verb = ACTIONS[action]
    return _change(item, action, verb, lambda form, version: call(current_user, item, version, form))


@bp.route("/episodes/<int:episode_id>/items/<int:item_id>/acknowledge", methods=["POST"])
@login_required
def acknowledge(episode_id: int, item_id: int):
    """Acknowledge the safety alert an item's answer raised, with the plan."""
    item = load_item(episode_id, item_id)
    require(Action.VIEW_PATIENTS)
    return _change(
        item,
        "acknowledge",
        "Safety alert acknowledged",
        lambda form, version: service.acknowledge_alert(
            db.session, current_user, item, version, form.plan.data
        ),
    )


def _change(item, action: str, verb: str, call):
    """Run one change to one item and answer it: beside the item, in place with htmx, or on the
    episode page scrolled to the item without JavaScript; a refusal next to its field."""
    form = ItemForm()
    version = int_field(form.version.data)
    if not form.validate_on_submit() or version is None:
        abort(400)
    episode_id, item_id = item.episode_id, item.id
    before = item_snapshot(db.session, episode_id) if is_htmx() else {}
    field = FIELDS[action] if action != "done" or item.step.kind is StepKind.VALUE else None
    done = attempt(lambda: call(form, version), f"“{shortened(item.step.title)}”", on_form=(ServiceError,))
    if not done.ok:
        messages = get_flashed_messages(with_categories=True)  # a conflict's: said by the item
        text = messages[-1][1] if messages else str(done.error)
        if done.status == REFUSED:  # by its field, with what was typed
            refused = ItemAnswer(item_id, text, "danger", field, form)
        else:  # changed meanwhile: the item shown as it is now
            refused = ItemAnswer(item_id, text, "warning")
        if is_htmx():
            return item_fragment(load_checklist(episode_id), refused, before, status=done.status)
        return episode_page(load_checklist(episode_id), refused, status=done.status)
    at = fmt_time(clock.now())
    beside_item = f"{verb} at {at}."  # shown by the item
    on_top = f"{verb}: {item.step.title} — {at}"  # shown where the item is not (a list, a repeat)
    answer = ItemAnswer(item_id, beside_item)
    if request.form.get("origin") == "worklist":  # marked done from a role's worklist
        after = (lambda: _work_item_after(item_id, answer)) if is_htmx() else None
        return saved(on_top, url_for("main.home"), after=after)
    if is_htmx():
        return saved(
            on_top, _item_url(episode_id, item_id), after=lambda: _fragment_after(episode_id, answer, before)
        )
    return saved_beside(beside_item, _item_url(episode_id, item_id), f"item-{item_id}")


def _work_item_after(item_id: int, answer: ItemAnswer):
    """The worklist row of an item just marked done, with its answer and the navigation count."""
    db.session.expire_all()
    item = db.session.get(ChecklistItem, item_id)
    w = work_item(item, site_day(), current_user._get_current_object())
    return render_template("main/_work_item_update.html", w=w, e=item.episode, answer=answer)


def _fragment_after(episode_id: int, answer: ItemAnswer, before: dict):
    db.session.expire_all()  # what the commit stored, the requirements it changed included
    return item_fragment(load_checklist(episode_id), answer, before)


def _item_url(episode_id: int, item_id: int) -> str:
    return url_for("checklist.episode", episode_id=episode_id, item=item_id, _anchor=f"item-{item_id}")


@bp.route("/episodes/<int:episode_id>/history")
@login_required
def history(episode_id: int):
    episode = load_checklist(episode_id)
    events = episode_history(db.session, episode, HISTORY_LIMIT)
    names = reference_names(db.session, events)
    titles = {i.id: i.step.title for i in episode.items}
    # Items no longer on the checklist (dropped by a move to another protocol version): named
    # by the title their "item.dropped" event kept, among the events already read.
    dropped = dropped_titles(events, titles)
    titles.update(dropped)
    return render_template(
        "checklist/history.html",
        episode=episode,
        events=events,
        changes={ev.id: field_changes(ev.before, ev.after, names) for ev in events},
        titles=titles,
        dropped=dropped,
        limit=HISTORY_LIMIT,
        ChecklistItem=ChecklistItem,
    )
