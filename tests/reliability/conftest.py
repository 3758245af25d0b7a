"""Fixtures of the reliability tests: a prepared database of the backend under test, served by gunicorn.

Run them longer with PERIOP_RELIABILITY_SECONDS (the load, 12 s by default) and
PERIOP_RELIABILITY_KILLS (server kills of the crash test, 10 by default).
"""

import os

import pytest

from tests.conftest import BACKEND
from tests.reliability.serving import Gunicorn, production_env
from tests.reliability.site import fresh_database, prepare

SECONDS = float(os.environ.get("PERIOP_RELIABILITY_SECONDS") or 12)
KILLS = int(os.environ.get("PERIOP_RELIABILITY_KILLS") or 10)
DATABASE = "postgresql" if BACKEND == "postgresql" else "sqlite"


@pytest.fixture
def site(tmp_path):
    """Prepare a fresh database: migrated, with the protocol, the client users and the shared episodes."""
    pytest.importorskip("gunicorn", reason="these tests serve the app with gunicorn (requirements.txt)")
    with fresh_database(tmp_path) as url:
        yield prepare(url)


@pytest.fixture
def server(site, tmp_path):
    """Serve the site with gunicorn in production mode; stop it afterwards if the test has not."""
    served = Gunicorn(
        DATABASE, production_env(site.url, tmp_path / "audit-anchors.jsonl"), tmp_path / "gunicorn.log"
    )
    served.start()
    yield served
    served.stop()
