"""JSON API for risks and measures: thin handlers over catalog.queries and catalog.edits.

Every read goes through the caller's sharing Scope (web.deps.ScopeDep); a record outside it is
a 404. Writes need an editor of the owner organisation and the record's current ETag.
"""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskatlas.catalog import edits, queries
from riskatlas.catalog.files import dump_yaml, write_csv
from riskatlas.catalog.importer import ImportError_
from riskatlas.catalog.models import Measure, Risk
from riskatlas.catalog.records import export_document
from riskatlas.catalog.schemas import (
    ErrorOut,
    MeasureOut,
    MeasurePage,
    RiskOut,
    RiskPage,
    VersionOut,
)
from riskatlas.parties.models import Organisation
from riskatlas.runtime import Runtime
from riskatlas.sharing.policy import Principal, Scope, may_change
from riskatlas.web.deps import (
    CurrentPrincipal,
    RuntimeDep,
    ScopeDep,
    SessionDep,
    Writer,
    read,
    who,
)
from riskatlas.web.errors import ApiError
from riskatlas.web.responses import OrjsonResponse

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 412, 422, 428)}
router = APIRouter(prefix="/api/v1", tags=["catalog"], responses=ERRORS)
Multi = Annotated[list[str] | None, Query()]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]
Q = Annotated[str | None, Query(max_length=200, description="Full-text search, ranked.")]
RiskSort = Annotated[str | None, Query(
    pattern=f"^-?({'|'.join(queries.RISK_SORTS)})$", description="Order: a field, `-` in "
    "front to reverse (ignored with q).")]
MeasureSort = Annotated[str | None, Query(
    pattern=f"^-?({'|'.join(queries.MEASURE_SORTS)})$", description="Order: a field, `-` in "
    "front to reverse (ignored with q).")]
IfMatch = Annotated[str | None, Header(description="ETag of the version being changed.")]
RecordBody = Annotated[dict[str, Any], Body(description="Fields as in the export contract.")]
ENTITY = {"risks": "risk", "measures": "measure"}
MODELS: dict[str, Any] = {"risks": Risk, "measures": Measure}


def etag(record: dict[str, Any]) -> str:
    return f'"{record["version"]}"'


def _with_etag(record: dict[str, Any], status: int = 200) -> OrjsonResponse:
    return OrjsonResponse(record, status_code=status, headers={"ETag": etag(record)})


def _version(if_match: str | None) -> int:
    if not if_match:
        raise ApiError(428, "precondition_required",
                       "Send If-Match with the ETag of the version you are changing.")
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise ApiError(412, "precondition_failed", f"If-Match {if_match!r} is not an ETag "
                       "of this record.")
    return int(value)


def _get(session: Session, runtime: Runtime, scope: Scope, entity: str, key: str,
         raw_json: bool = False) -> Any:
    try:
        return edits.get(session, runtime.matrix, scope, entity, key,
                         runtime.settings.aggregation, raw_json=raw_json)
    except queries.NotFound:
        raise ApiError(404, "not_found", f"No {ENTITY[entity]} {key!r}.") from None


def _invalid(exc: ImportError_) -> ApiError:
    problems = [{"field": p.field, "reason": p.reason} for p in exc.problems]
    return ApiError(422, "validation_error", "The record is not valid.", problems=problems)


def _owner_id(session: Session, entity: str, key: str) -> int:
    model = MODELS[entity]
    owner = session.scalar(select(model.owner_org_id).where(model.key == key.upper()))
    if owner is None:
        raise ApiError(404, "not_found", f"No {ENTITY[entity]} {key!r}.")
    return int(owner)


def _check_may_change(session: Session, principal: Principal, entity: str, key: str) -> None:
    if not may_change(principal, _owner_id(session, entity, key)):
        raise ApiError(403, "not_owner", "Only editors of the owner organisation change this "
                       "record; others propose changes.")


# --- risks -------------------------------------------------------------------------------------


@router.get("/risks", responses={200: {"model": RiskPage}})
async def list_risks(
    runtime: RuntimeDep, scope: ScopeDep,
    q: Q = None, domain: Multi = None, state: Multi = None, level: Multi = None,
    status: Multi = None, category: Multi = None, limit: Limit = 100, offset: Offset = 0,
    sort: RiskSort = None,
) -> OrjsonResponse:
    """Risks you may see, filtered, sorted, searched (`q`, ranked) and paginated."""
    filters = queries.RiskFilters(domain=domain or [], state=state or [], level=level or [],
                                  status=status or [], category=category or [])
    total, items = await read(runtime, _page, queries.list_risks, runtime.matrix, scope,
                              filters, limit, offset, q=q, sort=sort,
                              aggregation=runtime.settings.aggregation, raw_json=True,
                              threaded=bool(q))
    return OrjsonResponse({"total": total, "limit": limit, "offset": offset, "items": items})


@router.get("/measures", responses={200: {"model": MeasurePage}})
async def list_measures(
    runtime: RuntimeDep, scope: ScopeDep, q: Q = None,
    status: Multi = None, state: Multi = None, kind: Multi = None, limit: Limit = 100,
    offset: Offset = 0, sort: MeasureSort = None,
) -> OrjsonResponse:
    """Measures you may see, filtered, sorted, searched (`q`, ranked) and paginated."""
    filters = queries.MeasureFilters(status=status or [], state=state or [], kind=kind or [])
    total, items = await read(runtime, _page, queries.list_measures, scope, filters, limit,
                              offset, q=q, sort=sort, raw_json=True, threaded=bool(q))
    return OrjsonResponse({"total": total, "limit": limit, "offset": offset, "items": items})


def _page(session: Session, list_fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return list_fn(session, *args, **kwargs)
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None


def _routes(entity: str) -> None:
    """Detail, create, update, retire and history: the same for risks and measures."""
    noun = ENTITY[entity]
    out = RiskOut if entity == "risks" else MeasureOut
    ok: dict[int | str, dict[str, Any]] = {200: {"model": out}}

    @router.get(f"/{entity}/{{key}}", name=f"get_{noun}", responses=ok)
    async def detail(key: str, runtime: RuntimeDep, scope: ScopeDep) -> Response:
        # Texts as stored JSON: the answer is written by orjson only (records.risk_records)
        return _with_etag(await read(runtime, _get, runtime, scope, entity, key, True))

    @router.post(f"/{entity}", status_code=201, name=f"create_{noun}",
                 responses={201: {"model": out}})
    def create(
        body: RecordBody, request: Request, session: SessionDep, runtime: RuntimeDep,
        scope: ScopeDep, principal: Writer,
    ) -> Response:
        data = dict(body, owner=principal.org_key)
        data.pop("version", None)
        key = str(data.get("key", "")).strip().upper()
        model = MODELS[entity]
        if key and session.scalar(select(model.id).where(model.key == key)) is not None:
            raise ApiError(409, "conflict", f"The key {key!r} is already in use.")
        if str(data.get("tlp", "")).lower() == "red":  # a RED record always names its author
            sharing = dict(data.get("sharing") or {})
            sharing["users"] = list(dict.fromkeys([*sharing.get("users", []),
                                                   principal.username]))
            data["sharing"] = sharing
        try:
            edits.write(session, runtime.matrix, entity, data, who(request, principal),
                        create=True)
        except ImportError_ as exc:
            raise _invalid(exc) from None
        session.commit()
        record = _get(session, runtime, scope, entity, key)
        response = _with_etag(record, 201)
        response.headers["Location"] = f"/api/v1/{entity}/{record['key']}"
        return response

    @router.patch(f"/{entity}/{{key}}", name=f"update_{noun}", responses=ok)
    def update(
        key: str, body: RecordBody, request: Request, session: SessionDep, runtime: RuntimeDep,
        scope: ScopeDep, principal: Writer, if_match: IfMatch = None,
    ) -> Response:
        _get(session, runtime, scope, entity, key)
        _check_may_change(session, principal, entity, key)
        version = _version(if_match)
        changes = _merge_paths(body)
        for locked in ("key", "owner", "version"):
            changes.pop(locked, None)
        try:
            record = edits.edit(session, runtime.matrix, scope, entity, key, changes,
                                who(request, principal), expected_version=version,
                                aggregation=runtime.settings.aggregation)
        except edits.Conflict as exc:
            raise ApiError(412, "precondition_failed", str(exc)) from None
        except ImportError_ as exc:
            raise _invalid(exc) from None
        except ValueError as exc:
            raise ApiError(422, "validation_error", str(exc)) from None
        session.commit()
        return _with_etag(record)

    @router.post(f"/{entity}/{{key}}/retire", name=f"retire_{noun}", responses=ok)
    def retire(
        key: str, request: Request, session: SessionDep, runtime: RuntimeDep, scope: ScopeDep,
        principal: Writer, if_match: IfMatch = None,
    ) -> Response:
        _get(session, runtime, scope, entity, key)
        _check_may_change(session, principal, entity, key)
        version = _version(if_match)
        try:
            record = edits.edit(session, runtime.matrix, scope, entity, key,
                                {"status": "retired"}, who(request, principal),
                                expected_version=version,
                                aggregation=runtime.settings.aggregation)
        except edits.Conflict as exc:
            raise ApiError(412, "precondition_failed", str(exc)) from None
        session.commit()
        return _with_etag(record)

    @router.get(f"/{entity}/{{key}}/history", name=f"{noun}_history",
                response_model=list[VersionOut])
    async def history(key: str, runtime: RuntimeDep, scope: ScopeDep) -> list[dict[str, Any]]:
        return await read(runtime, _history, runtime, scope, entity, key)


def _history(session: Session, runtime: Runtime, scope: Scope, entity: str,
             key: str) -> list[dict[str, Any]]:
    _get(session, runtime, scope, entity, key)
    return queries.history(session, ENTITY[entity], key, scope)


def _merge_paths(body: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """JSON merge patch as dotted paths: nested texts change one language at a time."""
    out: dict[str, Any] = {}
    for name, value in body.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict) and value and name in {"title", "summary", "rationale"}:
            out.update(_merge_paths(value, f"{path}."))
        else:
            out[path] = value
    return out


for _entity in ENTITY:
    _routes(_entity)


@router.get("/matrix", tags=["catalog"])
def get_matrix(runtime: RuntimeDep) -> dict[str, Any]:
    """The active risk matrix: labels low to high, grid[likelihood][impact]."""
    return runtime.matrix.as_json()


@router.get("/organisations", tags=["parties"])
def list_organisations(session: SessionDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """Organisations of the node (signed-in users only)."""
    if principal.anonymous:
        raise ApiError(401, "unauthorized", "Sign in to list organisations.")
    return [{"key": o.key, "name": o.name, "state": o.state_code}
            for o in session.scalars(select(Organisation).order_by(Organisation.key))]


@router.get("/export", tags=["catalog"], responses={200: {"content": {
    "application/json": {}, "application/yaml": {}, "text/csv": {}}}})
def export(
    session: SessionDep, runtime: RuntimeDep, scope: ScopeDep,
    format: Annotated[Literal["json", "yaml", "csv"], Query()] = "json",
) -> Response:
    """Everything you may see, in the export contract (csv: the risks table)."""
    doc = export_document(session, runtime.matrix, scope, runtime.settings.aggregation,
                          raw_json=format == "json")
    if format == "yaml":
        return Response(dump_yaml(doc), media_type="application/yaml")
    if format == "csv":
        out = io.StringIO()
        write_csv(doc["risks"], out)
        return Response(out.getvalue(), media_type="text/csv")
    return OrjsonResponse(doc)
