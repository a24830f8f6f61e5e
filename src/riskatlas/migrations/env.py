"""Alembic environment: the URL comes from the caller (riskatlas db upgrade) or Settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import riskatlas.models  # noqa: F401 - registers every table on the metadata
from riskatlas.config import get_settings
from riskatlas.db import Base, make_engine
from riskatlas.migrate import include_object

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True, compare_type=True, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
