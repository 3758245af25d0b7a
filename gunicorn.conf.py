"""gunicorn settings read automatically from the working directory."""

import os

from app.db import worker_warning
from config import config_class


def when_ready(server):
    """Warn loudly when several workers would share one SQLite file."""
    url = os.environ.get("DATABASE_URL") or config_class("development").DATABASE_URL
    message = worker_warning(url, server.cfg.workers)
    if message:
        server.log.warning(message)
