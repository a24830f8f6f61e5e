"""The list index: the risk catalog's filter, sort and search-match columns held in memory for
one read generation, so that a list page or a search page costs set operations instead of SQL
scans.

Why by hand: a list page's SQL (count the filtered rows, order them, skip to the offset) reads
every matching row of the scope indexes on each request, and a search ranks every match of
its words (bm25 / ts_rank) on each request: 10-70 ms of database work for one page of 20,
however the statements are written. Analysts ask ever-different questions of the same 10,000
risks, so what the pages share is kept instead: per read generation, each filter column as
sets of ids, each sort order as a list of ids (read from the database, in its own collation),
and the ranked matches of the queries asked; per scope, the set of ids it allows (from the
policy's own SQL clause, `scope.risks`). No library offers such an index over SQLAlchemy
tables; it is a few dicts and lists.

It cannot go stale: everything is keyed by the read generation (riskatlas.generation; database
triggers move it on every change of any table a record is read from), read in the same
transaction as the data it is built from. What is per caller (the scope's ids, the residual
level as the caller sees it) is kept per scope clause, which sharing.policy.scope_for caches
per principal. The page's records are then read through records.risk_records, whose SQL
applies the scope again.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import false, func, not_, select
from sqlalchemy.orm import Session

from riskatlas import idlist
from riskatlas.catalog.matrix import Matrix
from riskatlas.catalog.models import Measure, Risk, RiskMeasure, RiskState
from riskatlas.catalog.scoring import EFFECTIVE_STATUSES, residual
from riskatlas.generation import READ_GENERATION
from riskatlas.search.service import fts_lengths
from riskatlas.sharing.policy import Scope

# The filter columns the index holds: a list filter's name -> the risks column.
COLUMNS = {"domain": Risk.domain, "category": Risk.category, "status": Risk.status,
           "level": Risk.level}
_KEPT_SCOPES = 256  # scopes (principals' views) kept per generation
_KEPT_QUERIES = 2048  # search queries whose ranked matches are kept per generation
_KEPT_MATCHES = 2_000_000  # ... and at most this many matches in all (~100 MB at worst)


@dataclass
class ListIndex:
    """The index of one read generation. Parts are built on first use, by whichever request
    needs them, from that request's session (same generation, so the same data)."""

    number: int
    keys: list[int]  # risk ids in key order (the database's)
    ids: dict[str, int]  # key -> risk id
    versions: dict[int, int]  # id -> the record's version
    position: dict[int, int]  # id -> place in key order (ties of other orders)
    stored_residual: dict[int, int]
    ratings: dict[int, tuple[int, int]]  # id -> inherent (likelihood, impact)
    sets: dict[str, dict[Any, set[int]]]  # filter -> value -> ids ("state" included)
    orders: dict[Any, list[int]] = field(default_factory=dict)
    visible: dict[Any, frozenset[int]] = field(default_factory=dict)
    # Per part of a scope's clause (sharing.policy.Scope.risk_parts, measure_parts): the ids it
    # allows, and for a measures part the ids it does not allow.
    allowed: dict[Any, frozenset[int]] = field(default_factory=dict)
    denied: dict[Any, frozenset[int]] = field(default_factory=dict)
    residual: dict[Any, tuple[dict[int, int], dict[int, set[int]]]] = field(
        default_factory=dict)
    matches: OrderedDict[tuple[str, str], tuple[list[int], frozenset[int]]] = field(
        default_factory=OrderedDict)
    matched: int = 0  # matches kept in all
    links: dict[int, list[tuple[Any, ...]]] = field(default_factory=dict)
    every_link: bool = False  # `links` holds every risk's (all_links)
    hidden: dict[Any, frozenset[int]] = field(default_factory=dict)
    # Accepted links to measures in effect: measure -> risks, risk -> (measure, effects).
    effective: tuple[dict[int, list[int]], dict[int, list[tuple[int, str, int, int]]]] | None = (
        None)
    heat: dict[Any, dict[tuple[int, int], int]] = field(default_factory=dict)
    lengths: dict[str, Any] = field(default_factory=dict)  # entity -> search.bm25.Lengths
    lock: threading.Lock = field(default_factory=threading.Lock)


def _build(session: Session, number: int) -> ListIndex:
    conn = session.connection()
    keys: list[int] = []
    ids: dict[str, int] = {}
    versions: dict[int, int] = {}
    stored: dict[int, int] = {}
    ratings: dict[int, tuple[int, int]] = {}
    sets: dict[str, dict[Any, set[int]]] = {name: {} for name in (*COLUMNS, "state")}
    columns = list(COLUMNS.values())
    for rid, key, version, stored_level, likelihood, impact, *values in conn.execute(
            select(Risk.id, Risk.key, Risk.version, Risk.residual_level, Risk.likelihood,
                   Risk.impact, *columns).order_by(Risk.key)):
        keys.append(rid)
        ids[key] = rid
        versions[rid] = version
        stored[rid] = stored_level
        ratings[rid] = (likelihood, impact)
        for name, value in zip(COLUMNS, values, strict=True):
            sets[name].setdefault(value, set()).add(rid)
    for rid, state in conn.execute(select(RiskState.risk_id, RiskState.state_code)):
        sets["state"].setdefault(state, set()).add(rid)
    return ListIndex(number, keys, ids, versions, {rid: n for n, rid in enumerate(keys)},
                     stored, ratings, sets)


class Listing:
    """The list index of the current read generation (one per server process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[int, ListIndex] = {}  # the newest two: a slow reader keeps its own

    def latest(self) -> ListIndex | None:
        """The index of the newest generation built so far (None before the first read)."""
        kept = self._kept
        return kept[max(kept)] if kept else None

    def at(self, session: Session, known: int | None = None) -> ListIndex:
        """The index of the session's read generation; `known`: a generation the caller read
        itself (web.deps.read's reads from memory), whose index is used if it is kept."""
        if known is not None and known in self._kept:
            return self._kept[known]
        number = int(session.connection().execute(READ_GENERATION).scalar() or 0)
        found = self._kept.get(number)
        if found is not None:
            return found
        with self._lock:  # one build per generation, not one per waiting request
            found = self._kept.get(number)
            if found is None:
                found = _build(session, number)
                newest = sorted(self._kept)[-1:]
                self._kept = {n: self._kept[n] for n in newest} | {number: found}
            return found


def visible(gen: ListIndex, session: Session, scope: Scope) -> frozenset[int]:
    """The ids of the risks the scope allows: the union of the ids each part of the policy's
    clause allows, each part run once per generation (the part an organisation's users share
    once for all of them)."""
    found = gen.visible.get(scope.risks)
    if found is None:
        found = _union([_ids(gen, gen.allowed, session, Risk.id, part)
                        for part in scope.risk_parts or (scope.risks,)])
        _keep(gen, gen.visible, scope.risks, found)
    return found


def _ids(gen: ListIndex, kept: dict[Any, frozenset[int]], session: Session, column: Any,
         clause: Any, negated: bool = False) -> frozenset[int]:
    """The ids of `column`'s rows that `clause` allows (or, `negated`, does not), kept by
    clause."""
    found = kept.get(clause)
    if found is None:
        where = not_(func.coalesce(clause, false())) if negated else clause
        found = frozenset(session.connection().execute(select(column).where(where)).scalars())
        _keep(gen, kept, clause, found)
    return found


def _keep(gen: ListIndex, kept: dict[Any, Any], key: Any, value: Any) -> None:
    with gen.lock:
        if len(kept) >= _KEPT_SCOPES:
            kept.clear()
        kept[key] = value


def _union(sets: list[frozenset[int]]) -> frozenset[int]:
    """The union, and the one set itself when the others are empty (most users hold no RED
    grant: their sets are then their organisation's, and what is kept per set is shared)."""
    full = [found for found in sets if found]
    if len(full) <= 1:
        return full[0] if full else frozenset()
    return frozenset().union(*full)


def residual_levels(gen: ListIndex, session: Session, matrix: Matrix, scope: Scope
                    ) -> tuple[dict[int, int], dict[int, set[int]]]:
    """The residual level as one scope sees it: (id -> level where it differs from the stored
    one, level -> ids at that level). It differs only for risks with an accepted link to a
    measure in effect that the scope hides: the rating then follows from the strongest effects
    among the measures in effect it does see (catalog.scoring.residual; queries._differing is
    the same rule in SQL, 100-400 ms a scope)."""
    hidden = hidden_measures(gen, session, scope)
    key = (hidden, matrix.name, matrix.grid)  # the same for scopes that hide the same
    found = gen.residual.get(key)
    if found is None:
        changed: dict[int, int] = {}
        if hidden:
            by_measure, by_risk = _effective(gen, session)
            for rid in {r for mid in hidden & by_measure.keys() for r in by_measure[mid]}:
                level = _seen_rating(gen, matrix, rid, by_risk, hidden)[2]
                if level != gen.stored_residual[rid]:
                    changed[rid] = level
        by_level: dict[int, set[int]] = {}
        for rid, level in gen.stored_residual.items():
            by_level.setdefault(changed.get(rid, level), set()).add(rid)
        found = (changed, by_level)
        _keep(gen, gen.residual, key, found)
    return found


def heat(gen: ListIndex, session: Session, matrix: Matrix, scope: Scope, residual_view: bool
         ) -> dict[tuple[int, int], int]:
    """The heat map's counts per (likelihood, impact) cell of the risks the scope allows: the
    inherent ratings, or the residual ones from the measures in effect the scope shows
    (queries.heat_map is the same in SQL)."""
    allowed, hidden = visible(gen, session, scope), hidden_measures(gen, session, scope)
    key = (allowed, hidden, matrix.name, matrix.grid, residual_view)
    found = gen.heat.get(key)
    if found is None:
        counts: dict[tuple[int, int], int] = {}
        if residual_view:
            by_risk = _effective(gen, session)[1]
        for rid in allowed:
            likelihood, impact = (_seen_rating(gen, matrix, rid, by_risk, hidden)[:2]
                                  if residual_view else gen.ratings[rid])
            counts[(likelihood, impact)] = counts.get((likelihood, impact), 0) + 1
        found = counts
        _keep(gen, gen.heat, key, found)
    return found


def _seen_rating(gen: ListIndex, matrix: Matrix, rid: int,
                 by_risk: dict[int, list[tuple[int, str, int, int]]], hidden: frozenset[int]
                 ) -> tuple[int, int, int]:
    """A risk's residual (likelihood, impact, level) from the measures in effect that the
    scope does not hide (catalog.scoring.residual, the rule of every other reader)."""
    likelihood, impact = gen.ratings[rid]
    return residual(matrix, likelihood, impact, [
        (status, el, ei) for mid, status, el, ei in by_risk.get(rid, ()) if mid not in hidden])


def prepare(gen: ListIndex, session: Session) -> None:
    """Build now the caller-independent parts that pages build on first use: every risk's
    links, the measures in effect, and the full-text index's document lengths."""
    all_links(gen, session)
    _effective(gen, session)
    search_lengths(gen, session, "risk")


def _effective(gen: ListIndex, session: Session
               ) -> tuple[dict[int, list[int]], dict[int, list[tuple[int, str, int, int]]]]:
    found = gen.effective
    if found is None:
        by_measure: dict[int, list[int]] = {}
        by_risk: dict[int, list[tuple[int, str, int, int]]] = {}
        for rid, mid, status, el, ei in session.connection().execute(
                select(RiskMeasure.risk_id, RiskMeasure.measure_id, Measure.status,
                       Measure.effect_likelihood, Measure.effect_impact).join(Measure)
                .where(RiskMeasure.status == "accepted",
                       Measure.status.in_(sorted(EFFECTIVE_STATUSES)))):
            by_measure.setdefault(mid, []).append(rid)
            by_risk.setdefault(rid, []).append((mid, status, el, ei))
        found = gen.effective = (by_measure, by_risk)
    return found


@dataclass(frozen=True)
class Chosen:
    """Risk ids chosen from the ids a scope allows (`visible`), for records.risk_records: the
    clause they were checked against travels with them, and the reader refuses them for any
    other scope."""

    ids: list[int]
    clause: Any
    generation: int  # the read generation they were chosen in (this transaction's)


def hidden_measures(gen: ListIndex, session: Session, scope: Scope) -> frozenset[int]:
    """The ids of the measures the scope does not allow (the policy's clause, negated), once
    per generation: few for most readers, none for the complete scope. Those the first part
    of the clause (the organisation's) hides, less those the other parts allow."""
    found = gen.hidden.get(scope.measures)
    if found is None:
        if scope.complete:
            found = frozenset()
        else:
            first, *rest = scope.measure_parts or (scope.measures,)
            found = _ids(gen, gen.denied, session, Measure.id, first, negated=True)
            shown = _union([_ids(gen, gen.allowed, session, Measure.id, part) for part in rest])
            if not found.isdisjoint(shown):
                found = found - shown
        _keep(gen, gen.hidden, scope.measures, found)
    return found


def _links_of(ids: Any) -> Any:
    return (select(RiskMeasure.risk_id, Measure.id, Measure.key, RiskMeasure.status,
                   Measure.status, Measure.effect_likelihood, Measure.effect_impact)
            .join(Measure).where(idlist.within(RiskMeasure.risk_id, len(ids)))
            .order_by(Measure.key))


def visible_links(gen: ListIndex, session: Session, scope: Scope, ids: list[int]
                  ) -> dict[int, list[tuple[Any, ...]]]:
    """Each risk's links to the measures the scope allows, as records.risk_records reads them
    (measure key, link status, measure status, effects; by measure key). Every link of a risk
    is kept for the generation whoever asks; the scope's hidden measures are taken out per
    answer."""
    missing = [rid for rid in ids if rid not in gen.links]
    if missing:
        found: dict[int, list[tuple[Any, ...]]] = {rid: [] for rid in missing}
        size = idlist.size_class(len(missing))
        for rid, *link in session.connection().execute(_prebuilt_links(size),
                                                         idlist.values(missing)):
            found[rid].append(tuple(link))
        gen.links.update(found)
    hidden = hidden_measures(gen, session, scope)
    return {rid: [link[1:] for link in gen.links[rid] if link[0] not in hidden]
            for rid in ids}


def all_links(gen: ListIndex, session: Session) -> None:
    """Keep every risk's links for the generation, read in one statement (for a bulk fill of
    the records' parts: page by page, a large id list is planned as a scan per id)."""
    if gen.every_link:
        return
    found: dict[int, list[tuple[Any, ...]]] = {rid: [] for rid in gen.keys}
    for rid, *link in session.connection().execute(
            select(RiskMeasure.risk_id, Measure.id, Measure.key, RiskMeasure.status,
                   Measure.status, Measure.effect_likelihood, Measure.effect_impact)
            .join(Measure).order_by(Measure.key)):
        found.setdefault(rid, []).append(tuple(link))
    gen.links.update(found)
    gen.every_link = True


@lru_cache(maxsize=64)
def _prebuilt_links(size: int) -> Any:
    return _links_of(idlist.slots(size))


def union(groups: dict[Any, set[int]], values: Iterable[Any]) -> set[int]:
    out: set[int] = set()
    for value in values:
        out |= groups.get(value, set())
    return out


def order(gen: ListIndex, session: Session, name: str, descending: bool) -> list[int]:
    """Risk ids in the order of a stored column, ties by key, as the database sorts them."""
    label = f"-{name}" if descending else name
    found = gen.orders.get(label)
    if found is None:
        column = getattr(Risk, name)
        found = list(session.connection().execute(select(Risk.id).order_by(
            column.desc() if descending else column.asc(), Risk.key)).scalars())
        gen.orders[label] = found
    return found


def residual_order(gen: ListIndex, session: Session, matrix: Matrix, scope: Scope,
                   descending: bool) -> list[int]:
    """Risk ids by the residual level the scope sees, ties by key: the stored column's order,
    with the few risks whose level differs for this scope (residual_levels) taken out and put
    back at their place (a full sort per scope cost ~15 ms of Python)."""
    base = order(gen, session, "residual_level", descending)
    levels = residual_levels(gen, session, matrix, scope)[0]
    if not levels:
        return base
    label = ("residual", hidden_measures(gen, session, scope), matrix.name, matrix.grid,
             descending)
    found = gen.orders.get(label)
    if found is None:
        stored, position, sign = gen.stored_residual, gen.position, -1 if descending else 1
        found = [rid for rid in base if rid not in levels]

        def place(rid: int) -> tuple[int, int]:
            return sign * levels.get(rid, stored[rid]), position[rid]

        for rid in levels:
            found.insert(bisect.bisect_left(found, place(rid), key=place), rid)
        gen.orders[label] = found
    return found


def ranked(gen: ListIndex, entity: str, q: str,
           fetch: Callable[[], list[tuple[int, float]]]) -> tuple[list[int], frozenset[int]]:
    """Every match of the query `q`, best first, ties by key, and the same ids as a set, kept
    for the generation. `fetch()` gives the (id, rank) matches best first, equal ranks in any
    order (search.service.all_matches)."""
    found = gen.matches.get((entity, q))
    if found is not None:
        gen.matches.move_to_end((entity, q))
        return found
    last, position = len(gen.keys), gen.position
    ids: list[int] = []
    # The engine sorted by rank; runs of equal ranks are put in key order here (PostgreSQL's
    # ts_rank ties thousands of a common word's matches). By the bound look-up, not a Python
    # key function: ~8,000 calls of a lambda for one word cost more than its SQL.
    for _, run in groupby(fetch(), key=itemgetter(1)):
        tied = [rid for rid, _ in run]
        if len(tied) > 1:
            try:
                tied.sort(key=position.__getitem__)
            except KeyError:  # ids the index does not hold (not expected): last, by id
                tied.sort(key=lambda rid: (position.get(rid, last), rid))
        ids += tied
    found = (ids, frozenset(ids))
    with gen.lock:
        while gen.matches and (len(gen.matches) >= _KEPT_QUERIES
                               or gen.matched + len(ids) > _KEPT_MATCHES):
            gen.matched -= len(gen.matches.popitem(last=False)[1][0])
        gen.matches[(entity, q)] = found
        gen.matched += len(ids)
    return found


def search_lengths(gen: ListIndex, session: Session, entity: str) -> Any:
    """The full-text index's document lengths for one generation (SQLite: what ranking a
    search by hand needs, search.service.fts_lengths; None on PostgreSQL)."""
    if entity not in gen.lengths:
        gen.lengths[entity] = fts_lengths(session, entity)
    return gen.lengths[entity]


def page(ordered: Iterable[int], chosen: frozenset[int] | set[int], offset: int,
         limit: int | None) -> list[int]:
    """The ids of `ordered` that are in `chosen`, from `offset`, at most `limit` of them."""
    out: list[int] = []
    if limit is not None and limit <= 0:
        return out
    skip = offset
    for rid in ordered:
        if rid in chosen:
            if skip:
                skip -= 1
                continue
            out.append(rid)
            if limit is not None and len(out) >= limit:
                break
    return out
