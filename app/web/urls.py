"""URL converters: a record id in a path is a whole number a database column can hold; and
addresses of many records of one kind, built once."""

from collections.abc import Callable

from flask import url_for
from werkzeug.routing import IntegerConverter

# The largest value of a PostgreSQL integer column (SQLite's are wider): larger ids exist nowhere.
MAX_RECORD_ID = 2**31 - 1
# No record has this id: it stands for each record's own in an address built once.
_ANY_ID = MAX_RECORD_ID + 1


def url_maker(endpoint: str, id_name: str, **values) -> Callable[[int], str]:
    """`url_for(endpoint, **values, <id_name>=record_id)` for many records, the route worked out
    once: a page with a form per item and action builds a hundred-odd addresses (url_for is about
    ten microseconds each)."""
    mark = str(_ANY_ID)
    before, after = url_for(endpoint, **values, **{id_name: _ANY_ID}).split(mark)  # once in it
    return lambda record_id: f"{before}{int(record_id)}{after}"


class RecordIdConverter(IntegerConverter):
    """`<int:…>` in every route: ASCII digits only, at most MAX_RECORD_ID; anything else is not found."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_RECORD_ID)
        super().__init__(map, *args, **kwargs)
