"""The floor: the least a request costs here, served by gunicorn exactly like the app.

    gunicorn -w 1 --threads 8 "bench.floor:create_app()"     (DATABASE_URL as for the app)

- `GET /hello` answers "hello": Flask and gunicorn alone;
- `POST /insert` inserts one row into `bench_floor` in the app's database and commits, through
  `app.db.make_engine` and `write_unit()`, so SQLite gets the app's WAL, synchronous=FULL,
  BEGIN IMMEDIATE and write gate.

No login, no CSRF, no templates: each app figure is printed as a ratio to its floor.
"""

import os
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from app.db import make_engine, write_unit

metadata = MetaData()
bench_floor = Table(
    "bench_floor",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("note", String(40), nullable=False),
)


def ensure_table(engine: Engine) -> None:
    """Create bench_floor if missing (two workers starting at once may race: the loser re-checks)."""
    try:
        with write_unit():
            metadata.create_all(engine)
    except DBAPIError:
        with write_unit():
            metadata.create_all(engine)


def create_app(database_url: str | None = None) -> Flask:
    engine = make_engine(database_url or os.environ["DATABASE_URL"])
    ensure_table(engine)
    app = Flask(__name__)

    @app.get("/hello")
    def hello():
        return "hello"

    @app.post("/insert")
    def insert_one():
        with write_unit(), engine.begin() as conn:
            conn.execute(insert(bench_floor).values(at=datetime.now(UTC), note="floor"))
        return "inserted"

    @app.get("/health")
    def health():
        return {"status": "ok"}

    return app
