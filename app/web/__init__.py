"""Helpers shared by the views: today's date and site settings, loading with 404/403, downloads."""

from flask import Response, abort, current_app, g, stream_with_context
from flask_login import current_user

from app import clock, db
from app.domain.policy import Action, can
from app.domain.site import Site, SiteDay
from app.queries.checklist_page import checklist_episode
from app.queries.episodes import episode_with_checklist, item_of_episode


def site() -> Site:
    """The site's settings, built from the configuration once per request."""
    if "site" not in g:
        g.site = Site.from_config(current_app.config)
    return g.site


def site_day() -> SiteDay:
    """Today at the site, with its settings for items and flags: once per request."""
    if "site_day" not in g:
        g.site_day = site().day(clock.now())
    return g.site_day


def require(action: Action, target=None) -> None:
    """Stop with 403 unless the current user may take the action."""
    if not can(current_user, action, target):
        abort(403)


def get_or_404(model, ident):
    record = db.session.get(model, ident)
    if record is None:
        abort(404)
    return record


def csv_download(chunks, filename: str) -> Response:
    """A CSV file the browser downloads, sent as it is made (inside the request's context)."""
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def load_episode(episode_id: int):
    """The episode with its checklist, for a user who may see patients (else 403/404)."""
    require(Action.VIEW_PATIENTS)
    episode = episode_with_checklist(db.session, episode_id)
    if episode is None:
        abort(404)
    return episode


def load_checklist(episode_id: int):
    """The episode with its checklist read as records, for a page that only shows it (else
    403/404): app/queries/checklist_page.py."""
    require(Action.VIEW_PATIENTS)
    episode = checklist_episode(db.session, episode_id)
    if episode is None:
        abort(404)
    return episode


def load_item(episode_id: int, item_id: int):
    """One item of an episode, with its episode and step, for a user who may see patients
    (else 403/404): what an item action needs, without the whole checklist."""
    require(Action.VIEW_PATIENTS)
    item = item_of_episode(db.session, episode_id, item_id)
    if item is None:
        abort(404)
    return item
