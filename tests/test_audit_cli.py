"""flask audit verify and flask audit anchor: the chain checked end to end, its head kept outside."""

import json
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from app import audit, audit_anchors, create_app, db
from app.models import AuditEvent
from tests.conftest import NOW

HASHED = (
    "at",
    "actor_id",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "patient_id",
    "episode_id",
    "summary",
    "before",
    "after",
    "reason",
)


@pytest.fixture
def anchor_file(app, tmp_path) -> Path:
    """The anchor file of the app under test (never the checkout's instance/ folder)."""
    path = tmp_path / "anchors" / "audit-anchors.jsonl"
    app.config["AUDIT_ANCHOR_FILE"] = str(path)
    return path


@pytest.fixture
def runner(app, anchor_file):
    return app.test_cli_runner()


@pytest.fixture
def chain(app) -> list[AuditEvent]:
    """A chain of 25 events: the publication of the two shipped protocols and 23 changes."""
    with db.write_unit():
        for n in range(23):
            audit.record(db.session, None, "test.change", f"Change {n}", target_type="test", after={"n": n})
        db.session.commit()
    return events()


def events() -> list[AuditEvent]:
    with db.session.session_factory() as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def tamper(app, statement: str, params: dict | None = None) -> None:
    """Change the audit table behind the app's back, past its append-only trigger."""
    engine = app.extensions["periop_engine"]
    with db.write_unit(), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Triggers off for this transaction only: the schema is shared with later tests.
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:  # this test's own copy of the database
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_delete")
        conn.execute(text(statement), params or {})


def rechain_after(app, event_id: int) -> None:
    """Recompute prev_hash and row_hash of every event after `event_id`: a forger's full rewrite."""
    rows = [e for e in events() if e.id > event_id]
    prev = next(e.row_hash for e in reversed(events()) if e.id < rows[0].id)
    for row in rows:
        fields = SimpleNamespace(**{name: getattr(row, name) for name in HASHED}, prev_hash=prev)
        new_hash = audit._digest(fields)
        tamper(
            app,
            "UPDATE audit_event SET prev_hash = :p, row_hash = :h WHERE id = :id",
            {"p": prev, "h": new_hash, "id": row.id},
        )
        prev = new_hash


def anchor_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# verify


def test_verify_an_intact_chain_exits_0_with_its_size_and_head(runner, chain):
    head = chain[-1]

    result = runner.invoke(args=["audit", "verify"])

    assert result.exit_code == 0, result.output
    assert (
        f"Audit chain intact: {len(chain)} events, head #{head.id} {head.row_hash[:16]}… "
        "(2026-06-17 12:00:00 UTC)." in result.output
    )


def test_verify_writes_nothing(runner, chain):
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    assert [e.row_hash for e in events()] == [e.row_hash for e in chain]


def test_verify_works_on_a_read_only_database(app, chain, anchor_file, tmp_path):
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        read_only = f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    else:
        read_only = url + "%20-cdefault_transaction_read_only%3Don"
    assert app.test_cli_runner().invoke(args=["audit", "anchor"]).exit_code == 0
    copy = create_app({"DATABASE_URL": read_only, "AUDIT_ANCHOR_FILE": str(anchor_file)})
    try:
        verified = copy.test_cli_runner().invoke(args=["audit", "verify"])
        anchored = copy.test_cli_runner().invoke(
            args=["audit", "anchor", "--anchors", str(tmp_path / "other")]
        )
    finally:
        db.session.remove()
        copy.extensions["periop_engine"].dispose()

    assert verified.exit_code == 0, verified.output
    assert f"Audit chain intact: {len(chain) + 1} events" in verified.output
    assert "Anchors: all 1 in" in verified.output
    # anchoring needs to write its audit event: refused before the anchor file is touched
    assert anchored.exit_code != 0 and not (tmp_path / "other").exists()


@pytest.mark.parametrize("position", [2, 12, -1], ids=["first-change", "middle", "newest"])
def test_verify_fails_on_an_edited_event_and_names_it(app, runner, chain, position):
    target = chain[position]
    tamper(app, "UPDATE audit_event SET summary = 'Nothing happened' WHERE id = :id", {"id": target.id})

    result = runner.invoke(args=["audit", "verify"])

    assert result.exit_code == 1
    assert (
        f"Audit chain broken at event #{target.id} (2026-06-17 12:00:00 UTC, test.change): "
        f"content does not match its hash. The {position % len(chain)} events before it are intact"
    ) in result.output
    assert "Audit chain intact" not in result.output


def test_verify_fails_on_an_edit_whose_hash_was_recomputed_naming_the_next_event(app, runner, chain):
    target, following = chain[5], chain[6]
    forged = SimpleNamespace(**{name: getattr(target, name) for name in HASHED}, prev_hash=target.prev_hash)
    forged.summary = "Nothing happened"
    tamper(
        app,
        "UPDATE audit_event SET summary = :s, row_hash = :h WHERE id = :id",
        {"s": forged.summary, "h": audit._digest(forged), "id": target.id},
    )

    result = runner.invoke(args=["audit", "verify"])

    assert result.exit_code == 1
    assert f"Audit chain broken at event #{following.id} " in result.output
    assert "previous hash does not match" in result.output


def test_verify_shows_progress_on_a_chain_longer_than_a_batch(runner, chain):
    assert len(chain) == 25
    result = runner.invoke(args=["audit", "verify", "--batch-size", "10", "--progress-every", "10"])

    assert result.exit_code == 0, result.output
    progress = [line for line in result.output.splitlines() if line.startswith("Checked")]
    assert progress == ["Checked 10 of 25 events…", "Checked 20 of 25 events…"]
    assert "Audit chain intact: 25 events" in result.output


def test_verify_in_small_batches_still_finds_a_break_in_a_later_batch(app, runner, chain):
    tamper(app, "UPDATE audit_event SET reason = 'added later' WHERE id = :id", {"id": chain[23].id})

    result = runner.invoke(args=["audit", "verify", "--batch-size", "10"])

    assert result.exit_code == 1
    assert f"Audit chain broken at event #{chain[23].id} " in result.output


def test_verify_of_an_empty_trail_says_so(app, runner):
    tamper(app, "DELETE FROM audit_event")

    result = runner.invoke(args=["audit", "verify"])

    assert result.exit_code == 0, result.output
    assert "The audit trail is empty: nothing to check." in result.output


# anchor


def test_anchor_appends_the_head_as_one_json_line_before_its_own_event(runner, chain, anchor_file):
    head = chain[-1]

    first = runner.invoke(args=["audit", "anchor"])
    second = runner.invoke(args=["audit", "anchor"])

    assert first.exit_code == 0, first.output
    assert f"Anchored event #{head.id} {head.row_hash[:16]}… (25 events) in {anchor_file}." in first.output
    anchor_event = events()[-2]
    assert anchor_lines(anchor_file) == [
        {"id": head.id, "row_hash": head.row_hash, "anchored_at": NOW.isoformat(), "events": 25},
        {
            "id": anchor_event.id,
            "row_hash": anchor_event.row_hash,
            "anchored_at": NOW.isoformat(),
            "events": 26,
        },
    ]
    assert second.exit_code == 0, second.output
    # each anchor run is audited, by the system, right after the event it anchored
    assert (anchor_event.action, anchor_event.actor_id, anchor_event.actor_name) == (
        "audit.anchor",
        None,
        "system",
    )
    assert anchor_event.prev_hash == head.row_hash and anchor_event.target_id == head.id
    assert anchor_event.after == {"row_hash": head.row_hash, "events": 25, "file": str(anchor_file)}
    assert audit.verify_chain(db.session) == []
    db.session.remove()


def test_anchor_and_verify_take_another_file_with_anchors(runner, chain, anchor_file, tmp_path):
    other = tmp_path / "elsewhere.jsonl"

    assert runner.invoke(args=["audit", "anchor", "--anchors", str(other)]).exit_code == 0
    result = runner.invoke(args=["audit", "verify", "--anchors", str(other)])

    assert not anchor_file.exists() and len(anchor_lines(other)) == 1
    assert result.exit_code == 0, result.output
    assert f"Anchors: all 1 in {other} are in the chain (the newest: event #{chain[-1].id}" in result.output


def test_anchor_that_cannot_write_its_file_changes_nothing(runner, chain, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")

    result = runner.invoke(args=["audit", "anchor", "--anchors", str(blocked / "anchors.jsonl")])

    assert result.exit_code == 1
    assert f"Could not write the anchor file {blocked / 'anchors.jsonl'}" in result.output
    assert [e.id for e in events()] == [e.id for e in chain]


@pytest.fixture
def syslog_socket(tmp_path, monkeypatch):
    """A local datagram socket standing in for /dev/log."""
    monkeypatch.chdir(tmp_path)  # a short relative address: socket paths are limited to ~100 bytes
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind("syslog.sock")
    listener.settimeout(5)
    monkeypatch.setattr(audit_anchors, "SYSLOG_ADDRESS", "syslog.sock")
    yield listener
    listener.close()


@pytest.mark.parametrize(("setting", "args"), [(False, ["--syslog"]), (True, [])], ids=["option", "setting"])
def test_anchor_goes_to_syslog_too_when_asked(app, runner, chain, anchor_file, syslog_socket, setting, args):
    app.config["AUDIT_ANCHOR_SYSLOG"] = setting

    result = runner.invoke(args=["audit", "anchor", *args])

    assert result.exit_code == 0, result.output
    assert "Sent to syslog (syslog.sock)." in result.output
    line = anchor_file.read_text().strip()
    # <38>: facility auth (4 × 8) and level info (6)
    assert syslog_socket.recv(4096).decode() == f"<38>periop: audit anchor {line}\x00"


def test_anchor_without_a_syslog_socket_warns_and_keeps_the_file_anchor(
    runner, chain, anchor_file, tmp_path, monkeypatch
):
    monkeypatch.setattr(audit_anchors, "SYSLOG_ADDRESS", str(tmp_path / "no-such-socket"))

    result = runner.invoke(args=["audit", "anchor", "--syslog"])

    assert result.exit_code == 0, result.output
    assert "Warning: could not send the anchor to syslog" in result.output
    assert f"it is in {anchor_file} only." in result.output
    assert [line["id"] for line in anchor_lines(anchor_file)] == [chain[-1].id]
    assert "Traceback" not in result.output


def test_no_syslog_option_overrides_the_setting(app, runner, chain, syslog_socket):
    app.config["AUDIT_ANCHOR_SYSLOG"] = True

    result = runner.invoke(args=["audit", "anchor", "--no-syslog"])

    assert result.exit_code == 0, result.output
    assert "Sent to syslog" not in result.output and "Warning" not in result.output
    syslog_socket.settimeout(0.1)
    with pytest.raises(TimeoutError):
        syslog_socket.recv(4096)


# truncation


def test_deleting_the_newest_events_after_an_anchor_is_a_cut_back_chain(app, runner, chain):
    assert runner.invoke(args=["audit", "anchor"]).exit_code == 0
    anchored = chain[-1]
    tamper(app, "DELETE FROM audit_event WHERE id >= :id", {"id": chain[-3].id})

    result = runner.invoke(args=["audit", "verify"])

    assert result.exit_code == 1
    assert (
        f"event #{anchored.id} anchored at 2026-06-17 12:00:00 UTC is missing: the chain was cut back "
        f"(the newest event is now #{chain[-4].id}). Anchor file"
    ) in result.output
    assert "line 1." in result.output


def test_without_anchors_a_cut_back_chain_still_verifies_and_verify_says_why(app, runner, chain, anchor_file):
    tamper(app, "DELETE FROM audit_event WHERE id >= :id", {"id": chain[-3].id})

    result = runner.invoke(args=["audit", "verify"])

    # Deleting the newest events leaves a valid chain: only an anchor outside the database shows it.
    assert result.exit_code == 0, result.output
    assert f"Audit chain intact: {len(chain) - 3} events, head #{chain[-4].id}" in result.output
    assert f"No anchors in {anchor_file}: without them, deleting the newest events cannot be detected." in (
        result.output
    )


def test_events_after_the_newest_anchor_are_covered_only_by_the_next_one(app, runner, chain):
    assert runner.invoke(args=["audit", "anchor"]).exit_code == 0
    tamper(app, "DELETE FROM audit_event WHERE id > :id", {"id": chain[-1].id})  # the anchor's own event

    result = runner.invoke(args=["audit", "verify"])

    assert result.exit_code == 0, result.output
    assert "Anchors: all 1 in" in result.output


def test_a_rewritten_chain_fails_at_the_first_anchor_it_no_longer_holds(app, runner, chain):
    assert runner.invoke(args=["audit", "anchor"]).exit_code == 0  # anchors chain[-1]
    # a forger deletes an old event and recomputes every hash after it: the chain itself is valid
    tamper(app, "DELETE FROM audit_event WHERE id = :id", {"id": chain[10].id})
    rechain_after(app, chain[10].id)

    result = runner.invoke(args=["audit", "verify"])

    assert result.exit_code == 1
    assert (
        f"event #{chain[-1].id} anchored at 2026-06-17 12:00:00 UTC had hash {chain[-1].row_hash[:12]}…"
        in (result.output)
    )
    assert "the chain was rewritten" in result.output


def test_an_anchored_event_deleted_from_a_rewritten_chain_is_missing(app, runner, chain, anchor_file):
    anchor_file.parent.mkdir(parents=True)
    target = chain[10]
    anchor = audit_anchors.Anchor(target.id, target.row_hash, NOW, 11)
    anchor_file.write_text(anchor.to_json() + "\n")
    tamper(app, "DELETE FROM audit_event WHERE id = :id", {"id": target.id})
    rechain_after(app, target.id)

    result = runner.invoke(args=["audit", "verify"])

    assert result.exit_code == 1
    assert (
        f"event #{target.id} anchored at 2026-06-17 12:00:00 UTC is missing from the chain" in result.output
    )


# the anchor file


def _line(**changes) -> str:
    fields = {"id": 7, "row_hash": "a" * 64, "anchored_at": "2026-06-17T12:00:00+00:00", "events": 7}
    return json.dumps({k: v for k, v in {**fields, **changes}.items() if v is not None})


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("not json at all", "line 2 is not JSON"),
        ('["a", "list"]', "line 2 is not a JSON object"),
        (_line(id="7"), "line 2: 'id' must be a positive whole number"),
        (_line(id=0), "line 2: 'id' must be a positive whole number"),
        (_line(row_hash="abc"), "line 2: 'row_hash' must be 64 hexadecimal digits"),
        (_line(anchored_at="yesterday"), "line 2: 'anchored_at' must be a date and time with its UTC offset"),
        (_line(anchored_at="2026-06-17T12:00:00"), "line 2: 'anchored_at' must be a date and time"),
        (_line(events=None), "line 2: 'events' must be a positive whole number"),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "text-id",
        "zero-id",
        "short-hash",
        "bad-time",
        "no-offset",
        "no-count",
    ],
)
def test_a_malformed_anchor_file_is_reported_with_its_line_number(runner, chain, anchor_file, line, problem):
    assert runner.invoke(args=["audit", "anchor"]).exit_code == 0
    with anchor_file.open("a") as f:
        f.write(line + "\n")

    result = runner.invoke(args=["audit", "verify"])

    assert result.exit_code == 1
    assert f"The anchor file {anchor_file} is damaged: line 2" in result.output
    assert problem in result.output and "Nothing checked." in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_an_anchor_file_that_cannot_be_read_is_reported(app, runner, chain, tmp_path):
    app.config["AUDIT_ANCHOR_FILE"] = str(tmp_path)  # a folder

    result = runner.invoke(args=["audit", "verify"])

    assert result.exit_code == 1
    assert f"Could not read the anchor file {tmp_path}: Is a directory." in result.output


def test_blank_lines_in_the_anchor_file_are_skipped(runner, chain, anchor_file):
    assert runner.invoke(args=["audit", "anchor"]).exit_code == 0
    with anchor_file.open("a") as f:
        f.write("\n  \n")
    assert runner.invoke(args=["audit", "anchor"]).exit_code == 0

    result = runner.invoke(args=["audit", "verify"])

    assert result.exit_code == 0, result.output
    assert "Anchors: all 2 in" in result.output
