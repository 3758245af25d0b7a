"""The dashboard's filter box, rendered once per set of filters and kept.

Every dashboard request shows the box, and most show the same one (no filters, or a quick
filter's): its dozen form fields took a sixth of the page's time to render. What it shows is
determined by the filters asked for (the request's values of its fields), the surgeons offered
and the app's own address, so a box rendered once is shown again for the same three.

Kept only for filters asked for as the app's own links and the box itself ask for them: one
value per field, each a choice offered, a box ticked as "y" or "1", a date as YYYY-MM-DD. Never
kept: a box with a refusal in it (it is rendered for that answer), one with a patient search,
or with anything else typed into the address (no name or MRN, nor any other text a user typed,
stays in memory, and odd addresses cannot crowd out the usual boxes).
"""

from flask import current_app, render_template, request
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from app.dashboard.forms import OutstandingFilterForm

MAX_KEPT = 64  # sets of filters kept per app; all dropped when full (the usual few come back)
_KEY = "periop.dashboard_filters"
TICKED = frozenset({"y", "1"})  # a ticked box, as the box and the quick filters' links send it


def _render(form: OutstandingFilterForm) -> Markup:
    return Markup(render_template("dashboard/_filters.html", form=form))  # noqa: S704 - rendered escaped


def _as_the_app_asks(form: OutstandingFilterForm, values: MultiDict) -> bool:
    """Whether the filters were asked for as the app's links and the box ask for them (and
    validated): nothing in them but choices offered, ticks and dates."""
    if form.errors or any(len(values.getlist(name)) > 1 for name in form._fields) or values.get("q"):
        return False
    ticks = (form.required, form.flagged, form.safety)
    if any(values.get(box.name, "y") not in TICKED for box in ticks):
        return False
    dates = (form.due_from, form.due_to)
    return all(not values.get(f.name) or values[f.name] == f.data.isoformat() for f in dates)


def filters_box(form: OutstandingFilterForm, values: MultiDict) -> Markup:
    """The filter box of a validated `form`, read from `values` (the request's arguments)."""
    if not _as_the_app_asks(form, values):
        return _render(form)
    key = (
        request.script_root,
        tuple((name, values.get(name)) for name in form._fields if name != "page"),
        tuple((choice.value, choice.label) for choice in form.surgeon.choices),
    )
    kept = current_app.extensions.setdefault(_KEY, {})
    box = kept.get(key)
    if box is None:
        box = _render(form)
        if len(kept) >= MAX_KEPT:
            kept.clear()
        kept[key] = box
    return box
