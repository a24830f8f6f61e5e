"""The runtime's choice of where short reads run, and the generation read kept on one
connection when they run on the event loop."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from riskatlas.config import Settings
from riskatlas.generation import Generation, current
from riskatlas.runtime import Runtime


@pytest.mark.parametrize(("url", "inline"), [
    ("sqlite:///some.db", True),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/x", False),
    ("postgresql+psycopg://postgres@localhost/x", False),
    ("postgresql+psycopg://postgres@/x?host=/var/run/postgresql", False),
    ("postgresql+psycopg://postgres@db.ministry.example:5432/x", False),
    ("postgresql+psycopg://postgres@10.0.0.7/x", False),
])
def test_short_reads_run_inline_on_sqlite_unless_the_setting_says(url: str,
                                                                       inline: bool) -> None:
    assert Runtime(Settings(database_url=url)).inline_reads is inline
    for forced in (True, False):
        assert Runtime(Settings(database_url=url, inline_reads=forced)).inline_reads is forced


def test_the_kept_generation_connection_sees_each_commit(db_url: str) -> None:
    runtime = Runtime(Settings(database_url=db_url, inline_reads=True))
    generation = Generation(runtime)
    before = generation.read()
    assert before == current(runtime.engine)
    with runtime.engine.begin() as conn:
        conn.execute(text("UPDATE read_generation SET n = n + 1 WHERE id = 1"))
    assert generation.read() == before + 1
    if runtime.engine.dialect.name == "postgresql":
        # the kept connection holds no transaction open between reads
        with runtime.engine.connect() as conn:
            states = conn.execute(text(
                "SELECT state FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")).scalars().all()
        assert "idle in transaction" not in states and "idle" in states
    generation.close()
    with runtime.engine.connect() as conn:  # the pool never hands out an autocommit connection
        if runtime.engine.dialect.name == "postgresql":
            assert conn.connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]
