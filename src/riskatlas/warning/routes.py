"""Events over the JSON API: field incident reports in, events out (through the scope)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from riskatlas.catalog.schemas import ErrorOut
from riskatlas.warning import service
from riskatlas.warning.models import SOURCES
from riskatlas.warning.schemas import EventOut, EventPage, ReportIn
from riskatlas.web import openapi
from riskatlas.web.deps import Author, RuntimeDep, ScopeDep, SessionDep, read, who
from riskatlas.web.errors import ApiError

router = APIRouter(prefix="/api/v1/events", tags=["events"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
EventId = Annotated[int, Path(ge=1, le=2**63 - 1)]  # the key's range on both engines


@router.get("", response_model=EventPage, responses=openapi.errors(ErrorOut, 401, 422))
async def list_events(
    runtime: RuntimeDep, scope: ScopeDep,
    country: Annotated[str | None, Query(min_length=3, max_length=3)] = None,
    admin1: Annotated[str | None, Query(max_length=120)] = None,
    source: Annotated[str | None, Query(max_length=16)] = None,
    event_type: Annotated[str | None, Query(max_length=64)] = None,
    since: date | None = None, until: date | None = None,
    limit: Limit = 100, offset: Offset = 0,
) -> dict[str, object]:
    """Events you may see, newest first, filtered by country (ISO3), admin1 and event type (as
    stored), source and dates."""
    if source is not None and source not in SOURCES:
        raise ApiError(422, "validation_error", f"source: one of {', '.join(SOURCES)}")
    filters = service.EventFilters(country=country, admin1=admin1, source=source,
                                   event_type=event_type, since=since, until=until)
    total, items = await read(runtime, service.list_events, scope, filters, limit, offset)
    return {"total": total, "limit": limit, "offset": offset, "items": items}


@router.get("/{event_id}", response_model=EventOut,
            responses=openapi.errors(ErrorOut, 401, 404, 422))
async def get_event(event_id: EventId, runtime: RuntimeDep, scope: ScopeDep) -> dict[str, object]:
    """One event you may see (404 otherwise)."""
    found = await read(runtime, service.get_event, scope, event_id)
    if found is None:
        raise ApiError(404, "not_found", f"No event {event_id}.")
    return found


@router.post("", status_code=201, response_model=EventOut,
             responses=openapi.errors(ErrorOut, 400, 401, 403, 413, 422))
def create_report(report: ReportIn, request: Request, session: SessionDep, scope: ScopeDep,
                  principal: Author) -> JSONResponse:
    """File a field incident report: your organisation owns it; TLP defaults to AMBER."""
    try:
        event_id = service.create_report(session, principal, report, who(request, principal))
    except service.EventError as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    session.commit()
    created = service.get_event(session, scope, event_id)
    assert created is not None  # the reporter's organisation (or, for RED, the reporter) sees it
    return JSONResponse(EventOut.model_validate(created).model_dump(mode="json"),
                        status_code=201, headers={"Location": f"/api/v1/events/{event_id}"})
