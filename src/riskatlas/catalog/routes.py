"""JSON API for risks, measures and the matrix: thin handlers over catalog.queries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from riskatlas.catalog import queries
from riskatlas.web.deps import RuntimeDep, ScopeDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["catalog"])
Multi = Annotated[list[str] | None, Query()]


@router.get("/risks")
def list_risks(
    session: SessionDep, runtime: RuntimeDep, scope: ScopeDep,
    domain: Multi = None, state: Multi = None, level: Multi = None, status: Multi = None,
    category: Multi = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    filters = queries.RiskFilters(domain=domain or [], state=state or [], level=level or [],
                                  status=status or [], category=category or [])
    try:
        total, items = queries.list_risks(session, runtime.matrix, scope, filters, limit, offset)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"total": total, "limit": limit, "offset": offset, "items": items}


@router.get("/risks/{key}")
def get_risk(key: str, session: SessionDep, runtime: RuntimeDep, scope: ScopeDep) -> Any:
    try:
        return queries.get_risk(session, runtime.matrix, scope, key)
    except queries.NotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/measures")
def list_measures(
    session: SessionDep, scope: ScopeDep, status: Multi = None, state: Multi = None,
    kind: Multi = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    filters = queries.MeasureFilters(status=status or [], state=state or [], kind=kind or [])
    total, items = queries.list_measures(session, scope, filters, limit, offset)
    return {"total": total, "limit": limit, "offset": offset, "items": items}


@router.get("/measures/{key}")
def get_measure(key: str, session: SessionDep, scope: ScopeDep) -> Any:
    try:
        return queries.get_measure(session, scope, key)
    except queries.NotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/matrix")
def get_matrix(runtime: RuntimeDep) -> dict[str, Any]:
    return runtime.matrix.as_json()
