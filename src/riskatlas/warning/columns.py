"""Events as columns (numpy arrays) for the evaluation engine (warning.engine), read with one
plain SELECT of the needed columns only.

Why a raw DB-API cursor: fetching rows into Python is most of the cost of an evaluation over
millions of events, and SQLAlchemy's result rows and type processing (a date object per row)
doubled it. Dates come as days since 1970-01-01; strings become integer codes into a list of
their distinct values (a dict lookup per value), so that a filter is tested once per distinct
value (an actor regex once per distinct actor string) and applied to all rows by indexing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Select, case, func, literal_column, select, type_coerce
from sqlalchemy import String as SAString
from sqlalchemy.orm import Session

from riskatlas.sharing.policy import Scope
from riskatlas.warning import batches
from riskatlas.warning.indicators import Indicator
from riskatlas.warning.models import TIERS, Event

EPOCH = date(1970, 1, 1).toordinal()
TLPS = (*TIERS, "red")
NAMES = ("day", "country", "admin1", "event_type", "sub_type", "actor1", "actor2", "location",
         "fatalities", "count", "tlp", "owner")
Array = np.ndarray[Any, Any]


@dataclass
class Columns:
    """One entry per event. Categorical columns hold codes into `values[name]` (None is a value
    like any other); `actor1` and `actor2` share one list, `values["actor1"]`."""

    n: int
    arrays: dict[str, Array]
    values: dict[str, list[Any]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Array:
        return self.arrays[name]

    def only(self, names: Sequence[str]) -> Columns:
        """These columns alone (the same arrays, not copies)."""
        return Columns(self.n, {k: v for k, v in self.arrays.items() if k in names},
                       self.values)

    def take(self, keep: Array) -> Columns:
        """The rows of a mask or of positions: a mask becomes positions once, not once per
        column (a --changed run keeps a tenth of a few hundred thousand rows)."""
        at = np.flatnonzero(keep) if keep.dtype == bool else keep
        return Columns(len(at), {k: v.take(at) for k, v in self.arrays.items()}, self.values)


def _codes(values: Sequence[Any], index: dict[Any, int]) -> Array:
    # the distinct values first (dict.fromkeys runs in C), then one C-level lookup per value:
    # a tenth of the cost of a Python-level setdefault per value
    for v in dict.fromkeys(values):
        index.setdefault(v, len(index))
    return np.fromiter(map(index.__getitem__, values), np.int32, len(values))


def build(columns: dict[str, Sequence[Any]], n: int) -> Columns:
    """Columns from Python sequences (`day` as days since 1970-01-01, or dates)."""
    arrays: dict[str, Array] = {}
    values: dict[str, list[Any]] = {}
    actors: dict[Any, int] = {}
    for name, seq in columns.items():
        if name == "day" and isinstance(seq, np.ndarray):
            arrays[name] = seq.astype(np.int64)
        elif name == "day":
            arrays[name] = np.fromiter(
                (d if isinstance(d, int) else d.toordinal() - EPOCH for d in seq), np.int64, n)
        elif name in ("fatalities", "count"):
            arrays[name] = np.fromiter((v or 0 for v in seq), np.float64, n)
        elif name in ("owner", "id"):
            arrays[name] = np.fromiter((v or 0 for v in seq), np.int64, n)
        elif name == "tlp":
            arrays[name] = _codes(seq, {t: i for i, t in enumerate(TLPS)})
            values[name] = list(TLPS)
        else:
            index = actors if name in ("actor1", "actor2") else {}
            arrays[name] = _codes(seq, index)
            values["actor1" if name in ("actor1", "actor2") else name] = list(index)
    return Columns(n, arrays, values)


def concat(a: Columns, b: Columns) -> Columns:
    """The events of `a`, then those of `b` (the same columns), in `a`'s codes: `b`'s values are
    found in, or added to, copies of `a`'s lists."""
    values = {k: list(v) for k, v in a.values.items()}
    remap: dict[str, Array] = {}
    for key, theirs in b.values.items():
        if key == "tlp":  # the same fixed list on both sides
            continue
        mine = values.setdefault(key, [])
        index = {v: i for i, v in enumerate(mine)}
        for v in theirs:
            if v not in index:
                index[v] = len(mine)
                mine.append(v)
        remap[key] = np.fromiter((index[v] for v in theirs), np.int32, len(theirs))
    arrays = {}
    for name, mine_codes in a.arrays.items():
        theirs_codes = b.arrays[name]
        key = "actor1" if name == "actor2" else name
        if key in remap:
            theirs_codes = remap[key][theirs_codes] if len(theirs_codes) else \
                theirs_codes.astype(np.int32)
        arrays[name] = np.concatenate([mine_codes, theirs_codes])
    return Columns(a.n + b.n, arrays, values)


def only_in(indicators: Sequence[Indicator], names: Sequence[str]) -> dict[str, list[str]]:
    """For the columns that only some indicators read (actors, fatalities, locations), the
    countries those indicators are restricted to, when all of them are: the column is then
    read only for those countries' rows (NULL elsewhere costs nothing to fetch)."""
    out = {}
    for name in names:
        readers = [i for i in indicators if name in needed([i])]
        if readers and len(readers) < len(indicators) and all(
                i.filter.countries for i in readers):
            out[name] = sorted({c for i in readers for c in i.filter.countries})
    return out


def needed(indicators: Iterable[Indicator]) -> tuple[str, ...]:
    """The columns the indicators read (with the marking, for the audience tiers)."""
    out = ["day", "country", "admin1", "tlp", "owner"]
    for i in indicators:
        f = i.filter
        out += (["event_type"] if f.event_types else []) + (["sub_type"] if f.sub_types else [])
        out += ["actor1", "actor2"] if f.actors else []
        out += {"events": ["count"], "fatalities": ["fatalities"],
                "locations": ["location"]}[i.measure]
    return tuple(n for n in NAMES if n in out)


def from_events(events: Iterable[Any], names: Sequence[str] = NAMES[:10],
                tlp: Sequence[str] | None = None, owner: Sequence[int] | None = None,
                ) -> Columns:
    """Columns of series.Event objects (or anything with their attributes)."""
    rows = list(events)
    attr = {"day": "date", "count": "count"}
    cols: dict[str, Sequence[Any]] = {
        n: [getattr(e, attr.get(n, n)) for e in rows] for n in names if n not in ("tlp", "owner")}
    cols["tlp"] = list(tlp) if tlp is not None else ["clear"] * len(rows)
    cols["owner"] = list(owner) if owner is not None else [0] * len(rows)
    return build(cols, len(rows))


def _column(dialect: str, name: str) -> ColumnElement[Any]:
    if name == "day":
        if dialect == "sqlite":
            # the stored ISO text, parsed by numpy: cheaper than julianday() per row
            return type_coerce(Event.date, SAString)
        return literal_column("(events.date - DATE '1970-01-01')")
    attribute = {"count": "events", "owner": "owner_org_id"}.get(name, name)
    column: ColumnElement[Any] = getattr(Event, attribute)
    return column


def query(dialect: str, names: Sequence[str], where: Sequence[ColumnElement[bool]],
          only: Mapping[str, Sequence[str]] | None = None) -> Select[Any]:
    """The SELECT of `fetch` for this engine's SQL ("sqlite", "postgresql", or "duckdb" for
    the batches' view, warning.batches)."""
    chosen: list[ColumnElement[Any]] = []
    for n in names:
        column = _column(dialect, n)
        if n == "owner":  # only an AMBER+STRICT event's owner matters (tier_mask)
            column = case((Event.tlp == "amber+strict", column))
        elif only and n in only:
            column = case((Event.country.in_(only[n]), column))
        if dialect == "duckdb":
            if n in ("fatalities", "count", "owner", "id"):
                column = func.coalesce(column, 0)  # numpy's arrays of DuckDB have no None
            column = column.label(f"c_{n}")  # fetchnumpy() keys its arrays by name
        chosen.append(column)
    return select(*chosen).where(*where)


def fetch(session: Session, names: Sequence[str], where: Sequence[ColumnElement[bool]],
          only: Mapping[str, Sequence[str]] | None = None, *, scope: Scope | None,
          rows: Sequence[ColumnElement[bool]] = (),
          batch_ids: Collection[int] | None = None) -> Columns:
    """The named columns of the events matching `where`, of the rows of `events` and of the
    batches (warning.batches) alike, that `scope` shows (None, said explicitly: every event,
    for the columnar copy of warning.store); `only`: some columns read for these countries
    only (only_in). `rows`: more conditions for the rows of `events` only; `batch_ids`: the
    batches to read (None: all the scope shows)."""
    dialect = session.get_bind().dialect
    clauses = [*([scope.events] if scope is not None else []), *where, *rows]
    compiled = query(dialect.name, names, clauses, only).compile(
        dialect=dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(compiled.params[k] for k in compiled.positiontup or ())
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        found = cursor.fetchall()
    finally:
        cursor.close()
    n = len(found)
    data: dict[str, Sequence[Any]] = dict(zip(names, zip(*found, strict=True), strict=True)) \
        if found else {k: () for k in names}
    del found
    if n and "day" in data and isinstance(data["day"][0], str):
        data["day"] = np.array(data["day"], dtype="datetime64[D]").astype(np.int64)  # type: ignore[assignment]
    mine = build(data, n)
    if batch_ids is not None and not batch_ids:
        return mine
    view = batches.open_view(session, scope, ids=batch_ids)
    if view is None:
        return mine
    with view:
        arrays = view.run(query("duckdb", names, where, only)).fetchnumpy()
    theirs: dict[str, Sequence[Any]] = {}
    for name, array in zip(names, arrays.values(), strict=True):
        if isinstance(array, np.ma.MaskedArray):
            filled = np.asarray(array.data, dtype=object)
            filled[np.ma.getmaskarray(array)] = None
            array = filled
        theirs[name] = array
    count = len(next(iter(theirs.values()))) if theirs else 0
    if not count:
        return mine
    return concat(mine, build(theirs, count)) if n else build(theirs, count)


def first_day(session: Session, where: Sequence[ColumnElement[bool]],
              scope: Scope | None) -> date | None:
    """The first day of the events matching `where` that `scope` shows (rows and batches)."""
    found: date | None = session.scalar(select(func.min(Event.date)).where(
        *([scope.events] if scope is not None else []), *where))
    view = batches.open_view(session, scope)
    if view is not None:
        with view:
            theirs = view.run(select(func.min(Event.date)).where(*where)).fetchone()[0]
        if theirs is not None and (found is None or theirs < found):
            found = theirs
    return found
