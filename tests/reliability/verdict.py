"""After a run, with the server stopped: check the database against the ledger, and report the figures."""

import dataclasses
import json
import random
from collections import Counter

from tests.reliability import checks
from tests.reliability.clients import Run
from tests.reliability.ledger import STALE
from tests.reliability.serving import Gunicorn
from tests.reliability.site import Site


def seed() -> int:
    return random.SystemRandom().randrange(1_000_000)


def judge(name: str, database: str, site: Site, server: Gunicorn, run: Run, seconds: float, request, **extra):
    """Run every check of a run; return the report (its problems) and the figures: printed, shown at the end
    of the session (tests/conftest.py) and kept as JSON in the test's temporary folder."""
    tmp_path = request.getfixturevalue("tmp_path")
    stored = checks.read(site.url, site.last_setup_event)
    report = checks.compare(run.ledger, stored, logins=len(site.accounts))
    for error in run.errors:
        report.problem(None, f"a client failed: {error}")
    verify = checks.audit_verify(server.env)
    if verify.returncode != 0:
        report.problem(None, f"flask audit verify exited {verify.returncode}: {verify.stdout}{verify.stderr}")
    if database == "sqlite":
        integrity, broken_keys = checks.sqlite_integrity(site.url)
        if integrity != "ok" or broken_keys:
            report.problem(
                None, f"SQLite integrity_check {integrity!r}, foreign_key_check {broken_keys[:10]}"
            )
    log = server.log.read_text(errors="replace")
    if "Traceback" in log:
        report.problem(None, f"the server logged errors (see {server.log}):\n{server.log_tail(80)}")
    subs = run.ledger.submissions
    statuses = Counter(s.status for s in subs)
    figures = {
        "test": name,
        "database": database,
        "seed": run.seed,
        "clients": len(site.accounts),
        "seconds": round(seconds, 1),
        **extra,
        "submissions": len(subs),
        "acknowledged": statuses[302],
        "acknowledged_by_kind": dict(Counter(s.kind for s in subs if s.acknowledged)),
        "repeats_sent": sum(s.repeat_status is not None for s in subs),
        "repeats_answered_alike": sum(
            s.repeat_status == 302 and s.repeat_location == s.location for s in subs
        ),
        "conflicts": statuses[409],
        "stale_conflicts": sum(s.status == 409 and s.intent == STALE for s in subs),
        "refused": statuses[422],
        "retried": sum(s.unanswered > 0 for s in subs),
        "retried_cut_off_in_flight": sum(s.cut_off > 0 for s in subs),
        "retried_found_saved": report.found_saved,
        "unanswered_requests": dict(run.ledger.unanswered),
        "never_answered": statuses[None],
        "audit_events": sum(report.events.values()),
        "answers": {f"{method} {status}": n for (method, status), n in sorted(run.ledger.statuses.items())},
        "lost": len(report.lost),
        "problems": len(report.problems),
        "audit_verify": verify.stdout.strip(),
        "server_log": str(server.log),
    }
    path = tmp_path / f"reliability-{name}.json"
    path.write_text(json.dumps(figures, indent=2))
    with (tmp_path / f"ledger-{name}.jsonl").open("w") as ledger:
        for sub in subs:
            ledger.write(json.dumps(dataclasses.asdict(sub), default=str) + "\n")
    kills = f"{extra['kills']} kills, " if "kills" in extra else ""
    line = (
        f"reliability {name} ({database}): {kills}{figures['clients']} clients, {figures['seconds']} s, "
        f"{figures['submissions']} submissions, {figures['acknowledged']} acknowledged, "
        f"{figures['repeats_answered_alike']} repeats answered alike, {figures['conflicts']} conflicts "
        f"({figures['stale_conflicts']} stale), {figures['refused']} refused, "
        f"{figures['retried']} retried after no answer ({figures['retried_cut_off_in_flight']} cut off "
        f"in flight, {figures['retried_found_saved']} found saved), "
        f"{figures['never_answered']} never answered, "
        f"lost {figures['lost']}; figures in {path}, every submission in ledger-{name}.jsonl"
    )
    print("\n" + line)
    request.node.user_properties.append(("figures", line))
    return report, figures
