"""Writing normalised events into `events` in the caller's transaction, as fast as each engine
allows, with the same upsert on (source, source_id) either way.

Rows come as tuples in `WRITTEN` order (Python values, the digest and stamp included), from the
row-by-row reader or the DuckDB one (warning.bulk). Measured on 100,000 ACLED events (SQLite):
SQLAlchemy's executemany of dicts took 5.3 s of a 10.9 s import; the driver's own executemany of
plain tuples, with a 256 MB page cache and the four secondary indexes rebuilt after the load
rather than kept up to date row by row, 1.7 s for the same rows.

- SQLite: the raw sqlite3 cursor's executemany of the upsert. The page cache is raised for the
  import and put back after (a connection setting, not a durability one: journal mode and
  synchronous are left as they are, so a killed import still leaves nothing behind).
- PostgreSQL: COPY into a temporary staging table, then one INSERT ... SELECT ... ON CONFLICT
  DO UPDATE ... WHERE the digest differs.
- Large loads: when the file brings more rows than the table holds (a first import), the
  secondary indexes are dropped and built again after the load, inside the same transaction,
  so a failure or a kill leaves them as they were. On PostgreSQL the DROP holds the table's
  exclusive lock until commit: readers of `events` wait for a first import to finish.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, cast

import orjson
from sqlalchemy import Index, Table, func, select
from sqlalchemy.orm import Session

from riskatlas.warning.models import Event

WRITTEN = ("source", "source_id", "period", "date", "country", "admin1", "location",
           "latitude", "longitude", "event_type", "sub_type", "actor1", "actor2", "fatalities",
           "events", "notes", "extra", "owner_org_id", "tlp", "digest", "imported_at")
CACHE_KIB = 256 * 1024  # SQLite page cache during an import: the unique index stays in memory
REBUILD_FACTOR = 1.0  # drop the secondary indexes when the rows to write exceed the table's
KNOWN_FACTOR = 4  # read the stored digests when the file has a quarter of the table's rows
REBUILD_MIN = 10_000  # ... and are this many at least (a small file: keep them)
_STAGE = "events_import_stage"
DIGEST = WRITTEN.index("digest")


def digest_of(event: dict[str, Any]) -> str:
    """A digest of the normalised event (its written columns but the digest and the stamp)."""

    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value

    body = orjson.dumps([plain(event.get(k)) for k in WRITTEN[:-2]], option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def _table() -> Table:
    return cast(Table, Event.__table__)


class EventWriter:
    """Upserts chunks of rows; `finish()` rebuilds what it dropped and counts what it did."""

    def __init__(self, session: Session, source: str, stamp: datetime, expected: int) -> None:
        self.session, self.source, self.stamp = session, source, stamp
        self.conn = session.connection()
        self.dialect = self.conn.dialect
        self.postgres = self.dialect.name == "postgresql"
        self.before = self._count()
        self.dropped: list[Index] = []
        raw = self.conn.connection.driver_connection
        assert raw is not None
        self.raw: Any = raw
        self.cache: int | None = None
        if not self.postgres:
            # The sqlite3 module opens a transaction only before INSERT/UPDATE/DELETE: the
            # index DDL below must not run (and commit) on its own.
            if not self.raw.in_transaction:
                self.raw.execute("BEGIN")
            self.cache = int(self.raw.execute("PRAGMA cache_size").fetchone()[0])
            self.threads = int(self.raw.execute("PRAGMA threads").fetchone()[0])
            self.raw.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            self.raw.execute("PRAGMA threads=2")  # CREATE INDEX sorts with a helper thread
        if expected > max(self.before, 1) * REBUILD_FACTOR and expected >= REBUILD_MIN:
            self.dropped = sorted(_table().indexes, key=lambda i: str(i.name))
            for index in self.dropped:
                index.drop(self.conn)
        # A large re-import: the digests already stored, so that a row whose digest is among
        # them (the digest covers the source, the id and every written column) is not sent at
        # all. The upsert would leave it alone anyway, but finding that out row by row took
        # longer than the first import (176 s for 2.5 M unchanged rows, SQLite).
        self.known: set[str] = set()
        if self.before and expected * KNOWN_FACTOR >= self.before:
            self.known = set(self.session.scalars(select(Event.digest).where(
                Event.source == source)))
        table = _table()
        # The column types' own bind conversions (SQLite: dates and stamps as text, JSON via
        # the engine's serializer), so these rows read back exactly as the ORM wrote them.
        self.convert: list[tuple[int, Callable[[Any], Any]]] = []
        self.processors: dict[str, Callable[[Any], Any]] = {}
        for i, name in enumerate(WRITTEN):
            proc = table.c[name].type.dialect_impl(self.dialect).bind_processor(self.dialect)
            if proc is not None:
                self.convert.append((i, proc))
                self.processors[name] = proc
        if self.postgres:
            if self.raw.autocommit and self.raw.info.transaction_status == 0:
                # A pooled connection left in autocommit (generation.py's reader sets it and
                # gives the connection back so): without this BEGIN every statement would
                # commit on its own and a failed import would leave its first rows behind.
                self.raw.execute("BEGIN")
            # Through the driver, never prepared: psycopg prepares a statement run five times
            # on one connection, and a prepared statement naming the staging table of an
            # earlier import failed ("relation does not exist") once that table was dropped.
            self.cursor = self.raw.cursor()
            self.cursor.execute(
                f"CREATE TEMP TABLE {_STAGE} ON COMMIT DROP AS SELECT {', '.join(WRITTEN)} "
                "FROM events WITH NO DATA", prepare=False)
        else:
            cols = ", ".join(WRITTEN)
            changed = ", ".join(f"{c} = excluded.{c}" for c in WRITTEN
                                if c not in {"source", "source_id"})
            self.sql = (f"INSERT INTO events ({cols}) VALUES ({', '.join('?' * len(WRITTEN))}) "
                        f"ON CONFLICT (source, source_id) DO UPDATE SET {changed} "
                        "WHERE events.digest != excluded.digest")
            self.cursor = self.raw.cursor()

    def value(self, column: str, value: Any) -> Any:
        """`value` as the driver is given it for `column` (see `write(converted=True)`)."""
        proc = self.processors.get(column)
        return value if proc is None else proc(value)

    def write(self, rows: Sequence[Sequence[Any]], converted: bool = False) -> None:
        """Upsert rows; `converted`: their values already went through `value()`."""
        if self.known:
            rows = [row for row in rows if row[DIGEST] not in self.known]
        if not rows:
            return
        if self.convert and not converted:
            out = []
            for row in rows:
                values = list(row)
                for i, proc in self.convert:
                    values[i] = proc(values[i])
                out.append(values)
            rows = out
        if self.postgres:
            with self.cursor.copy(f"COPY {_STAGE} ({', '.join(WRITTEN)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            self.cursor.executemany(self.sql, rows)

    def finish(self) -> tuple[int, int]:
        """Merge (PostgreSQL), rebuild dropped indexes; (added, touched by this import)."""
        if self.postgres:
            cols = ", ".join(WRITTEN)
            changed = ", ".join(f"{c} = excluded.{c}" for c in WRITTEN
                                if c not in {"source", "source_id"})
            self.cursor.execute(
                f"INSERT INTO events ({cols}) SELECT {cols} FROM {_STAGE} "
                f"ON CONFLICT (source, source_id) DO UPDATE SET {changed} "
                "WHERE events.digest IS DISTINCT FROM excluded.digest", prepare=False)
            self.cursor.execute(f"DROP TABLE {_STAGE}", prepare=False)
        for index in self.dropped:
            index.create(self.conn)
        added = self._count() - self.before
        touched = self.session.scalar(select(func.count()).select_from(Event).where(
            Event.source == self.source, Event.imported_at == self.stamp)) or 0
        return added, touched

    def close(self) -> None:
        """Put the connection's page cache back (the pool keeps the connection)."""
        if self.cache is not None:
            self.raw.execute(f"PRAGMA cache_size={self.cache}")
            self.raw.execute(f"PRAGMA threads={self.threads}")
            self.cache = None

    def _count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(Event)
                                   .where(Event.source == self.source)) or 0
