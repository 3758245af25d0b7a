"""Run every client thread against the server for a while, and something else meanwhile (kills)."""

import threading
import time
from collections.abc import Callable

from tests.reliability.clients import Client, Run
from tests.reliability.ledger import Ledger
from tests.reliability.site import Site

LOGIN_TIMEOUT = 120
# Once told to stop, a client finishes the submission in hand (answered, followed); then it is hung.
FINISH_TIMEOUT = 150


def drive(site: Site, port: int, seed: int, seconds: float, meanwhile: Callable[[Run], None] | None = None):
    """Log every client in, let them work for `seconds` (and as long as `meanwhile` runs); return the run
    and the seconds the load lasted."""
    run = Run(site, port, Ledger(), seed)
    clients = [Client(run, account, n) for n, account in enumerate(site.accounts)]
    ready = threading.Barrier(len(clients) + 1)
    threads = [c.thread(ready) for c in clients]
    run.server_up.set()
    for thread in threads:
        thread.start()
    try:
        ready.wait(LOGIN_TIMEOUT)
    except threading.BrokenBarrierError:
        run.stop.set()
    started = time.monotonic()
    try:
        if meanwhile is None:
            run.deadline = started + seconds
        elif not run.stop.is_set():
            meanwhile(run)
            run.stop.wait(max(0.0, started + seconds - time.monotonic()))  # the rest of the run's time
    except BaseException:
        run.stop.set()
        raise
    finally:
        if meanwhile is not None:
            run.stop.set()
        limit = max(time.monotonic(), started + seconds) + FINISH_TIMEOUT
        for thread in threads:
            thread.join(max(0.0, limit - time.monotonic()))
        hung = [t.name for t in threads if t.is_alive()]
        if hung:
            run.errors.append(f"clients still busy {FINISH_TIMEOUT} s after the end of the run: {hung}")
    return run, time.monotonic() - started
