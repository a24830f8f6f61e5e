"""Catalog reads: filtered lists, single records, version history. All take a sharing Scope."""

from __future__ import annotations

import calendar
import contextlib
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, get_args

from sqlalchemy import ColumnElement, and_, bindparam, case, false, func, not_, select, union_all
from sqlalchemy.orm import Session

from riskatlas.catalog import listing as lst
from riskatlas.catalog import records as rec
from riskatlas.catalog.files import dump_yaml
from riskatlas.catalog.matrix import Matrix, MatrixError
from riskatlas.catalog.models import (
    Assessment,
    Measure,
    MeasureState,
    Risk,
    RiskMeasure,
    RiskState,
    Version,
)
from riskatlas.catalog.schemas import DOMAINS, Category, MeasureKind, MeasureStatus, RiskStatus
from riskatlas.catalog.scoring import EFFECTIVE_STATUSES, MAX_EFFECT, residual
from riskatlas.generation import READ_GENERATION
from riskatlas.parties.models import Organisation, State
from riskatlas.search.service import Indexed, all_matches, register, search
from riskatlas.sharing.policy import MEMBER_VIEW, Scope, scope_for

RANKED_CHUNK = 500  # search hits turned into records per query
# What search indexes of each kind of record (search imports no catalog model): the fields
# in document order, the title written twice, and what a Scope lets a caller see.
RISK_SEARCH = register(Indexed(
    "risk", Risk.__table__, ("title", "summary", "rationale", "drivers", "warning_signs"),
    lambda scope: scope.risks))
MEASURE_SEARCH = register(Indexed(
    "measure", Measure.__table__, ("title", "summary"), lambda scope: scope.measures))


RISK_SORTS = ("key", "level", "residual_level", "likelihood", "impact", "domain", "status",
              "updated_at")
MEASURE_SORTS = ("key", "status", "kind", "updated_at")
CATEGORIES: tuple[str, ...] = get_args(Category)
RISK_STATUSES: tuple[str, ...] = get_args(RiskStatus)
MEASURE_STATUSES: tuple[str, ...] = get_args(MeasureStatus)
MEASURE_KINDS: tuple[str, ...] = get_args(MeasureKind)


class NotFound(LookupError):
    pass


def _order(model: Any, allowed: tuple[str, ...], sort: str | None,
           columns: dict[str, Any] | None = None) -> list[Any]:
    """ORDER BY for `field` or `-field`; the key breaks ties so pages are stable. `columns`:
    expressions that stand for a field (the residual level as the caller sees it)."""
    if not sort:
        return [model.key]
    name = sort.removeprefix("-")
    if name not in allowed:
        raise ValueError(f"sort: expected one of {', '.join(allowed)} (prefix - to reverse), "
                         f"got {sort!r}")
    column = (columns or {}).get(name, getattr(model, name))
    return [column.desc() if sort.startswith("-") else column.asc(), model.key]


def residual_level(session: Session, matrix: Matrix, scope: Scope) -> ColumnElement[int]:
    """The residual level of a risk as SQL, from the accepted links the scope can see (the
    stored column counts every accepted measure: right only for the complete scope).

    The caller's residual differs from the stored one only for risks with a measure in effect
    that the caller cannot see: those few risks are found once per scope and read generation
    (`_differing`) and named by level, so the expression is the stored column with a handful
    of exceptions, `CASE WHEN id IN (...) THEN level ... ELSE residual_level END`. (Computing
    the rating in SQL for every row, with two correlated subqueries a row, made a residual
    filter or sort over 10,000 risks cost 200-700 ms.)"""
    if scope.complete:
        return Risk.residual_level.expression
    differing = _differing(session, matrix, scope)
    if not differing:
        return Risk.residual_level.expression
    return case(*[(Risk.id.in_(ids), level) for level, ids in sorted(differing.items())],
                else_=Risk.residual_level)


# (scope's measure clause, matrix name and grid) -> (read generation, {level: ids of risks
# whose residual level under that scope is that level and differs from the stored one}).
# Scopes are cached per principal (sharing.policy.scope_for): the clause names one view.
_DIFFERING: dict[tuple[Any, str, Any], tuple[int, dict[int, list[int]]]] = {}
_DIFFERING_KEPT = 256


def _differing(session: Session, matrix: Matrix, scope: Scope) -> dict[int, list[int]]:
    """{level: risk ids} where the residual level from what the scope sees is not the stored
    one. Valid for one read generation, read in the same transaction as the data, so a change
    of any table (triggers, generation.py) makes it be computed again."""
    generation = int(session.connection().execute(READ_GENERATION).scalar() or 0)
    key = (scope.measures, matrix.name, matrix.grid)
    kept = _DIFFERING.get(key)
    if kept is not None and kept[0] == generation:
        return kept[1]
    conn = session.connection()
    # Risks with a measure in effect that the scope hides: the hidden measures first (a CLEAR
    # measure is never hidden; the scope's columns are indexed), then their links. Starting
    # from the links instead read every linked measure's row: ten times slower.
    hidden_measures = select(Measure.id).where(
        Measure.tlp != "clear", Measure.status.in_(sorted(EFFECTIVE_STATUSES)),
        not_(func.coalesce(scope.measures, false())))
    hidden = list(conn.execute(
        select(RiskMeasure.risk_id).distinct()
        .where(RiskMeasure.status == "accepted",
               RiskMeasure.measure_id.in_(hidden_measures))).scalars())
    if not hidden:
        rows: list[Any] = []
    else:
        seen = _visible_effects(scope.measures, RiskMeasure.risk_id.in_(hidden))
        rows = list(conn.execute(
            select(Risk.id, Risk.likelihood, Risk.impact, Risk.residual_level, seen.c.el,
                   seen.c.ei)
            .join(seen, seen.c.risk_id == Risk.id, isouter=True)
            .where(Risk.id.in_(hidden))))
    found: dict[int, list[int]] = {}
    for rid, lik, imp, stored, el, ei in rows:
        level = matrix.level(max(1, lik - (el or 0)), max(1, imp - (ei or 0)))
        if level != stored:
            found.setdefault(level, []).append(rid)
    if len(_DIFFERING) >= _DIFFERING_KEPT:
        _DIFFERING.clear()
    _DIFFERING[key] = (generation, found)
    return found


class FilterError(Exception):
    """Filter values that name nothing (strict filters); `problems` as (filter, reason) pairs.

    Not a ValueError: callers that turn ValueError into a bare message (an unknown sort) would
    swallow the per-filter problems that the API reports.
    """

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in problems))
        self.problems = problems


def _norm(value: str) -> str:
    """Enum values as schemas read them: any case, spaces or hyphens ('In progress')."""
    return re.sub(r"[\s\-]+", "_", value.strip().lower())


def _unknown(name: str, values: list[str], allowed: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(name, f"expected one of {', '.join(allowed)}, got {value!r}")
            for value in values if _norm(value) not in allowed]


def _unknown_states(session: Session, values: list[str]) -> list[tuple[str, str]]:
    if not values:
        return []
    known = sorted(session.scalars(select(State.code)))
    return [("state", f"expected one of {', '.join(known)}, got {value!r}")
            for value in values if value.strip().upper() not in known]


def _levels(matrix: Matrix, values: list[str]) -> list[int]:
    levels = []
    for value in values:
        # Not strict: a level that names nothing matches nothing.
        with contextlib.suppress(MatrixError):
            levels.append(matrix.parse("level", value))
    return levels


@dataclass
class RiskFilters:
    domain: list[str] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    level: list[str] = field(default_factory=list)
    residual_level: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    # Strict (the CLI and the API): list_risks raises FilterError for a value that names
    # nothing. Otherwise (HTML pages, links typed by hand) such a value matches nothing.
    strict: bool = False

    def check(self, session: Session, matrix: Matrix) -> None:
        """Raise FilterError naming every unknown value and the values allowed."""
        problems = [*_unknown("domain", self.domain, DOMAINS),
                    *_unknown("category", self.category, CATEGORIES),
                    *_unknown("status", self.status, RISK_STATUSES)]
        for name, values in (("level", self.level), ("residual_level", self.residual_level)):
            for value in values:
                try:
                    matrix.parse("level", value)
                except MatrixError as exc:
                    problems.append((name, str(exc)))
        problems += _unknown_states(session, self.state)
        if problems:
            raise FilterError(problems)

    def values(self, matrix: Matrix) -> dict[str, list[Any]]:
        """The filters given, each with its values as stored (normalised enum values, level
        numbers, state codes); a value that names nothing is left out, so a filter given only
        such values matches nothing. Both the SQL (`where`) and the list index read these."""
        given: dict[str, list[Any]] = {"domain": [_norm(v) for v in self.domain],
                                       "category": [_norm(v) for v in self.category],
                                       "status": [_norm(v) for v in self.status],
                                       "level": _levels(matrix, self.level),
                                       "residual_level": _levels(matrix, self.residual_level),
                                       "state": [v.strip().upper() for v in self.state]}
        return {name: values for name, values in given.items() if getattr(self, name)}

    def where(self, matrix: Matrix, residual: ColumnElement[int] | None = None
              ) -> list[ColumnElement[bool]]:
        """`residual`: the residual level as the caller sees it (residual_level); the stored
        column by default."""
        out: list[ColumnElement[bool]] = []
        for name, values in self.values(matrix).items():
            if name == "state":
                # EXISTS rather than `id IN (…)`: SQLite then drives from the covering indexes
                # of risks (domain, key, scope and filter columns) instead of reading each risk
                # of the state by rowid, JSON overflow pages included (filtered count 19 -> 1
                # ms).
                out.append(select(RiskState.risk_id).where(
                    RiskState.risk_id == Risk.id, RiskState.state_code.in_(values)).exists())
            elif name == "residual_level" and residual is not None:
                out.append(residual.in_(values))
            else:
                out.append(getattr(Risk, name).in_(values))
        return out


@dataclass
class MeasureFilters:
    status: list[str] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # not a list filter: the links of a record
    strict: bool = False  # as in RiskFilters

    def check(self, session: Session) -> None:
        """Raise FilterError naming every unknown value and the values allowed."""
        problems = [*_unknown("status", self.status, MEASURE_STATUSES),
                    *_unknown("kind", self.kind, MEASURE_KINDS),
                    *_unknown_states(session, self.state)]
        if problems:
            raise FilterError(problems)

    def where(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.status:
            out.append(Measure.status.in_([_norm(s) for s in self.status]))
        if self.kind:
            out.append(Measure.kind.in_([_norm(k) for k in self.kind]))
        if self.keys:
            out.append(Measure.key.in_([k.strip().upper() for k in self.keys]))
        if self.state:  # EXISTS: see RiskFilters
            out.append(select(MeasureState.measure_id).where(
                MeasureState.measure_id == Measure.id,
                MeasureState.state_code.in_([s.strip().upper() for s in self.state])).exists())
        return out


def _ranked(
    model: Any, hits: list[tuple[int, float]],
    fetch: Callable[[list[ColumnElement[bool]], list[Any]], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Records of the search hits, in the hits' order, through the usual record builder."""
    ids = [rid for rid, _ in hits]
    out: list[dict[str, Any]] = []
    for i in range(0, len(ids), RANKED_CHUNK):
        part = ids[i : i + RANKED_CHUNK]
        position = case({rid: n for n, rid in enumerate(part)}, value=model.id)
        out += fetch([model.id.in_(part)], [position])
    return out


def list_risks(
    session: Session, matrix: Matrix, scope: Scope, filters: RiskFilters,
    limit: int | None = None, offset: int = 0, extra: list[ColumnElement[bool]] | None = None,
    q: str | None = None, aggregation: str = "max", sort: str | None = None,
    raw_json: bool = False, pieces: rec.Pieces | None = None,
    listing: lst.Listing | None = None, known: int | None = None,
) -> tuple[int, list[Any]]:
    """Total count and one page of the risks the scope allows and the filters select.

    With a search text `q` (not None and not blank), only matching risks count, best match
    first (see docs/search.md); without one, the page is ordered by `sort` (a field of
    RISK_SORTS, `-` in front for descending; default key). `raw_json`: texts as stored JSON,
    for answers only orjson writes (records.risk_records). `known`: the read generation the
    caller read, for a read from the list index's memory (web.deps.read).
    """
    if filters.strict:
        filters.check(session, matrix)
    if listing is not None and not extra:
        index = listing.at(session, known)
        total, ids = _from_index(session, matrix, scope, filters, limit, offset, q, sort,
                                 index)
        return total, _indexed_records(session, matrix, scope, index, ids, aggregation,
                                       pieces, raw_json)
    by_residual = bool(filters.residual_level) or (sort or "").lstrip("-") == "residual_level"
    residual = residual_level(session, matrix, scope) if by_residual else None
    where = filters.where(matrix, residual) + (extra or [])
    if q is not None and q.strip():
        found, hits = search(session, scope, q, RISK_SEARCH, limit, offset, where=where)
        return found, _ranked(Risk, hits, lambda w, order: rec.risk_records(
            session, matrix, scope, w, order, aggregation=aggregation, raw_json=raw_json,
            pieces=pieces))
    count = session.scalar(select(func.count()).select_from(Risk).where(scope.risks, *where))
    return int(count or 0), rec.risk_records(session, matrix, scope, where,
                                             _order(Risk, RISK_SORTS, sort,
                                                    {"residual_level": residual}
                                                    if residual is not None else None),
                                             limit=limit,
                                             offset=offset, aggregation=aggregation,
                                             raw_json=raw_json, pieces=pieces)


def _from_index(
    session: Session, matrix: Matrix, scope: Scope, filters: RiskFilters, limit: int | None,
    offset: int, q: str | None, sort: str | None, index: lst.ListIndex,
) -> tuple[int, list[int]]:
    """list_risks's total and page of ids from the list index (catalog.listing): the same
    filters, order, ranking and ties as the SQL of list_risks, as set operations."""
    chosen: frozenset[int] | set[int] = lst.visible(index, session, scope)
    for name, values in filters.values(matrix).items():
        groups = (lst.residual_levels(index, session, matrix, scope)[1]
                  if name == "residual_level" else index.sets[name])
        chosen = chosen & lst.union(groups, values)  # values naming nothing: nothing
    if q is not None and q.strip():
        ordered, matched = lst.ranked(index, "risk", q, lambda: all_matches(
            session, RISK_SEARCH, q, lambda: lst.search_lengths(index, session, "risk")))
        return len(matched & chosen), lst.page(ordered, chosen, offset, limit)
    if not sort:
        ordered = index.keys
    else:
        _order(Risk, RISK_SORTS, sort)  # the same error for a sort that names nothing
        name, descending = sort.removeprefix("-"), sort.startswith("-")
        if name == "residual_level":
            ordered = lst.residual_order(index, session, matrix, scope, descending)
        elif name == "key" and not descending:
            ordered = index.keys
        else:
            ordered = lst.order(index, session, name, descending)
    return len(chosen), lst.page(ordered, chosen, offset, limit)


def list_measures(
    session: Session, scope: Scope, filters: MeasureFilters,
    limit: int | None = None, offset: int = 0, extra: list[ColumnElement[bool]] | None = None,
    q: str | None = None, sort: str | None = None, raw_json: bool = False,
) -> tuple[int, list[dict[str, Any]]]:
    """As list_risks, for measures (sort fields: MEASURE_SORTS)."""
    if filters.strict:
        filters.check(session)
    where = filters.where() + (extra or [])
    if q is not None and q.strip():
        found, hits = search(session, scope, q, MEASURE_SEARCH, limit, offset,
                             where=where)
        return found, _ranked(Measure, hits, lambda w, order: rec.measure_records(
            session, scope, w, order, raw_json=raw_json))
    total = session.scalar(select(func.count()).select_from(Measure).where(scope.measures, *where))
    return int(total or 0), rec.measure_records(session, scope, where,
                                                _order(Measure, MEASURE_SORTS, sort),
                                                limit=limit, offset=offset, raw_json=raw_json)


# A scope's records are built in one bulk read of all it may see (records.fill, ~0.1 ms a risk)
# when at least this many lack a reused part; fewer (another organisation's scope: the records
# only it sees) are built in pages of ids (~0.25 ms a risk, but only those).
WARM_IN_BULK = 2000
_WARM_PAGE = 500


def warm_risks(session: Session, matrix: Matrix, scope: Scope, listing: lst.Listing,
               pieces: rec.Pieces, aggregation: str = "max") -> int:
    """Build the reused parts (records.Pieces) of every risk the scope allows that the current
    read generation lacks, and every risk's links in the list index: the API runs this after
    an answer (in its warming thread), once per scope and generation, so that the next pages of
    any filter, order or search are set operations over records already built. Returns the
    number of parts built."""
    index = listing.at(session)
    parts = pieces.at(index.number)
    missing = sorted(lst.visible(index, session, scope) - parts.keys())
    lst.all_links(index, session)
    lst.search_lengths(index, session, "risk")
    if len(missing) >= WARM_IN_BULK:
        return rec.fill(session, matrix, scope, set(missing), aggregation, pieces, index.number,
                        index.ids)
    for start in range(0, len(missing), _WARM_PAGE):  # built as pages build them
        _indexed_records(session, matrix, scope, index, missing[start:start + _WARM_PAGE],
                         aggregation, pieces)
    return len(missing)


def warm_after(session: Session, matrix: Matrix, scope: Scope, listing: lst.Listing,
               pieces: rec.Pieces, aggregation: str = "max") -> int:
    """warm_risks for a fill begun by `pieces.begin(scope.risks)`, which this ends."""
    try:
        return warm_risks(session, matrix, scope, listing, pieces, aggregation)
    finally:
        pieces.end()


def warm_start(session: Session, matrix: Matrix, listing: lst.Listing, pieces: rec.Pieces,
                aggregation: str = "max") -> int:
    """What a server's first requests would otherwise build while the others wait, built once
    before it serves (web.app's start-up): the list index of the current read generation,
    every risk's links, the measures in effect, the search's document lengths, and the reused
    parts of every risk a member state's user sees (sharing.policy.MEMBER_VIEW: what every
    organisation of a member state shares; the few records one organisation alone sees are
    built when its users ask). Returns the number of parts built."""
    scope = scope_for(MEMBER_VIEW)
    lst.prepare(listing.at(session), session)
    if not pieces.begin(scope.risks):
        return 0
    return warm_after(session, matrix, scope, listing, pieces, aggregation)


def risk_answer(session: Session, matrix: Matrix, scope: Scope, key: str,
                listing: lst.Listing, pieces: rec.Pieces, aggregation: str = "max",
                known: int | None = None) -> tuple[Any, int]:
    """get_risk through the list index and the reused parts (as list_risks): the record as
    one orjson.Fragment, and its version (for the ETag). NotFound as get_risk."""
    index = listing.at(session, known)
    rid = index.ids.get(key.upper())
    if rid is None or rid not in lst.visible(index, session, scope):
        raise NotFound(f"no risk {key!r}")
    record = _indexed_records(session, matrix, scope, index, [rid], aggregation, pieces)[0]
    return record, index.versions[rid]


def _indexed_records(session: Session, matrix: Matrix, scope: Scope, index: lst.ListIndex,
                     ids: list[int], aggregation: str, pieces: rec.Pieces | None,
                     raw_json: bool = True) -> list[Any]:
    """The records of `ids`, chosen from the scope's ids in the list index, with the visible
    links the index keeps (records.risk_records)."""
    return rec.risk_records(
        session, matrix, scope, aggregation=aggregation, raw_json=raw_json, pieces=pieces,
        chosen=lst.Chosen(ids, scope.risks, index.number),
        visible_links=lambda page: lst.visible_links(index, session, scope, page))


def get_risk(
    session: Session, matrix: Matrix, scope: Scope, key: str, aggregation: str = "max",
    *, raw_json: bool = False,
) -> dict[str, Any]:
    rows = rec.risk_records(session, matrix, scope, aggregation=aggregation, key=key,
                            raw_json=raw_json)
    if not rows:
        raise NotFound(f"no risk {key!r}")
    return rows[0]


def get_measure(
    session: Session, scope: Scope, key: str, *, raw_json: bool = False
) -> dict[str, Any]:
    rows = rec.measure_records(session, scope, key=key, raw_json=raw_json)
    if not rows:
        raise NotFound(f"no measure {key!r}")
    return rows[0]


def history(session: Session, entity: str, key: str, scope: Scope) -> list[dict[str, Any]]:
    """Every version of a record the scope lets the caller see now, oldest first, each with a
    diff against the one before (NotFound for a record the scope hides, or none).

    `entity` is "risk", "measure" or "assessment" (key "RISK-KEY/ISO3": the history of a
    national assessment is shown to whoever sees its risk, even after it was removed). Links
    to risks the scope hides are removed from old versions of a measure too.
    """
    _check_visible(session, entity, key, scope)
    rows = session.scalars(
        select(Version).where(Version.entity == entity, Version.key == key.upper())
        .order_by(Version.version)
    ).all()
    hidden: set[str] = set()
    if entity == "measure" and not scope.complete:
        linked = {k for row in rows for k in row.data.get("risks", [])}
        visible = set(session.scalars(select(Risk.key).where(Risk.key.in_(linked), scope.risks)))
        hidden = linked - visible
    out: list[dict[str, Any]] = []
    before = ""
    for row in rows:
        data = dict(row.data)
        if hidden:
            data["risks"] = [k for k in data.get("risks", []) if k not in hidden]
        now = dump_yaml(data)
        diff = "".join(difflib.unified_diff(
            before.splitlines(keepends=True), now.splitlines(keepends=True),
            f"{row.key} v{row.version - 1}", f"{row.key} v{row.version}",
        )) if before else ""
        out.append({"version": row.version, "change": row.change,
                    "changed_at": row.changed_at.isoformat(), "changed_by": row.changed_by,
                    "data": data, "diff": diff})
        before = now
    return out


def _check_visible(session: Session, entity: str, key: str, scope: Scope) -> None:
    if entity == "measure":
        model: Any = Measure
        allowed, what = scope.measures, "measure"
    elif entity in {"risk", "assessment"}:
        model, allowed, what = Risk, scope.risks, "risk"
        key = key.partition("/")[0] if entity == "assessment" else key
    else:
        raise ValueError(f"no history of {entity!r}")
    if session.scalar(select(model.id).where(model.key == key.strip().upper(), allowed)) is None:
        raise NotFound(f"no {what} {key!r}")


def risk_exists(session: Session, key: Any) -> bool:
    return bool(session.scalar(select(func.count()).where(Risk.key == str(key).upper())))


def measure_exists(session: Session, key: Any) -> bool:
    return bool(session.scalar(select(func.count()).where(Measure.key == str(key).upper())))


# --- reads of the measures and country pages -------------------------------------------------


def led_by(leads: list[str]) -> ColumnElement[bool]:
    """Measures led by one of the organisations `leads` (keys): the measures page's filter."""
    return Measure.lead_org_id.in_(select(Organisation.id).where(
        Organisation.key.in_([lead.strip().upper() for lead in leads])))


def assessed_by(state: str) -> ColumnElement[bool]:
    """Risks that carry a national assessment of `state` (the country page)."""
    return select(Assessment.id).where(Assessment.risk_id == Risk.id,
                                       Assessment.state_code == state.strip().upper()).exists()


def measure_leads(session: Session, scope: Scope) -> list[str]:
    """Keys of the organisations that lead a measure the scope allows (one query)."""
    return list(session.scalars(
        select(Organisation.key).where(Organisation.id.in_(
            select(Measure.lead_org_id).where(scope.measures))).order_by(Organisation.key)))


def risk_counts_by_state(session: Session, matrix: Matrix, scope: Scope,
                         levels: list[str]) -> dict[str, int]:
    """How many risks the scope allows at one of `levels` (inherent) each state is affected
    by, in one grouped query: the shading of the country map."""
    rows = session.execute(
        select(RiskState.state_code, func.count()).join(Risk, Risk.id == RiskState.risk_id)
        .where(scope.risks, Risk.level.in_(_levels(matrix, levels)))
        .group_by(RiskState.state_code)).all()
    return {code: int(n) for code, n in rows}


def measure_effects(session: Session, matrix: Matrix, scope: Scope,
                    keys: list[str]) -> dict[str, list[dict[str, Any]]]:
    """For each measure of `keys`: the visible risks it treats (links not rejected), each with
    its residual level without this measure and with it in effect (the other visible, accepted
    measures that are implemented or evaluated counting as in catalog.scoring.residual).

    Two queries for any number of measures. `counted`: the link is accepted and the measure is
    in effect, so the residual level shown for the risk already includes it."""
    if not keys:
        return {}
    links = session.execute(
        select(Measure.key, Measure.status, Measure.effect_likelihood, Measure.effect_impact,
               RiskMeasure.status, Risk.id, Risk.key, Risk.likelihood, Risk.impact)
        .select_from(RiskMeasure).join(Measure, Measure.id == RiskMeasure.measure_id)
        .join(Risk, Risk.id == RiskMeasure.risk_id)
        .where(Measure.key.in_(keys), RiskMeasure.status != "rejected", scope.measures,
               scope.risks).order_by(Measure.key, RiskMeasure.position, Risk.key)).all()
    risk_ids = sorted({row[5] for row in links})
    others: dict[int, list[tuple[str, str, int, int]]] = {}
    if risk_ids:
        for rid, mkey, status, el, ei in session.execute(
                select(RiskMeasure.risk_id, Measure.key, Measure.status,
                       Measure.effect_likelihood, Measure.effect_impact)
                .join(Measure, Measure.id == RiskMeasure.measure_id)
                .where(RiskMeasure.risk_id.in_(risk_ids), RiskMeasure.status == "accepted",
                       scope.measures)):
            others.setdefault(rid, []).append((mkey, status, el, ei))
    out: dict[str, list[dict[str, Any]]] = {}
    for mkey, mstatus, el, ei, link, rid, rkey, lik, imp in links:
        rest = [(s, a, b) for k, s, a, b in others.get(rid, []) if k != mkey]
        without = residual(matrix, lik, imp, rest)[2]
        with_it = residual(matrix, lik, imp, [*rest, ("implemented", el, ei)])[2]
        out.setdefault(mkey, []).append({
            "risk": rkey, "link": link,
            "level": matrix.label("level", matrix.level(lik, imp)),
            "without": matrix.label("level", without),
            "with": matrix.label("level", with_it),
            "counted": link == "accepted" and mstatus in EFFECTIVE_STATUSES})
    return out


# --- reads of the dashboard and the catalog page ---------------------------------------------

# Measures no longer due: done, or given up.
CLOSED_MEASURES = frozenset({"implemented", "evaluated", "abandoned", "retired"})


def _visible_effects(measures: ColumnElement[bool], *where: ColumnElement[bool]) -> Any:
    """Per risk, the strongest effect on each axis among the accepted measures in effect that
    the `measures` clause of a scope lets the caller see (catalog.scoring.residual), as a
    subquery (risk_id, el, ei)."""
    return (select(RiskMeasure.risk_id.label("risk_id"),
                   func.max(Measure.effect_likelihood).label("el"),
                   func.max(Measure.effect_impact).label("ei"))
            .join(Measure, Measure.id == RiskMeasure.measure_id)
            .where(RiskMeasure.status == "accepted",
                   Measure.status.in_(sorted(EFFECTIVE_STATUSES)), measures, *where)
            .group_by(RiskMeasure.risk_id).subquery())


def heat_map(session: Session, matrix: Matrix, scope: Scope, residual_view: bool = True,
             listing: lst.Listing | None = None) -> dict[tuple[int, int], int]:
    """How many risks the scope allows lie in each (likelihood, impact) cell: the inherent
    ratings, or (`residual_view`) the residual ones from what the caller may see, as in
    records.risk_records.

    One grouped statement. The inherent counts read the risks only (the residual ones also
    the visible measures in effect, which costs ten times more: only the view shown is read);
    the residual rows are the distinct (rating, strongest effect) pairs, a few hundred.
    With the list index (`listing`), from it instead (catalog.listing.heat)."""
    if listing is not None:
        return lst.heat(listing.at(session), session, matrix, scope, residual_view)
    if not residual_view:
        rows = session.execute(_inherent_statement(scope.risks)).all()
        return {(lik, imp): int(n) for lik, imp, n in rows}
    lowered: dict[tuple[int, int], int] = {}
    for lik, imp, el, ei, n in session.execute(_heat_statement(scope.risks, scope.measures)):
        res_l, res_i, _ = residual(matrix, lik, imp, [("implemented", el or 0, ei or 0)])
        lowered[(res_l, res_i)] = lowered.get((res_l, res_i), 0) + int(n)
    return lowered


@lru_cache(maxsize=512)
def _inherent_statement(risks: ColumnElement[bool]) -> Any:
    return (select(Risk.likelihood, Risk.impact, func.count()).where(risks)
            .group_by(Risk.likelihood, Risk.impact))


# The dashboard's statements are built once per scope (scopes are cached per principal,
# sharing.policy.scope_for): building and hashing one costs more than running it.
@lru_cache(maxsize=512)
def _heat_statement(risks: ColumnElement[bool], measures: ColumnElement[bool]) -> Any:
    effects = _visible_effects(measures)
    return (select(Risk.likelihood, Risk.impact, effects.c.el, effects.c.ei, func.count())
            .select_from(Risk).outerjoin(effects, effects.c.risk_id == Risk.id).where(risks)
            .group_by(Risk.likelihood, Risk.impact, effects.c.el, effects.c.ei))


def _residual_rating(matrix: Matrix, scope: Scope, axis: str) -> ColumnElement[int]:
    """A risk's residual likelihood or impact as SQL, from what the scope can see (the same
    rule and the same simple CASE as residual_level)."""
    rating, effect = ((Risk.likelihood, Measure.effect_likelihood) if axis == "likelihood"
                      else (Risk.impact, Measure.effect_impact))
    strongest = func.coalesce(
        select(func.max(effect)).select_from(RiskMeasure).join(Measure)
        .where(RiskMeasure.risk_id == Risk.id, RiskMeasure.status == "accepted",
               Measure.status.in_(sorted(EFFECTIVE_STATUSES)), scope.measures)
        .scalar_subquery(), 0)
    span = MAX_EFFECT + 1
    levels = len(matrix.likelihood if axis == "likelihood" else matrix.impact)
    return case({r * span + e: max(1, r - e) for r in range(1, levels + 1)
                 for e in range(span)}, value=rating * span + strongest)


def _ratings(matrix: Matrix, axis: str, values: list[str]) -> list[int]:
    out = []
    for value in values:  # not strict, as the pages' filters: a bad value matches nothing
        with contextlib.suppress(MatrixError):
            out.append(matrix.parse(axis, value))
    return out


def page_filters(
    matrix: Matrix, scope: Scope, *, tlp: list[str] | None = None,
    likelihood: list[str] | None = None, impact: list[str] | None = None,
    residual_likelihood: list[str] | None = None, residual_impact: list[str] | None = None,
) -> list[ColumnElement[bool]]:
    """Conditions of the catalog page's own filters beyond RiskFilters (for `extra`): the
    marking, and the cell of the heat map a link comes from (inherent or residual ratings)."""
    out: list[ColumnElement[bool]] = []
    if tlp:
        out.append(Risk.tlp.in_([t.strip().lower() for t in tlp]))
    if likelihood:
        out.append(Risk.likelihood.in_(_ratings(matrix, "likelihood", likelihood)))
    if impact:
        out.append(Risk.impact.in_(_ratings(matrix, "impact", impact)))
    if residual_likelihood:
        out.append(_residual_rating(matrix, scope, "likelihood").in_(
            _ratings(matrix, "likelihood", residual_likelihood)))
    if residual_impact:
        out.append(_residual_rating(matrix, scope, "impact").in_(
            _ratings(matrix, "impact", residual_impact)))
    return out


def _last_day(partial: str) -> date | None:
    """The last day a partial date (YYYY, YYYY-MM, YYYY-MM-DD) names."""
    try:
        parts = [int(p) for p in partial.split("-")]
        if len(parts) == 1:
            return date(parts[0], 12, 31)
        if len(parts) == 2:
            return date(parts[0], parts[1], calendar.monthrange(parts[0], parts[1])[1])
        return date(parts[0], parts[1], parts[2])
    except (ValueError, IndexError):
        return None


def measures_due(session: Session, scope: Scope, today: date, days: int = 90
                 ) -> dict[str, list[dict[str, Any]]]:
    """Open measures the scope allows whose end date has passed (`overdue`) or falls within
    `days` (`due`), soonest first. One statement: a partial date sorts as its first day, so
    the SQL selects a superset that the exact end day then narrows."""
    horizon = today + timedelta(days=days)
    rows = session.execute(_due_statement(scope.measures),
                           {"horizon": horizon.isoformat()}).all()
    out: dict[str, list[dict[str, Any]]] = {"overdue": [], "due": []}
    for key, title, status, end, progress, lead_key in rows:
        last = _last_day(end)
        if last is None or last > horizon:
            continue
        out["overdue" if last < today else "due"].append({
            "key": key, "title": title, "status": status, "end": end, "due": last,
            "progress": progress, "lead": lead_key})
    return out


@lru_cache(maxsize=512)
def _due_statement(measures: ColumnElement[bool]) -> Any:
    lead = Organisation.__table__.alias("lead")
    return (select(Measure.key, Measure.title, Measure.status, Measure.end, Measure.progress,
                   lead.c.key)
            .join(lead, lead.c.id == Measure.lead_org_id)
            .where(measures, Measure.end.is_not(None), Measure.end <= bindparam("horizon"),
                   Measure.status.not_in(sorted(CLOSED_MEASURES)))
            .order_by(Measure.end, Measure.key))


# How many of the newest versions are looked at, widening when too few of them are visible; a
# caller who sees none of the last 5,000 changes is shown fewer than `limit` (the whole table
# took 0.6 s to sort on 48,000 versions).
RECENT_WINDOWS = (500, 5000)


def recent_changes(session: Session, scope: Scope, limit: int = 10) -> list[dict[str, Any]]:
    """The latest versions of risks and measures the scope allows now, newest first, with the
    record's current title. One statement over the 500 newest versions (versions are append
    only: the newest have the highest ids); a wider one only when fewer than `limit` of those
    are visible (RECENT_WINDOWS)."""
    rows: list[Any] = []
    for window in RECENT_WINDOWS:
        rows = list(session.execute(_recent_statement(scope.risks, scope.measures, limit,
                                                      window)).all())
        if len(rows) >= limit:
            break
    return [{"entity": entity, "key": key, "version": version, "change": change,
             "changed_at": changed_at, "changed_by": changed_by, "title": title}
            for entity, key, version, change, changed_at, changed_by, title, _ in rows]


@lru_cache(maxsize=512)
def _recent_statement(risks: ColumnElement[bool], measures: ColumnElement[bool],
                      limit: int, window: int) -> Any:
    newest = select(Version.id).order_by(Version.id.desc()).limit(window).subquery()
    parts = [select(Version.entity, Version.key, Version.version, Version.change,
                    Version.changed_at, Version.changed_by, model.title.label("title"),
                    Version.id.label("id"))
             .join(newest, newest.c.id == Version.id)
             .join(model, and_(Version.entity == entity, Version.key == model.key))
             .where(allowed)
             for entity, model, allowed in (("risk", Risk, risks), ("measure", Measure,
                                                                    measures))]
    both = union_all(*parts).subquery()
    return select(both).order_by(both.c.id.desc()).limit(limit)
