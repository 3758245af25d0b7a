"""The whole server killed again and again under load: every acknowledged change survives, exactly once,
and every change whose answer was lost is either all there or not there at all."""

import random

import pytest

from tests.reliability.clients import Run
from tests.reliability.conftest import DATABASE, KILLS, SECONDS
from tests.reliability.load import drive
from tests.reliability.serving import Gunicorn
from tests.reliability.verdict import judge, seed

pytestmark = pytest.mark.reliability


def killing(server: Gunicorn, kills: int, rng: random.Random, done: list):
    """Kill the gunicorn process group at random moments and start it again, `kills` times."""

    def meanwhile(run: Run) -> None:
        for _ in range(kills):
            time_to_kill = rng.uniform(0.5, 1.5)
            if run.stop.wait(time_to_kill):  # paces the kills; a failed client ends the run early
                return
            run.server_up.clear()
            run.epoch += 1
            server.kill()
            done.append(time_to_kill)
            server.start()
            run.epoch += 1
            run.server_up.set()

    return meanwhile


def test_a_killed_server_keeps_every_acknowledged_change_once_and_no_half_change(site, server, request):
    rng = random.Random(seed())
    kills: list = []
    run, seconds = drive(
        site, server.port, rng.randrange(1_000_000), SECONDS, killing(server, KILLS, rng, kills)
    )
    server.stop()

    report, figures = judge("crash", DATABASE, site, server, run, seconds, request, kills=len(kills))

    assert not report.problems, "\n".join(report.problems[:40])
    assert figures["lost"] == 0
    assert len(kills) == KILLS
    # The kills cut submissions off in flight, and their resends were answered.
    assert figures["retried_cut_off_in_flight"] > 0
    assert figures["never_answered"] == 0
