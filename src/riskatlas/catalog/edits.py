"""Single-record writes (CLI add/edit, API create/update/retire) over the one import path."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from sqlalchemy import update
from sqlalchemy.orm import Session

from riskatlas.audit.service import Who
from riskatlas.catalog import queries
from riskatlas.catalog.files import Item
from riskatlas.catalog.importer import validate_items
from riskatlas.catalog.matrix import Matrix
from riskatlas.catalog.models import Measure, Risk
from riskatlas.catalog.service import Counts, save
from riskatlas.sharing.policy import Scope

MODELS: dict[str, Any] = {"risks": Risk, "measures": Measure}
DERIVED_FIELDS = frozenset({"version", "level", "residual_level", "regional"})
READ_ONLY = DERIVED_FIELDS | {"key"}


class Conflict(Exception):
    """The record changed since the caller read it (optimistic concurrency)."""


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """`field=value` pairs from the command line; values are read as YAML (lists, numbers)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"expected FIELD=VALUE, got {pair!r}")
        out[name.strip()] = yaml.safe_load(raw) if raw.strip() else None
    return out


def apply(
    record: dict[str, Any], changes: dict[str, Any], locked: frozenset[str] = READ_ONLY
) -> dict[str, Any]:
    """A copy of the record with dotted-path changes applied (title.ru=...)."""
    out = copy.deepcopy(record)
    for path, value in changes.items():
        if path.split(".")[0] in locked:
            raise ValueError(f"{path}: cannot be changed")
        target = out
        *parents, last = path.split(".")
        for part in parents:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return out


def _guard(session: Session, entity: str, key: str, version: int | None) -> None:
    """Take the row's write lock first and check its version, so concurrent editors serialise."""
    model = MODELS[entity]
    stmt = update(model).where(model.key == key).values(version=model.version)
    if version is not None:
        stmt = stmt.where(model.version == version)
    if session.execute(stmt).rowcount == 0:  # type: ignore[attr-defined]
        raise Conflict(f"{key} was changed by someone else (expected version {version})")


def write(
    session: Session, matrix: Matrix, entity: str, data: dict[str, Any],
    who: Who, expected_version: int | None = None, create: bool = False,
) -> Counts:
    """Validate and save one record (raises ImportError_ with every problem)."""
    if not create:
        _guard(session, entity, str(data.get("key", "")).upper(), expected_version)
    item = Item(entity, data, "<input>", 0, line=1)
    batch = validate_items(session, matrix, [item])
    return save(session, matrix, batch, who)


def edit(
    session: Session, matrix: Matrix, scope: Scope, entity: str, key: str,
    changes: dict[str, Any], who: Who, expected_version: int | None = None,
    aggregation: str = "max",
) -> dict[str, Any]:
    """Apply changes to a record the scope lets the caller see; return the saved record."""
    get(session, matrix, scope, entity, key)  # a record the caller cannot see is not found
    _guard(session, entity, key.upper(), expected_version)
    current = get(session, matrix, scope, entity, key)
    data = apply(current, changes)
    item = Item(entity, data, "<input>", 0, line=1)
    batch = validate_items(session, matrix, [item])
    save(session, matrix, batch, who)
    return get(session, matrix, scope, entity, key, aggregation)


def get(
    session: Session, matrix: Matrix, scope: Scope, entity: str, key: str,
    aggregation: str = "max", *, raw_json: bool = False,
) -> dict[str, Any]:
    """One record the scope allows (queries.NotFound otherwise); `raw_json` for a record only
    orjson will write (records.risk_records)."""
    if entity == "risks":
        return queries.get_risk(session, matrix, scope, key, aggregation, raw_json=raw_json)
    return queries.get_measure(session, scope, key, raw_json=raw_json)
