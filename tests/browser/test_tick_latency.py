"""How long a tick takes, click to updated item, in a real browser (issue goal: p95 <= 150 ms).

Measured in the page itself (from the click to htmx's swap of the item), over every required check
item of three episodes (about 30 ticks, enough for a p95 that is not the maximum); printed, never
asserted as a timing (the machine's load varies).
What is asserted: each tick is done in place (no page load) and saved.
"""

import math
import statistics

import pytest

from app import db
from app.domain.vocab import ItemStatus, StepKind
from app.models import ChecklistItem
from bench.browser_ticks import tick_all
from tests import factories
from tests.browser.test_tick_journey import log_in
from tests.conftest import NOW

pytestmark = pytest.mark.browser


def test_ticks_update_the_item_in_place_and_report_their_latency(
    page, expect, nurse, coordinator, surgeon, protocol
):
    for n in range(5):  # a clinic's worth of other patients on the lists and counts
        factories.episode(coordinator, surgeon, protocol, surgery_date=NOW.date(), family_name=f"Other{n}")
    episodes = [factories.episode(coordinator, surgeon, protocol, surgery_date=NOW.date()) for _ in range(3)]
    log_in(page, expect, surgeon)  # a surgeon may tick any clinical item
    plan = [
        (
            episode.id,
            [
                i.id
                for i in episode.items
                if i.step.kind is StepKind.CHECK and i.status is ItemStatus.OPEN and i.required
            ],
        )
        for episode in episodes
    ]
    assert all(len(mine) >= 10 for _, mine in plan)
    times = tick_all(page, expect, "", plan)  # each done in place, the page never reloaded
    ticks = [item_id for _, mine in plan for item_id in mine]
    assert len(times) == len(ticks)
    db.session.remove()  # read what the server committed, not what this session loaded before
    saved = db.session.query(ChecklistItem).filter(ChecklistItem.id.in_(ticks)).all()
    assert {i.status for i in saved} == {ItemStatus.DONE}
    db.session.remove()
    p95 = sorted(times)[math.ceil(0.95 * len(times)) - 1]  # nearest rank
    print(
        f"\ntick latency in Chromium (click to updated item), {len(times)} ticks: "
        f"median {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, max {max(times):.0f} ms "
        "(goal: p95 <= 150 ms)"
    )
