"""Safety alerts (clinical rules version 2, section 2): an answer a step's alert names is never
just "done". The item keeps its value, and the episode raises "Safety: <flag>" until a user of
an acknowledging role records the plan; reopening or changing the value starts over.
"""

from app.domain.step_options import Alert
from app.domain.vocab import ItemStatus, Role

MIN_ACKNOWLEDGEMENT = 10
MAX_ACKNOWLEDGEMENT = 1000


def raised_alert(alert: Alert | None, value_type, status: ItemStatus, value: str | None) -> Alert | None:
    """The alert a done item's value raises, or None."""
    if alert is None or status is not ItemStatus.DONE:
        return None
    return alert if alert.raised_by(value_type, value) else None


def open_alert(alert: Alert | None, value_type, status: ItemStatus, value: str | None, acknowledged: bool):
    """The alert raised and not yet acknowledged, or None."""
    raised = raised_alert(alert, value_type, status, value)
    return None if raised is None or acknowledged else raised


def item_open_alert(item) -> Alert | None:
    """The open alert of a loaded item (with its step; an item whose step declares no alert has
    none)."""
    step = getattr(item, "step", None)
    alert = getattr(step, "alert_spec", None)
    if alert is None:
        return None
    return open_alert(
        alert,
        step.value_type,
        item.status,
        item.value,
        getattr(item, "alert_acknowledged_at", None) is not None,
    )


def acknowledgement_problem(alert: Alert | None, role: Role, text: str) -> str | None:
    """Why this acknowledgement cannot be recorded, or None."""
    if alert is None:
        return "This item has no safety alert waiting for acknowledgement."
    if role not in alert.acknowledged_by:
        who = " or ".join(r.label.lower() for r in alert.acknowledged_by)
        return f"Only a {who} can acknowledge this alert."
    if len(text) < MIN_ACKNOWLEDGEMENT:
        return (
            f"Write the plan (at least {MIN_ACKNOWLEDGEMENT} characters), "
            "e.g. “Level re-checked with second image, L4-L5 confirmed”."
        )
    if len(text) > MAX_ACKNOWLEDGEMENT:
        return f"Keep the acknowledgement to {MAX_ACKNOWLEDGEMENT} characters."
    return None
