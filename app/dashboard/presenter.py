"""Turn the outstanding-items queries into what the dashboard shows, in a fixed number of queries."""

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app import db
from app.domain.outstanding import PAGE_SIZE, OutstandingFilters, days_overdue, page_count
from app.domain.schedule import item_state, relative_hint
from app.domain.site import SiteDay
from app.domain.vocab import ItemState, Phase
from app.models import Episode
from app.queries.episodes import EpisodeSummary, episode_summaries, episodes_by_id
from app.queries.outstanding import (
    DashboardCounts,
    EpisodeGroup,
    dashboard_counts,
    group_count,
    group_page,
    item_page,
    items_by_episode,
)
from app.reports import outstanding


@dataclass(frozen=True)
class ItemRow:
    row: object  # a row of outstanding.outstanding_items
    state: ItemState
    hint: str
    days_overdue: int


@dataclass(frozen=True)
class GroupView:
    episode: Episode
    group: EpisodeGroup
    summary: EpisodeSummary
    items: list[ItemRow]


@dataclass(frozen=True)
class QuickFilter:
    """A one-click view of the dashboard: the URL's filter values and the filters they read as."""

    key: str
    label: str
    args: dict[str, str]
    filters: OutstandingFilters
    counted: str = "items"  # or the episodes counted already: "safety" alerts, "flagged"


QUICK_FILTERS = (
    QuickFilter(
        "overdue-after",
        "Overdue after surgery",
        {"phase": Phase.AFTER.value, "state": ItemState.OVERDUE.value},
        OutstandingFilters(phase=Phase.AFTER, state=ItemState.OVERDUE),
    ),
    QuickFilter(
        "overdue", "Overdue", {"state": ItemState.OVERDUE.value}, OutstandingFilters(state=ItemState.OVERDUE)
    ),
    QuickFilter(
        "due-today",
        "Due today",
        {"state": ItemState.DUE_TODAY.value},
        OutstandingFilters(state=ItemState.DUE_TODAY),
    ),
    QuickFilter("safety", "Safety alerts", {"safety": "1"}, OutstandingFilters(safety_only=True), "safety"),
    QuickFilter(
        "flagged", "Flagged episodes", {"flagged": "1"}, OutstandingFilters(flagged_only=True), "flagged"
    ),
)


@dataclass(frozen=True)
class QuickLink:
    quick: QuickFilter
    count: int
    current: bool  # the filters in force are exactly this quick filter's

    @property
    def count_text(self) -> str:
        """ "12" items; episodes say so ("1 episode") unless the label does ("Flagged episodes")."""
        if self.quick.counted == "safety":
            return f"{self.count} episode{'s' if self.count != 1 else ''}"
        return str(self.count)


@dataclass
class OutstandingPage:
    counts: dict[ItemState, int]
    safety_alerts: int  # episodes with a safety alert waiting for acknowledgement
    total: int  # items (or episodes, by episode) that pass the filters
    page: int
    by_episode: bool
    quick: list[QuickLink] = field(default_factory=list)
    flagged: int = 0  # episodes flagged today (the navigation bar's count)
    rows: list[ItemRow] = field(default_factory=list)
    groups: list[GroupView] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return page_count(self.total)

    @property
    def past_end(self) -> bool:
        return self.page > self.pages

    @property
    def first_shown(self) -> int:
        return min((self.page - 1) * PAGE_SIZE + 1, self.total)

    @property
    def last_shown(self) -> int:
        return min(self.page * PAGE_SIZE, self.total)


def item_row(row, day: SiteDay) -> ItemRow:
    state = item_state(row.status, row.due_date, day.date, day.due_soon_days, row.overdue_from)
    return ItemRow(
        row=row,
        state=state,
        hint=relative_hint(row.due_date, day.date, state, row.overdue_from),
        days_overdue=days_overdue(row.due_date, day.date, row.overdue_from),
    )


TALLIED = [q for q in QUICK_FILTERS if q.counted == "items"]  # their items summed from the tally


def quick_links(filters: OutstandingFilters, counts: DashboardCounts) -> list[QuickLink]:
    """The quick filters, each with its count and whether it is the filter in force: items from the
    tally; episodes with safety alerts or flags as counted for the page and the navigation bar."""
    totals = iter(counts.quick)
    episodes = {"safety": counts.alerting, "flagged": counts.flagged}
    return [
        QuickLink(q, next(totals) if q.counted == "items" else episodes[q.counted], filters == q.filters)
        for q in QUICK_FILTERS
    ]


def outstanding_page(
    session: Session,
    filters: OutstandingFilters,
    page: int,
    by_episode: bool,
    day: SiteDay,
) -> OutstandingPage:
    """One page of outstanding items (or of episodes with their items), the counts per state and
    the quick filters, with the episodes flagged today as the navigation bar counts them (all
    the figures in one query)."""
    figures = dashboard_counts(session, filters, [q.filters for q in TALLIED], day)
    counts, alerts, quick = figures.states, figures.alerting, quick_links(filters, figures)
    flagged = figures.flagged
    offset = (page - 1) * PAGE_SIZE
    if not by_episode:
        total = counts[filters.state] if filters.state else sum(counts.values())
        result = OutstandingPage(counts, alerts, total, page, False, quick, flagged)
        if not result.past_end and total:
            result.rows = [item_row(r, day) for r in item_page(session, filters, day, PAGE_SIZE, offset)]
        return result
    result = OutstandingPage(counts, alerts, group_count(session, filters, day), page, True, quick, flagged)
    if result.past_end or not result.total:
        return result
    groups = group_page(session, filters, day, PAGE_SIZE, offset)
    ids = [g.episode_id for g in groups]
    episodes = episodes_by_id(session, ids)
    summaries = episode_summaries(session, ids, day)
    items = items_by_episode(session, filters, ids, day)
    result.groups = [
        GroupView(
            episodes[g.episode_id],
            g,
            summaries[g.episode_id],
            [item_row(r, day) for r in items[g.episode_id]],
        )
        for g in groups
    ]
    return result


def outstanding_csv(filters: OutstandingFilters, day: SiteDay) -> Iterator[str]:
    """The export of the outstanding items that pass the filters, as CSV chunks read as they go.

    Runs when the response is sent, after the view committed its audit event: it reads without
    SQLite's write lock, and closes its cursor also when the download is cut short.
    """
    with db.read_unit():
        yield from outstanding.outstanding_csv(db.session, filters, day)
