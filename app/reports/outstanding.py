"""The outstanding items that pass a set of filters, streamed as CSV or as the text report.

The caller holds a read unit (`db.read_unit()`): the rows are read as they are written out, and the
cursor is closed also when the download is cut short.
"""

from collections.abc import Iterable, Iterator
from itertools import islice

from sqlalchemy.orm import Session

from app.domain.outstanding import OutstandingFilters
from app.domain.site import SiteDay
from app.queries.episodes import episode_risks
from app.queries.outstanding import outstanding_items, outstanding_items_to_export
from app.reports.csv_export import OUTSTANDING_HEADER, csv_chunks, outstanding_record
from app.reports.text import overdue_text

BATCH = 1000  # rows read at a time; their episodes' risk tiers are read with them (one query)


def outstanding_csv(session: Session, filters: OutstandingFilters, day: SiteDay) -> Iterator[str]:
    """The items as CSV chunks."""
    rows = session.execute(outstanding_items_to_export(filters, day).execution_options(yield_per=BATCH))
    try:
        yield from csv_chunks(
            OUTSTANDING_HEADER,
            (
                outstanding_record(r, day.date, day.due_soon_days, risks.get(r.episode_id))
                for batch in _batches(rows)
                for risks in [episode_risks(session, sorted({r.episode_id for r in batch}))]
                for r in batch
            ),
        )
    finally:
        rows.close()


def _batches(rows: Iterable) -> Iterator[list]:
    rows = iter(rows)
    while batch := list(islice(rows, BATCH)):
        yield batch


def outstanding_text(session: Session, filters: OutstandingFilters, day: SiteDay) -> Iterator[str]:
    """The items as the lines of the text report."""
    rows = session.execute(outstanding_items(filters, day).execution_options(yield_per=1000))
    try:
        yield from overdue_text(rows, day.date, filters.role)
    finally:
        rows.close()
