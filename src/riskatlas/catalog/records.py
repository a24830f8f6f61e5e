"""The read model: catalog records in the export shape, built with a handful of set queries.

One query path feeds the CLI, the JSON API, HTML pages, CSV and (later) STIX and reports, and
every call takes a sharing Scope, so no reader can skip the policy.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, Text, bindparam, cast, select
from sqlalchemy.orm import Session

from riskatlas import idlist
from riskatlas.catalog import shapes
from riskatlas.catalog.listing import Chosen
from riskatlas.catalog.matrix import Matrix
from riskatlas.catalog.models import (
    Actor,
    Assessment,
    Measure,
    MeasureState,
    Risk,
    RiskActor,
    RiskMeasure,
    RiskState,
    Source,
)
from riskatlas.catalog.scoring import regional, residual
from riskatlas.generation import READ_GENERATION
from riskatlas.parties.models import Organisation, User
from riskatlas.sharing.models import RecordShare, SharingGroup
from riskatlas.sharing.policy import Scope

Record = dict[str, Any]
AnySelect = Select[*tuple[Any, ...]]  # a select of any columns

# A page of records (or any selection up to this size) is selected by its ids, read once and
# inlined into the per-table queries: the filters and the sharing scope then run once instead
# of once per table (8 times). Larger selections (an export) keep the id subquery, which stays
# within the drivers' limits on bound parameters.
INLINE_IDS = 1000


def _selection(session: Session, ids: AnySelect, limit: int | None) -> Any:
    """What `column.in_()` needs to select the records of `ids` (ordered, offset, no limit):
    the list of ids when there are at most INLINE_IDS of them, else a subquery."""
    # On the session's connection: plain ids need no ORM layer (a third of the cost of a read).
    conn = session.connection()
    if limit is not None and limit <= INLINE_IDS:
        return list(conn.execute(ids.limit(limit)).scalars())
    found = list(conn.execute(ids.limit(INLINE_IDS + 1)).scalars())
    if len(found) <= INLINE_IDS:
        return found
    subquery = (ids if limit is None else ids.limit(limit)).subquery()
    return select(subquery.c.id)


def _by_key(session: Session, allowed: ColumnElement[bool], model: Any, key: str) -> list[int]:
    """The id of the record `key` when the scope allows it (a detail page), else []."""
    stmt = _key_lookup(allowed, model)
    return list(session.connection().execute(stmt, {"key": key.upper()}).scalars())


@lru_cache(maxsize=1024)
def _key_lookup(allowed: ColumnElement[bool], model: Any) -> AnySelect:
    return select(model.id).where(allowed, model.key == bindparam("key"))


# Statements are built once per selection kind, not once per call: for a page or a single
# record, building and hashing a statement costs several times more than SQLite running it
# (~0.4 ms against ~0.05 ms). A list of ids runs the form prebuilt for its size class
# (riskatlas.idlist: plain parameters, no per-execution rendering) on the session's connection
# (no ORM layer is needed for plain columns); an export's subquery builds its own.


def _within(column: Any, ids: Any) -> ColumnElement[bool]:
    """`column IN ids`: a tuple of idlist parameters, or an id subquery."""
    return idlist.within(column, len(ids)) if isinstance(ids, tuple) else column.in_(ids)


class _Reader:
    """Runs the statements of one record read against a list of ids or an id subquery."""

    def __init__(self, session: Session, ids: Any) -> None:
        self.session = session
        self.ids = ids
        self.inline = isinstance(ids, list)

    def rows(self, build: Callable[[Any], AnySelect]) -> Sequence[Any]:
        # On the session's connection, not session.execute: plain columns need no ORM result
        # layer, which cost a quarter of an export's read.
        conn = self.session.connection()
        if self.inline:
            return conn.execute(_prebuilt(build, idlist.size_class(len(self.ids))),
                                idlist.values(self.ids)).all()
        return conn.execute(build(self.ids)).all()

    def grouped(self, build: Callable[[Any], AnySelect]) -> dict[int, list[Any]]:
        out: dict[int, list[Any]] = defaultdict(list)
        for row in self.rows(build):
            out[row[0]].append(row[1] if len(row) == 2 else row[1:])
        return out


@lru_cache(maxsize=4096)
def _prebuilt(build: Callable[[Any], AnySelect], size: int) -> AnySelect:
    return build(idlist.slots(size))


@lru_cache(maxsize=512)
def _linked(scope_clause: ColumnElement[bool], entity: str) -> Callable[[Any], AnySelect]:
    """The builder of a record's visible links (other side's key and link status) under one
    scope (scopes are cached per principal by sharing.policy.scope_for, so the same builder
    serves every call)."""
    if entity == "risk":  # with what the residual rating needs of each measure
        return lambda ids: (select(RiskMeasure.risk_id, Measure.key, RiskMeasure.status,
                                   Measure.status, Measure.effect_likelihood,
                                   Measure.effect_impact)
                            .join(Measure)
                            .where(_within(RiskMeasure.risk_id, ids), scope_clause)
                            .order_by(Measure.key))
    return lambda ids: (select(RiskMeasure.measure_id, Risk.key, RiskMeasure.status).join(Risk)
                        .where(_within(RiskMeasure.measure_id, ids), scope_clause)
                        .order_by(RiskMeasure.position, Risk.key))


def _with(links: list[Any], *statuses: str) -> list[str]:
    return [link[0] for link in links if link[1] in statuses]


def link_list(links: list[Any], other: str) -> list[Record]:
    """A record's links as shown: the other record's key and the link's status."""
    return [{other: link[0], "status": link[1]} for link in links]


def _residual(matrix: Matrix, likelihood: int, impact: int, links: list[Any]) -> int:
    """The residual level from the accepted links the reader can see (docs/sharing.md: derived
    values follow only from what the caller may see), not from the stored column."""
    return residual(matrix, likelihood, impact,
                    [(m_status, el, ei) for _, status, m_status, el, ei in links
                     if status == "accepted"])[2]


def _sources(reader: _Reader, entity: str) -> dict[int, list[Record]]:
    out: dict[int, list[Record]] = defaultdict(list)
    for owner, title, url, published, publisher in reader.rows(_SOURCES[entity]):
        out[owner].append(
            {"title": title, "url": url, "published": published, "publisher": publisher}
        )
    return out


def _source_query(column: Any) -> Callable[[Any], AnySelect]:
    return lambda ids: (select(column, Source.title, Source.url, Source.published,
                               Source.publisher)
                        .where(_within(column, ids)).order_by(column, Source.position))


_SOURCES = {"risk": _source_query(Source.risk_id), "measure": _source_query(Source.measure_id)}


def _share_query(entity: str) -> Callable[[Any], AnySelect]:
    return lambda ids: (
        select(RecordShare.record_id, SharingGroup.key, Organisation.key, User.username)
        .outerjoin(SharingGroup, SharingGroup.id == RecordShare.group_id)
        .outerjoin(Organisation, Organisation.id == RecordShare.org_id)
        .outerjoin(User, User.id == RecordShare.user_id)
        .where(RecordShare.entity == entity, _within(RecordShare.record_id, ids))
        .order_by(RecordShare.id))


_SHARES = {"risk": _share_query("risk"), "measure": _share_query("measure")}


def _shares(reader: _Reader, entity: str) -> dict[int, Record]:
    out: dict[int, Record] = {}
    for record_id, group, org, user in reader.rows(_SHARES[entity]):
        grants = out.setdefault(record_id, empty_sharing())
        for name, value in (("groups", group), ("orgs", org), ("users", user)):
            if value is not None:
                grants[name].append(value)
    return out


def empty_sharing() -> Record:
    return {"groups": [], "orgs": [], "users": []}


def _in_order(rows: Sequence[Any], ids: list[int]) -> Sequence[Any]:
    """Rows of a prebuilt read (unordered) in the order of the selected ids."""
    position = {rid: n for n, rid in enumerate(ids)}
    return sorted(rows, key=lambda row: position[row[0]])


def _json(column: Any, raw: bool) -> Any:
    """A JSON column: decoded, or (raw) the stored JSON text, for orjson.Fragment."""
    return cast(column, Text) if raw else column


def _fragment(text: str | None) -> Any:
    return None if text is None else orjson.Fragment(text)


def _same(value: Any) -> Any:
    return value


def _risk_rows(order: Sequence[Any], raw: bool = False) -> Callable[[Any], AnySelect]:
    def build(ids: Any) -> AnySelect:
        # Columns, not ORM entities: building 10,000 Risk objects to read them costs seconds.
        # The id and the raw ratings (for the residual rating), then the shape's columns.
        columns, joins = shapes.RISK.select_columns(lambda c: _json(c, raw))
        stmt = select(Risk.id, Risk.likelihood.label("raw_likelihood"),
                      Risk.impact.label("raw_impact"), *columns)
        for target, on in joins:
            stmt = stmt.join(target, on)
        return stmt.where(_within(Risk.id, ids)).order_by(*order)
    return build


_RISK_ROWS = _risk_rows(())
_RISK_ROWS_RAW = _risk_rows((), raw=True)


def _risk_states(ids: Any) -> AnySelect:
    return (select(RiskState.risk_id, RiskState.state_code)
            .where(_within(RiskState.risk_id, ids)).order_by(RiskState.position))


def _risk_actors(ids: Any) -> AnySelect:
    return (select(RiskActor.risk_id, Actor.key).join(Actor)
            .where(_within(RiskActor.risk_id, ids)).order_by(RiskActor.position))


def _assessments(ids: Any, raw: bool = False) -> AnySelect:
    return (select(Assessment.risk_id, Assessment.state_code, Assessment.likelihood,
                   Assessment.impact, _json(Assessment.rationale, raw), Assessment.version)
            .where(_within(Assessment.risk_id, ids)).order_by(Assessment.state_code))


def _assessments_raw(ids: Any) -> AnySelect:
    return _assessments(ids, raw=True)


def risk_records(
    session: Session,
    matrix: Matrix,
    scope: Scope,
    where: Sequence[ColumnElement[bool]] = (),
    order: Sequence[Any] = (Risk.key,),
    limit: int | None = None,
    offset: int = 0,
    aggregation: str = "max",
    key: str | None = None,
    raw_json: bool = False,
    pieces: Pieces | None = None,
    chosen: Chosen | None = None,
    visible_links: Callable[[list[int]], dict[int, list[Any]]] | None = None,
    callers: bool = True,
) -> list[Any]:
    """Risks the scope allows, matching `where` (or the one `key`, or those `chosen` from the
    scope's ids by the list index, in their order), in the export shape.

    `regional` combines the members' national assessments by the aggregation rule. With
    `raw_json` the multilingual texts are orjson.Fragment objects holding the stored JSON
    (only orjson can write them; an export skips decoding and encoding them again). With
    `pieces`, each record of a page is one orjson.Fragment, its caller-independent part
    reused from `pieces` (see Pieces), and `visible_links(ids)` may give the visible links (the list
    index's) instead of a query. `callers=False` leaves the caller's links out (CALLER_FIELDS
    as if no measure were linked), for parts that drop them.
    """
    if chosen is not None:
        if chosen.clause is not scope.risks:
            raise ValueError("risk ids chosen under another scope")
        in_ids: Any = chosen.ids
    elif key is not None:
        in_ids = _by_key(session, scope.risks, Risk, key)
    else:
        in_ids = _selection(session, select(Risk.id).where(scope.risks, *where)
                            .order_by(*order).offset(offset), limit)
    if isinstance(in_ids, list) and not in_ids:
        return []
    if pieces is not None and isinstance(in_ids, list):
        return _from_pieces(session, matrix, scope, in_ids, aggregation, pieces,
                            visible_links, None if chosen is None else chosen.generation)
    read = _Reader(session, in_ids)
    if read.inline:
        rows = _in_order(read.rows(_RISK_ROWS_RAW if raw_json else _RISK_ROWS), in_ids)
    else:
        rows = read.rows(_risk_rows(order, raw_json))
    text = _fragment if raw_json else _same
    states = read.grouped(_risk_states)
    actors = read.grouped(_risk_actors)
    # The caller's links (and so their residual level) are left out of reused parts.
    measures = read.grouped(_linked(scope.measures, "risk")) if callers else {}
    assessments = read.grouped(_assessments_raw if raw_json else _assessments)
    sources = _sources(read, "risk")
    shares = _shares(read, "risk")
    out = []
    for rid, likelihood, impact, *values in rows:
        national = assessments.get(rid, [])
        combined = regional(matrix, [(lik, imp) for _, lik, imp, _, _ in national], aggregation)
        links = measures.get(rid, [])
        out.append(shapes.RISK.record(iter(values), matrix, text, {
            "states": states.get(rid, []),
            "actors": actors.get(rid, []),
            "residual_level": matrix.label("level", _residual(matrix, likelihood, impact,
                                                              links)),
            "sources": sources.get(rid, []),
            "assessments": [
                {"state": s, "likelihood": matrix.label("likelihood", lik),
                 "impact": matrix.label("impact", imp), "rationale": text(why), "version": v}
                for s, lik, imp, why, v in national
            ],
            "regional": None if combined is None else {
                "likelihood": matrix.label("likelihood", combined[0]),
                "impact": matrix.label("impact", combined[1]),
                "level": matrix.label("level", combined[2]), "rule": aggregation},
            "sharing": shares.get(rid) or empty_sharing(),
            # Accepted links count in the residual rating; the risk's owner decided them.
            "measures": _with(links, "accepted"),
            "rejected_measures": _with(links, "rejected"),
            "links": link_list(links, "measure"),
        }))
    return out


# What of a risk's answer depends on who asks: everything else is the same for every reader.
CALLER_FIELDS = ("residual_level", "measures", "rejected_measures", "links")


class Pieces:
    """Reused parts of risk answers: per risk, its JSON without CALLER_FIELDS, and its inherent
    ratings (from which the caller's residual level follows), valid for one read generation.

    Why: a page of fresh records costs seven statements and a few thousand Python objects, and
    analysts' pages differ (other filters, other words, other offsets) but keep showing the
    same 10,000 risks. Kept per read generation (riskatlas.generation: database triggers move
    it on every change of any table a record is read from), read in the same transaction as
    the records, so a reused part is never older than the data beside it. What depends on the
    caller (visible links, the residual level from them) is read afresh for every answer.

    Pages fill the parts they show; `fill` builds every part a scope may see in bulk (one
    statement per table, ~0.1 ms a risk instead of ~0.25 ms page by page), which the API runs
    after answering, in a thread of its own (catalog.queries.warm_risks), so that later pages
    of any order, filter or search find their records built.
    """

    def __init__(self, max_records: int) -> None:
        self.max_records = max_records
        self.generation = -1
        self.parts: dict[int, tuple[bytes, int, int]] = {}
        self._claimed: set[Any] = set()  # scope clauses whose bulk fill has begun
        self._busy_since: float | None = None  # when the running fill began
        self._lock = threading.Lock()

    def at(self, generation: int) -> dict[int, tuple[bytes, int, int]]:
        if generation != self.generation:
            with self._lock:
                if generation != self.generation:
                    self.generation, self.parts, self._claimed = generation, {}, set()
        return self.parts

    def begin(self, clause: Any) -> bool:
        """Whether the caller should now fill this scope's parts (catalog.queries.warm_risks,
        then `end`): once per generation and scope clause, one fill at a time (fills running
        side by side would each build what the others are building), and not when the parts
        would not fit. A fill that never ended (its task lost) stops counting after a minute."""
        with self._lock:
            now = time.monotonic()
            if (clause in self._claimed or len(self.parts) >= self.max_records
                    or (self._busy_since is not None and now - self._busy_since < 60)):
                return False
            self._claimed.add(clause)
            self._busy_since = now
            return True

    def end(self) -> None:
        with self._lock:
            self._busy_since = None

    def keep(self, generation: int, built: dict[int, tuple[bytes, int, int]]) -> None:
        """Add parts built in `generation`; nothing if the parts have moved on to another."""
        with self._lock:
            if generation != self.generation:
                return
            if len(self.parts) + len(built) > self.max_records:
                # full: start again (the old map's readers keep theirs)
                self.parts = {}
                self._claimed = set()
            self.parts.update(built)


def _part(matrix: Matrix, record: Record) -> tuple[bytes, int, int]:
    for name in CALLER_FIELDS:
        del record[name]
    return (orjson.dumps(record), matrix.parse("likelihood", record["likelihood"]),
            matrix.parse("impact", record["impact"]))


def fill(session: Session, matrix: Matrix, scope: Scope, wanted: set[int] | frozenset[int],
         aggregation: str, pieces: Pieces, generation: int, by_key: dict[str, int]) -> int:
    """Build in bulk the parts of the risks in `wanted` (ids the scope allows, chosen in this
    transaction's read `generation`, whose key -> id map is `by_key`) and keep them; the
    number built."""
    if not wanted:
        return 0
    built = {by_key[record["key"]]: _part(matrix, record)
             for record in risk_records(session, matrix, scope, aggregation=aggregation,
                                        raw_json=True, callers=False)
             if by_key[record["key"]] in wanted}
    pieces.keep(generation, built)
    return len(built)


def _from_pieces(session: Session, matrix: Matrix, scope: Scope, ids: list[int],
                 aggregation: str, pieces: Pieces,
                 visible_links: Callable[[list[int]], dict[int, list[Any]]] | None = None,
                 generation: int | None = None) -> list[Any]:
    """`generation`: the read generation of this transaction, when the caller read it."""
    if generation is None:
        generation = int(session.connection().execute(READ_GENERATION).scalar() or 0)
    parts = pieces.at(generation)
    # This page's parts, taken at once: another request (a search runs in the thread pool) may
    # replace the shared map meanwhile, and this page must not lose what it found.
    page = {rid: parts[rid] for rid in ids if rid in parts}
    missing = [rid for rid in ids if rid not in page]
    if missing:
        built = risk_records(session, matrix, scope, [Risk.id.in_(missing)], (Risk.key,),
                             aggregation=aggregation, raw_json=True, callers=False)
        by_key: dict[str, int] = {key: rid for key, rid in session.connection().execute(
            select(Risk.key, Risk.id).where(Risk.id.in_(missing)))}
        made = {by_key[record["key"]]: _part(matrix, record) for record in built}
        page.update(made)
        pieces.keep(generation, made)
    links = (visible_links(ids) if visible_links is not None
             else _Reader(session, ids).grouped(_linked(scope.measures, "risk")))
    out = []
    for rid in ids:
        authored, likelihood, impact = page[rid]
        mine = links.get(rid, [])
        tail = orjson.dumps({
            "residual_level": matrix.label("level", _residual(matrix, likelihood, impact, mine)),
            "measures": _with(mine, "accepted"), "rejected_measures": _with(mine, "rejected"),
            "links": link_list(mine, "measure")})
        out.append(orjson.Fragment(authored[:-1] + b"," + tail[1:]))
    return out


def _measure_rows(order: Sequence[Any], raw: bool = False) -> Callable[[Any], AnySelect]:
    def build(ids: Any) -> AnySelect:
        columns, joins = shapes.MEASURE.select_columns(lambda c: _json(c, raw))
        stmt = select(Measure.id, *columns)
        for target, on in joins:
            stmt = stmt.join(target, on)
        return stmt.where(_within(Measure.id, ids)).order_by(*order)
    return build


_MEASURE_ROWS = _measure_rows(())
_MEASURE_ROWS_RAW = _measure_rows((), raw=True)


def _measure_states(ids: Any) -> AnySelect:
    return (select(MeasureState.measure_id, MeasureState.state_code)
            .where(_within(MeasureState.measure_id, ids)).order_by(MeasureState.position))


def measure_records(
    session: Session,
    scope: Scope,
    where: Sequence[ColumnElement[bool]] = (),
    order: Sequence[Any] = (Measure.key,),
    limit: int | None = None,
    offset: int = 0,
    key: str | None = None,
    raw_json: bool = False,
) -> list[Record]:
    """Measures the scope allows, matching `where` (or the one `key`), in the export shape
    (`raw_json` as in risk_records)."""
    in_ids = _by_key(session, scope.measures, Measure, key) if key is not None else _selection(
        session, select(Measure.id).where(scope.measures, *where).order_by(*order)
        .offset(offset), limit)
    if isinstance(in_ids, list) and not in_ids:
        return []
    read = _Reader(session, in_ids)
    if read.inline:
        rows = _in_order(read.rows(_MEASURE_ROWS_RAW if raw_json else _MEASURE_ROWS), in_ids)
    else:
        rows = read.rows(_measure_rows(order, raw_json))
    text = _fragment if raw_json else _same
    states = read.grouped(_measure_states)
    risks = read.grouped(_linked(scope.risks, "measure"))
    sources = _sources(read, "measure")
    shares = _shares(read, "measure")
    out = []
    for mid, *values in rows:
        links = risks.get(mid, [])
        out.append(shapes.MEASURE.record(iter(values), None, text, {
            "states": states.get(mid, []),
            # What the measure claims to treat: every link its risk's owner has not rejected.
            "risks": _with(links, "pending", "accepted"),
            "links": link_list(links, "risk"),
            "sources": sources.get(mid, []),
            "sharing": shares.get(mid) or empty_sharing(),
        }))
    return out


def actor_records(session: Session) -> list[Record]:
    return [
        {"key": a.key, "name": a.name, "kind": a.kind}
        for a in session.scalars(select(Actor).order_by(Actor.key))
    ]


def export_document(
    session: Session, matrix: Matrix, scope: Scope, aggregation: str = "max",
    *, raw_json: bool = False,
) -> dict[str, list[Record]]:
    """The whole catalog the scope allows, as `riskatlas export` and /api/v1/export give it.
    `raw_json=True` for a document only orjson will write (see risk_records)."""
    # Millions of new dicts and lists, none of them in a reference cycle: the cyclic garbage
    # collector would only rescan them again and again (a quarter of the time on 40,000
    # records). Paused for the build, restored afterwards; reference counting still frees.
    paused = gc.isenabled()
    gc.disable()
    try:
        return {"risks": risk_records(session, matrix, scope, aggregation=aggregation,
                                      raw_json=raw_json),
                "measures": measure_records(session, scope, raw_json=raw_json),
                "actors": actor_records(session)}
    finally:
        if paused:
            gc.enable()
