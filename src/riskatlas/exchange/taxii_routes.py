"""The TAXII 2.1 server under /taxii2/: discovery, one API root, its collections, their
objects (paged and filtered), manifests, versions, and status of adds. Every answer is read
through the caller's scope: a partner's collection does not contain what it may not see.

Thin handlers over exchange.taxii; the collections and their sources are exchange.collections.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from riskatlas.audit.models import AuditEntry
from riskatlas.audit.service import Who, append_many
from riskatlas.exchange import collections as known
from riskatlas.exchange import taxii
from riskatlas.sharing.policy import Principal
from riskatlas.web.deps import (
    Author,
    CurrentPrincipal,
    RuntimeDep,
    ScopeDep,
    run_db,
    who,
)

ROOT = "riskatlas"  # the one API root: /taxii2/riskatlas/
router = APIRouter(prefix="/taxii2", tags=["taxii"], include_in_schema=False)
CollectionId = Annotated[str, Path(max_length=64)]
ObjectId = Annotated[str, Path(max_length=128)]
ACCEPTED = ("application/taxii+json", "application/json", "*/*", "application/*")


def _accept(request: Request) -> None:
    """TAXII clients ask for its media type; anything that cannot take JSON gets 406."""
    accept = request.headers.get("accept")
    if accept and not any(a in accept for a in ACCEPTED):
        raise taxii.TaxiiError(406, "Not acceptable", f"this server answers {taxii.MEDIA_TAXII}")


Accepts = Depends(_accept)


def answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(content, status_code=status, media_type=taxii.MEDIA_TAXII,
                    headers=headers)


def _collection(collection_id: str) -> taxii.Collection:
    for c in known.collections():
        if c.id == collection_id:
            return c
    raise taxii.TaxiiError(404, "Unknown collection", f"no collection {collection_id}")


def _root(name: str) -> None:
    if name != ROOT:
        raise taxii.TaxiiError(404, "Unknown API root", f"no API root {name!r}")


async def _entries(request: Request, runtime: RuntimeDep, scope: ScopeDep,
                   principal: CurrentPrincipal, c: taxii.Collection) -> list[taxii.Entry]:
    """The collection as this reader sees it now, kept for the same reader and data."""
    state = await run_db(runtime, _state, runtime, c)
    store: taxii.Store = request.app.state.taxii_store  # per app: its settings are the same
    return await run_db(runtime, store.get, (c.key, principal, state),
                        lambda: _load(runtime, scope, c))


def _state(runtime: Any, c: taxii.Collection) -> tuple[Any, ...]:
    with runtime.sessions() as session:
        return known.state_of(session, c)


def _load(runtime: Any, scope: Any, c: taxii.Collection) -> list[taxii.Entry]:
    with runtime.sessions() as session:
        return taxii.entries(c.source(session, scope, runtime.settings))


@router.get("/", dependencies=[Accepts])
async def discovery(request: Request, scope: ScopeDep) -> Response:
    base = str(request.base_url).rstrip("/")
    return answer({"title": "Risk Atlas", "description": "Risks, measures and alerts of this "
                   "node over TAXII 2.1, as the caller may see them.",
                   "default": f"{base}/taxii2/{ROOT}/",
                   "api_roots": [f"{base}/taxii2/{ROOT}/"]})


@router.get("/{api_root}/", dependencies=[Accepts])
async def api_root(api_root: str, scope: ScopeDep) -> Response:
    _root(api_root)
    return answer({"title": "Risk Atlas", "versions": [taxii.MEDIA_TAXII],
                   "max_content_length": 10 << 20})


@router.get("/{api_root}/collections/", dependencies=[Accepts])
async def collections(api_root: str, scope: ScopeDep, principal: CurrentPrincipal,
                      ) -> Response:
    _root(api_root)
    return answer({"collections": [c.resource(principal.can_write)
                                   for c in known.collections()]})


@router.get("/{api_root}/collections/{collection_id}/", dependencies=[Accepts])
async def collection(api_root: str, collection_id: CollectionId, scope: ScopeDep,
                     principal: CurrentPrincipal) -> Response:
    _root(api_root)
    return answer(_collection(collection_id).resource(principal.can_write))


async def _page(request: Request, runtime: RuntimeDep, scope: ScopeDep,
                principal: CurrentPrincipal, api_root: str, collection_id: str,
                object_id: str | None = None) -> taxii.Page:
    _root(api_root)
    c = _collection(collection_id)
    params = dict(request.query_params)
    if object_id is not None:
        params["match[id]"] = object_id
    q = taxii.query(params)
    found = taxii.page(await _entries(request, runtime, scope, principal, c), q)
    if object_id is not None and not found.items and not q.next:
        raise taxii.TaxiiError(404, "Unknown object", f"no object {object_id} here")
    return found


@router.get("/{api_root}/collections/{collection_id}/objects/", dependencies=[Accepts])
async def objects(request: Request, api_root: str, collection_id: CollectionId,
                  runtime: RuntimeDep, scope: ScopeDep, principal: CurrentPrincipal,
                  ) -> Response:
    p = await _page(request, runtime, scope, principal, api_root, collection_id)
    return answer(taxii.envelope(p), headers=p.headers())


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/",
            dependencies=[Accepts])
async def an_object(request: Request, api_root: str, collection_id: CollectionId,
                    object_id: ObjectId, runtime: RuntimeDep, scope: ScopeDep,
                    principal: CurrentPrincipal) -> Response:
    p = await _page(request, runtime, scope, principal, api_root, collection_id, object_id)
    return answer(taxii.envelope(p), headers=p.headers())


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/versions/",
            dependencies=[Accepts])
async def object_versions(request: Request, api_root: str, collection_id: CollectionId,
                          object_id: ObjectId, runtime: RuntimeDep, scope: ScopeDep,
                          principal: CurrentPrincipal) -> Response:
    p = await _page(request, runtime, scope, principal, api_root, collection_id, object_id)
    return answer(taxii.versions(p), headers=p.headers())


@router.get("/{api_root}/collections/{collection_id}/manifest/", dependencies=[Accepts])
async def manifest(request: Request, api_root: str, collection_id: CollectionId,
                   runtime: RuntimeDep, scope: ScopeDep, principal: CurrentPrincipal,
                   ) -> Response:
    p = await _page(request, runtime, scope, principal, api_root, collection_id)
    return answer(taxii.manifest(p), headers=p.headers())


@router.post("/{api_root}/collections/{collection_id}/objects/", dependencies=[Accepts])
async def add_objects(request: Request, api_root: str, collection_id: CollectionId,
                      runtime: RuntimeDep, scope: ScopeDep, principal: Author) -> Response:
    """Add an envelope's objects (editors and administrators, to a writable collection);
    answered with the status resource of the add, which is complete when it answers."""
    _root(api_root)
    c = _collection(collection_id)
    if not (c.writable and principal.can_write):
        raise taxii.TaxiiError(403, "Not allowed", "you may not add objects to this collection")
    kind = request.headers.get("content-type", "")
    if "taxii+json" not in kind and "stix+json" not in kind:
        # TAXII's own media types only: no cross-site form can send them (web.deps: Basic)
        raise taxii.TaxiiError(415, "Unsupported media type", f"send {taxii.MEDIA_TAXII}")
    try:
        sent = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise taxii.TaxiiError(400, "Not JSON", str(exc)) from None
    objects = sent.get("objects") if isinstance(sent, dict) else None
    if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
        raise taxii.TaxiiError(400, "Not an envelope", "expected {\"objects\": [...]}")
    found = await run_in_threadpool(_add, runtime, principal, who(request, principal), objects)
    return answer(found, status=202)


def _add(runtime: Any, principal: Principal, author: Who, objects: list[dict[str, Any]],
         ) -> dict[str, Any]:
    with runtime.transaction() as session:
        stored, failed = known.add(session, principal, author, objects, runtime.settings)
        found = taxii.status(objects, stored, failed)
        append_many(session, author, [{
            "action": "taxii.add", "entity": "taxii-status", "key": found["id"],
            "after": found, "detail": f"{found['success_count']} of {found['total_count']} "
            "object(s) added"}])
    return found


@router.get("/{api_root}/status/{status_id}/", dependencies=[Accepts])
async def status(api_root: str, status_id: Annotated[str, Path(max_length=64)],
                 runtime: RuntimeDep, scope: ScopeDep, principal: CurrentPrincipal,
                 ) -> Response:
    _root(api_root)
    found = await run_db(runtime, _status, runtime, status_id, principal.username)
    if found is None:
        raise taxii.TaxiiError(404, "Unknown status", f"no status {status_id}")
    return answer(found)


def _status(runtime: Any, status_id: str, username: str | None) -> dict[str, Any] | None:
    """A status is kept in the audit trail with the add it reports; its poster reads it
    (nobody unsigned: `actor == None` would match entries of no one)."""
    if username is None:
        return None
    with runtime.sessions() as session:
        entry = session.scalar(select(AuditEntry).where(
            AuditEntry.entity == "taxii-status", AuditEntry.key == status_id,
            AuditEntry.actor == username).order_by(AuditEntry.seq.desc()).limit(1))
        return entry.after if entry is not None else None


def install(app: FastAPI) -> None:
    """The TAXII routes, and TAXII's error message resource for their refusals."""

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, taxii.TaxiiError)
        return answer(exc.resource(), status=exc.status)

    app.state.taxii_store = taxii.Store()
    app.add_exception_handler(taxii.TaxiiError, refused)
    app.include_router(router)
