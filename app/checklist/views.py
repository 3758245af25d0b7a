from flask import abort, render_template, url_for
from flask_login import current_user, login_required

from app import clock, db
from app.checklist import bp
from app.checklist.forms import ItemForm
from app.checklist.presenter import episode_view
from app.domain.history import field_changes
from app.domain.policy import Action
from app.models import ChecklistItem
from app.queries.history import episode_history
from app.queries.outcomes import episode_scores
from app.services import checklist as service
from app.web import load_episode, load_item, require, site_day
from app.web.forms import int_field
from app.web.panels.outcomes import outcome_panel
from app.web.panels.therapy import therapy_panel
from app.web.responses import REFUSED, attempt, saved
from app.web.templating import fmt_time

HISTORY_LIMIT = 500


def episode_page(episode, failed_item_id: int | None = None, form: ItemForm | None = None, status=200):
    user = current_user._get_current_object()  # asked about every item: once, not through the proxy
    scores = episode_scores(db.session, episode.id)
    day = site_day()
    therapy = therapy_panel(episode, scores, user, day.date)
    outcomes = outcome_panel(episode, scores, day)
    view = episode_view(episode, user, day, sessions=therapy.sessions, score_rows=scores)
    return render_template(
        "checklist/episode.html",
        view=view,
        therapy=therapy,
        outcomes=outcomes,
        failed_item_id=failed_item_id,
        failed_form=form,
        item_form=ItemForm(formdata=None),
    ), status


@bp.route("/episodes/<int:episode_id>")
@login_required
def episode(episode_id: int):
    return episode_page(load_episode(episode_id))


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


@bp.route(
    "/episodes/<int:episode_id>/items/<int:item_id>/<any(done, 'not-applicable', reopen, note):action>",
    methods=["POST"],
)
@login_required
def item_action(episode_id: int, item_id: int, action: str):
    """Apply one action to one item, then return to the item on the episode page."""
    item = load_item(episode_id, item_id)
    require(Action.WORK_ITEM, item)
    form = ItemForm()
    version = int_field(form.version.data)
    if not form.validate_on_submit() or version is None:
        abort(400)
    call, verb = ACTIONS[action]
    done = attempt(lambda: call(current_user, item, version, form), f"“{item.step.title[:60]}”")
    if not done.ok:
        failed = item_id if done.status == REFUSED else None
        return episode_page(load_episode(episode_id), failed, form, status=done.status)
    return saved(
        f"{verb}: {item.step.title[:80]} — {fmt_time(clock.now())}",
        url_for("checklist.episode", episode_id=episode_id, _anchor=f"item-{item_id}"),
    )


@bp.route("/episodes/<int:episode_id>/items/<int:item_id>/acknowledge", methods=["POST"])
@login_required
def acknowledge(episode_id: int, item_id: int):
    """Acknowledge the safety alert an item's answer raised, with the plan; back to the item."""
    item = load_item(episode_id, item_id)
    require(Action.VIEW_PATIENTS)
    form = ItemForm()
    version = int_field(form.version.data)
    if not form.validate_on_submit() or version is None:
        abort(400)
    what = f"“{item.step.title[:60]}”"
    done = attempt(
        lambda: service.acknowledge_alert(db.session, current_user, item, version, form.plan.data), what
    )
    if not done.ok:
        failed = item_id if done.status == REFUSED else None
        return episode_page(load_episode(episode_id), failed, form, status=done.status)
    return saved(
        f"Safety alert acknowledged: {item.step.title[:80]} — {fmt_time(clock.now())}",
        url_for("checklist.episode", episode_id=episode_id, _anchor=f"item-{item_id}"),
    )


@bp.route("/episodes/<int:episode_id>/history")
@login_required
def history(episode_id: int):
    episode = load_episode(episode_id)
    events = episode_history(db.session, episode, HISTORY_LIMIT)
    titles = {i.id: i.step.title for i in episode.items}
    return render_template(
        "checklist/history.html",
        episode=episode,
        events=events,
        changes={ev.id: field_changes(ev.before, ev.after) for ev in events},
        titles=titles,
        limit=HISTORY_LIMIT,
        ChecklistItem=ChecklistItem,
    )
