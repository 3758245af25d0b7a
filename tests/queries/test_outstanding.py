"""The quick filters' totals, summed from the tally, agree with the items counted one by one."""

from datetime import date

import pytest

from app import db
from app.domain.outstanding import OPEN_STATES, OutstandingFilters
from app.domain.site import SiteDay
from app.domain.vocab import ItemState, Phase, Role
from app.queries.flags import alerting_episode_count, flagged_episode_count
from app.queries.outstanding import count_rows, dashboard_counts, outstanding_items, tally_totals

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


@pytest.mark.parametrize(
    "filters",
    [
        OutstandingFilters(),
        OutstandingFilters(phase=Phase.AFTER, state=ItemState.OVERDUE),
        OutstandingFilters(role=Role.NURSE, required_only=True),
        OutstandingFilters(flagged_only=True),  # counted on the items, not the tally
        OutstandingFilters(patient="a", phase=Phase.BEFORE),
    ],
    ids=["all", "overdue-after", "nurse-required", "flagged", "patient"],
)
def test_the_dashboard_s_figures_in_one_query_are_each_figure_on_its_own(open_episodes, filters):
    quick = [OutstandingFilters(state=ItemState.OVERDUE), OutstandingFilters(phase=Phase.AFTER)]
    with db.read_unit():
        figures = dashboard_counts(db.session, filters, quick, DAY)
        each_state = {
            s: count_rows(
                db.session, outstanding_items(OutstandingFilters(**{**filters.__dict__, "state": s}), DAY)
            )
            for s in OPEN_STATES
        }
        assert figures.states == each_state
        assert figures.quick == tally_totals(db.session, quick, DAY)
        assert figures.alerting == alerting_episode_count(db.session)
        assert figures.flagged == flagged_episode_count(db.session, DAY)
    assert sum(figures.states.values()) > 0 and figures.flagged > 0
