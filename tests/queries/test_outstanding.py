"""The quick filters' totals, summed from the tally, agree with the items counted one by one."""

from datetime import date

import pytest

from app import db
from app.domain.outstanding import OPEN_STATES, OutstandingFilters
from app.domain.site import SiteDay
from app.domain.vocab import ItemState, Phase, Role
from app.queries.outstanding import count_rows, outstanding_items, tally_totals

DAY = SiteDay(date(2026, 6, 17))


@pytest.fixture
def open_episodes(world):
    world.episode(-10, complete=(Phase.BEFORE,), sign=True)
    world.episode(1)
    world.episode(8)
    world.episode(None)
    db.session.remove()


@pytest.mark.parametrize(
    "others",
    [OutstandingFilters(), OutstandingFilters(phase=Phase.AFTER), OutstandingFilters(role=Role.NURSE)],
    ids=["all", "after", "nurse"],
)
def test_tally_totals_are_the_outstanding_items_counted_one_by_one(open_episodes, others):
    many = [OutstandingFilters(**{**others.__dict__, "state": s}) for s in OPEN_STATES] + [others]
    with db.read_unit():
        totals = tally_totals(db.session, many, DAY)
        counted = [count_rows(db.session, outstanding_items(f, DAY)) for f in many]
    assert totals == counted
    assert totals[OPEN_STATES.index(ItemState.OVERDUE)] > 0
    assert totals[-1] == sum(totals[:-1])


@pytest.mark.parametrize(
    "filters",
    [
        OutstandingFilters(surgeon_id=1),
        OutstandingFilters(flagged_only=True),
        OutstandingFilters(patient="x"),
    ],
)
def test_tally_totals_refuse_filters_the_tally_does_not_keep(app, filters):
    with db.read_unit(), pytest.raises(ValueError, match="more than the tally keeps"):
        tally_totals(db.session, [filters], DAY)
