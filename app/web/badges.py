"""Badges every list and checklist shows many times a page, written once: an item's state."""

from markupsafe import Markup

from app.domain.vocab import ItemState

# Each state's colour and symbol (the symbol is decoration: the label says it).
STATE_STYLE = {
    ItemState.DONE: ("bg-success", "✓"),
    ItemState.NOT_APPLICABLE: ("bg-secondary", "–"),
    ItemState.OVERDUE: ("bg-danger", "!"),
    ItemState.DUE_NOW: ("bg-warning text-dark", "◔"),
    ItemState.DUE_TODAY: ("bg-warning text-dark", "◷"),
    ItemState.DUE_SOON: ("bg-info text-dark", "◷"),
    ItemState.PENDING: ("bg-light text-dark border", "○"),
    ItemState.UNSCHEDULED: ("bg-light text-dark border", "?"),
    ItemState.NOT_REQUIRED: ("bg-light text-muted border", "·"),
}


def _badge(state: ItemState) -> Markup:
    style, symbol = STATE_STYLE[state]
    return Markup(
        '<span class="badge {}" data-state="{}"><span aria-hidden="true">{}</span> {}</span>'
    ).format(style, state.value, symbol, state.label)


# Written once at import: a dashboard page shows one per row, an episode page one per item (a
# template macro call per badge cost a tenth of the page).
_BADGES = {state: _badge(state) for state in ItemState}


def state_badge(state: ItemState) -> Markup:
    """The badge of an item's state: its colour, symbol and label."""
    return _BADGES[ItemState(state)]
