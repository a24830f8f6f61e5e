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
from riskatlas.sharing.policy import Principal, Scope

MODELS: dict[str, Any] = {"risks": Risk, "measures": Measure}
DERIVED_FIELDS = frozenset({"version", "level", "residual_level", "regional", "links"})
READ_ONLY = DERIVED_FIELDS | {"key", "assessments"}
ASSESSMENTS_APART = ("assessments: each state sets its own national assessment apart "
                     "(riskatlas assessments set KEY ISO3, or PUT "
                     "/api/v1/risks/{key}/assessments/{ISO3}); editing a risk never touches "
                     "them")


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
        if path.split(".")[0] == "assessments" and "assessments" in locked:
            raise ValueError(ASSESSMENTS_APART)
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
    principal: Principal | None = None,
) -> Counts:
    """Validate and save one record (raises ImportError_ with every problem). `principal`
    None is the local operator; otherwise its rights are checked (catalog.checks)."""
    if not create:
        _guard(session, entity, str(data.get("key", "")).upper(), expected_version)
    item = Item(entity, data, "<input>", 0, line=1)
    batch = validate_items(session, matrix, [item], principal, create=create)
    return save(session, matrix, batch, who)


def edit(
    session: Session, matrix: Matrix, scope: Scope, entity: str, key: str,
    changes: dict[str, Any], who: Who, expected_version: int | None = None,
    aggregation: str = "max", principal: Principal | None = None,
) -> dict[str, Any]:
    """Apply changes to a record the scope lets the caller see; return the saved record.

    The changes apply to the record as the caller sees it; the validation keeps the links to
    records the caller cannot see (catalog.checks.merged) and checks the caller's rights."""
    get(session, matrix, scope, entity, key)  # a record the caller cannot see is not found
    _guard(session, entity, key.upper(), expected_version)
    current = get(session, matrix, scope, entity, key)
    data = apply(current, changes)
    item = Item(entity, data, "<input>", 0, line=1)
    batch = validate_items(session, matrix, [item], principal)
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


DECISIONS = ("accept", "reject", "remove")


def decide(
    session: Session, matrix: Matrix, scope: Scope, key: str, measure: str, decision: str,
    who: Who, expected_version: int | None = None, aggregation: str = "max",
    principal: Principal | None = None,
) -> dict[str, Any]:
    """The risk owner's decision on a link from one of its risks to a measure: accept (it
    counts in the residual rating), reject (it stays, marked rejected) or remove. A change of
    the risk like any other: versioned, audited, refused to anybody but the owner's editors."""
    if decision not in DECISIONS:
        raise ValueError(f"decision: expected one of {', '.join(DECISIONS)}, got {decision!r}")
    seen = get(session, matrix, scope, "risks", key)
    code = measure.strip().upper()
    if not any(link["measure"] == code for link in seen["links"]):
        raise queries.NotFound(f"no link from {seen['key']} to a measure {measure!r}")
    accepted = [m for m in seen["measures"] if m != code]
    rejected = [m for m in seen["rejected_measures"] if m != code]
    if decision == "accept":
        accepted.append(code)
    elif decision == "reject":
        rejected.append(code)
    return edit(session, matrix, scope, "risks", key,
                {"measures": accepted, "rejected_measures": rejected}, who,
                expected_version, aggregation, principal)
