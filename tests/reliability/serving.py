"""gunicorn serving the app as the README says, in production mode, on a free 127.0.0.1 port."""

import contextlib
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench import client
from config import Config

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
# Workers and threads per database, as the README serves them.
SERVING = {"sqlite": (1, 8), "postgresql": (2, 4)}
# Settings the environment of whoever runs the tests might hold: the server gets the defaults instead.
INHERITED = {name for name in dir(Config) if name.isupper()} | {"PERIOP_ENV", "GUNICORN_CMD_ARGS"}


def free_port() -> int:
    """Pick a free port below the ephemeral range: while the server is down between a kill and its restart,
    no outgoing connection of this machine can take its port as its own."""
    try:
        lowest = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        lowest = 32768
    rng = random.SystemRandom()
    for _ in range(100):
        port = rng.randrange(10_000, lowest)
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue  # taken
            return port
    raise RuntimeError(f"no free port from 10000 to {lowest}")


def production_env(url: str, anchor_file: Path) -> dict[str, str]:
    """Return the environment of production mode: a random key, every control on, this database."""
    env = {k: v for k, v in os.environ.items() if k not in INHERITED}
    env.update(
        PERIOP_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        DATABASE_URL=url,
        AUDIT_ANCHOR_FILE=str(anchor_file),
        # Every client logs in from 127.0.0.1 at the start, two login steps each: the default 30 a
        # minute per address would turn most of them away. Raised, not switched off; the limit per
        # account stays at its default.
        LOGIN_RATE_LIMIT_PER_ADDRESS="1000 per minute",
    )
    return env


class Gunicorn:
    """A gunicorn master and its workers in a process group of their own, which `kill` ends at once."""

    def __init__(self, backend: str, env: dict[str, str], log: Path):
        self.workers, self.threads = SERVING[backend]
        self.env, self.log = env, log
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 60) -> None:
        """Start serving and return once /health answers."""
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(self.workers),
            "--threads",
            str(self.threads),
            "-b",
            f"{HOST}:{self.port}",
            # Its default path is one per machine: servers of tests running side by side would share it.
            "--no-control-socket",
            "wsgi:app",
        ]
        self.starts += 1
        with self.log.open("a") as log:
            log.write(f"--- start {self.starts} ---\n")
            log.flush()
            self.process = subprocess.Popen(  # noqa: S603 - our own command line
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            if self.healthy():
                return
            time.sleep(0.1)
        raise RuntimeError(f"/health did not answer within {timeout} s:\n{self.log_tail()}")

    def healthy(self) -> bool:
        """Ask /health once."""
        conn = client.Connection(HOST, self.port, timeout=5)
        try:
            return conn.request("GET", "/health").status == 200
        except ConnectionError:
            return False  # not listening yet
        finally:
            conn.close()

    def kill(self) -> None:
        """SIGKILL the whole process group: master and workers, in the middle of whatever they do."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        """Stop gracefully (TERM to the master); kill what is left after 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
        # Workers the master had not reaped yet go with their group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
