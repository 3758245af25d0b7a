"""`flask audit verify` and `flask audit anchor`: the audit chain checked, and its head kept outside it."""

import contextlib
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from app import audit, audit_anchors, clock, db
from app.audit_anchors import Anchor, AnchorFileError
from app.models import AuditEvent

audit_group = AppGroup("audit", help="Check the audit chain; anchor its head outside the database.")

# Without a terminal (cron, a log), a progress line every this many events.
PROGRESS_EVERY = 100_000

anchors_option = click.option(
    "--anchors",
    "anchor_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The anchor file (default: the AUDIT_ANCHOR_FILE setting).",
)


def _anchor_path(option: Path | None) -> Path:
    return option or Path(current_app.config["AUDIT_ANCHOR_FILE"])


def _utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


@audit_group.command("verify", short_help="Check the audit chain and its anchors (read-only).")
@anchors_option
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=audit.BATCH_SIZE,
    show_default=True,
    help="Events read from the database at a time.",
)
@click.option(
    "--progress-every",
    type=click.IntRange(min=1),
    default=PROGRESS_EVERY,
    show_default=True,
    help="Without a terminal, print a progress line every this many events (on a terminal: a bar).",
)
def verify_command(anchor_file: Path | None, batch_size: int, progress_every: int) -> None:
    """Recompute the audit chain and check that it still holds every anchor; writes nothing."""
    path = _anchor_path(anchor_file)
    try:
        anchors = audit_anchors.read(path)
    except AnchorFileError as exc:
        raise click.ClickException(f"The anchor file {path} is damaged: {exc}. Nothing checked.") from None
    except OSError as exc:
        raise click.ClickException(f"Could not read the anchor file {path}: {exc.strerror or exc}.") from None
    with db.read_unit():
        try:
            total = db.session.scalar(select(func.count()).select_from(AuditEvent))
            with _progress(total, progress_every) as on_batch:
                check = audit.walk_chain(db.session, anchors or (), batch_size, on_batch)
        finally:
            db.session.rollback()  # only read; nothing to keep
    if check.broken is not None:
        event = check.broken
        raise click.ClickException(
            f"Audit chain broken at event #{event.id} ({_utc(event.at)}, {event.action}): {event.problem}. "
            f"The {check.events:,} events before it are intact; those after it were not checked."
        )
    if check.anchor_problem is not None:
        raise click.ClickException(
            f"The audit chain does not hold its anchors: {check.anchor_problem}. "
            f"Anchor file {path}, line {check.anchor.line}."
        )
    if check.head is None:
        click.echo("The audit trail is empty: nothing to check.")
    else:
        head = check.head
        click.echo(
            f"Audit chain intact: {check.events:,} events, head #{head.id} {head.row_hash[:16]}… "
            f"({_utc(head.at)})."
        )
    if anchors:
        newest = max(anchors, key=lambda a: a.id)
        click.echo(
            f"Anchors: all {len(anchors):,} in {path} are in the chain "
            f"(the newest: event #{newest.id}, anchored {_utc(newest.anchored_at)})."
        )
    else:
        click.echo(
            f"No anchors in {path}: without them, deleting the newest events cannot be detected. "
            "Run `flask --app wsgi audit anchor` every day.",
            err=True,
        )


@contextlib.contextmanager
def _progress(total: int, every: int) -> Iterator[Callable[[int], None]]:
    """Yield what to call after each batch: a bar on a terminal, else a line every `every` events."""
    if sys.stderr.isatty():
        with click.progressbar(length=total, label="Checking the audit chain", file=sys.stderr) as bar:
            shown = 0

            def advance(checked: int) -> None:
                nonlocal shown
                bar.update(checked - shown)
                shown = checked

            yield advance
        return
    due = every

    def line(checked: int) -> None:
        nonlocal due
        if checked >= due:
            click.echo(f"Checked {checked:,} of {total:,} events…", err=True)
            due = (checked // every + 1) * every

    yield line


@audit_group.command("anchor", short_help="Append the chain's head to the anchor file (daily).")
@anchors_option
@click.option(
    "--syslog/--no-syslog",
    default=None,
    help="Send the anchor to syslog too (default: the AUDIT_ANCHOR_SYSLOG setting).",
)
def anchor_command(anchor_file: Path | None, syslog: bool | None) -> None:
    """Append the chain's newest event (id, hash, time, event count) to the anchor file; daily, by cron.

    The anchor names the newest event before this command's own audit event, which follows it
    directly (its previous hash is the anchored hash) and is covered by the next anchor.
    """
    path = _anchor_path(anchor_file)
    with db.write_unit():
        audit.lock_chain(db.session)  # no event can slip in between the head and our own event
        head = audit.chain_head(db.session)
        if head is None:
            db.session.rollback()
            raise click.ClickException("There are no audit events yet: nothing to anchor.")
        anchor = Anchor(head.id, head.row_hash, clock.now(), head.events)
        audit.record(
            db.session,
            None,
            "audit.anchor",
            f"Anchored the audit chain at event #{head.id} ({head.events:,} events)",
            target_type="audit",
            target_id=head.id,
            after={"row_hash": head.row_hash, "events": head.events, "file": str(path)},
        )
        db.session.flush()  # a database that refuses the event refuses it before the file is touched
        try:
            audit_anchors.append(path, anchor)
        except OSError as exc:
            db.session.rollback()
            reason = exc.strerror or exc
            raise click.ClickException(f"Could not write the anchor file {path}: {reason}.") from None
        db.session.commit()
    click.echo(f"Anchored event #{head.id} {head.row_hash[:16]}… ({head.events:,} events) in {path}.")
    if current_app.config["AUDIT_ANCHOR_SYSLOG"] if syslog is None else syslog:
        try:
            audit_anchors.send_to_syslog(anchor)
        except OSError as exc:
            click.echo(
                f"Warning: could not send the anchor to syslog ({audit_anchors.SYSLOG_ADDRESS}: "
                f"{exc.strerror or exc}); it is in {path} only.",
                err=True,
            )
        else:
            click.echo(f"Sent to syslog ({audit_anchors.SYSLOG_ADDRESS}).")
