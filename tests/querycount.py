"""Count the SQL queries a block of code runs (for "query counts do not grow with data")."""

import contextlib
from collections.abc import Iterator

from sqlalchemy import event


@contextlib.contextmanager
def counting_queries(engine) -> Iterator[list[str]]:
    """Collect the SELECT statements run on the engine inside the block."""
    statements: list[str] = []

    def listener(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)
