"""Briefing packs over HTTP: GET /api/v1/meetings/{id}/brief as HTML or PDF, through the
caller's scope (a pack shows only what the caller may see)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from riskatlas.catalog.matrix import active_matrix
from riskatlas.catalog.queries import NotFound
from riskatlas.catalog.schemas import ErrorOut
from riskatlas.reports import briefing, render
from riskatlas.web import openapi
from riskatlas.web.deps import CurrentPrincipal, RuntimeDep, ScopeDep, read
from riskatlas.web.errors import ApiError

router = APIRouter(tags=["reports"])
# A pack is one self-contained document (its styles inline, so that the same file reads alone
# once saved): its own policy allows those styles and nothing else, no script at all.
PACK_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/api/v1/meetings/{meeting_id}/brief", response_class=Response,
            responses={**openapi.errors(ErrorOut, 401, 404, 422),
                       200: {"content": {"text/html": {}, "application/pdf": {}},
                             "description": "The briefing pack."}})
async def meeting_brief(
    meeting_id: Id, runtime: RuntimeDep, scope: ScopeDep, principal: CurrentPrincipal,
    lang: Annotated[Literal["en", "ru"], Query()] = "en",
    format: Annotated[Literal["html", "pdf"], Query()] = "html",
) -> Response:
    """A meeting's briefing pack in English or Russian, as HTML or PDF: executive summary,
    heat map, top 10 risks, changes since the previous meeting, measures, open proposals with
    positions, alerts. Only what you may see."""
    if principal.anonymous:
        raise ApiError(401, "unauthorized", "Sign in or send an API token to read meetings.")
    matrix = active_matrix(runtime.settings)
    try:
        found = await read(runtime, briefing.gather, matrix, scope, meeting_id, threaded=True)
    except NotFound:
        raise ApiError(404, "not_found", f"No meeting {meeting_id}.") from None
    document = render.html(found, lang)
    name = f"briefing-{meeting_id}-{lang}.{format}"
    if format == "html":
        return HTMLResponse(document, headers={"Content-Security-Policy": PACK_CSP})
    data = await run_in_threadpool(render.pdf, document)  # seconds of layout: off the loop
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})
