"""Application factory: `uvicorn --factory --no-proxy-headers riskatlas.web.app:create_app`
(or `riskatlas serve`). Without --no-proxy-headers uvicorn believes X-Forwarded-For from
127.0.0.1 before the app sees the request; the app applies RISKATLAS_TRUSTED_PROXIES itself."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from riskatlas import __version__
from riskatlas.catalog import (
    assessment_pages,
    assessment_routes,
    country_pages,
    listing,
    measure_pages,
    records,
    risk_pages,
)
from riskatlas.catalog import pages as catalog_pages
from riskatlas.catalog import routes as catalog_routes
from riskatlas.config import Settings, get_settings
from riskatlas.exchange import taxii_routes
from riskatlas.generation import Generation
from riskatlas.governance import pages as governance_pages
from riskatlas.governance import routes as governance_routes
from riskatlas.operations import logs
from riskatlas.operations import routes as operations_routes
from riskatlas.parties import pages as parties_pages
from riskatlas.parties import routes as parties_routes
from riskatlas.reports import routes as reports_routes
from riskatlas.runtime import Runtime
from riskatlas.sharing import pages as sharing_pages
from riskatlas.sharing import routes as sharing_routes
from riskatlas.warning import alert_routes
from riskatlas.warning import pages as warning_pages
from riskatlas.warning import routes as warning_routes
from riskatlas.web import apiref, docs, errors, observe, openapi, security
from riskatlas.web.cache import CachedReads, ReadCache
from riskatlas.web.deps import Principals

STATIC = Path(__file__).parent / "static"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Everything built so far (modules, routes, models, SQLAlchemy's metadata) lives as long as
    # the process: moved out of the cyclic garbage collector's sight, so its full collections
    # scan only what requests leave behind instead of pausing a worker for every request
    # waiting on it (a tail-latency cost under load).
    # Built before the first request, in a thread (the event loop stays free), so that a
    # fresh server's first clients do not each wait on what the others are building. Not the
    # warming thread: an app started again (tests do) finds that one shut down.
    await asyncio.get_running_loop().run_in_executor(
        None, catalog_routes.warm_start, app.state.runtime, app.state)
    gc.collect()
    gc.freeze()
    yield
    app.state.principals.generation.close()  # the connection kept for short reads
    app.state.warmer.shutdown(wait=False, cancel_futures=True)


# Every app's warming thread in this process, for whoever must wait until none is reading (the
# tests, before they empty the database: a fill still reading then deadlocks with TRUNCATE).
WARMERS: weakref.WeakSet[ThreadPoolExecutor] = weakref.WeakSet()


def settle_warmers(timeout: float = 60) -> None:
    """Wait until every warming thread of this process has finished what it was given."""
    for warmer in list(WARMERS):
        try:
            warmer.submit(lambda: None).result(timeout=timeout)
        except RuntimeError:  # shut down
            continue


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="Risk Atlas", version=__version__, openapi_url="/api/openapi.json",
                  docs_url=None, redoc_url=None, lifespan=_lifespan)  # docs: web.docs
    app.state.runtime = runtime = Runtime(settings or get_settings())
    logs.configure(runtime.settings.log_format, runtime.settings.log_level)
    app.state.read_cache = ReadCache(runtime.settings.read_cache_mb << 20)
    # The caller-independent parts of risk records (catalog.records.Pieces), about 3 KB a
    # risk: with the list index, the read path of risk pages (not copies of answers: every
    # page is still filtered, ordered, searched and checked against the caller's scope), so
    # they go with it, bounded like kept answers (64 MB when those are off).
    app.state.pieces = (records.Pieces(((runtime.settings.read_cache_mb or 64) << 20) // 3000)
                        if runtime.settings.read_index else None)
    # The list index (catalog.listing): risk list and search pages as set operations.
    app.state.listing = listing.Listing() if runtime.settings.read_index else None
    # One thread that builds reused parts after answers (catalog.routes._warming), apart from
    # the request: a client's next request must not wait for it, and one build runs at a time.
    app.state.warmer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="riskatlas-warm")
    WARMERS.add(app.state.warmer)
    app.state.principals = Principals(runtime, Generation(runtime))
    app.add_middleware(CachedReads)
    errors.install(app, runtime.settings.max_body_bytes)  # after: its checks run first
    observe.install(app)  # request id, access log, request metrics; inside the proxy headers
    security.install(app, runtime.settings)  # outermost: every answer gets the headers
    app.include_router(parties_routes.router)
    app.include_router(sharing_routes.router)
    app.include_router(parties_pages.router)  # /account, /admin
    app.include_router(sharing_pages.router)  # /admin/groups
    app.include_router(catalog_routes.router)
    app.include_router(assessment_routes.router)
    app.include_router(warning_routes.router)  # /api/v1/events
    app.include_router(alert_routes.router)  # /api/v1/alerts
    taxii_routes.install(app)  # /taxii2/
    app.include_router(operations_routes.router)  # /healthz, /readyz, /metrics
    app.include_router(governance_routes.router)  # /api/v1/proposals, /api/v1/meetings
    app.include_router(reports_routes.router)  # briefing packs
    app.include_router(governance_pages.router)  # /proposals, /meetings
    app.include_router(warning_pages.router)  # /alerts, /reports/new
    app.include_router(measure_pages.router)  # before catalog_pages: /measures/board
    app.include_router(country_pages.router)
    app.include_router(catalog_pages.router)
    app.include_router(risk_pages.router)  # /risks/new, /risks/{key}, forms
    app.include_router(assessment_pages.router)
    docs.install(app)
    openapi.install(app)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app


def api_reference() -> str:
    """docs/api-reference.md: the OpenAPI description of the app built with the default
    settings (an in-memory database, never opened: the description does not depend on data)."""
    return apiref.render_api(
        create_app(Settings.model_construct(database_url="sqlite://")).openapi())


if __name__ == "__main__":  # python -m riskatlas.web.app > docs/api-reference.md
    print(api_reference(), end="")
