"""Every request: a request id, one access log line and the request metrics.

Plain ASGI, just inside the forwarded-header handling (so the client address is the real
caller's) and outside the answer cache (so reused answers are logged and counted too). The
request id is the caller's X-Request-ID when short and safe (operations.logs.request_id), else
a new one; it is bound to every log line written while the request runs (structlog
contextvars) and sent back in X-Request-ID. The access line holds the path without its query
string's secrets, never a header or a body.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Match

from riskatlas.operations import logs, metrics
from riskatlas.web.deps import found_principal

log = logs.get_logger("riskatlas.http")
UNMATCHED = "(unmatched)"


def route_of(scope: dict[str, Any]) -> str:
    """The route template that answered (or would answer) the request: a bounded label."""
    route = scope.get("route")
    if route is None:  # answered before routing (the answer cache, a refused body)
        for candidate in _flat_routes(scope["app"]):
            match, _ = candidate.matches(dict(scope))
            if match is Match.FULL:
                route = candidate
                break
    return getattr(route, "path", None) or UNMATCHED


def _flat_routes(app: Any) -> list[Any]:
    """The app's routes, included routers flattened (FastAPI's walk), kept on the app."""
    flat = getattr(app.state, "flat_routes", None)
    if flat is None:
        flat = [getattr(c, "original_route", None) or c.route
                for c in iter_route_contexts(app.routes)]
        app.state.flat_routes = flat
    return flat


class Observe:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = logs.request_id(incoming)
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()),
                                                  (b"x-request-id", rid.encode())]}
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - start
            principal = found_principal(scope)
            client = scope.get("client")
            query = scope.get("query_string", b"").decode("latin-1")
            fields: dict[str, Any] = {
                "method": scope["method"], "path": scope["path"], "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "user": principal.username if principal and principal.username else "-",
                "client": client[0] if client else "-"}
            if query:
                fields["query"] = logs.scrub(query)
            log.info("request", **fields)
            metrics.observe_request(scope["method"], route_of(scope), status, seconds)
            structlog.contextvars.reset_contextvars(**tokens)


def install(app: FastAPI) -> None:
    """Add after the answer cache and the body checks, before web.security.install."""
    app.add_middleware(Observe)
