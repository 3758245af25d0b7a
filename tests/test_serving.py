"""gunicorn's settings file (gunicorn.conf.py): its hooks do what the README says."""

import gc
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

HOOKS = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_worker_sets_the_loaded_app_aside_from_garbage_collection(unfrozen):
    assert gc.get_freeze_count() == 0
    HOOKS["post_worker_init"](SimpleNamespace())
    assert gc.get_freeze_count() > 10_000  # the app, its libraries and templates loaded so far


class _Log:
    def __init__(self):
        self.warnings = []

    def warning(self, message):
        self.warnings.append(message)


@pytest.mark.parametrize(
    ("url", "workers", "warned"),
    [("sqlite:///site.db", 2, True), ("sqlite:///site.db", 1, False), ("postgresql://db/periop", 2, False)],
)
def test_several_workers_on_one_sqlite_file_are_warned_about(monkeypatch, url, workers, warned):
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379")
    server = SimpleNamespace(cfg=SimpleNamespace(workers=workers), log=_Log())
    HOOKS["when_ready"](server)
    assert bool(server.log.warnings) is warned
    if warned:
        assert "ONE process" in server.log.warnings[0]


@pytest.mark.parametrize(
    ("storage", "workers", "warned"),
    [("memory://", 2, True), ("memory://", 1, False), ("redis://127.0.0.1:6379", 2, False)],
)
def test_several_workers_counting_login_attempts_apart_are_warned_about(
    monkeypatch, storage, workers, warned
):
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/periop")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", storage)
    server = SimpleNamespace(cfg=SimpleNamespace(workers=workers), log=_Log())
    HOOKS["when_ready"](server)
    assert bool(server.log.warnings) is warned
    if warned:
        assert "RATELIMIT_STORAGE_URI=redis://" in server.log.warnings[0]
