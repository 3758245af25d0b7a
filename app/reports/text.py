"""The plain-text overdue report, for a terminal or a printer (`flask overdue-report`)."""

from collections.abc import Iterable, Iterator
from datetime import date

from app.domain.outstanding import days_overdue
from app.domain.schedule import day_text

# The plain-text overdue report: (heading, width) of each column.
TEXT_COLUMNS = (
    ("MRN", 20),
    ("Patient", 24),
    ("Phase", 14),
    ("Item", 50),
    ("Responsible", 12),
    ("Due date", 11),
    ("Days overdue", 12),
)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _text_line(cells) -> str:
    return "  ".join(_fit(str(c), w).ljust(w) for c, (_, w) in zip(cells, TEXT_COLUMNS, strict=True)).rstrip()


def overdue_text(rows: Iterable, today: date, role=None) -> Iterator[str]:
    """The overdue report as lines of text: a heading, then one line per item (rows in order)."""
    lines = [
        _text_line(
            (
                r.mrn,
                f"{r.family_name.upper()}, {r.given_name}",
                r.phase.label,
                r.title,
                r.role.label,
                day_text(r.due_date),
                days_overdue(r.due_date, today, r.overdue_from),
            )
        )
        for r in rows
    ]
    whose = f" ({role.label} items)" if role else ""
    if not lines:
        yield f"No overdue items on {day_text(today)}{whose}."
        return
    yield f"Overdue items on {day_text(today)}{whose}: {len(lines)}, most overdue first."
    yield ""
    yield _text_line(heading for heading, _ in TEXT_COLUMNS)
    yield from lines
