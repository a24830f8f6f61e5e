"""Batches: the events of a large import stored as one Parquet file in the database
(models.EventBatch), and read by DuckDB beside the rows of `events`.

Why: with a row table and the indexes its readers need, an import of ACLED's global history
costs at least 7.5x DuckDB's own read of the file (the floor measured with no Python per row);
the file DuckDB has already read and checked (warning.bulk) is written as one Parquet file in a
few seconds. The file is stored in the database, so a batch commits (and backs up) with the
rest, all of it or none; each process keeps a local copy of it, named by the batch's uuid
(a batch's content never changes: rewritten events are listed as dead, not edited).

Reading: `open_view` makes a DuckDB view named `events` of the batches a scope shows (the
sharing policy's `Scope.batches`, one marking and owner per batch), without their dead events,
with the columns of the `events` table. A statement written for that table (SQLAlchemy, over
models.Event's columns, without the scope clause) runs on the view compiled by `sql()`: the
readers (warning.service, warning.columns) ask both and merge.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ClauseElement,
    ColumnElement,
    Select,
    and_,
    delete,
    false,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from riskatlas.sharing.models import RecordShare
from riskatlas.sharing.policy import Scope
from riskatlas.warning import bulk
from riskatlas.warning.models import BATCH_SHIFT, Event, EventBatch, EventBatchDead, EventEpoch
from riskatlas.warning.writer import digest_of

# The columns of the file, beside the batch's own (source, owner, marking, stamp): those of
# `events` but the constant ones, and ACLED's extra fields as x_<name>.
CODES = ("inter1", "inter2", "interaction")  # integers; the others are text
EXTRA = (*bulk.EXTRA, *CODES)  # in the order of the row-by-row reader's `extra`
# zstd at its fastest level: a fifth smaller than snappy's file (171 against 218 MB for
# 2.5 M events) for a tenth more time to write it; level 3 saved 10 % more for 15 % more time
COMPRESSION = "zstd, COMPRESSION_LEVEL 1"
MAX_FILE = 900 << 20  # PostgreSQL's bytea holds 1 GB: a larger file is written as rows
VIEW_COLUMNS = ("id", "source", "source_id", "period", "date", "country", "admin1",
                "location", "latitude", "longitude", "event_type", "sub_type", "actor1",
                "actor2", "fatalities", "events", "notes", "owner_org_id", "tlp",
                "batch", *(f"x_{name}" for name in EXTRA))


def cache_root() -> Path:
    """Where this process keeps its copies of the batches' files: the user's cache folder
    (as the columnar copy's default, warning.store), or a private folder of the system's
    temporary one when that cannot be written (a service account without a home)."""
    import platformdirs

    global _PRIVATE
    chosen = Path(platformdirs.user_cache_dir("riskatlas")) / "event-batches"
    try:
        chosen.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.access(chosen, os.W_OK):
            return chosen
    except OSError:
        pass
    if _PRIVATE is None:  # made by this process, readable by its user alone
        _PRIVATE = Path(tempfile.mkdtemp(prefix="riskatlas-event-batches-"))
    return _PRIVATE


_PRIVATE: Path | None = None


def having_ids(ids: Iterable[int]) -> ColumnElement[bool]:
    """The view's events of these ids, by batch and place in the file: DuckDB skips the parts
    of the file outside each batch's range of places (an `id IN (...)` is computed for every
    event: 557 against 80 ms for a page of 50 in 2.5 M)."""
    places: dict[int, list[int]] = {}
    for i in ids:
        places.setdefault(i >> BATCH_SHIFT, []).append((i & ((1 << BATCH_SHIFT) - 1)) - 1)
    batch: ColumnElement[int] = literal_column("batch")
    n: ColumnElement[int] = literal_column("n")
    return or_(false(), *(and_(batch == b, n.between(min(at), max(at)), n.in_(at))
                          for b, at in places.items()))


def batch_of(event_id: int) -> int | None:
    """The batch an event id names, or None for a row of `events`."""
    return event_id >> BATCH_SHIFT or None


def bump_epoch(session: Session) -> None:
    """Tell the columnar copy (warning.store) that events went away (it builds again)."""
    session.execute(update(EventEpoch).where(EventEpoch.id == 1).values(n=EventEpoch.n + 1))


def sql(statement: ClauseElement) -> str:
    """A statement over models.Event's columns as DuckDB runs it on the view (PostgreSQL's
    SQL, the values written in)."""
    return str(statement.compile(dialect=postgresql.dialect(),
                                 compile_kwargs={"literal_binds": True}))


@dataclass(frozen=True)
class Batch:
    id: int
    uuid: str
    size: int
    source: str
    owner_org_id: int
    tlp: str
    dead: int


def _batches() -> Select[int, str, int, str, int, str, int]:
    """The columns of a Batch."""
    return select(EventBatch.id, EventBatch.uuid, EventBatch.size, EventBatch.source,
                  EventBatch.owner_org_id, EventBatch.tlp, EventBatch.dead)


def visible(session: Session, scope: Scope | None, sources: Iterable[str] | None = None,
            ids: Iterable[int] | None = None) -> list[Batch]:
    """The batches the scope shows (of these sources, or ids), in id order. Scope None: every
    batch, for the readers that read every event and apply the markings themselves (the
    columnar copy of warning.store, as its reads of `events` have no scope clause)."""
    query = _batches()
    if scope is not None:
        query = query.where(scope.batches)
    if sources is not None:
        query = query.where(EventBatch.source.in_(sorted(set(sources))))
    if ids is not None:
        query = query.where(EventBatch.id.in_(sorted(set(ids))))
    return [Batch(*row) for row in session.execute(query.order_by(EventBatch.id))]


def local_file(session: Session, batch: Batch) -> Path:
    """This process's copy of the batch's file, fetched from the database when missing."""
    root = cache_root()
    path = root / f"{batch.uuid}.parquet"
    try:
        if path.stat().st_size == batch.size:
            return path
    except FileNotFoundError:
        pass
    data = session.scalar(select(EventBatch.data).where(EventBatch.id == batch.id))
    assert data is not None
    _place(root, path, data)
    return path


def _place(root: Path, path: Path, data: bytes | None = None, source: Path | None = None,
           ) -> None:
    """Write (or move) a file into the cache under its final name: a rename, so a reader of
    another process sees the whole file or none."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    if source is not None:
        os.replace(source, path)
        return
    fd, name = tempfile.mkstemp(dir=root, suffix=".part")
    with os.fdopen(fd, "wb") as out:
        out.write(data or b"")
    os.replace(name, path)


def _insert(con: Any, table: str, *columns: list[Any]) -> None:
    """Rows into a DuckDB table, given as lists of its columns' values: one statement (an
    executemany costs about 0.1 ms a row, minutes for the ids of a whole history)."""
    if columns and columns[0]:
        con.execute(f"INSERT INTO {table} SELECT " + ", ".join(
            f"unnest(${i + 1})" for i in range(len(columns))), list(columns))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class View:
    """A DuckDB connection with the view `events` of some batches' live events."""

    def __init__(self, session: Session, batches: Sequence[Batch], con: Any = None) -> None:
        import duckdb

        self.batches = batches
        self.con = duckdb.connect() if con is None else con
        # SQLite's planner hint (warning.alerts) means its first argument
        self.con.execute("CREATE MACRO likelihood(a, b) AS a")
        self.con.execute("CREATE TABLE dead (batch INTEGER, source_id VARCHAR)")
        with_dead = [b.id for b in batches if b.dead]
        if with_dead:
            rows = session.execute(select(EventBatchDead.batch_id, EventBatchDead.source_id)
                                   .where(EventBatchDead.batch_id.in_(with_dead))).all()
            _insert(self.con, "dead", [r[0] for r in rows], [r[1] for r in rows])
        parts = []
        for b in batches:
            path = local_file(session, b)
            extra = ", ".join(f"x_{name}" for name in EXTRA)
            part = (f"SELECT (CAST({b.id} AS BIGINT) << {BATCH_SHIFT}) + file_row_number + 1 "
                    "AS id, "
                    f"{_quote(b.source)} AS source, source_id, 'day' AS period, date, country, "
                    "admin1, location, latitude, longitude, event_type, sub_type, actor1, "
                    "actor2, fatalities, 1 AS events, notes, "
                    f"{b.owner_org_id} AS owner_org_id, {_quote(b.tlp)} AS tlp, "
                    f"{b.id} AS batch, file_row_number AS n, {extra} "
                    f"FROM read_parquet({_quote(str(path))}, file_row_number = true)")
            if b.dead:
                part += f" WHERE source_id NOT IN (SELECT source_id FROM dead WHERE batch = {b.id})"
            parts.append(part)
        self.con.execute("CREATE VIEW events AS " + " UNION ALL ".join(parts))

    def run(self, statement: ClauseElement | str) -> Any:
        text = statement if isinstance(statement, str) else sql(statement)
        return self.con.execute(text)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> View:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_view(session: Session, scope: Scope | None, sources: Iterable[str] | None = None,
              ids: Iterable[int] | None = None) -> View | None:
    """The view of the batches the scope shows (see `visible`), or None when it shows none."""
    chosen = visible(session, scope, sources, ids)
    return View(session, chosen) if chosen else None


def as_dict(row: dict[str, Any], owner_key: str) -> dict[str, Any]:
    """A view row as warning.service shows an event."""
    extra = {name: row[f"x_{name}"] for name in EXTRA if row.get(f"x_{name}") is not None}
    day = row["date"]
    return {"id": int(row["id"]), "source": row["source"], "source_id": row["source_id"],
            "period": row["period"], "date": day.isoformat() if isinstance(day, date) else day,
            "country": row["country"], "admin1": row["admin1"], "location": row["location"],
            "latitude": row["latitude"], "longitude": row["longitude"],
            "event_type": row["event_type"], "sub_type": row["sub_type"],
            "actor1": row["actor1"], "actor2": row["actor2"], "fatalities": row["fatalities"],
            "events": row["events"], "notes": row["notes"], "extra": extra or None,
            "owner": owner_key, "tlp": row["tlp"]}


# --- writing --------------------------------------------------------------------------------

@dataclass
class Written:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


def store(session: Session, con: Any, source: str, file_name: str, owner_org_id: int,
          tlp: str, stamp: datetime, folder: Path, total: int,
          stored: Callable[[], None] | None = None) -> Written | None:
    """Store the file's normalised events, the DuckDB view or table `norm` (`total` rows of
    the file's columns, see EXTRA), as a batch in the caller's
    transaction. Events already stored with the same content are left out; the stored
    versions of those it rewrites (in older batches or in `events`) are retired. `stored`:
    called once the batch is written (not yet committed). None when the file would be too
    large for one batch (the caller writes rows)."""
    written = Written()
    # The events of the file already stored with the same content (and marking): compared
    # column by column with the live events of the source's batches, and by digest with its
    # rows of `events`.
    con.execute("CREATE TABLE same (source_id VARCHAR)")
    older = of_source(session, source)
    retired: dict[int, list[str]] = {}
    if older:
        View(session, older, con)  # the view `events` of those batches, in this connection
        # Each side's content hashed in this one run (DuckDB's hash of the same values is the
        # same within a version): a join of narrow tables, where one of every column of both
        # took 22 s for 2.5 M events. Two versions of one event hashing alike (2**-64) would
        # leave the old one in place.
        content = ", ".join(_CONTENT_COLUMNS)
        con.execute(f"CREATE TABLE old AS SELECT batch, source_id, "
                    f"hash({content}, owner_org_id, tlp) AS h FROM events")
        con.execute(f"CREATE TABLE mine AS SELECT source_id, hash({content}, "
                    f"CAST({int(owner_org_id)} AS INTEGER), {_quote(tlp)}) AS h FROM norm")
        con.execute("INSERT INTO same SELECT m.source_id FROM mine m JOIN old o "
                    "ON m.source_id = o.source_id AND m.h = o.h")
        for batch, sid in con.execute(
                "SELECT o.batch, o.source_id FROM old o JOIN mine m "
                "ON m.source_id = o.source_id AND m.h <> o.h").fetchall():
            retired.setdefault(batch, []).append(sid)
    in_rows = _compare_rows(session, con, source, owner_org_id, tlp)
    written.unchanged = con.execute("SELECT count(*) FROM same").fetchone()[0]
    fresh = total - written.unchanged
    if not fresh:
        return written
    path = folder / "batch.parquet"
    chosen = "SELECT * FROM norm" + (
        " WHERE source_id NOT IN (SELECT source_id FROM same)" if written.unchanged else "")
    # No row number is written: an event's number is its position in the file, which DuckDB
    # reads back (file_row_number) and which never changes.
    con.execute(f"COPY ({chosen}) TO {_quote(str(path))} "
                f"(FORMAT parquet, COMPRESSION {COMPRESSION})")
    size = path.stat().st_size
    if size > MAX_FILE:
        return None  # nothing written yet
    for start in range(0, len(in_rows), 5000):  # the rows the batch replaces
        session.execute(delete(Event).where(Event.source == source,
                                            Event.source_id.in_(in_rows[start:start + 5000])))
    written.updated = sum(map(len, retired.values())) + len(in_rows)
    written.added = fresh - written.updated
    batch = EventBatch(uuid=uuid.uuid4().hex, source=source, file=file_name[:255], rows=fresh,
                       dead=0, size=size, owner_org_id=owner_org_id, tlp=tlp, imported_at=stamp,
                       data=path.read_bytes())
    session.add(batch)
    session.flush()
    retire(session, retired)
    if stored is not None:
        stored()
    root = cache_root()
    with contextlib.suppress(OSError):  # else the next reader fetches it from the database
        _place(root, root / f"{batch.uuid}.parquet", source=path)
    return written


_CONTENT_COLUMNS = ("source_id", "date", "country", "admin1", "location", "latitude",
                    "longitude", "event_type", "sub_type", "actor1", "actor2", "fatalities",
                    "notes", *(f"x_{name}" for name in EXTRA))
_CONTENT = ", ".join(_CONTENT_COLUMNS)


def _digest_of(source: str, row: Sequence[Any], owner_org_id: int, tlp: str) -> str:
    """The digest (writer.digest_of) a row of `events` of a row of `_CONTENT` columns would
    carry: an ACLED event of one day."""
    event = dict(zip(_CONTENT_COLUMNS[:13], row[:13], strict=True), source=source,
                 period="day", events=1, owner_org_id=owner_org_id, tlp=tlp)
    event["extra"] = {k: v for k, v in zip(EXTRA, row[13:], strict=True) if v is not None} \
        or None
    return digest_of(event)


def _compare_rows(session: Session, con: Any, source: str, owner_org_id: int,
                  tlp: str) -> list[str]:
    """The file's events already stored as rows of `events`: those of the same content stay
    (they are added to the table `same`); the ids of the others, whose rows the batch is to
    replace, are returned. Nothing is written."""
    if session.scalar(select(Event.id).where(Event.source == source).limit(1)) is None:
        return []
    stored = {sid: digest for sid, digest in session.execute(
        select(Event.source_id, Event.digest).where(Event.source == source))}
    con.execute("CREATE TABLE stored_ids (source_id VARCHAR)")
    _insert(con, "stored_ids", list(stored))
    same: list[str] = []
    hits: list[str] = []
    for row in con.execute(f"SELECT {_CONTENT} FROM norm WHERE source_id IN "
                           "(SELECT source_id FROM stored_ids)").fetchall():
        digest = _digest_of(source, row, owner_org_id, tlp)
        (same if stored[row[0]] == digest else hits).append(row[0])
    if same:
        _insert(con, "same", same)
    return hits


def retire(session: Session, retired: dict[int, list[str]]) -> None:
    """List these events of these batches as dead; a batch left with no live event is
    deleted. Moves the event epoch (the columnar copy builds again)."""
    if not retired:
        return
    for batch_id, sids in retired.items():
        row = session.get(EventBatch, batch_id)
        if row is None:
            continue
        if row.dead + len(sids) >= row.rows:
            session.execute(delete(EventBatchDead).where(EventBatchDead.batch_id == batch_id))
            session.execute(delete(RecordShare).where(RecordShare.entity == "event_batch",
                                                      RecordShare.record_id == batch_id))
            session.execute(delete(EventBatch).where(EventBatch.id == batch_id))
            continue
        session.execute(insert(EventBatchDead),
                        [{"batch_id": batch_id, "source_id": s} for s in sids])
        row.dead += len(sids)
    session.flush()
    bump_epoch(session)


def of_source(session: Session, source: str) -> list[Batch]:
    """Every batch of a source (the write path compares a file with all of them)."""
    return [Batch(*row) for row in session.execute(
        _batches().where(EventBatch.source == source).order_by(EventBatch.id))]


def live_ids(session: Session, source: str, ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Of these source ids, those alive in the source's batches: their batch, and the digest
    their row of `events` would carry (row_digest), to tell an unchanged event from a new
    version of it."""
    older = of_source(session, source)
    if not older or not ids:
        return {}
    out: dict[str, tuple[int, str]] = {}
    with View(session, older) as view:
        view.con.execute("CREATE TABLE wanted (source_id VARCHAR)")
        _insert(view.con, "wanted", list(ids))
        for row in view.con.execute(
                f"SELECT batch, owner_org_id, tlp, {_CONTENT} FROM events "
                "WHERE source_id IN (SELECT source_id FROM wanted)").fetchall():
            batch, owner, tlp, content = row[0], row[1], row[2], row[3:]
            out[content[0]] = (int(batch), _digest_of(source, content, owner, tlp))
    return out


def by_batch(found: dict[str, tuple[int, str]], sids: Iterable[str]) -> dict[int, list[str]]:
    """These source ids (of `live_ids`' answer) grouped by their batch, for `retire`."""
    out: dict[int, list[str]] = {}
    for sid in sids:
        out.setdefault(found[sid][0], []).append(sid)
    return out
