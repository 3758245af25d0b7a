"""Phase progress and the post-op flag, from plain item facts."""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from app.domain.flags import EpisodeFacts, Flag, is_postop_overdue, postop_flag
from app.domain.flags import episode_flags as flags_of_facts
from app.domain.progress import Progress, phase_progress
from app.domain.schedule import overdue_from
from app.domain.site import SiteDay
from app.domain.vocab import ItemStatus, Phase

TODAY = date(2026, 6, 17)
OPEN, DONE, NA = ItemStatus.OPEN, ItemStatus.DONE, ItemStatus.NOT_APPLICABLE


def fact(phase=Phase.AFTER, required=True, status=OPEN, due=None, grace=0):
    return SimpleNamespace(
        phase=phase, required=required, status=status, due_date=due, overdue_from=overdue_from(due, grace)
    )


def episode_flags(items, today: date) -> list[Flag]:
    """The flags of an episode with these items, its pre-op signed."""
    return flags_of_facts(EpisodeFacts(None, preop_signed=True, closed=False, items=items), SiteDay(today))


def ago(n: int) -> date:
    return TODAY - timedelta(days=n)


# phase_progress


def test_phase_progress_counts_done_and_not_applicable_required_items():
    items = [
        fact(Phase.BEFORE, status=DONE),
        fact(Phase.BEFORE, status=NA),
        fact(Phase.BEFORE, status=OPEN),
        fact(Phase.BEFORE, status=OPEN),
    ]
    progress = phase_progress(items, Phase.BEFORE)
    assert progress == Progress(done=2, total=4)
    assert progress.percent == 50
    assert progress.label == "2 of 4 required done"
    assert not progress.complete


def test_phase_progress_ignores_optional_items():
    items = [
        fact(Phase.BEFORE, required=True, status=DONE),
        fact(Phase.BEFORE, required=False, status=OPEN),
        fact(Phase.BEFORE, required=False, status=DONE),
    ]
    progress = phase_progress(items, Phase.BEFORE)
    assert progress == Progress(done=1, total=1)
    assert progress.complete


def test_phase_progress_counts_only_the_asked_phase():
    items = [
        fact(Phase.BEFORE, status=DONE),
        fact(Phase.DURING, status=OPEN),
        fact(Phase.AFTER, status=OPEN),
    ]
    assert phase_progress(items, Phase.BEFORE) == Progress(1, 1)
    assert phase_progress(items, Phase.DURING) == Progress(0, 1)
    assert phase_progress(items, Phase.AFTER) == Progress(0, 1)


def test_phase_progress_without_phase_covers_the_whole_checklist():
    items = [
        fact(Phase.BEFORE, status=DONE),
        fact(Phase.DURING, status=NA),
        fact(Phase.AFTER, status=OPEN),
        fact(Phase.AFTER, required=False, status=OPEN),
    ]
    assert phase_progress(items) == Progress(2, 3)


def test_empty_phase_is_zero_of_zero_and_complete():
    progress = phase_progress([fact(Phase.BEFORE, status=OPEN)], Phase.DURING)
    assert progress == Progress(0, 0)
    assert progress.complete
    assert progress.percent == 100
    assert progress.label == "0 of 0 required done"


def test_phase_with_only_optional_items_is_complete():
    progress = phase_progress([fact(Phase.AFTER, required=False, status=OPEN)], Phase.AFTER)
    assert progress == Progress(0, 0)
    assert progress.complete


def test_phase_progress_accepts_a_generator():
    progress = phase_progress((fact(Phase.AFTER, status=DONE) for _ in range(3)), Phase.AFTER)
    assert progress == Progress(3, 3)
    assert progress.percent == 100


def test_progress_percent_rounds():
    assert Progress(1, 3).percent == 33
    assert Progress(2, 3).percent == 67
    assert Progress(0, 5).percent == 0


# is_postop_overdue


def test_required_open_after_item_past_due_is_postop_overdue():
    assert is_postop_overdue(fact(Phase.AFTER, due=ago(1)), TODAY)


def test_after_item_due_today_is_not_overdue():
    assert not is_postop_overdue(fact(Phase.AFTER, due=TODAY), TODAY)


def test_future_after_item_is_not_overdue():
    assert not is_postop_overdue(fact(Phase.AFTER, due=TODAY + timedelta(days=1)), TODAY)


@pytest.mark.parametrize("phase", [Phase.BEFORE, Phase.DURING])
def test_overdue_pre_and_intra_op_items_are_not_postop_overdue(phase):
    assert not is_postop_overdue(fact(phase, due=ago(10)), TODAY)


def test_optional_after_item_past_due_is_not_postop_overdue():
    assert not is_postop_overdue(fact(Phase.AFTER, required=False, due=ago(10)), TODAY)


@pytest.mark.parametrize("status", [DONE, NA])
def test_closed_after_item_past_due_is_not_postop_overdue(status):
    assert not is_postop_overdue(fact(Phase.AFTER, status=status, due=ago(10)), TODAY)


def test_unscheduled_after_item_is_not_postop_overdue():
    assert not is_postop_overdue(fact(Phase.AFTER, due=None), TODAY)


# postop_flag / episode_flags


def test_postop_flag_text_names_the_overdue_count():
    flag = postop_flag(2)
    assert flag is not None
    assert flag.code == "incomplete_postop"
    assert flag.text == "Incomplete post-op steps (2 overdue)"


@pytest.mark.parametrize("count", [0, -1])
def test_no_postop_flag_without_overdue_items(count):
    assert postop_flag(count) is None


def test_episode_flags_counts_required_overdue_after_items():
    items = [
        fact(Phase.AFTER, due=ago(1)),
        fact(Phase.AFTER, due=ago(30)),
        fact(Phase.AFTER, status=DONE, due=ago(30)),
        fact(Phase.AFTER, due=TODAY),
    ]
    flags = episode_flags(items, TODAY)
    assert [f.text for f in flags] == ["Incomplete post-op steps (2 overdue)"]


def test_overdue_pre_op_items_do_not_flag():
    items = [fact(Phase.BEFORE, due=ago(5)), fact(Phase.DURING, due=ago(5))]
    assert episode_flags(items, TODAY) == []


def test_overdue_optional_after_items_do_not_flag():
    assert episode_flags([fact(Phase.AFTER, required=False, due=ago(5))], TODAY) == []


def test_after_item_due_today_does_not_flag():
    assert episode_flags([fact(Phase.AFTER, due=TODAY)], TODAY) == []


def test_flag_without_detail_shows_label_only():
    assert Flag("x", "Label", "").text == "Label"


def test_an_after_item_in_its_grace_days_is_not_overdue_and_does_not_flag():
    assert not is_postop_overdue(fact(Phase.AFTER, due=ago(14), grace=14), TODAY)
    assert is_postop_overdue(fact(Phase.AFTER, due=ago(15), grace=14), TODAY)
    assert episode_flags([fact(Phase.AFTER, due=ago(14), grace=14)], TODAY) == []
