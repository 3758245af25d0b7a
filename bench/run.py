"""The benchmark: a synthetic site served by gunicorn as the README recommends, under load.

    python -m bench.run [--patients 5000] [--database sqlite|postgresql] [--duration 10]

Builds the synthetic site once per database and size (and reuses it), copies it so that
every run starts from the same state, serves it with gunicorn on 127.0.0.1 (SQLite: one
worker with 8 threads; PostgreSQL: two workers with 4 threads each) and measures:

- latency (median, p95), one client at a time: the dashboard's first page, a filtered page,
  the episode page, a tick (POST answered by a redirect, not followed);
- throughput at 16 connections: the dashboard and ticks, and the two floor endpoints served
  the same way (`bench/floor.py`), each app figure also as a ratio to its floor;
- the CSV export of every outstanding item: time, size, rows and the worker's peak memory.

Load comes from `wrk` when installed, else from `bench/client.py`. Prints a table with the
goals, writes `bench/results/<database>-<patients>.json`. Figures only: nothing is asserted.
"""

import argparse
import csv
import io
import itertools
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from app import clock, db
from bench import client, synth

# --- what is measured (URLs kept here, in one place) -----------------------------------------------
DASHBOARD = "/dashboard"
DASHBOARD_FILTERED = "/dashboard?phase=after&state=overdue"
EPISODE = "/episodes/{episode_id}"
TICK = "/episodes/{episode_id}/items/{item_id}/done"
EXPORT = "/dashboard/export.csv"
HEALTH = "/health"
FLOOR_HELLO = "/hello"
FLOOR_INSERT = "/insert"
# Who logs in: coordinators for the dashboard and the export, surgeons for episodes and ticks (a
# surgeon may tick any clinical item). Each login takes the next of them: a user's two-step code
# is accepted once per 30-second step, and the runner logs in more often than that.
DASHBOARD_USERS = ("coordinator1", "coordinator2", "coordinator3")
TICK_USERS = ("surgeon1", "surgeon2", "surgeon3")

HOST = "127.0.0.1"
CONNECTIONS = 16
WRK_THREADS = 2
LATENCY_REQUESTS = 200
WARMUP_REQUESTS = 20
# A latency run stops after this many seconds even if its requests are not all sent.
LATENCY_SECONDS = 30.0
# Workers and threads per database, as the README recommends.
SERVING = {"sqlite": (1, 8), "postgresql": (2, 4)}
PG_SERVER = os.environ.get("PERIOP_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/")
# /health answering faster than this, three times in a row, means the server is idle again.
IDLE_SECONDS = 0.025
# A site older than this is rebuilt: its dates are relative to the day it was made.
MAX_SITE_AGE_DAYS = 7

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"

# Goals (printed next to the figures, never asserted): every page and tick p95 at 5,000 patients,
# growth to 50,000 against the 5,000-patient run of the same database, throughput against floors.
GOAL_P95_MS = 20
GOAL_DASHBOARD_OF_HELLO = 0.10
GOAL_TICKS_OF_INSERT = 0.40
GOAL_GROWTH = 1.2
GROWING = ("dashboard", "episode")  # the pages whose p95 may grow no more than GOAL_GROWTH
GOAL_EXPORT_MB = 200
REFERENCE_PATIENTS = 5000


def say(message: str) -> None:
    print(message, flush=True)


# --- the site --------------------------------------------------------------------------------------


def _pg_url(name: str) -> str:
    return str(make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False))


def _pg_admin() -> Engine:
    url = make_url(_pg_url("postgres")).set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _pg_exists(admin: Engine, name: str) -> bool:
    with admin.connect() as conn:
        return bool(conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}))


def _pg_drop(admin: Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _usable(url: str, patients: int, seed: int, today: date) -> tuple[dict | None, str]:
    """The site's record when it can be reused, else None and why not."""
    engine = db.make_engine(url)
    try:
        info = synth.site_info(engine)
    finally:
        engine.dispose()
    if not info:
        return None, "no complete site there"
    if int(info.get("patients", -1)) != patients:
        return None, f"it holds {info.get('patients')} patients"
    if info.get("seed") != str(seed):
        return None, f"it was built with seed {info.get('seed')}"
    if info.get("fingerprint") != synth.fingerprint():
        return None, "the migrations, the protocol or the generator changed since it was built"
    age = (today - date.fromisoformat(info["built_on"])).days
    if age > MAX_SITE_AGE_DAYS:
        return None, f"it was built {age} days ago (dates are relative to the build day)"
    return info, f"built on {info['built_on']} in {info.get('seconds', '?')} s"


def _sqlite_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def ensure_site(database: str, patients: int, seed: int, rebuild: bool, today: date) -> tuple[str, dict]:
    """The pristine site's URL (built now unless a complete, recent one is there) and its record."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    if database == "sqlite":
        path = RESULTS / f"sqlite-{patients}.db"
        url = f"sqlite:///{path}"
        if path.exists() and not rebuild:
            info, why = _usable(url, patients, seed, today)
            if info:
                print(f"Reusing the site {path.relative_to(ROOT)} ({why}).")
                return url, info | {"reused": True}
            print(f"Rebuilding {path.relative_to(ROOT)}: {why}.")
        for f in _sqlite_files(path):
            f.unlink(missing_ok=True)
    else:
        name = f"periop_bench_{patients}"
        url = _pg_url(name)
        admin = _pg_admin()
        try:
            if _pg_exists(admin, name) and not rebuild:
                info, why = _usable(url, patients, seed, today)
                if info:
                    print(f"Reusing the PostgreSQL database {name} ({why}).")
                    return url, info | {"reused": True}
                print(f"Rebuilding {name}: {why}.")
            _pg_drop(admin, name)
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
    print(f"Building the synthetic site: {patients} patients ({database}) ...")
    counts = synth.generate(url, patients, seed)
    print(f"Built in {counts['seconds']} s.")
    engine = db.make_engine(url)
    try:
        info = synth.site_info(engine) or {}
    finally:
        engine.dispose()
    return url, info | {"reused": False}


def working_copy(database: str, url: str, patients: int) -> str:
    """A fresh copy of the site for this run (ticks change it): a file copy, or a template copy."""
    if database == "sqlite":
        source = Path(make_url(url).database)
        target = RESULTS / f"sqlite-{patients}-run.db"
        for f in _sqlite_files(target):
            f.unlink(missing_ok=True)
        shutil.copyfile(source, target)
        return f"sqlite:///{target}"
    name = f"periop_bench_{patients}"
    copy = f"{name}_run"
    admin = _pg_admin()
    try:
        _pg_drop(admin, copy)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"'))
    finally:
        admin.dispose()
    return _pg_url(copy)


def drop_copy(database: str, url: str) -> None:
    if database == "sqlite":
        for f in _sqlite_files(Path(make_url(url).database)):
            f.unlink(missing_ok=True)
        return
    admin = _pg_admin()
    try:
        _pg_drop(admin, make_url(url).database)
    finally:
        admin.dispose()


@dataclass
class Work:
    """What the requests need from the database: open episodes and tickable items."""

    episodes: list[int]
    ticks: list[tuple[int, int, int]]  # episode id, item id, version
    counts: dict = field(default_factory=dict)


TICKABLE = """
SELECT i.episode_id, i.id, i.version FROM checklist_item i
JOIN protocol_step s ON s.id = i.step_id
JOIN episode e ON e.id = i.episode_id
WHERE i.status = 'open' AND s.kind = 'check'
  AND i.role IN ('surgeon', 'anaesthetist', 'nurse', 'therapist')
  AND e.status != 'closed'
  AND NOT EXISTS (
    SELECT 1 FROM signoff g
    WHERE g.episode_id = i.episode_id AND g.phase = i.phase AND g.revoked_at IS NULL
  )
ORDER BY i.id
"""


def read_work(url: str, seed: int, today: date) -> Work:
    engine = db.make_engine(url)
    rng = random.Random(seed)
    try:
        with engine.connect() as conn:
            episodes = list(conn.scalars(text("SELECT id FROM episode WHERE status != 'closed' ORDER BY id")))
            ticks = [tuple(row) for row in conn.execute(text(TICKABLE))]
        counts = synth.site_counts(engine, today)
    finally:
        engine.dispose()
    rng.shuffle(episodes)
    rng.shuffle(ticks)
    return Work(episodes, ticks, counts)


# --- gunicorn --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn master on 127.0.0.1, stopped by stop() (also on error or Ctrl-C)."""

    def __init__(self, name: str, target: str, database: str, url: str, secret_key: str):
        self.name, self.target = name, target
        self.workers, self.threads = SERVING[database]
        self.port = free_port()
        self.log = RESULTS / f"gunicorn-{name}.log"
        self.env = {
            **os.environ,
            "PERIOP_ENV": "production",
            "SECRET_KEY": secret_key,
            "DATABASE_URL": url,
        }
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "Server":
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
            "--no-control-socket",
            self.target,
        ]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own command line
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        _running.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn ({self.name}) exited: see {self.log.relative_to(ROOT)}")
            with suppress(OSError, client.ClientError):
                answer = client.Connection(HOST, self.port, timeout=5).request("GET", HEALTH)
                if answer.status == 200 and len(self.worker_pids()) >= self.workers:
                    return self
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn ({self.name}) did not answer {HEALTH} within {timeout} s")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        pid = self.process.pid
        with suppress(OSError):
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        ps = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
        )
        return [int(p) for p in ps.stdout.split()]

    def stop(self) -> None:
        """Quick shutdown; workers still busy with a slow page after 5 s are killed."""
        if self.process is None:
            return
        master = self.process.pid
        workers = self.worker_pids()  # now: once the master is gone they can no longer be found
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown (TERM waits for requests)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
        for pid in workers:
            if _is_worker_of(pid, master):
                with suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None
        with suppress(ValueError):
            _running.remove(self)


def _is_worker_of(pid: int, master: int) -> bool:
    """Whether pid is still a gunicorn worker of ours (its parent the master, or orphaned to init)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    parent = int(stat.rsplit(")", 1)[1].split()[1])
    return parent in (master, 1) and b"gunicorn" in cmdline


_running: list[Server] = []


def stop_all() -> None:
    for server in list(_running):
        server.stop()


def _status_kb(pid: int, key: str) -> int | None:
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def reset_peak(pids: list[int]) -> bool:
    """Reset the peak RSS (VmHWM) of the processes; False when the kernel refuses."""
    done = True
    for pid in pids:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            done = False
    return done


# --- load ------------------------------------------------------------------------------------------


def _ms(seconds: float | None) -> float | None:
    return round(seconds * 1000, 2) if seconds is not None else None


def latency(conn: client.Connection, requests, count: int, warmup: int, max_seconds: float) -> dict:
    result = client.sequential(conn, requests, count, warmup, max_seconds)
    return {
        "requests": result.requests,
        "median_ms": _ms(result.median),
        "p95_ms": _ms(result.percentile(95)),
        "errors": result.errors,
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "exhausted": result.exhausted,
        "time_capped": result.capped,
    }


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> dict:
    """Requests, requests/s, latency percentiles and errors from wrk's --latency report."""

    def number(pattern: str, cast=float, default=None):
        found = re.search(pattern, output, re.M)
        return cast(found.group(1)) if found else default

    total = number(r"^\s*(\d+) requests in", int, 0)
    seconds = number(r"requests in ([\d.]+)s", float, 0.0)
    non_ok = number(r"Non-2xx or 3xx responses: (\d+)", int, 0)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    socket_errors = sum(int(g) for g in sockets.groups()) if sockets else 0
    percentiles = {}
    for p in (50, 75, 90, 99):
        found = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
        if found:
            percentiles[f"p{p}_ms"] = round(float(found.group(1)) * _UNITS[found.group(2)], 2)
    ok = max(0, total - non_ok)
    return {
        "requests": total,
        "seconds": seconds,
        "requests_per_s": number(r"Requests/sec:\s+([\d.]+)"),
        "ok_per_s": round(ok / seconds, 1) if seconds else None,
        "errors": non_ok + socket_errors,
        "exhausted": number(r"ticks exhausted: (\d+)", int, 0),
        **percentiles,
    }


def wrk_version() -> str | None:
    path = shutil.which("wrk")
    if path is None:
        return None
    out = subprocess.run([path, "-v"], capture_output=True, text=True, check=False)
    first = (out.stdout + out.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0] if first else "wrk"


def throughput_wrk(
    port: int, path: str, duration: int, cookie: str | None = None, script: str | None = None, env=None
) -> dict:
    command = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    if script:
        command += ["-s", str(BENCH / script)]
    command.append(f"http://{HOST}:{port}{path}")
    run = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=duration + 120,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed: {run.stderr.strip() or run.stdout.strip()}")
    return parse_wrk(run.stdout) | {"load": "wrk"}


def throughput_python(port: int, cookies: dict, requests, duration: int) -> dict:
    connections = [client.Connection(HOST, port, cookies) for _ in range(CONNECTIONS)]
    try:
        result = client.concurrent(connections, requests, duration)
    finally:
        for c in connections:
            c.close()
    ok = result.requests - result.errors
    return {
        "requests": result.requests,
        "seconds": round(result.seconds, 2),
        "requests_per_s": round(result.per_second, 1),
        "ok_per_s": round(ok / result.seconds, 1) if result.seconds else None,
        "errors": result.errors,
        "exhausted": int(result.exhausted),
        "p50_ms": _ms(result.percentile(50)),
        "p99_ms": _ms(result.percentile(99)),
        "load": "bench/client.py",
    }


def _cookie_header(cookies: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def _ticks(items, token: str):
    for episode_id, item_id, version in items:
        yield (
            "POST",
            TICK.format(episode_id=episode_id, item_id=item_id),
            {"csrf_token": token, "form_token": secrets.token_urlsafe(24), "version": str(version)},
        )


def _answers(conn: client.Connection, path: str) -> int:
    return conn.request("GET", path).status


class _CountingReader(io.RawIOBase):
    def __init__(self, response):
        self.response = response
        self.bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.response.readinto(buffer)
        self.bytes += n or 0
        return n or 0


def export_csv(conn: client.Connection, token: str, server: Server) -> dict:
    """POST the export with no filter (every outstanding item); stream it; the worker's peak memory."""
    pids = server.worker_pids()
    reset = reset_peak(pids)
    before = {pid: _status_kb(pid, "VmRSS") for pid in pids}
    started = time.perf_counter()
    response = conn.open("POST", EXPORT, {"csrf_token": token})
    status = response.status
    counter = _CountingReader(response)
    rows = 0
    if status == 200:
        text_stream = io.TextIOWrapper(io.BufferedReader(counter, 1 << 16), encoding="utf-8", newline="")
        rows = sum(1 for _ in csv.reader(text_stream)) - 1  # less the header
    else:
        response.read()
    seconds = time.perf_counter() - started
    peaks = {pid: _status_kb(pid, "VmHWM") for pid in pids}
    peak = max((kb for kb in peaks.values() if kb), default=None)
    return {
        "status": status,
        "seconds": round(seconds, 2),
        "bytes": counter.bytes,
        "rows": max(rows, 0),
        "peak_memory_mb": round(peak / 1024, 1) if peak else None,
        "rss_before_mb": round(max(v for v in before.values() if v) / 1024, 1)
        if any(before.values())
        else None,
        "peak_reset": reset,
    }


# --- the run ---------------------------------------------------------------------------------------


def machine() -> dict:
    model = ""
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model or platform.processor(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def _pg_version(url: str) -> str | None:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SHOW server_version"))
    finally:
        engine.dispose()


def wait_idle(port: int, timeout: float = 180) -> bool:
    """Wait until the server has finished what a load run left in flight (/health answers fast)."""
    conn = client.Connection(HOST, port, timeout=timeout)
    deadline = time.monotonic() + timeout
    quick = 0
    try:
        while time.monotonic() < deadline:
            with suppress(OSError, client.ClientError):
                quick = quick + 1 if conn.request("GET", HEALTH).seconds < IDLE_SECONDS else 0
            if quick >= 3:
                return True
            time.sleep(0.2)
        return False
    finally:
        conn.close()


def _load(use_wrk: bool, port: int, duration: int, conn: client.Connection | None, path: str, **kw) -> dict:
    """Throughput of one endpoint at CONNECTIONS connections, by wrk or by bench/client.py."""
    cookies = conn.cookies if conn else {}
    if use_wrk:
        cookie = _cookie_header(cookies) if cookies else None
        return throughput_wrk(port, path, duration, cookie, kw.get("script"), kw.get("env"))
    return throughput_python(port, cookies, kw["requests"], duration)


def measure_app(args, url: str, work: Work, figures: dict, secret: str, use_wrk: bool) -> None:
    """Latency one client at a time, then throughput of the dashboard and of ticks."""
    app = Server("app", "wsgi:app", args.database, url, secret).start()
    say(f"Serving the app: gunicorn -w {app.workers} --threads {app.threads} on port {app.port}")
    dash, _ = log_in(app.port, DASHBOARD_USERS)
    ticker, tick_token = log_in(app.port, TICK_USERS)
    n, warm, cap = args.requests, WARMUP_REQUESTS, args.latency_seconds
    lat, tp = figures["latency"], figures["throughput"]
    for key, path in (("dashboard", DASHBOARD), ("dashboard_filtered", DASHBOARD_FILTERED)):
        status = _answers(dash, path)
        if status != 200:
            lat[key] = {"unavailable": f"GET {path} answered {status}"}
            say(f"  {path}: answered {status}; its figures are left out.")
            continue
        say(f"  latency: GET {path} x {n} ...")
        lat[key] = latency(dash, client.repeat(("GET", path, None)), n, warm, cap)
    episodes = itertools.cycle([("GET", EPISODE.format(episode_id=e), None) for e in work.episodes])
    say(f"  latency: GET {EPISODE} x {n} ...")
    lat["episode"] = latency(ticker, episodes, n, warm, cap)
    tick_items, rest = work.ticks[: n + warm], work.ticks[n + warm :]
    say(f"  latency: POST {TICK} x {n} (distinct open items) ...")
    lat["tick"] = latency(ticker, _ticks(tick_items, tick_token), n, warm, cap)

    dash.close()
    ticker.close()
    app.stop()

    # Each throughput run gets a server of its own: what one run leaves in flight when it ends
    # (slow pages still being rendered) must not slow the next one down.
    if "unavailable" in lat.get("dashboard", {}):
        tp["dashboard"] = {"unavailable": lat["dashboard"]["unavailable"]}
    else:
        app, dash, _ = _serve_logged_in(args, url, secret, DASHBOARD_USERS)
        try:
            say(f"  throughput: GET {DASHBOARD}, {CONNECTIONS} connections, {args.duration} s ...")
            request = ("GET", DASHBOARD, None)
            tp["dashboard"] = _load(
                use_wrk, app.port, args.duration, dash, DASHBOARD, requests=lambda: request
            )
        finally:
            dash.close()
            app.stop()
    app, ticker, tick_token = _serve_logged_in(args, url, secret, TICK_USERS)
    ticks_file = RESULTS / f"ticks-{args.database}-{args.patients}.txt"
    try:
        say(f"  throughput: ticks, {CONNECTIONS} connections, {args.duration} s ({len(rest):,} items) ...")
        ticks_file.write_text("".join(f"{e} {i} {v}\n" for e, i, v in rest))
        env = {
            "PERIOP_BENCH_TICKS": str(ticks_file),
            "PERIOP_BENCH_CSRF": tick_token,
            "PERIOP_BENCH_THREADS": str(WRK_THREADS),
        }
        pending = _ticks(rest, tick_token)
        tp["ticks"] = _load(
            use_wrk,
            app.port,
            args.duration,
            ticker,
            "/",
            script="wrk_ticks.lua",
            env=env,
            requests=lambda: next(pending, None),
        )
    finally:
        ticks_file.unlink(missing_ok=True)
        ticker.close()
        app.stop()


_logins: dict[tuple[str, ...], int] = {}


def log_in(port: int, usernames: tuple[str, ...]) -> tuple[client.Connection, str]:
    """Log in as the next of these users (password and two-step code); the connection and a CSRF token."""
    turn = _logins.get(usernames, 0)
    _logins[usernames] = turn + 1
    username = usernames[turn % len(usernames)]
    return client.login(HOST, port, username, synth.BENCH_PASSWORD, synth.totp_secret(username))


def _serve_logged_in(args, url: str, secret: str, usernames: tuple[str, ...]):
    """A fresh app server and a logged-in connection to it, with its CSRF token."""
    app = Server("app", "wsgi:app", args.database, url, secret).start()
    try:
        conn, token = log_in(app.port, usernames)
    except BaseException:
        app.stop()
        raise
    return app, conn, token


def _drain(server: "Server") -> None:
    if not wait_idle(server.port):
        say("  (the server was still busy 3 minutes after the run)")


def measure_export(args, url: str, figures: dict, secret: str) -> None:
    """The CSV export on a fresh worker, so its peak memory is the export's, not earlier pages'."""
    app = Server("app", "wsgi:app", args.database, url, secret).start()
    dash, token = log_in(app.port, DASHBOARD_USERS)
    say(f"  export: POST {EXPORT} (every outstanding item), on a fresh worker ...")
    exported = export_csv(dash, token, app)
    if exported["status"] != 200:
        exported = {"unavailable": f"POST {EXPORT} answered {exported['status']}"}
        say(f"  {EXPORT}: {exported['unavailable']}; its figures are left out.")
    figures["export"] = exported
    dash.close()
    app.stop()


def measure_floor(args, url: str, figures: dict, secret: str, use_wrk: bool) -> None:
    """The two floor endpoints, served the same way, and each app figure as a ratio to its floor."""
    tp = figures["throughput"]
    floor = Server("floor", "bench.floor:create_app()", args.database, url, secret).start()
    say(f"Serving the floor: gunicorn -w {floor.workers} --threads {floor.threads} on port {floor.port}")
    say(f"  throughput: GET {FLOOR_HELLO}, {CONNECTIONS} connections, {args.duration} s ...")
    hello = ("GET", FLOOR_HELLO, None)
    tp["hello"] = _load(use_wrk, floor.port, args.duration, None, FLOOR_HELLO, requests=lambda: hello)
    _drain(floor)
    say(f"  throughput: POST {FLOOR_INSERT}, {CONNECTIONS} connections, {args.duration} s ...")
    insert = ("POST", FLOOR_INSERT, {})
    tp["insert"] = _load(
        use_wrk, floor.port, args.duration, None, FLOOR_INSERT, script="wrk_post.lua", requests=lambda: insert
    )
    floor.stop()
    for key, floor_key in (("dashboard", "hello"), ("ticks", "insert")):
        mine, base = tp.get(key, {}).get("ok_per_s"), tp[floor_key].get("ok_per_s")
        if key in tp and "unavailable" not in tp[key]:
            tp[key]["ratio_to_floor"] = round(mine / base, 4) if mine is not None and base else None


def measure(args, url: str, work: Work, figures: dict) -> None:
    """Everything that needs a server: the app, the export, the floor."""
    secret = secrets.token_hex(32)
    use_wrk = shutil.which("wrk") is not None and not args.python_client
    measure_export(args, url, figures, secret)  # first: on the site as built, by a fresh worker
    measure_app(args, url, work, figures, secret, use_wrk)
    measure_floor(args, url, figures, secret, use_wrk)


# --- the table -------------------------------------------------------------------------------------


def _reference(database: str) -> dict | None:
    path = RESULTS / f"{database}-{REFERENCE_PATIENTS}.json"
    with suppress(OSError, ValueError):
        return json.loads(path.read_text())
    return None


def _percent(ratio: float | None) -> str:
    if ratio is None:
        return "n/a %"
    return f"{ratio * 100:.1f} %" if ratio >= 0.01 else f"{ratio * 100:.2g} %"


def _verdict(value, ok) -> str:
    if value is None or ok is None:
        return "n/a"
    return "met" if ok else "NOT met"


def table(figures: dict, patients: int, database: str) -> list[tuple[str, str, str, str]]:
    """Rows: figure, value, goal, met / not met."""
    lat, tp, export = figures["latency"], figures["throughput"], figures.get("export", {})
    rows: list[tuple[str, str, str, str]] = []
    at_reference = patients == REFERENCE_PATIENTS

    def fmt(value, unit="") -> str:
        return (
            "n/a"
            if value is None
            else f"{value:,.1f}{unit}"
            if isinstance(value, float)
            else f"{value:,}{unit}"
        )

    reference = None if at_reference else _reference(database)
    ref_latency = (reference or {}).get("figures", {}).get("latency", {})
    for key, label in (
        ("dashboard", "dashboard first page"),
        ("dashboard_filtered", "dashboard filtered"),
        ("episode", "episode page"),
        ("tick", "tick (POST, its redirect not followed)"),
    ):
        data = lat.get(key, {})
        if "unavailable" in data:
            rows.append((f"latency {label}", data["unavailable"], "", "n/a"))
            continue
        goal, ok = "", None
        p95 = data.get("p95_ms")
        ref_p95 = ref_latency.get(key, {}).get("p95_ms")
        if key in ("dashboard", "episode", "tick") and at_reference:
            goal, ok = f"p95 <= {GOAL_P95_MS} ms", p95 is not None and p95 <= GOAL_P95_MS
        elif key in GROWING and patients > REFERENCE_PATIENTS and ref_p95:
            limit = GOAL_GROWTH * ref_p95
            goal = f"p95 <= {GOAL_GROWTH} x {ref_p95:.1f} = {limit:.1f} ms (5,000-patient run)"
            ok = p95 is not None and p95 <= limit
        elif key in GROWING and patients > REFERENCE_PATIENTS:
            goal = f"p95 <= {GOAL_GROWTH} x the 5,000-patient figure (run that first)"
        errors = f", {data['errors']} errors" if data.get("errors") else ""
        capped = f" (n={data['requests']}, time limit)" if data.get("time_capped") else ""
        value = f"median {fmt(data.get('median_ms'))} ms, p95 {fmt(p95)} ms{errors}{capped}"
        rows.append((f"latency {label}", value, goal, _verdict(p95, ok) if goal else ""))
    for key, label, floor_key in (
        ("dashboard", "dashboard first page", "hello"),
        ("ticks", "ticks", "insert"),
        ("hello", "floor: Flask hello", None),
        ("insert", "floor: one SQLAlchemy insert", None),
    ):
        data = tp.get(key, {})
        if "unavailable" in data:
            rows.append((f"throughput {label}", data["unavailable"], "", "n/a"))
            continue
        value = f"{fmt(data.get('ok_per_s'))} req/s"
        if data.get("requests") == 0:
            value += f" (no request finished within {data.get('seconds', 0):.0f} s)"
        if data.get("errors"):
            value += f", {data['errors']} errors"
        if data.get("exhausted"):
            value += " (ran out of items)"
        goal, verdict = "", ""
        if floor_key:
            ratio = data.get("ratio_to_floor")
            value += f" = {_percent(ratio)} of {floor_key}"
            least = GOAL_TICKS_OF_INSERT if key == "ticks" else GOAL_DASHBOARD_OF_HELLO
            goal = f">= {least:.0%} of {floor_key} floor"
            verdict = _verdict(ratio, ratio is not None and ratio >= least)
        rows.append((f"throughput {label}", value, goal, verdict))
    if "unavailable" in export:
        rows.append(("CSV export (all outstanding)", export["unavailable"], "", "n/a"))
    elif export:
        mb = export.get("peak_memory_mb")
        rows.append(
            (
                "CSV export (all outstanding)",
                f"{export['seconds']:.2f} s, {export['rows']:,} rows, {export['bytes'] / 1e6:.1f} MB",
                "",
                "",
            )
        )
        rows.append(
            (
                "CSV export peak memory (MB)",
                fmt(mb, " MB")
                + (
                    f" ({fmt(export.get('rss_before_mb'), ' MB')} before the export)"
                    if export.get("peak_reset")
                    else ""
                )
                + ("" if export.get("peak_reset") else " (the worker's lifetime peak)"),
                f"< {GOAL_EXPORT_MB} MB",
                _verdict(mb, mb is not None and mb < GOAL_EXPORT_MB),
            )
        )
    return rows


def print_table(rows) -> None:
    widths = [max(len(r[i]) for r in [("figure", "value", "goal", "met"), *rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print(line)
    print("  ".join(h.ljust(w) for h, w in zip(("figure", "value", "goal", "met"), widths, strict=True)))
    print(line)
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--duration", type=int, default=10, help="seconds per throughput run (default 10)")
    parser.add_argument("--requests", type=int, default=LATENCY_REQUESTS, help="requests per latency run")
    parser.add_argument(
        "--latency-seconds",
        type=float,
        default=LATENCY_SECONDS,
        help=f"time limit of each latency run, warm-up included (default {LATENCY_SECONDS:g})",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rebuild", action="store_true", help="build the synthetic site again")
    parser.add_argument(
        "--python-client", action="store_true", help="use bench/client.py even if wrk is there"
    )
    args = parser.parse_args(argv)
    if (
        not 1 <= args.duration <= 300
        or not 1 <= args.requests <= 10_000
        or not 1 <= args.latency_seconds <= 600
    ):
        parser.error(
            "keep --duration within 1..300 s, --requests within 1..10000, --latency-seconds within 1..600"
        )

    sys.stdout.reconfigure(line_buffering=True)  # progress shows at once, also through a pipe
    today = clock.today(os.environ.get("TIMEZONE") or "UTC")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even when started in the background
    figures: dict = {"latency": {}, "throughput": {}}
    run_url = None
    started = time.perf_counter()
    try:
        site_url, info = ensure_site(args.database, args.patients, args.seed, args.rebuild, today)
        run_url = working_copy(args.database, site_url, args.patients)
        work = read_work(run_url, args.seed, today)
        c = work.counts
        print(
            f"Site: {c['patient']:,} patients, {c['checklist_item']:,} items "
            f"({c['overdue_items']:,} overdue in open episodes), {c['therapy_session']:,} sessions, "
            f"{c['outcome_score']:,} scores, {c['audit_event']:,} audit events; "
            f"{len(work.ticks):,} open check items to tick."
        )
        measure(args, run_url, work, figures)
    except KeyboardInterrupt:
        print("\nInterrupted: stopping gunicorn.")
        return 130
    finally:
        stop_all()
        if run_url:
            with suppress(Exception):
                drop_copy(args.database, run_url)
    rows = table(figures, args.patients, args.database)
    print()
    print(f"Periop benchmark: {args.patients:,} patients on {args.database}")
    print_table(rows)
    result = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "patients": args.patients,
        "database": args.database,
        "serving": dict(zip(("workers", "threads"), SERVING[args.database], strict=True)),
        "connections": CONNECTIONS,
        "duration_s": args.duration,
        "latency_requests": args.requests,
        "latency_seconds_limit": args.latency_seconds,
        "load": f"wrk ({wrk_version()})"
        if shutil.which("wrk") and not args.python_client
        else "bench/client.py",
        "machine": machine()
        | ({"postgresql": _pg_version(site_url)} if args.database == "postgresql" else {}),
        "site": info | {"counts": work.counts},
        "figures": figures,
        "table": [dict(zip(("figure", "value", "goal", "met"), r, strict=True)) for r in rows],
        "seconds": round(time.perf_counter() - started, 1),
    }
    path = RESULTS / f"{args.database}-{args.patients}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"Figures written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
