"""Anchors of the audit chain: its head written outside the database, so a cut-back chain shows."""

import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from logging.handlers import SysLogHandler
from pathlib import Path

# Where the local syslog daemon listens (tests point it elsewhere).
SYSLOG_ADDRESS = "/dev/log"
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")


class AnchorFileError(ValueError):
    """A line of the anchor file is not an anchor."""


@dataclass(frozen=True)
class Anchor:
    """The head of the chain at one moment: its event id and hash, and how many events there were."""

    id: int
    row_hash: str
    anchored_at: datetime
    events: int
    line: int = 0  # where it was read from (0: not read from a file)

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "row_hash": self.row_hash,
                "anchored_at": self.anchored_at.astimezone(UTC).isoformat(),
                "events": self.events,
            },
            separators=(",", ":"),
        )


def parse_line(text: str, line: int) -> Anchor:
    """Read one line of the anchor file; raise AnchorFileError naming the line when it is not one."""
    try:
        fields = json.loads(text)
    except ValueError:
        raise AnchorFileError(f"line {line} is not JSON") from None
    if not isinstance(fields, dict):
        raise AnchorFileError(f"line {line} is not a JSON object")
    ident, row_hash, events, at = (fields.get(k) for k in ("id", "row_hash", "events", "anchored_at"))
    if type(ident) is not int or ident < 1:
        raise AnchorFileError(f"line {line}: 'id' must be a positive whole number")
    if not isinstance(row_hash, str) or not _HASH_RE.match(row_hash):
        raise AnchorFileError(f"line {line}: 'row_hash' must be 64 hexadecimal digits")
    if type(events) is not int or events < 1:
        raise AnchorFileError(f"line {line}: 'events' must be a positive whole number")
    try:
        anchored_at = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        anchored_at = None
    if anchored_at is None or anchored_at.tzinfo is None:
        raise AnchorFileError(f"line {line}: 'anchored_at' must be a date and time with its UTC offset")
    return Anchor(ident, row_hash, anchored_at.astimezone(UTC), events, line)


def parse(lines: Iterable[str]) -> list[Anchor]:
    """Read the anchors of an anchor file's lines (blank lines are skipped)."""
    return [parse_line(text, number) for number, text in enumerate(lines, start=1) if text.strip()]


def read(path: Path) -> list[Anchor] | None:
    """The anchors in the file, or None when there is no file."""
    try:
        with path.open(encoding="utf-8") as lines:
            return parse(lines)
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise AnchorFileError("it is not UTF-8 text") from None


def append(path: Path, anchor: Anchor) -> None:
    """Add the anchor as one line at the end of the file and make sure it is on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    # O_APPEND: every write goes to the end, whatever else has the file open; one write per line.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (anchor.to_json() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:  # the new file's name must reach the disk too
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


class _RaisingSysLogHandler(SysLogHandler):
    def handleError(self, record: logging.LogRecord) -> None:
        # Let a failed send reach the caller, who says so, instead of a traceback on stderr.
        raise  # emit calls this inside its except block: the send's own error


def send_to_syslog(anchor: Anchor) -> None:
    """Send the anchor to the local syslog daemon (which can forward it to another machine).

    Raises OSError when there is no syslog socket or the message cannot be sent.
    """
    handler = _RaisingSysLogHandler(address=SYSLOG_ADDRESS, facility=SysLogHandler.LOG_AUTH)
    handler.ident = "periop: "
    try:
        message = logging.LogRecord(
            "periop.audit", logging.INFO, __file__, 0, "audit anchor %s", (anchor.to_json(),), None
        )
        handler.emit(message)
    finally:
        handler.close()
