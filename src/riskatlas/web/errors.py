"""API errors: JSON with a stable `code` and a human `message`."""

from __future__ import annotations

import html
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 412: "precondition_failed",
         422: "validation_error", 428: "precondition_required", 429: "rate_limited"}


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


class RefuseNul:
    """PostgreSQL cannot store or compare text holding NUL; no real input carries one.
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
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_middleware(RefuseNul)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = getattr(exc, "code", None) or CODES.get(exc.status_code, "error")
        if not request.url.path.startswith("/api/"):
            page = f"<!doctype html><title>{exc.status_code}</title><h1>{exc.status_code}</h1>" \
                   f"<p>{html.escape(str(exc.detail))}</p><p><a href='/'>Risk Atlas</a></p>"
            return HTMLResponse(page, status_code=exc.status_code, headers=exc.headers)
        return JSONResponse(_body(code, str(exc.detail), getattr(exc, "problems", None)),
                            status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"field": ".".join(str(p) for p in err["loc"]), "reason": err["msg"]}
                    for err in exc.errors()]
        return JSONResponse(_body("validation_error", "The request is not valid.", problems),
                            status_code=422)
