"""Every read: each function takes the session and returns rows, objects or a `Select`; none
writes. Views, presenters, reports and the CLI read through here, so no SQL lives in them."""

from collections import defaultdict

from sqlalchemy import Select
from sqlalchemy.orm import Session


def rows_by_episode(session: Session, stmt: Select) -> dict[int, list]:
    """The rows of a query that selects `episode_id`, grouped by episode (one query)."""
    by_episode: dict[int, list] = defaultdict(list)
    for row in session.execute(stmt):
        by_episode[row.episode_id].append(row)
    return by_episode
