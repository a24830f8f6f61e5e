"""What `warning run --changed` re-evaluates: the (indicator, geography) pairs with events
written since the last such run, from the earliest period those events fall in.

The watermark (models.WarningMark) is the newest event id and import time the last run saw:
an event is new when its id is larger (an import's new rows, a field report) or its import time
later (a row an import rewrote). Not seen: a deleted event, or the geography an edited event
moved from; a full `warning run` re-evaluates those.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import orjson
from sqlalchemy import ColumnElement, String, and_, func, or_, select, true, tuple_, type_coerce
from sqlalchemy.orm import Session

from riskatlas.db import utcnow
from riskatlas.sharing.policy import Scope
from riskatlas.warning import columns, engine
from riskatlas.warning.detectors import window_of
from riskatlas.warning.indicators import Indicator
from riskatlas.warning.models import Alert, Event, EventBatch, WarningMark
from riskatlas.warning.periods import PeriodKind, period_of
from riskatlas.warning.series import Geo


def mark_key(indicators: Sequence[Indicator], owner: str) -> str:
    spec = sorted((i.model_dump(mode="json") for i in indicators), key=lambda d: d["key"])
    return hashlib.sha256(orjson.dumps([owner, spec])).hexdigest()[:64]


@dataclass(frozen=True)
class Watermark:
    event_id: int
    imported_at: str | None


def newest(session: Session) -> Watermark:
    """The newest row id of `events` and the newest import time of its rows and of the
    batches now (the import time as text, as stored)."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    stamp = type_coerce(Event.imported_at, String) if sqlite else Event.imported_at
    # two statements: SQLite answers a lone max() from the index, two in one by a full scan
    # the id is of the rows of `events` only (their rule: a larger id is a new row); batches
    # are new by their import time (changed_batches)
    top = int(session.scalar(select(func.max(Event.id))) or 0)
    at = session.scalar(select(func.max(stamp)))
    batch_stamp = type_coerce(EventBatch.imported_at, String) if sqlite else \
        EventBatch.imported_at
    theirs = session.scalar(select(func.max(batch_stamp)))
    if theirs is not None and (at is None or theirs > at):
        at = theirs
    text = at if isinstance(at, str) or at is None else at.isoformat()
    return Watermark(top, text)


def _stamp(session: Session, value: str) -> Any:
    return value if session.get_bind().dialect.name == "sqlite" else datetime.fromisoformat(value)


def changed_clause(session: Session, old: Watermark, new: Watermark) -> ColumnElement[bool]:
    sqlite = session.get_bind().dialect.name == "sqlite"
    stamp = type_coerce(Event.imported_at, String) if sqlite else Event.imported_at
    clauses = [and_(Event.id > old.event_id, Event.id <= new.event_id)]
    if old.imported_at is not None and new.imported_at is not None:
        clauses.append(and_(stamp > _stamp(session, old.imported_at),
                            stamp <= _stamp(session, new.imported_at)))
    return or_(*clauses)


def changed_batches(session: Session, old: Watermark, new: Watermark) -> set[int]:
    """The batches (warning.batches) stored since `old`, up to `new`: by import time, as the
    rows an import rewrote."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    stamp = type_coerce(EventBatch.imported_at, String) if sqlite else EventBatch.imported_at
    if new.imported_at is None:
        return set()
    query = select(EventBatch.id).where(stamp <= _stamp(session, new.imported_at))
    if old.imported_at is not None:
        query = query.where(stamp > _stamp(session, old.imported_at))
    return set(session.scalars(query))


def read_mark(session: Session, key: str) -> Watermark | None:
    mark = session.get(WarningMark, key)
    return None if mark is None else Watermark(mark.event_id, mark.imported_at)


def write_mark(session: Session, key: str, seen: Watermark) -> None:
    mark = session.get(WarningMark, key)
    if mark is None:
        session.add(WarningMark(key=key, event_id=seen.event_id, imported_at=seen.imported_at,
                                ran_at=utcnow()))
    else:
        mark.event_id, mark.imported_at, mark.ran_at = seen.event_id, seen.imported_at, utcnow()


@functools.lru_cache(maxsize=256)
def _first_period(since: date, kind: PeriodKind) -> date:
    return period_of(since, kind).start


@dataclass
class Plan:
    """Per indicator: the geographies to re-evaluate and the first day evaluated."""

    only: dict[str, set[Geo]]
    since: dict[str, date]

    @property
    def empty(self) -> bool:
        return not any(self.only.values())

    def read_from(self, indicators: Sequence[Indicator]) -> date:
        """The first day the detectors' windows need: `window` periods before each since."""
        days = [period_of(self.since[i.key], i.period).shift(
                    -window_of(i.detector.name, i.detector.params)).start
                for i in indicators if self.only.get(i.key)]
        return min(days)

    def covers(self, indicator: str, geo: Geo, start: date, kind: PeriodKind) -> bool:
        """Whether the plan re-evaluates this cell (its alert may be updated or withdrawn)."""
        return geo in self.only.get(indicator, ()) and start >= _first_period(
            self.since[indicator], kind)

    def where_alerts(self) -> ColumnElement[bool]:
        return self.where(None, Alert.country, Alert.admin1)

    def where(self, keys: Sequence[str] | None = None, country: Any = Event.country,
              admin1: Any = Event.admin1) -> ColumnElement[bool]:
        """The events of the planned geographies of the indicators `keys` (all by default):
        pairs of country and admin1, or whole countries for country-level indicators and
        geographies without an admin1."""
        chosen = [g for k, geos in self.only.items() if keys is None or k in keys for g in geos]
        pairs = {g for g in chosen if g[1] is not None}
        countries = {g[0] for g in chosen if g[1] is None}
        parts = []
        if pairs:
            parts.append(tuple_(country, admin1).in_(sorted(pairs)))
        if countries:
            # country-level geographies and admin1-level ones without an admin1
            parts.append(country.in_(sorted(countries)))
        return or_(*parts) if parts else true()


    def mask(self, indicators: Sequence[Indicator], first: date, until: date,
             ) -> Callable[[columns.Columns], columns.Array]:
        """`where` for events held as columns: a mask of the events of the indicators'
        planned geographies dated from `first` to `until`."""
        chosen = [g for i in indicators for g in self.only.get(i.key, ())]
        pairs = {g for g in chosen if g[1] is not None}
        countries = {g[0] for g in chosen if g[1] is None}
        lo, hi = first.toordinal() - columns.EPOCH, until.toordinal() - columns.EPOCH

        def keep(cols: columns.Columns) -> columns.Array:
            day = cols["day"]
            at = np.flatnonzero((day >= lo) & (day <= hi))
            code = {v: k for k, v in enumerate(cols.values.get("country", []))}
            country = cols["country"].take(at)
            # look-up tables indexed by the codes: one gather per row, where np.isin sorted
            whole = np.zeros(len(code) + 1, bool)
            whole[[code[c] for c in countries if c in code]] = True
            ok = whole[country]
            if pairs:
                admin1 = {v: k for k, v in enumerate(cols.values.get("admin1", []))}
                width = len(admin1) + 1
                wanted = np.zeros((len(code) + 1) * width, bool)
                wanted[[code[c] * width + admin1[a] for c, a in pairs
                        if c in code and a in admin1]] = True
                ok |= wanted[country.astype(np.int64) * width + cols["admin1"].take(at)]
            out = np.zeros(cols.n, bool)
            out[at[ok]] = True
            return out

        return keep


def plan(session: Session, scope: Scope, indicators: Sequence[Indicator], old: Watermark,
         new: Watermark, until: date) -> Plan:
    """The pairs touched by the events written from `old` to `new` (of any audience: each
    tier is re-evaluated there), dated on or before `until`."""
    names = tuple(n for n in columns.needed(indicators) if n in
                  ("day", "country", "admin1", "event_type", "sub_type", "actor1", "actor2"))
    cols = columns.fetch(session, names, [Event.date <= until], scope=scope,
                         rows=[changed_clause(session, old, new)],
                         batch_ids=changed_batches(session, old, new))
    out = Plan({}, {})
    for indicator in indicators:
        hit = engine.matches(indicator, cols)
        if not hit.any():
            continue
        keys = engine.geo_keys(indicator, cols, hit)
        out.only[indicator.key] = {engine.geo_of(k, cols) for k in np.unique(keys)}
        first = int(cols["day"][hit].min())
        out.since[indicator.key] = date.fromordinal(first + columns.EPOCH)
    return out
