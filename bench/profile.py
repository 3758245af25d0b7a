"""Where a request's time goes: the pages and the tick of the benchmark, profiled with cProfile.

    python -m bench.profile [--patients 5000] [--database sqlite|postgresql] [--requests 200]

Uses the benchmark's synthetic site (built by `make bench` if missing, see bench/README.md) and a
copy of it, serves the app in this process in production mode (as gunicorn would, without the
HTTP server) and sends, one at a time, the requests the benchmark measures: the dashboard's first
page, the episode page of random open episodes, and ticks (POST, its redirect not followed, as
the bench does) of distinct open items. Each kind is profiled on its own (after 20 unprofiled
requests; `--only KIND` for one) and printed as the share of its time by area (the ORM,
SQLAlchemy Core, the database driver, templates, forms, Flask and Werkzeug, the flag rules, the
rest of the app) and its top functions by own time. Figures only.
"""

import argparse
import cProfile
import itertools
import os
import pstats
import random
import re
import secrets
import sys
from collections import defaultdict
from urllib.parse import urlsplit

from app import clock
from bench import client, run, synth

WARMUP = 20
BASE_URL = "https://localhost"
TOP = 12
# Areas by the path of a function's module (first match wins).
AREAS = [
    ("database driver", ("sqlite3", "psycopg", "_sqlite3")),
    ("ORM (SQLAlchemy)", ("sqlalchemy/orm",)),
    ("SQLAlchemy Core", ("sqlalchemy/",)),
    ("templates (Jinja)", ("jinja2/", "<template>", "templates/", "markupsafe/")),
    ("forms (WTForms)", ("wtforms/", "flask_wtf/")),
    (
        "flag rules and stored flags",
        ("app/domain/flags", "app/services/stored_flags", "app/services/requirements"),
    ),
    ("audit chain", ("app/audit",)),
    ("Flask, Werkzeug, Flask-Login", ("flask/", "werkzeug/", "flask_login/", "itsdangerous/")),
    ("the rest of the app", ("/app/",)),
]


OTHER = "Python and other libraries"
KINDS = ("dashboard", "episode", "tick")


def area(filename: str) -> str:
    for name, marks in AREAS:
        if any(mark in filename for mark in marks):
            return name
    return OTHER


def areas_of(stats: pstats.Stats) -> dict[str, float]:
    """Own time by area; the time of a built-in or of the standard library (getattr, str.format)
    goes to the areas of its callers, in proportion to the time each call path spent there."""
    by_area: dict[str, float] = defaultdict(float)

    def give(func, seconds: float, depth: int) -> None:
        where = area(func[0] if func[0] != "~" else func[2])  # a built-in: by its name ('sqlite3.Cursor')
        entry = stats.stats.get(func)
        if where != OTHER or depth == 4 or not entry or not entry[4]:
            by_area[where] += seconds
            return
        callers = entry[4]
        weights = {caller: max(times[3], times[2], 1e-12) for caller, times in callers.items()}
        total = sum(weights.values())
        for caller, weight in weights.items():
            give(caller, seconds * weight / total, depth + 1)

    for func, (_cc, _nc, tt, _ct, _callers) in stats.stats.items():
        give(func, tt, 0)
    return by_area


class Browser:
    """A test client that speaks HTTPS (the production session cookie is Secure)."""

    def __init__(self, test_client) -> None:
        self.client = test_client

    def get(self, path: str):
        return self.client.get(path, base_url=BASE_URL)

    def post(self, path: str, data: dict):
        # Over HTTPS, CSRF protection also checks that the form came from this site.
        return self.client.post(path, data=data, base_url=BASE_URL, headers={"Referer": BASE_URL + "/"})


def log_in(test_client: Browser, username: str) -> str:
    """Log in as the user (password, then the code their authenticator shows); a CSRF token."""
    page = test_client.get("/login").data
    answer = test_client.post(
        "/login",
        data={"username": username, "password": synth.BENCH_PASSWORD, "csrf_token": client.csrf_token(page)},
    )
    if urlsplit(answer.headers.get("Location", "")).path == client.CODE_PAGE:
        page = test_client.get(client.CODE_PAGE).data
        code = client.totp_code(username, synth.totp_secret(username))
        test_client.post(client.CODE_PAGE, data={"code": code, "csrf_token": client.csrf_token(page)})
    for path in client.TOKEN_PAGES:
        page = test_client.get(path)
        if page.status_code == 200:
            return client.csrf_token(page.data)
    raise SystemExit(f"could not log in as {username}")


def profile(send, requests, count: int) -> tuple[pstats.Stats, int, float]:
    """Send WARMUP requests, then `count` under the profiler; the stats, statuses seen, seconds."""
    for request in itertools.islice(requests, WARMUP):
        send(request)
    profiler = cProfile.Profile()
    statuses = defaultdict(int)
    profiler.enable()
    for request in itertools.islice(requests, count):
        statuses[send(request)] += 1
    profiler.disable()
    stats = pstats.Stats(profiler)
    return stats, dict(statuses), stats.total_tt


def report(title: str, stats: pstats.Stats, statuses: dict, count: int) -> list[str]:
    total = stats.total_tt or 1e-9
    by_area = areas_of(stats)
    rows = [
        (tt, filename, line, name) for (filename, line, name), (_cc, _nc, tt, _ct, _c) in stats.stats.items()
    ]
    lines = [
        f"### {title}: {count} requests, {1000 * total / count:.1f} ms of Python per request ({statuses})",
        "",
    ]
    lines.append("| area | share of the time |")
    lines.append("| --- | ---: |")
    for name, seconds in sorted(by_area.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {100 * seconds / total:.0f} % |")
    lines += ["", "Top functions by own time:", ""]
    for tt, filename, line, name in sorted(rows, reverse=True)[:TOP]:
        where = re.sub(r"^.*/(site-packages|lib/python3\.\d+)/", "", filename)
        where = where.replace(os.getcwd() + "/", "")
        lines.append(f"- {100 * tt / total:4.1f} %  {name}  ({where}:{line})")
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=run.REFERENCE_PATIENTS)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--requests", type=int, default=run.LATENCY_REQUESTS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--only", choices=KINDS, action="append", help="profile only this kind (may be repeated; default all)"
    )
    args = parser.parse_args(argv)
    today = clock.now().date()
    url, _info = run.ensure_site(args.database, args.patients, args.seed, False, today)
    copy = run.working_copy(args.database, url, args.patients)
    try:
        work = run.read_work(copy, args.seed, today)
        from app import create_app

        app = create_app(
            {"PERIOP_ENV": "production", "SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": copy}
        )
        coordinator, surgeon = Browser(app.test_client()), Browser(app.test_client())
        log_in(coordinator, run.DASHBOARD_USERS[0])
        token = log_in(surgeon, run.TICK_USERS[0])
        n = args.requests
        lines = [f"## Profile: {args.database}, {args.patients:,} patients, one request at a time", ""]

        kinds = args.only or KINDS
        if "dashboard" in kinds:
            dashboard = itertools.repeat(run.DASHBOARD)
            stats, statuses, _ = profile(lambda p: coordinator.get(p).status_code, dashboard, n)
            lines += report("Dashboard, first page", stats, statuses, n)

        if "episode" in kinds:
            episodes = itertools.cycle([run.EPISODE.format(episode_id=e) for e in work.episodes])
            stats, statuses, _ = profile(lambda p: surgeon.get(p).status_code, episodes, n)
            lines += report("Episode page", stats, statuses, n)

        def tick(item):
            episode_id, item_id, version = item
            path = run.TICK.format(episode_id=episode_id, item_id=item_id)
            data = {"csrf_token": token, "form_token": secrets.token_urlsafe(24), "version": str(version)}
            return surgeon.post(path, data=data).status_code  # the 302 not followed, as in the bench

        if "tick" in kinds:
            random.Random(args.seed).shuffle(work.ticks)
            stats, statuses, _ = profile(tick, iter(work.ticks), n)
            lines += report("Tick (POST, answered by a redirect)", stats, statuses, n)
        print("\n".join(lines))
    finally:
        run.drop_copy(args.database, copy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
