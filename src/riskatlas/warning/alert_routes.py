"""Alerts over the JSON API: lists and details through the scope, and status changes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from riskatlas.catalog.schemas import ErrorOut
from riskatlas.warning import alerts as service
from riskatlas.warning.models import ALERT_STATUSES
from riskatlas.warning.schemas import AlertDetail, AlertPage, AlertStatusIn
from riskatlas.web import openapi
from riskatlas.web.deps import Author, RuntimeDep, ScopeDep, SessionDep, read, who
from riskatlas.web.errors import ApiError

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("", response_model=AlertPage, responses=openapi.errors(ErrorOut, 401, 422))
async def list_alerts(
    runtime: RuntimeDep, scope: ScopeDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    country: Annotated[str | None, Query(min_length=3, max_length=3)] = None,
    indicator: Annotated[str | None, Query(max_length=64)] = None,
    risk: Annotated[str | None, Query(max_length=32)] = None,
    min_severity: Annotated[int | None, Query(ge=1, le=4)] = None,
    since: date | None = None, until: date | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, object]:
    """Alerts you may see, newest period and most severe first."""
    if status is not None and status not in ALERT_STATUSES:
        raise ApiError(422, "validation_error", f"status: one of {', '.join(ALERT_STATUSES)}")
    filters = service.AlertFilters(status=status, country=country, indicator=indicator,
                                   risk=risk, min_severity=min_severity, since=since,
                                   until=until)
    total, items = await read(runtime, service.list_alerts, scope, filters, limit, offset)
    return {"total": total, "limit": limit, "offset": offset, "items": items}


@router.get("/{alert_id}", response_model=AlertDetail,
            responses=openapi.errors(ErrorOut, 401, 404, 422))
async def get_alert(alert_id: AlertId, runtime: RuntimeDep, scope: ScopeDep,
                    ) -> dict[str, object]:
    """One alert you may see, with its linked risks and their measures (404 otherwise)."""
    try:
        return await read(runtime, service.get_alert, scope, alert_id)
    except service.AlertNotFound:
        raise ApiError(404, "not_found", f"No alert {alert_id}.") from None


@router.post("/{alert_id}/status", response_model=AlertDetail,
             responses=openapi.errors(ErrorOut, 400, 401, 403, 404, 422))
def set_status(alert_id: AlertId, body: AlertStatusIn, request: Request, session: SessionDep,
               scope: ScopeDep, principal: Author) -> dict[str, object]:
    """Acknowledge, dismiss or escalate an alert you may see (editors and administrators);
    who and when are kept with the status and in the audit trail."""
    try:
        found = service.set_status(session, scope, principal, alert_id, body.status,
                                   who(request, principal), body.note)
    except service.AlertNotFound:
        raise ApiError(404, "not_found", f"No alert {alert_id}.") from None
    except service.AlertError as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    session.commit()
    return found
