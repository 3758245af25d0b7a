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
    risks = _EpisodeRisks(session)
    try:
        yield from csv_chunks(
            OUTSTANDING_HEADER,
            (
                outstanding_record(r, day.date, day.due_soon_days, risks.of(r.episode_id))
                for batch in _batches(rows)
                for _ in [risks.read({r.episode_id for r in batch})]
                for r in batch
            ),
        )
    finally:
        rows.close()


class _EpisodeRisks:
    """The risk tiers of the episodes an export names, each read once: the rows come by due date,
    so an episode's items are spread over many batches (an export of 37,000 rows names some 3,000
    episodes; reading them per batch read each of their checklists about a dozen times)."""

    def __init__(self, session: Session) -> None:
        self.session, self.known = session, {}

    def read(self, episode_ids: set[int]) -> None:
        new = sorted(episode_ids - self.known.keys())
        if new:
            found = episode_risks(self.session, new)
            self.known.update({episode_id: found.get(episode_id) for episode_id in new})

    def of(self, episode_id: int):
        return self.known.get(episode_id)


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
