"""The browser benchmark's choice of ticks: each item once, episodes with several, as many as asked."""

from bench.browser_ticks import episodes_to_tick


def test_ticks_are_taken_from_episodes_with_several_items_each_item_once():
    ticks = [(1, 10, 1), (1, 11, 1), (1, 12, 1), (2, 20, 1), (3, 30, 1), (3, 31, 1), (3, 32, 1), (3, 33, 1)]
    plan = episodes_to_tick(ticks, 5, seed=1)
    items = [i for _, chosen in plan for i in chosen]
    assert len(items) == 5 == len(set(items))
    assert {e for e, _ in plan} <= {1, 3}  # episode 2 has one tickable item only
    assert all(i // 10 == e for e, chosen in plan for i in chosen)  # each item of its own episode


def test_fewer_ticks_than_asked_when_the_site_has_no_more():
    plan = episodes_to_tick([(1, 10, 1), (1, 11, 1), (1, 12, 1)], 50, seed=1)
    assert plan == [(1, [10, 11, 12])]
