"""gunicorn settings read automatically from the working directory."""

import gc
import os

from app.db import worker_warning
from app.ratelimit import workers_warning
from config import config_class


def when_ready(server):
    """Warn loudly when several workers would share one SQLite file, or count logins apart."""
    url = os.environ.get("DATABASE_URL") or config_class("development").DATABASE_URL
    storage = os.environ.get("RATELIMIT_STORAGE_URI") or config_class("production").RATELIMIT_STORAGE_URI
    for message in (worker_warning(url, server.cfg.workers), workers_warning(storage, server.cfg.workers)):
        if message:
            server.log.warning(message)


def post_worker_init(worker):
    """Once the worker has loaded the app, set the objects it made aside from garbage collection.

    They live as long as the worker, yet every full collection went through them all (about
    130,000: the app, SQLAlchemy, Jinja): some 80 ms, every few dozen pages, on whichever page
    was being served. Frozen, a full collection takes a few milliseconds.
    """
    gc.freeze()
