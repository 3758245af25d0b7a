"""URL converters: a record id in a path is a whole number a database column can hold."""

from werkzeug.routing import IntegerConverter

# The largest value of a PostgreSQL integer column (SQLite's are wider): larger ids exist nowhere.
MAX_RECORD_ID = 2**31 - 1


class RecordIdConverter(IntegerConverter):
    """`<int:…>` in every route: ASCII digits only, at most MAX_RECORD_ID; anything else is not found."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_RECORD_ID)
        super().__init__(map, *args, **kwargs)
