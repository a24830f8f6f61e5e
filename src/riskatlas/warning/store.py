"""A columnar copy of the events for the evaluation engine, kept in numpy files.

Why: reading millions of event rows into Python objects is most of an evaluation's cost
(benchmarks/README.md, "Early-warning evaluation": 13-20 s of a 2,500,000-event evaluation);
numpy maps the same columns from its own files in milliseconds. Written by hand because no
library keeps a numpy copy of a SQL table up to date; the file format is numpy's own (.npy).

The copy is derived data: missing, unreadable or in doubt, it is built again from the table.
It records what it holds: the newest event id and import time it has read, the table's epoch
and the database's token (migration 0015). On each use, the rows written since (a larger id or a
later import time, the rule of `warning run --changed`) are read from the table and take the
place of their old version. A moved epoch (a DELETE, a TRUNCATE, an UPDATE that kept the import
time, whoever ran it), another database's token, or a table whose newest id or import time is
older than the copy's (a restore) makes it build again. The files are rewritten once the rows
read since outnumber max(REWRITE_AT, 1 % of the copy).

Only the complete scope (the local operator's) reads through the copy, since it holds every
event: tiers and sharing are applied by the engine from its marking and owner columns, as on
the direct read. Known limit, shared with `--changed`: on PostgreSQL, a transaction that took
its ids or import time before a refresh and commits after it, with an id or time below the
copy's, is seen only when the copy is next built again.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from riskatlas.config import Settings
from riskatlas.warning import changes, columns
from riskatlas.warning.columns import EPOCH, NAMES, Array, Columns
from riskatlas.warning.models import Event, EventEpoch

log = logging.getLogger(__name__)

FORMAT = 3
STORED = (*NAMES, "id")
REWRITE_AT = 25_000
Say = Callable[[str], None]
Delta = tuple[dict[str, Any], Array, Columns]  # meta, the base's dead positions, the rows


def _quiet(_message: str) -> None:
    pass


def folder_of(settings: Settings) -> Path | None:
    """Where the copy of this database lives, or None when it is off (`off`, or an in-memory
    SQLite database)."""
    chosen = settings.event_columns
    if chosen is not None and chosen.strip().lower() == "off":
        return None
    if chosen:
        return Path(chosen).expanduser()
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            return None
        file = Path(url.database).expanduser().resolve()
        return file.with_name(file.name + ".columns")
    import platformdirs

    return Path(platformdirs.user_cache_dir("riskatlas")) / "event-columns"


@dataclass(frozen=True)
class State:
    """What the table holds now, as far as the copy is concerned."""

    token: str
    epoch: int
    seen: changes.Watermark


def _state(session: Session) -> State:
    # columns, not the ORM object: the triggers change the row behind the session's back
    query = select(EventEpoch.token, EventEpoch.n).where(EventEpoch.id == 1)
    row = session.execute(query).first()
    if row is None:  # the row went with a TRUNCATE of every table: make it again
        session.add(EventEpoch(id=1, n=0, token=uuid.uuid4().hex))
        session.flush()
        row = session.execute(query).one()
    return State(row.token, int(row.n), changes.newest(session))


@dataclass
class Snapshot:
    """The events now: the copy's files (`base`, in day order, without its rows at the
    positions `dead`) and the rows read since (`fresh`)."""

    base: Columns
    dead: Array | None
    fresh: Columns

    def select(self, keep: Callable[[Columns], Array], since: date | None = None,
               names: Sequence[str] = STORED) -> Columns:
        """The `names` columns of the events for which `keep` (a mask over columns) holds, base
        and fresh alike; `since`: `keep` holds for none before that day (only the base's later
        rows, a slice of its files since they are in day order, are read)."""
        first = 0 if since is None else int(np.searchsorted(self.base["day"],
                                                             since.toordinal() - EPOCH))
        part = self.base if first == 0 else Columns(
            self.base.n - first, {k: v[first:] for k, v in self.base.arrays.items()},
            self.base.values)
        mask = keep(part)
        if self.dead is not None:
            dead = self.dead[self.dead >= first] - first
            if len(dead):
                mask = mask.copy()
                mask[dead] = False
        return columns.concat(part.only(names).take(mask),
                              self.fresh.only(names).take(keep(self.fresh)))

    def all(self) -> Columns:
        if self.dead is None and not self.fresh.n:
            return self.base
        return self.select(lambda c: np.ones(c.n, bool))

    def first_day(self, until: date) -> date | None:
        """The day of the first event on or before `until` (the start of every series)."""
        last = until.toordinal() - EPOCH
        on_time = self.base["day"] <= last
        if self.dead is not None:  # a dead row's new version is in fresh
            on_time[self.dead] = False
        found = [int(d.min()) for d in (self.base["day"][on_time],
                                        self.fresh["day"][self.fresh["day"] <= last]) if len(d)]
        return date.fromordinal(min(found) + EPOCH) if found else None


class ColumnStore:
    """The copy of one database's events in `folder` (folder_of)."""

    def __init__(self, folder: Path, say: Say = _quiet) -> None:
        self.folder = folder
        self.say = say

    @classmethod
    def of(cls, settings: Settings, say: Say = _quiet) -> ColumnStore | None:
        folder = folder_of(settings)
        return None if folder is None else cls(folder, say)

    # --- reading ------------------------------------------------------------------------------

    def snapshot(self, session: Session) -> Snapshot:
        """The events as the session's transaction sees them, through the copy: brought up to
        date, or built again (and saved) when it cannot be."""
        state = _state(session)
        home = self.folder / state.token
        held = self._load(home)
        if held is not None:
            meta, base, by_id = held
            mark = _mark(meta)
            if meta["epoch"] == state.epoch and _not_older(state.seen, mark):
                where = home / meta["version"]
                delta = self._load_delta(where, meta["version"], state)
                snap = self._refresh(session, base, by_id, mark, state.seen, delta)
                if snap.fresh.n >= max(REWRITE_AT, base.n // 100):
                    return Snapshot(self._save(home, snap.all(), state), None,
                                    snap.fresh.take(np.zeros(snap.fresh.n, bool)))
                if state.seen != (mark if delta is None else _mark(delta[0])):
                    self._save_delta(where, meta["version"], snap, state)
                return snap
            why = "the events were deleted or edited in place" if meta["epoch"] != state.epoch \
                else "the events table is older than the copy (a restore?)"
            self.say(f"Building the events' columnar copy again: {why}.")
        else:
            self.say("Building the events' columnar copy (once; later runs read only the "
                     "events written since)...")
        every = self._save(home, _read(session, rows=[Event.id <= state.seen.event_id]), state)
        return Snapshot(every, None, columns.build({name: () for name in STORED}, 0))

    def _refresh(self, session: Session, base: Columns, by_id: Array, mark: changes.Watermark,
                 new: changes.Watermark, delta: Delta | None) -> Snapshot:
        """The base, and the rows read since it: the delta's (rows it saved earlier) and those
        the table has written since the delta's mark (or the base's, without a delta)."""
        since = mark if delta is None else _mark(delta[0])
        fresh = _read(session, rows=[changes.changed_clause(session, since, new)],
                      batch_ids=changes.changed_batches(session, since, new))
        dead = np.zeros(0, np.int64) if delta is None else delta[1]
        if delta is not None:  # the delta's rows written again since: the new version stays
            again = np.isin(delta[2]["id"], fresh["id"])
            fresh = columns.concat(delta[2].take(~again), fresh) if fresh.n else delta[2]
        ids = fresh["id"][fresh["id"] <= mark.event_id]  # the base's rows rewritten since
        if len(ids) and base.n:
            # by_id: the base's positions in id order, so that a look-up reads a few pages
            at = np.minimum(np.searchsorted(base["id"], ids, sorter=by_id), base.n - 1)
            hit = base["id"][by_id[at]] == ids
            dead = np.union1d(dead, by_id[at[hit]])
        return Snapshot(base, dead if len(dead) else None, fresh)

    def _load(self, home: Path) -> tuple[dict[str, Any], Columns, Array] | None:
        try:
            version = (home / "CURRENT").read_text().strip()
            where = home / version
            meta = orjson.loads((where / "meta.json").read_bytes())
            if meta.get("format") != FORMAT:
                return None
            meta["version"] = version
            cols = _columns(where, meta, mmap=True)
            # a plain view: a numpy.memmap's every slice goes through Python-level code
            by_id = np.asarray(np.load(where / "by_id.npy", mmap_mode="r"))
            if cols is None or len(by_id) != meta["n"]:
                return None
            return meta, cols, by_id
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("events' columnar copy in %s unreadable (%s): built again", home, exc)
            return None

    def _load_delta(self, where: Path, version: str, state: State) -> Delta | None:
        """The rows read since the base and saved beside it, if they belong to it and the
        table has moved on from them only by new writes."""
        try:
            name = (where / "DELTA").read_text().strip()
            meta = orjson.loads((where / name / "meta.json").read_bytes())
            if meta.get("format") != FORMAT or meta.get("base") != version or \
                    meta["epoch"] != state.epoch or not _not_older(state.seen, _mark(meta)):
                return None
            cols = _columns(where / name, meta, mmap=False)
            dead = np.load(where / name / "dead.npy")
            return None if cols is None else (meta, dead, cols)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("events' columnar copy: rows since in %s unreadable (%s)", where, exc)
            return None

    # --- writing ------------------------------------------------------------------------------

    def _save(self, home: Path, cols: Columns, state: State) -> Columns:
        """Write the copy, in day order, to a new version folder, then point CURRENT at it (a
        rename, so a reader sees the old or the new version, never half of one). A copy that
        cannot be written is only logged: the evaluation goes on from what it read. Returns the
        events in the copy's order."""
        cols = cols.take(np.argsort(cols["day"], kind="stable"))
        version = f"v{uuid.uuid4().hex}"
        try:
            home.mkdir(parents=True, exist_ok=True)
            part = home / f".{version}.part"
            _write(part, cols, {"event_id": state.seen.event_id,
                                "imported_at": state.seen.imported_at, "epoch": state.epoch})
            np.save(part / "by_id.npy", np.argsort(cols["id"], kind="stable"))
            part.rename(home / version)
            _point(home, "CURRENT", version)
        except OSError as exc:
            log.warning("events' columnar copy not written to %s: %s", home, exc)
            return cols
        _prune(home, version, "v")
        return cols

    def _save_delta(self, where: Path, version: str, snap: Snapshot, state: State) -> None:
        """Save the rows read since the base beside it, so that the next run reads from the
        table only what is written after this one."""
        name = f"delta-{uuid.uuid4().hex}"
        try:
            part = where / f".{name}.part"
            _write(part, snap.fresh, {"base": version, "event_id": state.seen.event_id,
                                      "imported_at": state.seen.imported_at,
                                      "epoch": state.epoch})
            np.save(part / "dead.npy", np.zeros(0, np.int64) if snap.dead is None else snap.dead)
            part.rename(where / name)
            _point(where, "DELTA", name)
        except OSError as exc:
            log.warning("events' columnar copy: rows since not written to %s: %s", where, exc)
            return
        _prune(where, name, "delta-")


def _prune(folder: Path, keep: str, prefix: str) -> None:
    """Remove the earlier versions (a reader that mapped their files keeps them)."""
    for old in folder.iterdir():
        if old.is_dir() and old.name.startswith(prefix) and old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def _mark(meta: dict[str, Any]) -> changes.Watermark:
    return changes.Watermark(int(meta["event_id"]), meta["imported_at"])


def _columns(where: Path, meta: dict[str, Any], mmap: bool) -> Columns | None:
    arrays = {n: np.asarray(np.load(where / f"{n}.npy", mmap_mode="r" if mmap else None))
              for n in STORED}
    if any(len(a) != meta["n"] for a in arrays.values()):
        return None
    return Columns(int(meta["n"]), arrays, {k: list(v) for k, v in meta["values"].items()})


def _write(part: Path, cols: Columns, meta: dict[str, Any]) -> None:
    part.mkdir()
    for name in STORED:
        np.save(part / f"{name}.npy", np.ascontiguousarray(cols[name]))
    (part / "meta.json").write_bytes(orjson.dumps({**meta, "format": FORMAT, "n": cols.n,
                                                   "values": cols.values}))


def _point(folder: Path, pointer: str, name: str) -> None:
    """`folder/pointer` names `name` now (a rename: a reader sees the old or the new one)."""
    temporary = folder / f".{pointer}.{name}"
    temporary.write_text(name)
    os.replace(temporary, folder / pointer)


def _not_older(now: changes.Watermark, copy: changes.Watermark) -> bool:
    if now.event_id < copy.event_id:
        return False
    if copy.imported_at is None:
        return True
    return now.imported_at is not None and now.imported_at >= copy.imported_at


def _read(session: Session, rows: list[Any], batch_ids: set[int] | None = None) -> Columns:
    """Every event: the rows of `events` matching `rows`, and the batches `batch_ids` (None:
    all of them, as the same transaction sees them)."""
    return columns.fetch(session, STORED, [], scope=None, rows=rows, batch_ids=batch_ids)
