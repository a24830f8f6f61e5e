"""JSON API for risks and measures: thin handlers over catalog.queries and catalog.edits.

Every read goes through the caller's sharing Scope (web.deps.ScopeDep); a record outside it is
a 404. Writes need an editor of the owner organisation and the record's current ETag.
"""

from __future__ import annotations

import io
import logging
import time
from concurrent.futures import Future
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Request, Response
from pydantic import WithJsonSchema
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskatlas.catalog import checks, edits, queries
from riskatlas.catalog.files import dump_yaml, write_csv
from riskatlas.catalog.importer import ImportError_, KeyInUse
from riskatlas.catalog.matrix import active_matrix
from riskatlas.catalog.models import Measure, Risk
from riskatlas.catalog.records import export_document
from riskatlas.catalog.schemas import (
    AssessmentIn,
    ErrorOut,
    MeasureIn,
    MeasureOut,
    MeasurePage,
    RiskIn,
    RiskOut,
    RiskPage,
    SourceIn,
    VersionOut,
)
from riskatlas.parties.models import Organisation
from riskatlas.runtime import Runtime
from riskatlas.sharing.policy import Principal, Scope, may_change
from riskatlas.web import openapi
from riskatlas.web.deps import (
    CurrentPrincipal,
    RuntimeDep,
    ScopeDep,
    SessionDep,
    Writer,
    in_session,
    read,
    who,
)
from riskatlas.web.errors import ApiError
from riskatlas.web.responses import OrjsonResponse


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of an operation, for its `responses` (each status is listed where a
    handler or a dependency of it sends it; 413 where a body is read)."""
    return openapi.errors(ErrorOut, *codes)


ERRORS = errors(401)  # an unknown, expired or malformed token, on any route that reads it
_log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["catalog"])
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
# Read as optional so a missing one is our 428, not FastAPI's 422; declared by IF_MATCH.
IfMatch = Annotated[str | None, Header(include_in_schema=False)]
IF_MATCH = openapi.if_match(True, "ETag of the version being changed (428 without it, 412 "
                            "when it is not the stored version's).")
# The query parameters of the list routes: any other is refused (a misspelt filter would
# otherwise be ignored and the whole list come back as if it had matched).
RISK_PARAMS = ("q", "domain", "state", "level", "residual_level", "status", "category", "limit",
               "offset", "sort")
MEASURE_PARAMS = ("q", "status", "state", "kind", "limit", "offset", "sort")


def _refuse_unknown(request: Request, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise ApiError(422, "validation_error", f"Unknown query parameter(s): "
                       f"{', '.join(unknown)}.", problems=[
                           {"field": f"query.{name}",
                            "reason": f"unknown parameter; expected one of {', '.join(allowed)}"}
                           for name in unknown])


def _bad_filters(exc: queries.FilterError) -> ApiError:
    return ApiError(422, "validation_error", "Unknown filter value(s).", problems=[
        {"field": f"query.{name}", "reason": reason} for name, reason in exc.problems])
# The raw object, validated by the catalog with its own problems; its schema: BODIES below.
RecordBody = Annotated[dict[str, Any], Body(), WithJsonSchema({})]
# Ratings are read as a label or abbreviation of the active matrix or its 1-based position
# (catalog.matrix.parse); a source's date as YYYY-MM-DD, YYYY-MM or YYYY, or a year number.
RATING = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "minLength": 1}],
          "description": "A label of the matrix (GET /matrix), its abbreviation, or its "
          "1-based position."}
openapi.schema(SourceIn, {"published": {
    "anyOf": [{"type": "string"}, {"type": "integer"}],
    "description": "YYYY-MM-DD, YYYY-MM or YYYY (a real date)."}})
openapi.schema(AssessmentIn, {"likelihood": RATING, "impact": RATING})
# Derived on export, accepted (and ignored) on create so that an export reads back.
DERIVED = ("links", "level", "residual_level", "regional")
BODIES: dict[str, dict[str, dict[str, Any]]] = {
    "risks": {
        "create": openapi.schema(RiskIn, {"likelihood": RATING, "impact": RATING}),
        "update": openapi.partial("RiskPatch", RiskIn, drop=(
            "key", "owner", "version", "assessments", *DERIVED)),
    },
    "measures": {
        "create": openapi.schema(MeasureIn),
        "update": openapi.partial("MeasurePatch", MeasureIn, drop=(
            "key", "owner", "version", "links")),
    },
}
ENTITY = {"risks": "risk", "measures": "measure"}
MODELS: dict[str, Any] = {"risks": Risk, "measures": Measure}


def etag(record: dict[str, Any]) -> str:
    return f'"{record["version"]}"'


def _with_etag(record: dict[str, Any], status: int = 200) -> OrjsonResponse:
    return OrjsonResponse(record, status_code=status, headers={"ETag": etag(record)})


def etag_version(if_match: str | None) -> int:
    if not if_match:
        raise ApiError(428, "precondition_required",
                       "Send If-Match with the ETag of the version you are changing.")
    value = if_match.strip().removeprefix("W/").strip('"')
    # ASCII digits only (str.isdigit also takes "²", which int() refuses), and no more than
    # the version columns hold (32-bit: PostgreSQL raises on a larger number, not "no match").
    if not (value.isascii() and value.isdigit() and len(value) <= 10
            and int(value) <= 2**31 - 1):
        shown = if_match if len(if_match) <= 40 else f"{if_match[:40]}..."
        raise ApiError(412, "precondition_failed", f"If-Match {shown!r} is not an ETag "
                       "of this record.")
    return int(value)


def _get(session: Session, runtime: Runtime, scope: Scope, entity: str, key: str,
         raw_json: bool = False) -> Any:
    try:
        return edits.get(session, active_matrix(runtime.settings), scope, entity, key,
                         runtime.settings.aggregation, raw_json=raw_json)
    except queries.NotFound:
        raise ApiError(404, "not_found", f"No {ENTITY[entity]} {key!r}.") from None


def invalid(exc: ImportError_) -> ApiError:
    problems = [{"field": p.field, "reason": p.reason} for p in exc.problems]
    return ApiError(422, "validation_error", "The record is not valid.", problems=problems)


def _owner_id(session: Session, entity: str, key: str) -> int:
    model = MODELS[entity]
    owner = session.scalar(select(model.owner_org_id).where(model.key == key.upper()))
    if owner is None:
        raise ApiError(404, "not_found", f"No {ENTITY[entity]} {key!r}.")
    return int(owner)


def _check_may_change(session: Session, principal: Principal, entity: str, key: str,
                      changes: dict[str, Any] | None = None) -> None:
    """The owner's editors change a record; a measure's lead organisation changes its status
    and progress (`changes`, top-level field -> value; None: retiring), by the rule of
    catalog.checks.lead_may_change, which the validation applies again."""
    if may_change(principal, _owner_id(session, entity, key)):
        return
    if entity == "measures":
        lead = session.scalar(select(Organisation.key)
                              .join(Measure, Measure.lead_org_id == Organisation.id)
                              .where(Measure.key == key.upper()))
        if changes is not None and checks.lead_may_change(principal, lead, changes):
            return
        if principal.can_write and lead is not None and lead == principal.org_key:
            allowed = " and ".join(sorted(checks.LEAD_FIELDS))
            others = ", ".join(sorted(set(changes or {}) - checks.LEAD_FIELDS))
            raise ApiError(403, "lead_fields_only", "As the lead organisation of this "
                           f"measure you change only its {allowed} (not retiring it"
                           f"{', nor ' + others if others else ''}); its owner's editors "
                           "change the rest.")
    raise ApiError(403, "not_owner", "Only editors of the owner organisation change this "
                   "record; others propose changes.")


# --- risks -------------------------------------------------------------------------------------


def _first(entity: str) -> dict[str, Any]:
    """Links from a list to its first record (then on to its changes, with its ETag)."""
    first = {"path.key": "$response.body#/items/0/key"}
    name = ENTITY[entity].capitalize()
    return {f"Get{name}": openapi.link(f"/api/v1/{entity}/{{key}}", "get", first),
            f"{name}History": openapi.link(f"/api/v1/{entity}/{{key}}/history", "get", first)}


@router.get("/risks", responses={200: {"model": RiskPage, "links": _first("risks")},
                                 **errors(401, 422)})
async def list_risks(
    request: Request, runtime: RuntimeDep, scope: ScopeDep,
    q: Q = None, domain: Multi = None, state: Multi = None, level: Multi = None,
    residual_level: Multi = None, status: Multi = None, category: Multi = None,
    limit: Limit = 100, offset: Offset = 0, sort: RiskSort = None,
) -> OrjsonResponse:
    """Risks you may see, filtered, sorted, searched (`q`, ranked) and paginated. A filter
    value that names nothing, or an unknown parameter, is a 422."""
    _refuse_unknown(request, RISK_PARAMS)
    filters = queries.RiskFilters(domain=domain or [], state=state or [], level=level or [],
                                  residual_level=residual_level or [], status=status or [],
                                  category=category or [], strict=True)
    listing = getattr(request.app.state, "listing", None)
    try:
        # A search through the list index costs what a list page does (its matches are ranked
        # once per generation): the thread pool's hand-off would cost more than it saves.
        total, items = await read(runtime, _page, queries.list_risks,
                                  active_matrix(runtime.settings), scope, filters, limit, offset,
                                  q=q, sort=sort,
                                  aggregation=runtime.settings.aggregation, raw_json=True,
                                  pieces=getattr(request.app.state, "pieces", None),
                                  listing=listing, threaded=bool(q) and listing is None,
                                  known=_known(request, listing))
    except queries.FilterError as exc:
        raise _bad_filters(exc) from None
    return _warming(request, runtime, scope, OrjsonResponse(
        {"total": total, "limit": limit, "offset": offset, "items": items}))


def _warming(request: Request, runtime: Runtime, scope: Scope,
             response: OrjsonResponse) -> OrjsonResponse:
    """Have the app's warming thread build the records of every risk the scope may see
    (queries.warm_risks), once per scope and read generation, apart from this request."""
    listing = getattr(request.app.state, "listing", None)
    pieces = getattr(request.app.state, "pieces", None)
    warmer = getattr(request.app.state, "warmer", None)
    if (listing is not None and pieces is not None and warmer is not None
            and pieces.begin(scope.risks)):
        try:
            job = warmer.submit(in_session, runtime, queries.warm_after,
                                active_matrix(runtime.settings), scope, listing, pieces,
                                runtime.settings.aggregation)
        except RuntimeError:  # shutting down
            pieces.end()
        else:
            job.add_done_callback(_failed_warming)
    return response


def warm_start(runtime: Runtime, state: Any) -> None:
    """Before a server serves: build what its first requests would build while the others
    wait (queries.warm_start), with the app's list index and reused parts (`state`: the app's
    state). A failure (a database not yet migrated, say) is logged, and the server starts:
    requests then build the same parts as they come."""
    listing, pieces = getattr(state, "listing", None), getattr(state, "pieces", None)
    if listing is None or pieces is None:
        return
    started = time.perf_counter()
    try:
        built = in_session(runtime, queries.warm_start, active_matrix(runtime.settings),
                           listing, pieces, runtime.settings.aggregation)
    except Exception as exc:  # noqa: BLE001 - the server still starts (see above)
        _log.warning("building reused parts at start-up failed: %s", exc)
        return
    _log.info("reused parts of %d risks built at start-up in %.2f s", built,
              time.perf_counter() - started)


def _failed_warming(job: Future[int]) -> None:
    if not job.cancelled() and job.exception() is not None:
        _log.error("building reused parts failed", exc_info=job.exception())


def _known(request: Request, listing: Any) -> int | None:
    """The read generation web.cache read for this request, to try the list index's memory
    first (web.deps.read); None without the index."""
    known = getattr(request.state, "read_generation", None)
    return known if listing is not None and isinstance(known, int) else None


def _risk_answer(session: Session, runtime: Runtime, scope: Scope, key: str, listing: Any,
                 pieces: Any, known: int | None = None) -> OrjsonResponse:
    try:
        record, version = queries.risk_answer(session, active_matrix(runtime.settings), scope,
                                              key, listing, pieces,
                                              runtime.settings.aggregation, known)
    except queries.NotFound:
        raise ApiError(404, "not_found", f"No risk {key!r}.") from None
    return OrjsonResponse(record, headers={"ETag": f'"{version}"'})


@router.get("/measures", responses={200: {"model": MeasurePage, "links": _first("measures")},
                                    **errors(401, 422)})
async def list_measures(
    request: Request, runtime: RuntimeDep, scope: ScopeDep, q: Q = None,
    status: Multi = None, state: Multi = None, kind: Multi = None, limit: Limit = 100,
    offset: Offset = 0, sort: MeasureSort = None,
) -> OrjsonResponse:
    """Measures you may see, filtered, sorted, searched (`q`, ranked) and paginated. A filter
    value that names nothing, or an unknown parameter, is a 422."""
    _refuse_unknown(request, MEASURE_PARAMS)
    filters = queries.MeasureFilters(status=status or [], state=state or [], kind=kind or [],
                                     strict=True)
    try:
        total, items = await read(runtime, _page, queries.list_measures, scope, filters, limit,
                                  offset, q=q, sort=sort, raw_json=True, threaded=bool(q))
    except queries.FilterError as exc:
        raise _bad_filters(exc) from None
    return OrjsonResponse({"total": total, "limit": limit, "offset": offset, "items": items})


def _page(session: Session, list_fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return list_fn(session, *args, **kwargs)
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None


def _answer(entity: str, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """A record answer: its ETag (from a create, its Location too) and links to what can
    follow it (for clients, and for the stateful tests: tests/web/test_openapi.py)."""
    name = ENTITY[entity].capitalize()
    one = f"/api/v1/{entity}/{{key}}"
    key = {"path.key": "$response.body#/key"}
    version = {**key, "header.If-Match": "$response.header.ETag"}
    links = {f"Get{name}": openapi.link(one, "get", key),
             f"Update{name}": openapi.link(one, "patch", version),
             f"Retire{name}": openapi.link(f"{one}/retire", "post", version),
             f"{name}History": openapi.link(f"{one}/history", "get", key)}
    if entity == "risks":
        links["PutAssessment"] = openapi.link(
            "/api/v1/risks/{key}/assessments/{state}", "put", key)
    headers: dict[str, Any] = dict(openapi.ETAG)
    if status == 201:
        headers["Location"] = {"description": "The new record's URL.", "required": True,
                               "schema": {"type": "string"}}
    return {status: {"model": RiskOut if entity == "risks" else MeasureOut,
                     "headers": headers, "links": links}}


def _routes(entity: str) -> None:
    """Detail, create, update, retire and history: the same for risks and measures."""
    noun = ENTITY[entity]
    ok = _answer(entity)
    body = BODIES[entity]

    @router.get(f"/{entity}/{{key}}", name=f"get_{noun}", responses={**ok, **errors(401, 404, 422)})
    async def detail(key: str, request: Request, runtime: RuntimeDep,
                     scope: ScopeDep) -> Response:
        listing = getattr(request.app.state, "listing", None)
        pieces = getattr(request.app.state, "pieces", None)
        if entity == "risks" and listing is not None and pieces is not None:
            return _warming(request, runtime, scope, await read(
                runtime, _risk_answer, runtime, scope, key, listing, pieces,
                known=_known(request, listing)))
        # Texts as stored JSON: the answer is written by orjson only (records.risk_records)
        return _with_etag(await read(runtime, _get, runtime, scope, entity, key, True))

    @router.post(f"/{entity}", status_code=201, name=f"create_{noun}",
                 responses={**_answer(entity, 201), **errors(400, 401, 403, 409, 413, 422)},
                 openapi_extra=openapi.json_body(body["create"], f"The new {noun}, in the "
                                                 "export contract; the owner is your "
                                                 "organisation."))
    def create(
        body: RecordBody, request: Request, session: SessionDep, runtime: RuntimeDep,
        scope: ScopeDep, principal: Writer,
    ) -> Response:
        data = dict(body, owner=principal.org_key)
        data.pop("version", None)
        key = str(data.get("key", "")).strip().upper()
        try:  # (a RED record always names its author: catalog.importer._check_rights)
            edits.write(session, active_matrix(runtime.settings), entity, data,
                        who(request, principal), create=True, principal=principal)
            session.commit()
        except ImportError_ as exc:
            raise invalid(exc) from None
        except KeyInUse as exc:
            raise ApiError(409, "conflict", f"The key {exc} is already in use.") from None
        except IntegrityError:  # another request created the same key meanwhile
            session.rollback()
            raise ApiError(409, "conflict", f"The key {key!r} is already in use.") from None
        record = _get(session, runtime, scope, entity, key)
        response = _with_etag(record, 201)
        response.headers["Location"] = f"/api/v1/{entity}/{record['key']}"
        return response

    @router.patch(f"/{entity}/{{key}}", name=f"update_{noun}",
                  responses={**ok, **errors(400, 401, 403, 404, 412, 413, 422, 428)},
                  openapi_extra=openapi.extra(IF_MATCH, openapi.json_body(
                      body["update"], "The fields to change (JSON merge patch: title, summary "
                      "and rationale merge per language).")))
    def update(
        key: str, body: RecordBody, request: Request, session: SessionDep, runtime: RuntimeDep,
        scope: ScopeDep, principal: Writer, if_match: IfMatch = None,
    ) -> Response:
        _get(session, runtime, scope, entity, key)
        changes = _merge_paths(body)
        for locked in ("key", "owner", "version"):
            changes.pop(locked, None)
        _check_may_change(session, principal, entity, key,
                          {path.split(".")[0]: value for path, value in changes.items()})
        version = etag_version(if_match)
        try:
            record = edits.edit(session, active_matrix(runtime.settings), scope, entity, key,
                                changes, who(request, principal), expected_version=version,
                                aggregation=runtime.settings.aggregation, principal=principal)
        except edits.Conflict as exc:
            raise ApiError(412, "precondition_failed", str(exc)) from None
        except ImportError_ as exc:
            raise invalid(exc) from None
        except ValueError as exc:
            raise ApiError(422, "validation_error", str(exc)) from None
        session.commit()
        return _with_etag(record)

    @router.post(f"/{entity}/{{key}}/retire", name=f"retire_{noun}",
                 responses={**ok, **errors(401, 403, 404, 412, 422, 428)},
                 openapi_extra=IF_MATCH)
    def retire(
        key: str, request: Request, session: SessionDep, runtime: RuntimeDep, scope: ScopeDep,
        principal: Writer, if_match: IfMatch = None,
    ) -> Response:
        _get(session, runtime, scope, entity, key)
        _check_may_change(session, principal, entity, key)
        version = etag_version(if_match)
        try:
            record = edits.edit(session, active_matrix(runtime.settings), scope, entity, key,
                                {"status": "retired"}, who(request, principal),
                                expected_version=version,
                                aggregation=runtime.settings.aggregation, principal=principal)
        except edits.Conflict as exc:
            raise ApiError(412, "precondition_failed", str(exc)) from None
        except ImportError_ as exc:
            raise invalid(exc) from None
        session.commit()
        return _with_etag(record)

    @router.get(f"/{entity}/{{key}}/history", name=f"{noun}_history",
                response_model=list[VersionOut], responses=errors(401, 404, 422))
    async def history(key: str, runtime: RuntimeDep, scope: ScopeDep) -> list[dict[str, Any]]:
        return await read(runtime, _history, runtime, scope, entity, key)


@router.post("/risks/{key}/measures/{measure}/{decision}", name="decide_link",
             responses={**_answer("risks"), **errors(401, 403, 404, 412, 422, 428)},
             openapi_extra=IF_MATCH)
def decide_link(
    key: str, measure: str, decision: Literal["accept", "reject"], request: Request,
    session: SessionDep, runtime: RuntimeDep, scope: ScopeDep, principal: Writer,
    if_match: IfMatch = None,
) -> Response:
    """The risk owner accepts a link a measure proposed (it then counts in the residual
    rating) or rejects it. Needs the risk's ETag; the risk gets a new version."""
    return _decide(key, measure, decision, request, session, runtime, scope, principal,
                   if_match)


@router.delete("/risks/{key}/measures/{measure}", name="remove_link",
               responses={**_answer("risks"), **errors(401, 403, 404, 412, 422, 428)},
               openapi_extra=IF_MATCH)
def remove_link(
    key: str, measure: str, request: Request, session: SessionDep, runtime: RuntimeDep,
    scope: ScopeDep, principal: Writer, if_match: IfMatch = None,
) -> Response:
    """The risk owner removes a link to a measure (the risk gets a new version)."""
    return _decide(key, measure, "remove", request, session, runtime, scope, principal,
                   if_match)


def _decide(key: str, measure: str, decision: str, request: Request, session: Session,
            runtime: Runtime, scope: Scope, principal: Principal,
            if_match: str | None) -> Response:
    _get(session, runtime, scope, "risks", key)
    _check_may_change(session, principal, "risks", key)
    version = etag_version(if_match)
    try:
        record = edits.decide(session, active_matrix(runtime.settings), scope, key, measure,
                              decision, who(request, principal), version,
                              runtime.settings.aggregation, principal)
    except queries.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except edits.Conflict as exc:
        raise ApiError(412, "precondition_failed", str(exc)) from None
    except ImportError_ as exc:
        raise invalid(exc) from None
    session.commit()
    return _with_etag(record)


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
    return active_matrix(runtime.settings).as_json()


@router.get("/organisations", tags=["parties"], responses=errors(401))
def list_organisations(session: SessionDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """Organisations of the node (signed-in users only)."""
    if principal.anonymous:
        raise ApiError(401, "unauthorized", "Sign in to list organisations.")
    return [{"key": o.key, "name": o.name, "state": o.state_code}
            for o in session.scalars(select(Organisation).order_by(Organisation.key))]


@router.get("/export", tags=["catalog"], responses={200: {"content": {
    "application/json": {}, "application/yaml": {}, "text/csv": {},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
    "application/stix+json;version=2.1": {}}},
    **errors(401, 422)})
def export(
    session: SessionDep, runtime: RuntimeDep, scope: ScopeDep,
    format: Annotated[Literal["json", "yaml", "csv", "xlsx", "stix"], Query()] = "json",
) -> Response:
    """Everything you may see, in the export contract (csv: the risks table, UTF-8 with a BOM
    for Excel; xlsx: a workbook with sheets actors, risks and measures; stix: a STIX 2.1
    bundle, with the alerts you may see, docs/exchange.md)."""
    from riskatlas.catalog.spreadsheets import MEDIA_TYPE, SheetError, write_xlsx

    if format == "stix":
        from riskatlas.exchange.stix_export import dumps, export_bundle

        bundle = export_bundle(session, active_matrix(runtime.settings), scope,
                               runtime.settings.aggregation)
        return Response(dumps(bundle), media_type="application/stix+json;version=2.1")
    doc = export_document(session, active_matrix(runtime.settings), scope,
                          runtime.settings.aggregation, raw_json=format == "json")
    if format == "yaml":
        return Response(dump_yaml(doc), media_type="application/yaml")
    if format == "csv":
        out = io.StringIO()
        write_csv(doc["risks"], out)
        return Response(out.getvalue().encode("utf-8-sig"),
                        media_type="text/csv; charset=utf-8")
    if format == "xlsx":
        book = io.BytesIO()
        try:
            write_xlsx(doc, book)
        except SheetError as exc:
            raise ApiError(422, "validation_error", "The catalog does not fit a workbook; "
                           "export csv, json or yaml.", problems=[
                               {"field": "format", "reason": p} for p in exc.problems]) from None
        return Response(book.getvalue(), media_type=MEDIA_TYPE, headers={
            "Content-Disposition": 'attachment; filename="riskatlas.xlsx"'})
    return OrjsonResponse(doc)
