"""The interactive API description at /api/docs: Swagger UI served from this server.

FastAPI's own page loads Swagger UI from a CDN (blank on a network without one) and starts it
with an inline script, which the Content-Security-Policy forbids. Here the Swagger UI files come
from the fastapi-offline package (installed with Risk Atlas) and the start-up code from
static/swagger-init.js, so the page works under the same policy as every other (web.security:
checked in Chromium, the page and an opened operation reported no violation).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from riskatlas.web.templating import templates

SWAGGER_FILES = Path(fastapi_offline.__file__).parent / "static"
SWAGGER_URL = "/static/swagger-ui"
router = APIRouter(include_in_schema=False)


@router.get("/api/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "swagger.html", {
        "openapi_url": request.app.openapi_url, "assets": SWAGGER_URL,
    })


def install(app: FastAPI) -> None:
    """The page and its files; before the /static mount, which would otherwise answer first."""
    app.include_router(router)
    app.mount(SWAGGER_URL, StaticFiles(directory=str(SWAGGER_FILES)), name="swagger-ui")
