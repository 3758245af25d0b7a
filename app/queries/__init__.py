"""Every read: each function takes the session and returns rows, objects or a `Select`; none
writes. Views, presenters, reports and the CLI read through here, so no SQL lives in them."""

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import BindParameter, Select, bindparam
from sqlalchemy.orm import Session


def list_param(name: str) -> BindParameter:
    """A list of values a statement built once (at import) is run with, as `{name: [...]}`.
    Statements run on every request or change are built once: building a statement and its
    cache key costs more Python than running it (a third of a tick, profiled)."""
    return bindparam(name, expanding=True)


def episode_ids_param() -> BindParameter:
    """The list of episode ids (`{"episode_ids": [...]}`) a statement built once is run with."""
    return list_param("episode_ids")


def rows_by_episode(
    session: Session, stmt: Select, episode_ids: Iterable[int], params: dict | None = None
) -> dict[int, list]:
    """The rows of a query that selects `episode_id` and takes `episode_ids_param()` (and any other
    `params`), grouped by episode (one query)."""
    by_episode: dict[int, list] = defaultdict(list)
    for row in session.execute(stmt, {**(params or {}), "episode_ids": list(episode_ids)}):
        by_episode[row.episode_id].append(row)
    return by_episode
