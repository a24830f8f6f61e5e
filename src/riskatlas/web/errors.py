"""API errors: JSON with a stable `code` and a human `message`."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 412: "precondition_failed",
         413: "payload_too_large", 422: "validation_error", 428: "precondition_required",
         429: "rate_limited"}


class ApiError(HTTPException):
    def __init__(self, status: int, code: str, message: str, *,
                 headers: dict[str, str] | None = None, problems: list[Any] | None = None):
        super().__init__(status, message, headers=headers)
        self.code = code
        self.problems = problems


def _body(code: str, message: str, problems: list[Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if problems:
        body["problems"] = problems
    return body


class NulInBody(ApiError):
    def __init__(self) -> None:
        super().__init__(422, "validation_error", "NUL characters are not allowed.")


class RefuseNul:
    """PostgreSQL cannot store or compare text holding NUL; no real input carries one. Refused
    in the path, the query and JSON bodies (as the escape \\u0000), before any handler: a
    handler that looks a key up before validating the body would otherwise fail with a 500.
    (Plain ASGI rather than @app.middleware: that wrapper costs more per request.)"""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            raw = scope.get("query_string", b"").lower()
            if b"%00" in raw or b"\x00" in raw or "\x00" in scope["path"]:
                response = JSONResponse(_body("validation_error",
                                              "NUL characters are not allowed."),
                                        status_code=422)
                await response(scope, receive, send)
                return
            if scope["method"] not in {"GET", "HEAD", "OPTIONS"}:
                try:
                    await self.app(scope, _scanned(receive), send)
                except NulInBody as exc:  # read by something that does not answer for it
                    await _answer(scope, receive, send, exc)
                return
        await self.app(scope, receive, send)


def _scanned(receive: Any) -> Any:
    tail = b""  # the end of the previous chunk: an escape may straddle two

    async def scanned() -> Any:
        nonlocal tail
        message = await receive()
        if message["type"] == "http.request":
            data = tail + message.get("body", b"")
            if _nul_escape(data):
                raise NulInBody  # FastAPI hands it to the exception handlers
            tail = data[-64:]
        return message

    return scanned


def _nul_escape(data: bytes) -> bool:
    """Whether JSON text holds \\u0000 as an escape (not as an escaped backslash's text)."""
    start = 0
    while (found := data.find(b"\\u0000", start)) != -1:
        before = found
        while before > 0 and data[before - 1] == 0x5C:  # backslashes in front
            before -= 1
        if (found - before) % 2 == 0:
            return True
        start = found + 1
    return False


class BodyTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, "payload_too_large", f"The request body is larger than {limit} "
                         "bytes (RISKATLAS_MAX_BODY_BYTES).", headers={"Connection": "close"})


class LimitBody:
    """Refuses a request body over `max_bytes` with 413: at once when its Content-Length says
    so, else while it streams in (chunked), before a handler sees any of it.

    Plain ASGI like RefuseNul. A body with a Content-Length within the limit is not counted:
    the server stops reading at that length. (Starlette's own body limit answers in plain
    text and needs a newer Starlette than this project requires.)"""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > limit:
                    await _answer(scope, receive, send, BodyTooLarge(limit))
                    return
                await self.app(scope, receive, send)
                return
        received = 0
        started = False

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI passes an HTTPException raised while it reads a body on to the
                    # exception handlers, which answer in the API's (or a page's) shape.
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:  # read by something that does not turn it into an answer
            if started:
                raise
            await _answer(scope, receive, send, exc)


async def _answer(scope: dict[str, Any], receive: Any, send: Any, exc: ApiError) -> None:
    """The answer the exception handler below would give, from middleware."""
    response: Response
    if scope["path"].startswith("/api/"):
        response = JSONResponse(_body(exc.code, str(exc.detail)), status_code=exc.status_code,
                                headers=exc.headers)
    else:
        response = _page(exc.status_code, str(exc.detail), exc.headers)
    await response(scope, receive, send)


def _page(status: int, detail: str, headers: Mapping[str, str] | None) -> HTMLResponse:
    page = f"<!doctype html><title>{status}</title><h1>{status}</h1>" \
           f"<p>{html.escape(detail)}</p><p><a href='/'>Risk Atlas</a></p>"
    return HTMLResponse(page, status_code=status, headers=headers)


def allowed_methods(request: Request) -> str | None:
    """Every method that some route of this path answers. A path is often served by several
    routes, one per method, and Starlette's Allow names only the first one's; so each method
    is tried against the router (through the routes' public `matches`, whatever the nesting
    of included routers). Mounts are left out: they take any method and answer their own 405
    (StaticFiles names GET and HEAD)."""
    methods = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        probe = {"type": "http", "path": request.scope["path"], "method": method,
                 "root_path": request.scope.get("root_path", ""), "headers": []}
        if any(not isinstance(route, Mount) and route.matches(probe)[0] is Match.FULL
               for route in request.app.router.routes):
            methods.append(method)
    return ", ".join(methods) or None


def install(app: FastAPI, max_body_bytes: int) -> None:
    app.add_middleware(RefuseNul)
    app.add_middleware(LimitBody, max_bytes=max_body_bytes)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = getattr(exc, "code", None) or CODES.get(exc.status_code, "error")
        headers = exc.headers
        if exc.status_code == 405:  # RFC 9110: a 405 names the methods that would work
            allow = allowed_methods(request)
            if allow:
                headers = {**(headers or {}), "Allow": allow}
        if not request.url.path.startswith("/api/"):
            return _page(exc.status_code, str(exc.detail), headers)
        return JSONResponse(_body(code, str(exc.detail), getattr(exc, "problems", None)),
                            status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"field": ".".join(str(p) for p in err["loc"]), "reason": err["msg"]}
                    for err in exc.errors()]
        return JSONResponse(_body("validation_error", "The request is not valid.", problems),
                            status_code=422)
