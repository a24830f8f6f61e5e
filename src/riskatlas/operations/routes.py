"""/healthz, /readyz and /metrics: public health checks, metrics for administrators.

None reads a record, so none takes the sharing scope (tests/web/test_routes_scope.py lists
them); none is kept by the answer cache (web.cache keeps /api/v1/risks and /api/v1/measures
only), and each says `Cache-Control: no-store` so no proxy keeps one either.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from riskatlas.operations import health, metrics
from riskatlas.web.deps import CurrentPrincipal, RuntimeDep
from riskatlas.web.errors import ApiError

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz")
async def healthz() -> JSONResponse:
    """The process is up and answering: no database access."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.get("/readyz")
def readyz(runtime: RuntimeDep) -> JSONResponse:
    """The database answers and its schema is at this code's newest migration."""
    reason = health.not_ready(runtime.engine)
    if reason is not None:
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503,
                            headers=NO_STORE)
    return JSONResponse({"status": "ready", "schema": health.code_head()}, headers=NO_STORE)


@router.get("/metrics")
def prometheus(request: Request, principal: CurrentPrincipal, runtime: RuntimeDep) -> Response:
    """Prometheus text format; an administrator's session or API token unless
    RISKATLAS_METRICS_PUBLIC is on."""
    if not runtime.settings.metrics_public:
        if principal.anonymous:
            raise ApiError(401, "unauthorized", "Send an administrator's API token.",
                           headers={"WWW-Authenticate": "Bearer"})
        if principal.role != "admin":
            raise ApiError(403, "forbidden", "Metrics are for administrators.")
    database = metrics.Database(runtime.sessions)
    return Response(metrics.scrape(database), media_type=metrics.CONTENT_TYPE_LATEST,
                    headers=NO_STORE)
