"""Catalog reads: filtered lists, single records, version history. All take a sharing Scope."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from riskatlas.catalog import records as rec
from riskatlas.catalog.files import dump_yaml
from riskatlas.catalog.matrix import Matrix, MatrixError
from riskatlas.catalog.models import Measure, MeasureState, Risk, RiskState, Version
from riskatlas.search.service import search
from riskatlas.sharing.policy import Scope

RANKED_CHUNK = 500  # search hits turned into records per query


RISK_SORTS = ("key", "level", "residual_level", "likelihood", "impact", "domain", "status",
              "updated_at")
MEASURE_SORTS = ("key", "status", "kind", "updated_at")


class NotFound(LookupError):
    pass


def _order(model: Any, allowed: tuple[str, ...], sort: str | None) -> list[Any]:
    """ORDER BY for `field` or `-field`; the key breaks ties so pages are stable."""
    if not sort:
        return [model.key]
    name = sort.removeprefix("-")
    if name not in allowed:
        raise ValueError(f"sort: expected one of {', '.join(allowed)} (prefix - to reverse), "
                         f"got {sort!r}")
    column = getattr(model, name)
    return [column.desc() if sort.startswith("-") else column.asc(), model.key]


@dataclass
class RiskFilters:
    domain: list[str] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    level: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    # The CLI wants an unknown level to be an error; the API treats any unknown filter value
    # (level, domain, state...) alike: it matches nothing.
    strict: bool = False

    def where(self, matrix: Matrix) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.domain:
            out.append(Risk.domain.in_([d.lower() for d in self.domain]))
        if self.category:
            out.append(Risk.category.in_([c.lower() for c in self.category]))
        if self.status:
            out.append(Risk.status.in_([s.lower() for s in self.status]))
        if self.level:
            levels = []
            for value in self.level:
                try:
                    levels.append(matrix.parse("level", value))
                except MatrixError as exc:
                    if self.strict:
                        raise ValueError(f"level: {exc}") from None
            out.append(Risk.level.in_(levels))
        if self.state:
            # EXISTS rather than `id IN (…)`: SQLite then drives from the covering indexes of
            # risks (domain, key, scope and filter columns) instead of reading each risk of the
            # state by rowid, JSON overflow pages included (filtered count 19 -> 1 ms).
            out.append(select(RiskState.risk_id).where(
                RiskState.risk_id == Risk.id,
                RiskState.state_code.in_([s.upper() for s in self.state])).exists())
        return out


@dataclass
class MeasureFilters:
    status: list[str] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)

    def where(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.status:
            out.append(Measure.status.in_([s.lower().replace(" ", "_") for s in self.status]))
        if self.kind:
            out.append(Measure.kind.in_([k.lower() for k in self.kind]))
        if self.state:  # EXISTS: see RiskFilters
            out.append(select(MeasureState.measure_id).where(
                MeasureState.measure_id == Measure.id,
                MeasureState.state_code.in_([s.upper() for s in self.state])).exists())
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
    raw_json: bool = False,
) -> tuple[int, list[dict[str, Any]]]:
    """Total count and one page of the risks the scope allows and the filters select.

    With a search text `q` (not None and not blank), only matching risks count, best match
    first (see docs/search.md); without one, the page is ordered by `sort` (a field of
    RISK_SORTS, `-` in front for descending; default key). `raw_json`: texts as stored JSON,
    for answers only orjson writes (records.risk_records).
    """
    where = filters.where(matrix) + (extra or [])
    if q is not None and q.strip():
        found, hits = search(session, scope, q, "risk", limit, offset, where=where)
        return found, _ranked(Risk, hits, lambda w, order: rec.risk_records(
            session, matrix, scope, w, order, aggregation=aggregation, raw_json=raw_json))
    total = session.scalar(select(func.count()).select_from(Risk).where(scope.risks, *where))
    return int(total or 0), rec.risk_records(session, matrix, scope, where,
                                             _order(Risk, RISK_SORTS, sort), limit=limit,
                                             offset=offset, aggregation=aggregation,
                                             raw_json=raw_json)


def list_measures(
    session: Session, scope: Scope, filters: MeasureFilters,
    limit: int | None = None, offset: int = 0, extra: list[ColumnElement[bool]] | None = None,
    q: str | None = None, sort: str | None = None, raw_json: bool = False,
) -> tuple[int, list[dict[str, Any]]]:
    """As list_risks, for measures (sort fields: MEASURE_SORTS)."""
    where = filters.where() + (extra or [])
    if q is not None and q.strip():
        found, hits = search(session, scope, q, "measure", limit, offset, where=where)
        return found, _ranked(Measure, hits, lambda w, order: rec.measure_records(
            session, scope, w, order, raw_json=raw_json))
    total = session.scalar(select(func.count()).select_from(Measure).where(scope.measures, *where))
    return int(total or 0), rec.measure_records(session, scope, where,
                                                _order(Measure, MEASURE_SORTS, sort),
                                                limit=limit, offset=offset, raw_json=raw_json)


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


def history(
    session: Session, entity: str, key: str, scope: Scope | None = None
) -> list[dict[str, Any]]:
    """Every version of a record, oldest first, each with a diff against the one before.

    Callers must first check that the scope lets the principal see the record itself; links
    to risks the scope hides are removed from old versions of a measure too.
    """
    rows = session.scalars(
        select(Version).where(Version.entity == entity, Version.key == key.upper())
        .order_by(Version.version)
    ).all()
    hidden: set[str] = set()
    if scope is not None and entity == "measure":
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


def risk_exists(session: Session, key: Any) -> bool:
    return bool(session.scalar(select(func.count()).where(Risk.key == str(key).upper())))


def measure_exists(session: Session, key: Any) -> bool:
    return bool(session.scalar(select(func.count()).where(Measure.key == str(key).upper())))
