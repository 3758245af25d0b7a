"""Alembic environment: runs on a connection handed in by app.migrate, or on DATABASE_URL."""

import logging.config

from alembic import context

from app.models import Base

config = context.config
if config.config_file_name and not config.attributes.get("connection"):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    from app.db import make_engine, write_unit
    from config import config_class

    url = config.get_main_option("sqlalchemy.url") or config_class().DATABASE_URL
    engine = make_engine(url)
    with write_unit(), engine.connect() as conn:
        run_migrations(conn)
        conn.commit()
