"""After a run: the database holds every acknowledged change exactly once, and nothing else."""

import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from app import db
from app.models import AuditEvent, ChecklistItem, FormSubmission, ItemNote, OutcomeScore, TherapySession
from tests.reliability.ledger import EXPECTED, MARK, OUTCOME, SESSION, Ledger, Submission
from tests.reliability.serving import ROOT

# What each kind of submission writes when it is saved, found by its token: the audit events that
# carry its text, notes, sessions. Mark done with a note writes its item.done event just before.
WRITES = {
    "done": (["item.note"], 1, 0),
    "not-applicable": (["item.not_applicable"], 0, 0),
    "reopen": (["item.reopen"], 0, 0),
    "note": (["item.note"], 1, 0),
    SESSION: (["session.logged"], 0, 1),
}
# Every conflict names who changed (or recorded) the record first, and when (a stale form's, and a race's).
NAMES_WHO = re.compile(r"(?:changed|recorded) by (?!someone else)\S.* at \d")
SCORES = ("odi", "nrs_back", "nrs_leg")


@dataclass
class Stored:
    """What the database holds of the run."""

    tokens: dict[str, FormSubmission]
    events: dict[int, object]  # id -> row, the events written after the site was prepared
    notes: Counter  # token -> notes carrying it
    sessions: Counter  # token -> sessions carrying it
    scores: dict[tuple[int, str], dict[str, int]]  # (episode, time point) -> instrument -> value
    items: dict[int, tuple]  # item id -> (status, value, reason)
    events_by_token: dict[str, list] = field(default_factory=dict)


def _tokens(*texts) -> set[str]:
    return {t for text in texts if text for t in MARK.findall(text)}


def read(url: str, last_setup_event: int) -> Stored:
    """Read what the run left: used tokens, its audit events, and the texts and scores it wrote."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            tokens = {r.token: r for r in conn.execute(select(FormSubmission.__table__))}
            table = AuditEvent.__table__
            events = {
                r.id: r
                for r in conn.execute(select(table).where(table.c.id > last_setup_event).order_by(table.c.id))
            }
            notes = Counter(t for (text,) in conn.execute(select(ItemNote.text)) for t in _tokens(text))
            sessions = Counter(
                t for (text,) in conn.execute(select(TherapySession.activities)) for t in _tokens(text)
            )
            scores: dict = defaultdict(dict)
            for r in conn.execute(select(OutcomeScore.__table__)):
                scores[r.episode_id, r.time_point][r.instrument] = r.value
            items = {
                r.id: (r.status, r.value, r.reason)
                for r in conn.execute(
                    select(ChecklistItem.id, ChecklistItem.status, ChecklistItem.value, ChecklistItem.reason)
                )
            }
    finally:
        engine.dispose()
    stored = Stored(tokens, events, notes, sessions, dict(scores), items)
    # Only the reason and the state after: a reopen's state before holds the reason it undoes.
    for event in events.values():
        for token in _tokens(event.reason, json.dumps(event.after) if event.after else None):
            stored.events_by_token.setdefault(token, []).append(event)
    return stored


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    lost: set[str] = field(default_factory=set)  # acknowledged tokens whose change is missing or doubled
    events: Counter = field(default_factory=Counter)  # actions written during the run
    expected_events: Counter = field(default_factory=Counter)
    found_saved: int = 0  # resent submissions that had been saved before their answer was lost

    def problem(self, sub: Submission | None, text: str, lost: bool = False) -> None:
        where = f"{sub.username} {sub.kind} ({sub.intent}) {sub.path} token {sub.token}: " if sub else ""
        self.problems.append(where + text)
        if lost and sub is not None:
            self.lost.add(sub.token)


def compare(ledger: Ledger, stored: Stored, logins: int) -> Report:
    """Compare every answer with what the database holds."""
    report = Report()
    subs = ledger.submissions
    sent = {s.token: s for s in subs}
    if len(sent) != len(subs):
        report.problem(None, f"{len(subs) - len(sent)} form tokens were given out on two forms")
    _answers(ledger, report)
    for sub in subs:
        _token_row(sub, stored, report)
    for token in stored.tokens.keys() - sent.keys():
        report.problem(None, f"a token no client sent is stored: {token}")
    saved = [s for s in subs if s.token in stored.tokens]
    for sub in subs:
        if sub.kind != OUTCOME:
            _written(sub, sub.token in stored.tokens, stored, report)
    for token in stored.events_by_token.keys() - sent.keys():
        report.problem(None, f"audit events carry a token no client sent: {token}")
    report.expected_events = _expected_events(saved, stored, logins, report)
    _items_as_last_audited(stored, report)
    report.events = Counter(e.action for e in stored.events.values())
    if report.events != report.expected_events:
        diff = {
            action: (report.expected_events[action], report.events[action])
            for action in report.events.keys() | report.expected_events.keys()
            if report.events[action] != report.expected_events[action]
        }
        report.problem(None, f"audit events by action (expected, written) differ: {diff}")
    return report


def _answers(ledger: Ledger, report: Report) -> None:
    for (method, status), count in sorted(ledger.statuses.items()):
        if status >= 500 or status == 429:
            report.problem(None, f"{count} {method} requests answered {status}")
    for what in ledger.unexpected_no_answer:
        report.problem(None, f"no response while the server was not being killed: {what}")
    for sub in ledger.submissions:
        if sub.status is not None and sub.status not in EXPECTED[sub.intent]:
            report.problem(
                sub, f"answered {sub.status}, expected one of {sorted(EXPECTED[sub.intent])}: {sub.flashes}"
            )
        if sub.status == 409 and not any(NAMES_WHO.search(f) for f in sub.flashes):
            report.problem(sub, f"the conflict does not say who changed it and when: {sub.flashes}")
        if sub.repeat_status is not None and (sub.repeat_status, sub.repeat_location) != (302, sub.location):
            report.problem(
                sub,
                f"sent again, answered {sub.repeat_status} {sub.repeat_location}, "
                f"not as the first time (302 {sub.location})",
            )


def _token_row(sub: Submission, stored: Stored, report: Report) -> None:
    row = stored.tokens.get(sub.token)
    if sub.acknowledged:
        if row is None:
            report.problem(sub, "acknowledged, but its token is not stored", lost=True)
            return
        if row.user_id != sub.user_id or row.location != sub.location:
            report.problem(sub, f"stored for user {row.user_id} at {row.location}, answered {sub.location}")
        if sub.sends > 1 and row.created_at < sub.last_sent_at:
            report.found_saved += 1  # saved before its answer was cut off: the resend got that answer
        if sub.followed and row.message not in sub.flashes:
            report.problem(sub, f"the page it led to said {sub.flashes}, not its message {row.message!r}")
        if sub.repeat_flashes is not None and row.message not in sub.repeat_flashes:
            report.problem(sub, f"sent again, the page said {sub.repeat_flashes}, not {row.message!r}")
    elif sub.status is not None and row is not None:
        report.problem(sub, f"refused with {sub.status}, but its token is stored")


def _written(sub: Submission, saved: bool, stored: Stored, report: Report) -> None:
    """Check what carries the token (audit events, notes, sessions): its change once, or nothing."""
    events = stored.events_by_token.get(sub.token, [])
    actions, notes, sessions = WRITES[sub.kind] if saved else ([], 0, 0)
    found = (sorted(e.action for e in events), stored.notes[sub.token], stored.sessions[sub.token])
    if found != (actions, notes, sessions):
        state = "saved" if saved else "not saved"
        report.problem(
            sub,
            f"{state} (answer {sub.status}), and found (events, notes, sessions) {found}, "
            f"expected {(actions, notes, sessions)}",
            lost=sub.acknowledged,
        )
        return
    if sub.item_id is not None and any(e.target_id != sub.item_id for e in events):
        report.problem(sub, f"its events name items {[e.target_id for e in events]}, not {sub.item_id}")
    if saved and sub.kind == "done":
        before = stored.events.get(events[0].id - 1)
        if before is None or before.action != "item.done" or before.target_id != sub.item_id:
            report.problem(sub, "its note is not right after the item.done event of its item", lost=True)


def _items_as_last_audited(stored: Stored, report: Report) -> None:
    """Check each item the run changed is in the state its last audit event says it was left in."""
    last = {
        event.target_id: event.after
        for event in stored.events.values()  # in id order: the last one wins
        if event.target_type == "checklist_item" and event.after and "status" in event.after
    }
    for item_id, after in last.items():
        state = (after["status"], after["value"], after["reason"])
        if stored.items[item_id] != state:
            report.problem(
                None, f"item {item_id} is {stored.items[item_id]}, its last audit event says {state}"
            )


def _expected_events(saved: list[Submission], stored: Stored, logins: int, report: Report) -> Counter:
    """Count the audit events the saved submissions account for, by action, from their stored answers."""
    expected = Counter({"auth.login_password": logins, "auth.login": logins})
    changes = defaultdict(list)
    for sub in saved:
        message = stored.tokens[sub.token].message
        if sub.kind == "done":
            expected.update(["item.done", "item.note"])
        elif sub.kind == "not-applicable":
            expected["item.not_applicable"] += 1
        elif sub.kind == "reopen":
            expected["item.reopen"] += 1
        elif sub.kind == "note":
            expected["item.note"] += 1
        elif sub.kind == SESSION:
            expected["session.logged"] += 1
            expected["item.satisfied"] += message.count(" Done: ")  # the items the session completed
        elif message.startswith(("Recorded:", "Corrected:")):
            expected["outcome.record" if message.startswith("Recorded:") else "outcome.correct"] += 1
            changes[sub.episode_id, sub.fields["time_point"]].append(
                (int(sub.fields["version"]), sub, message)
            )
        if sub.kind == OUTCOME:
            expected["item.satisfied"] += "the protocol item is done" in message
            # The conditional items the scores made required, or no longer required.
            expected["item.required"] += message.count(" — now required: ")
            expected["item.not_required"] += message.count(" — no longer required: ")
    for key, sequence in changes.items():
        expected["item.corrected"] += _scores(key, sequence, stored, report)
    for key in stored.scores.keys() - changes.keys():
        report.problem(
            None, f"scores stored for {key} that no saved submission recorded: {stored.scores[key]}"
        )
    return +expected


def _scores(key, sequence, stored: Stored, report: Report) -> int:
    """Check a time point's saved changes followed one another and the last one is what is stored;
    return how many changed the value of the item the scores had completed."""
    sequence.sort(key=lambda change: change[0])
    versions = [version for version, _, _ in sequence]
    if len(set(versions)) != len(versions):
        report.problem(
            None, f"{key}: two changes were saved from the same version (a lost update): {versions}"
        )
    messages = [message.split(":")[0] for _, _, message in sequence]
    if messages != ["Recorded"] + ["Corrected"] * (len(sequence) - 1):
        report.problem(None, f"{key}: changes in version order were {messages}")
    last = sequence[-1][1]
    wanted = {name: int(last.fields[name]) for name in SCORES}
    if stored.scores.get(key) != wanted:
        report.problem(last, f"{key}: stored {stored.scores.get(key)}, last saved {wanted}", lost=True)
    corrected, item_done, odi = 0, False, None
    for _, sub, message in sequence:
        if "the protocol item is done" in message:
            item_done = True
        elif item_done and sub.fields["odi"] != odi:
            corrected += 1
        odi = sub.fields["odi"]
    return corrected


def audit_verify(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run `flask audit verify` as an operator does, with the server's environment."""
    return subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-m", "flask", "--app", "wsgi", "audit", "verify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def sqlite_integrity(url: str) -> tuple[str, list]:
    """Run PRAGMA integrity_check and foreign_key_check on a SQLite database."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return (
                conn.exec_driver_sql("PRAGMA integrity_check").scalar(),
                conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall(),
            )
    finally:
        engine.dispose()
