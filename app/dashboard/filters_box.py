"""The dashboard's filter box, rendered once per set of filters and kept.

Every dashboard request shows the box, and most show the same one (no filters, or a quick
filter's): its dozen form fields took a sixth of the page's time to render. What it shows is
determined by the filters asked for (the request's values of its fields), the surgeons offered
and the app's own address, so a box rendered once is shown again for the same three. Never kept:
a box with a refusal in it (it is rendered for that answer), and one with a patient search (no
name or MRN stays in memory).
"""

from flask import current_app, render_template, request
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from app.dashboard.forms import OutstandingFilterForm

MAX_KEPT = 64  # sets of filters kept per app; all dropped when full (the usual few come back)
_KEY = "periop.dashboard_filters"


def _render(form: OutstandingFilterForm) -> Markup:
    return Markup(render_template("dashboard/_filters.html", form=form))  # noqa: S704 - rendered escaped


def filters_box(form: OutstandingFilterForm, values: MultiDict) -> Markup:
    """The filter box of a validated `form`, read from `values` (the request's arguments)."""
    if form.errors or values.get("q"):
        return _render(form)
    key = (
        request.script_root,
        tuple((name, tuple(values.getlist(name))) for name in form._fields if name != "page"),
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
