"""A consistent copy of the SQLite database while Periop runs (SQLite's online backup)."""

import sqlite3
from pathlib import Path

from sqlalchemy.engine import Engine

# Pages copied per step: the copy takes the read lock in short steps, so writes go on meanwhile.
PAGES_PER_STEP = 1024


class BackupError(RuntimeError):
    """The copy could not be made, or did not check out."""


def backup_sqlite(engine: Engine, target: Path) -> int:
    """Copy the database to `target` (a new file) and check the copy; return its size in bytes."""
    if engine.dialect.name != "sqlite":
        raise BackupError("flask backup copies the SQLite database; back PostgreSQL up with pg_dump.")
    if target.exists():
        raise BackupError(f"{target} exists already: give a new file name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    copy = sqlite3.connect(target)
    try:
        with engine.connect() as conn:
            conn.connection.dbapi_connection.backup(copy, pages=PAGES_PER_STEP)
        problems = copy.execute("PRAGMA integrity_check").fetchall()
        if problems != [("ok",)]:
            raise BackupError(f"the copy failed its integrity check: {problems[:3]}")
    finally:
        copy.close()
    target.chmod(0o600)  # patient data: readable by the owner only
    return target.stat().st_size
