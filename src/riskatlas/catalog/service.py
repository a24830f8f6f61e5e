"""Catalog writes: one path for import, CLI edits and the API. Every write keeps a version.

Writes use set-based Core statements (one INSERT per table for a whole batch) instead of one ORM
object per row: the benchmark imports 40,000 records and must stay within seconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from riskatlas.audit.service import SYSTEM, Who, append_many
from riskatlas.catalog import assessments, links, shapes
from riskatlas.catalog.checks import authored, measure_record, risk_record
from riskatlas.catalog.importer import Batch, paused_gc
from riskatlas.catalog.matrix import Matrix
from riskatlas.catalog.models import (
    Actor,
    Measure,
    MeasureState,
    Risk,
    RiskActor,
    RiskMeasure,
    RiskState,
    Source,
    Version,
)
from riskatlas.catalog.queries import MEASURE_SEARCH, RISK_SEARCH
from riskatlas.catalog.schemas import SharingIn
from riskatlas.catalog.scoring import residual
from riskatlas.parties.models import Organisation, User
from riskatlas.search.service import add_documents, reindex
from riskatlas.sharing.models import RecordShare, SharingGroup

DEFAULT_OWNER = "C5-SEC"
CHUNK = 500
# After a bulk write the query planners need statistics: without any, SQLite ran the search
# count with the full-text index as the inner loop (3.5 s instead of 25 ms on 10,000 risks),
# and PostgreSQL read 10,000 new ids back by seq scans. Nothing may wait for autovacuum (it
# may be off): SQLite analyses the whole database (milliseconds); PostgreSQL the tables a batch
# writes, one by one (a whole-database ANALYZE would cost it seconds). Search documents are
# analysed by search itself after a large batch.
ANALYZE_AFTER = 1000  # records created or updated by one batch
_WRITTEN_TABLES = ("risks", "measures", "risk_states", "risk_actors", "sources", "measure_states",
                   "risk_measures", "record_shares", "assessments", "versions", "audit_log")


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


def _ids(session: Session, model: Any, keys: Iterable[str]) -> dict[str, int]:
    wanted = list(keys)
    out: dict[str, int] = {}
    for i in range(0, len(wanted), CHUNK):
        part = wanted[i : i + CHUNK]
        out.update(session.execute(select(model.key, model.id).where(model.key.in_(part))).all())
    return out


def _insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(table.__table__), rows)


def save(session: Session, matrix: Matrix, batch: Batch, who: Who = SYSTEM) -> Counts:
    """Write a validated batch: create or update each record, keep a version of every change,
    and record each change in the audit trail."""
    with paused_gc():
        return _save(session, matrix, batch, who)


def _save(session: Session, matrix: Matrix, batch: Batch, who: Who) -> Counts:
    changed_by = who.actor
    counts = Counts()
    orgs = dict(session.execute(select(Organisation.key, Organisation.id)).all())
    _save_actors(session, batch)
    versions: list[dict[str, Any]] = []

    risk_changes = _plan(batch, "risks", [
        (r.key, r, risk_record(r, matrix, r.owner or DEFAULT_OWNER)) for r in batch.risks
    ], counts, versions, changed_by)
    risk_ids = _write_risks(session, matrix, risk_changes, orgs)
    touched: set[int] = set(risk_ids.values())

    measure_changes = _plan(batch, "measures", [
        (m.key, m, measure_record(m, matrix, m.owner or DEFAULT_OWNER)) for m in batch.measures
    ], counts, versions, changed_by)
    measure_ids = _write_measures(session, measure_changes, orgs)
    touched |= links.write(session, batch, [m for _, m, _ in measure_changes],
                           [r for _, r, _ in risk_changes], risk_ids, measure_ids)
    assessed = assessments.write_from_batch(session, matrix, batch, who)
    rescore(session, matrix, touched)
    detail = "forced: stored versions overridden" if batch.forced else None
    audit = [{"action": f"{v['entity']}.{v['change']}", "entity": v["entity"], "key": v["key"],
              "before": v.pop("_before"), "after": v["data"], "detail": detail}
             for v in versions]
    _insert(session, Version, versions + assessed.versions)
    append_many(session, who, audit + assessed.audit)
    _reindex(session, "risk", risk_changes, risk_ids)
    _reindex(session, "measure", measure_changes, measure_ids)
    if counts.created + counts.updated >= ANALYZE_AFTER:
        dialect = session.get_bind().dialect.name
        if dialect == "sqlite":
            session.execute(text("ANALYZE"))
        elif dialect == "postgresql":
            session.execute(text("ANALYZE " + ", ".join(_WRITTEN_TABLES)))
    return counts


def _reindex(
    session: Session, entity: str, changes: list[tuple[str, Any, int | None]],
    ids: dict[str, int],
) -> None:
    """Search documents: created records from the input just written (search gets the values
    of the fields it indexes), changed ones re-read by search from the stored records."""
    indexed = RISK_SEARCH if entity == "risk" else MEASURE_SEARCH
    add_documents(session, indexed, [
        (ids[key], key, [getattr(model, name) for name in indexed.fields])
        for key, model, version in changes if version is None])
    reindex(session, indexed, [ids[key] for key, _, version in changes if version is not None])


def _plan(
    batch: Batch, entity: str, rows: list[tuple[str, Any, dict[str, Any]]],
    counts: Counts, versions: list[dict[str, Any]], changed_by: str | None,
) -> list[tuple[str, Any, int | None]]:
    """Compare each record with what is stored; keep only creates and real changes."""
    current = batch.stored[entity]
    changes: list[tuple[str, Any, int | None]] = []
    for key, model, snapshot in rows:
        old = current.get(key)
        if old is not None and authored(old, entity) == snapshot:
            counts.unchanged += 1
            continue
        version = 1 if old is None else old["version"] + 1
        if old is None:
            counts.created += 1
        else:
            counts.updated += 1
        change = "create" if old is None else (
            "retire" if snapshot.get("status") == "retired" else "update")
        versions.append({"entity": entity[:-1], "key": key, "version": version,
                         "data": snapshot, "changed_by": changed_by, "change": change,
                         "_before": None if old is None else authored(old, entity)})
        changes.append((key, model, None if old is None else version))
    return changes


def _save_actors(session: Session, batch: Batch) -> None:
    existing = dict(session.execute(select(Actor.key, Actor.id)).all())
    for actor in batch.actors:
        values = {"name": actor.name, "kind": actor.kind}
        if actor.key in existing:
            session.execute(update(Actor).where(Actor.id == existing[actor.key]).values(values))
        else:
            session.execute(insert(Actor).values(key=actor.key, **values))


def _upsert(
    session: Session, model: Any, changes: list[tuple[str, Any, int | None]],
    columns: list[dict[str, Any]], children: list[Any],
) -> dict[str, int]:
    """Insert new rows, update changed ones, and clear the children of both."""
    new = [cols for (_, _, version), cols in zip(changes, columns, strict=True) if version is None]
    old = [dict(cols, version=version, _key=key)
           for (key, _, version), cols in zip(changes, columns, strict=True) if version]
    table = model.__table__
    ids: dict[str, int] = {}
    if new:
        ids.update(_insert_new(session, model, new))
    if old:
        session.execute(update(table).where(table.c.key == bindparam("_key")), old)
        ids.update(_ids(session, model, [key for key, _, version in changes if version]))
    changed_ids = [ids[key] for key, _, version in changes if version]
    for i in range(0, len(changed_ids), CHUNK):
        part = changed_ids[i : i + CHUNK]
        for child, column in children:
            session.execute(delete(child).where(column.in_(part)))
    return ids


def _insert_new(session: Session, model: Any, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert rows of a record table; return their ids by key.

    New ids are above the largest id visible before the insert (ids only grow), so one range
    query finds them. Reading them back by key took 0.5 s per 500 keys on PostgreSQL before the
    table has statistics (a seq scan of the wide rows each time); INSERT ... RETURNING cost
    7.1 + 3.7 s for measures and risks there against 3.9 + 2.8 s for a plain executemany.
    """
    table = model.__table__
    last = session.scalar(select(func.coalesce(func.max(table.c.id), 0)))
    session.execute(insert(table), rows)
    wanted = {row["key"] for row in rows}
    ids = {key: rid for key, rid in session.execute(
        select(table.c.key, table.c.id).where(table.c.id > last)) if key in wanted}
    if len(ids) < len(wanted):  # ids given out below the maximum (a sequence reset by hand)
        ids.update(_ids(session, model, wanted - ids.keys()))
    return ids


def _write_risks(
    session: Session, matrix: Matrix, changes: list[tuple[str, Any, int | None]],
    orgs: dict[str, int],
) -> dict[str, int]:
    columns = []
    for _, risk, _ in changes:
        level = matrix.level(risk.likelihood, risk.impact)
        columns.append(shapes.RISK.write(risk, orgs, {
            "level": level, "residual_level": level,
            "owner_org_id": orgs[risk.owner or DEFAULT_OWNER]}))
    ids = _upsert(session, Risk, changes, columns, [
        (RiskState, RiskState.risk_id), (RiskActor, RiskActor.risk_id),
        (Source, Source.risk_id),
    ])  # links to measures and national assessments are written apart (links, assessments)
    actors = dict(session.execute(select(Actor.key, Actor.id)).all())
    states, actor_links, sources = [], [], []
    for key, risk, _ in changes:
        rid = ids[key]
        states += [{"risk_id": rid, "state_code": s, "position": i}
                   for i, s in enumerate(risk.states)]
        actor_links += [{"risk_id": rid, "actor_id": actors[a], "position": i}
                        for i, a in enumerate(risk.actors)]
        sources += [dict(s.model_dump(), risk_id=rid, position=i)
                    for i, s in enumerate(risk.sources)]
    _write_shares(session, "risk", [(ids[key], r.sharing, v) for key, r, v in changes])
    _insert(session, RiskState, states)
    _insert(session, RiskActor, actor_links)
    _insert(session, Source, sources)
    return ids


def _write_measures(
    session: Session, changes: list[tuple[str, Any, int | None]], orgs: dict[str, int]
) -> dict[str, int]:
    columns = [shapes.MEASURE.write(m, orgs, {"owner_org_id": orgs[m.owner or DEFAULT_OWNER]})
               for _, m, _ in changes]
    ids = _upsert(session, Measure, changes, columns, [
        (MeasureState, MeasureState.measure_id), (Source, Source.measure_id),
    ])  # links to risks are written apart (catalog.links)
    states, sources = [], []
    for key, measure, _ in changes:
        mid = ids[key]
        states += [{"measure_id": mid, "state_code": s, "position": i}
                   for i, s in enumerate(measure.states)]
        sources += [dict(s.model_dump(), measure_id=mid, position=i)
                    for i, s in enumerate(measure.sources)]
    _write_shares(session, "measure", [(ids[key], m.sharing, v) for key, m, v in changes])
    _insert(session, MeasureState, states)
    _insert(session, Source, sources)
    return ids


def _write_shares(
    session: Session, entity: str, rows: list[tuple[int, SharingIn, int | None]]
) -> None:
    """Replace the grants of the written records (a new record has none to clear)."""
    changed = [rid for rid, _, version in rows if version]
    for i in range(0, len(changed), CHUNK):
        session.execute(delete(RecordShare).where(
            RecordShare.entity == entity, RecordShare.record_id.in_(changed[i : i + CHUNK])))
    if not any(s.groups or s.orgs or s.users for _, s, _ in rows):
        return
    groups = dict(session.execute(select(SharingGroup.key, SharingGroup.id)).all())
    orgs = dict(session.execute(select(Organisation.key, Organisation.id)).all())
    users = dict(session.execute(select(User.username, User.id)).all())
    grants = []
    for rid, sharing, _ in rows:
        base = {"entity": entity, "record_id": rid, "group_id": None, "org_id": None,
                "user_id": None}
        grants += [dict(base, group_id=groups[g]) for g in sharing.groups]
        grants += [dict(base, org_id=orgs[o]) for o in sharing.orgs]
        grants += [dict(base, user_id=users[u]) for u in sharing.users]
    _insert(session, RecordShare, grants)


def rescore(session: Session, matrix: Matrix, risk_ids: Iterable[int]) -> None:
    """Recompute the cached inherent and residual levels of the given risks."""
    ids = list(risk_ids)
    for i in range(0, len(ids), CHUNK):
        part = ids[i : i + CHUNK]
        effects: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
        for rid, status, el, ei in session.execute(
            select(RiskMeasure.risk_id, Measure.status, Measure.effect_likelihood,
                   Measure.effect_impact).join(Measure)
            .where(RiskMeasure.risk_id.in_(part), RiskMeasure.status == "accepted")
        ):
            effects[rid].append((status, el, ei))
        rows = []
        for rid, lik, imp in session.execute(
            select(Risk.id, Risk.likelihood, Risk.impact).where(Risk.id.in_(part))
        ):
            rows.append({"_id": rid, "level": matrix.level(lik, imp),
                         "residual_level": residual(matrix, lik, imp, effects[rid])[2]})
        if rows:
            # Not a change of the risk by its owner: `updated_at` stays (a hidden measure's
            # change must not show in what others see, sorting by updated_at included).
            table: Any = Risk.__table__
            session.execute(update(table).where(table.c.id == bindparam("_id"))
                            .values(updated_at=table.c.updated_at), rows)
