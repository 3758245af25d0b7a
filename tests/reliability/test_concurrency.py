"""Many users at once on the same episodes, the app served as in production: nothing acknowledged is lost."""

import pytest

from tests.reliability.conftest import DATABASE, SECONDS
from tests.reliability.ledger import ITEM_KINDS, OUTCOME, SESSION
from tests.reliability.load import drive
from tests.reliability.verdict import judge, seed

pytestmark = pytest.mark.reliability


def test_every_acknowledged_change_is_stored_once_and_every_refused_one_not_at_all(site, server, request):
    run, seconds = drive(site, server.port, seed(), SECONDS)
    server.stop()

    report, figures = judge("concurrency", DATABASE, site, server, run, seconds, request)

    assert not report.problems, "\n".join(report.problems[:40])
    assert figures["lost"] == 0
    # The run did what it is for: every kind of change saved, stale forms refused, repeats answered.
    assert set(figures["acknowledged_by_kind"]) == {*ITEM_KINDS, SESSION, OUTCOME}
    assert figures["stale_conflicts"] > 0
    assert figures["refused"] > 0
    assert figures["repeats_answered_alike"] > 0
