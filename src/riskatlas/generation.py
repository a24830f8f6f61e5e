"""The read generation: a number that moves with every change of the data reads depend on.

Database triggers (migration 0008) move the one row of `read_generation` on every INSERT,
UPDATE and DELETE (and TRUNCATE on PostgreSQL) of every table that a reused answer or a
caller's principal depends on. Whatever writes moves it — the services, `seed`, `db reindex`,
sharing groups, a migration, raw SQL in a database shell — so no write path, present or future,
can forget to; tests/web/test_cache.py checks that every table of the models but UNRELATED has
the triggers, so a new table cannot be forgotten either.

- SQLite: row triggers (it has no others) add one in the writing transaction.
- PostgreSQL: deferred constraint triggers add one once per transaction, at commit. The row is
  then locked last, as the audit head is, so two writers never deadlock on it (an immediate
  trigger would lock it at a transaction's first change, before the rows it changes next).
Either way the new number becomes visible in the same commit as the data it stands for: a
reader never sees a new number with old data.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from sqlalchemy import BigInteger, Engine, text
from sqlalchemy.orm import Mapped, mapped_column

from riskatlas.db import Base
from riskatlas.runtime import Runtime

# Tables whose changes no reused answer depends on: the audit trail, browser sessions (answers
# to sessions are never reused) and login attempts. And an API token's last-used time, written
# as tokens are used: a change of it would make every answer stale once a minute per token.
# Events (early warning) too: no reused answer reads them (web.cache keeps risk and measure
# answers only), and SQLite's row triggers would add a write to each of millions of imported rows.
UNRELATED = frozenset({"audit_log", "audit_head", "web_sessions", "login_attempts",
                       "read_generation", "events", "alerts", "warning_marks", "peers",
                       "event_epoch", "event_batches", "event_batch_dead"})
UNRELATED_COLUMNS = {"api_tokens": frozenset({"last_used_at"})}

_READ_SQL = "SELECT n FROM read_generation WHERE id = 1"
_READ = text(_READ_SQL)
READ_GENERATION = _READ  # for reads that check it inside their own transaction


class ReadGeneration(Base):
    """One row (id 1): `n` moves with every change of a table outside UNRELATED."""

    __tablename__ = "read_generation"

    id: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


def current(engine: Engine) -> int:
    """The generation now (0 before any change)."""
    with engine.connect() as conn:
        return int(conn.execute(_READ).scalar() or 0)


class Generation:
    """Reads the generation for each request. When short reads run on the event loop's
    thread (web.deps.run_db: SQLite, or PostgreSQL on this host), one connection is kept for
    it: checking a connection out of the pool and back cost more than the read itself (13 % of
    the server's time under load). Outside a transaction, each read sees the last commit."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._raw: Any = None
        self._lock = threading.Lock()

    def read(self) -> int:
        if not self.runtime.inline_reads:
            return current(self.runtime.engine)
        return self.read_now()

    def read_now(self) -> int:
        """The generation now, on the kept connection, whatever the engine: for the answer
        cache (web.cache), which reads it on the event loop for every request. On PostgreSQL
        that is one round trip on an autocommit connection, against a thread hand-off, a
        pool check-out with its ping, the read and the rollback on the way back (~1 ms of
        CPU and four round trips, measured)."""
        with self._lock:
            return self._read_kept()

    def _read_kept(self) -> int:
        if self._raw is None:
            self._raw = self._connect()
        try:
            cursor = self._raw.cursor()
            try:
                cursor.execute(_READ_SQL)
                row = cursor.fetchone()
            finally:
                cursor.close()
        except Exception:  # a server restarted under us: a fresh connection next time
            self._raw, raw = None, self._raw
            raw.invalidate()
            return current(self.runtime.engine)
        return int(row[0]) if row else 0

    def _connect(self) -> Any:
        raw = self.runtime.engine.raw_connection()
        # Closed when this object goes (an app dropped without its shutdown, as in tests),
        # not left to the garbage collector, which would find a driver connection still open.
        weakref.finalize(self, raw.close)
        if self.runtime.engine.dialect.name == "postgresql":
            # Each read its own statement outside any transaction: an open one would sit
            # "idle in transaction" on the server between requests. Detached from the pool
            # first, so that no transaction elsewhere ever gets this autocommit connection
            # (closing it then closes it rather than giving it back).
            raw.detach()
            raw.rollback()
            raw.dbapi_connection.autocommit = True  # type: ignore[union-attr]
        return raw

    def close(self) -> None:
        if self._raw is not None:
            self._raw, raw = None, self._raw
            raw.close()
