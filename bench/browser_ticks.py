"""How long a tick takes in a real browser on the synthetic site: click to updated item, in Chromium.

    python -m bench.browser_ticks [--patients 5000] [--database sqlite|postgresql] [--ticks 60]

Serves the app as `make bench` does (gunicorn, production mode, on a copy of the synthetic site),
logs a surgeon in through the login form and the code step in headless Chromium, then opens open
episodes one after another and ticks their open check items in place ("Mark done", htmx), each
item once, until `--ticks` ticks. The time of a tick is measured in the page itself, from the
click to htmx's swap of the item (the same script as tests/browser/test_tick_latency.py). Prints
median, p95 and maximum, writes them to bench/results/browser-<database>-<patients>.json, and
asserts nothing about timings; it stops with an error if a tick is not saved in place.
tests/browser/test_tick_latency.py ticks the same way (`tick_all`) on the test app.

Needs Playwright (`make install-test`) and Chromium (`apt-get install chromium`, or PERIOP_CHROMIUM).
"""

import argparse
import json
import math
import os
import random
import secrets
import shutil
import statistics
import sys
from collections import defaultdict
from datetime import UTC, datetime

from app import clock
from bench import client, run, synth

CHROMIUM = os.environ.get("PERIOP_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
USER = "surgeon4"  # not one of the users `make bench` logs in with
TIMEOUT_MS = 15_000
TIMING = """
window.tickTimes = [];
document.addEventListener("click", function () { window.tickStart = performance.now(); }, true);
document.addEventListener("htmx:afterSwap", function () {
  if (window.tickStart !== null) {  // the first swap after the click: the item (then the rest)
    window.tickTimes.push(performance.now() - window.tickStart);
    window.tickStart = null;
  }
});
"""


def episodes_to_tick(
    ticks: list[tuple[int, int, int]], wanted: int, seed: int
) -> list[tuple[int, list[int]]]:
    """Episodes with their tickable items, at least `wanted` items in all (random episodes, each
    with three or more such items, so every page gives several ticks)."""
    by_episode: dict[int, list[int]] = defaultdict(list)
    for episode_id, item_id, _version in ticks:
        by_episode[episode_id].append(item_id)
    chosen, total = [], 0
    candidates = sorted(e for e, items in by_episode.items() if len(items) >= 3)
    random.Random(seed).shuffle(candidates)
    for episode_id in candidates:
        if total >= wanted:
            break
        items = by_episode[episode_id][: wanted - total]
        chosen.append((episode_id, items))
        total += len(items)
    return chosen


def log_in(page, expect, base: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill(synth.BENCH_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{client.CODE_PAGE}")
    page.get_by_label("Code").fill(client.totp_code(USER, synth.totp_secret(USER)))
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#nav-user")).to_be_visible()


def tick_all(page, expect, base: str, plan: list[tuple[int, list[int]]]) -> list[float]:
    """Tick every planned item in place; the click-to-swap times in ms."""
    times: list[float] = []
    for episode_id, items in plan:
        page.goto(f"{base}/episodes/{episode_id}")
        page.evaluate(TIMING)
        page.evaluate("window.notReloaded = true")
        for item_id in items:
            row = page.locator(f"#item-{item_id}")
            row.get_by_role("button", name="Mark done").click()
            expect(row.locator("[data-state]")).to_have_attribute("data-state", "done")
            expect(row.locator("[data-item-message]")).to_contain_text("Marked done at")
        if page.evaluate("window.notReloaded") is not True:
            raise AssertionError(
                f"episode {episode_id}: a tick reloaded the page instead of updating the item"
            )
        times += page.evaluate("window.tickTimes")
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=run.REFERENCE_PATIENTS)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--ticks", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        raise SystemExit("Playwright is not installed: run `make install-test`") from None
    executable = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which(CHROMIUM)
    if executable is None:
        raise SystemExit(
            f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set PERIOP_CHROMIUM)"
        )
    expect.set_options(timeout=TIMEOUT_MS)
    today = clock.now().date()
    url, _info = run.ensure_site(args.database, args.patients, args.seed, False, today)
    copy = run.working_copy(args.database, url, args.patients)
    server = None
    try:
        plan = episodes_to_tick(run.read_work(copy, args.seed, today).ticks, args.ticks, args.seed)
        server = run.Server("app", "wsgi:app", args.database, copy, secrets.token_hex(32)).start()
        base = f"http://{run.HOST}:{server.port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=ARGS)
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.set_default_timeout(TIMEOUT_MS)
            log_in(page, expect, base)
            times = tick_all(page, expect, base, plan)
            browser.close()
    finally:
        if server is not None:
            server.stop()
        run.drop_copy(args.database, copy)
    ordered = sorted(times)
    figures = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": args.database,
        "patients": args.patients,
        "episodes": len(plan),
        "ticks": len(times),
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(ordered[math.ceil(0.95 * len(ordered)) - 1], 1),  # nearest rank
        "max_ms": round(ordered[-1], 1),
        "serving": "gunicorn -w {} --threads {}".format(*run.SERVING[args.database]),
        "machine": run.machine(),
    }
    run.RESULTS.mkdir(parents=True, exist_ok=True)
    out = run.RESULTS / f"browser-{args.database}-{args.patients}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(
        f"tick in Chromium (click to updated item), {args.database}, {args.patients:,} patients, "
        f"{figures['ticks']} ticks on {figures['episodes']} episodes: median {figures['median_ms']:.0f} ms, "
        f"p95 {figures['p95_ms']:.0f} ms, max {figures['max_ms']:.0f} ms (goal: p95 <= 150 ms); "
        f"written to {out.relative_to(run.ROOT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
