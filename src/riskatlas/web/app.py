"""Application factory: `uvicorn --factory riskatlas.web.app:create_app`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from riskatlas import __version__
from riskatlas.catalog import pages as catalog_pages
from riskatlas.catalog import routes as catalog_routes
from riskatlas.config import Settings, get_settings
from riskatlas.runtime import Runtime


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="Risk Atlas", version=__version__, openapi_url="/api/openapi.json",
                  docs_url="/api/docs", redoc_url=None)
    app.state.runtime = Runtime(settings or get_settings())
    app.include_router(catalog_routes.router)
    app.include_router(catalog_pages.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")),
              name="static")
    return app
