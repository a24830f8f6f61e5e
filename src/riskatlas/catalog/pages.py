"""HTML pages for risks and measures: the same queries as the JSON API, rendered with Jinja2."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from riskatlas.catalog import queries
from riskatlas.catalog import records as rec
from riskatlas.catalog.matrix import active_matrix
from riskatlas.catalog.models import Measure
from riskatlas.web.deps import RuntimeDep, ScopeDep, SessionDep
from riskatlas.web.templating import templates

router = APIRouter(include_in_schema=False)
Multi = Annotated[list[str] | None, Query()]


@router.get("/", response_class=HTMLResponse)
def risk_list(
    request: Request, session: SessionDep, runtime: RuntimeDep, scope: ScopeDep,
    domain: Multi = None, state: Multi = None, level: Multi = None, lang: str = "en",
) -> HTMLResponse:
    filters = queries.RiskFilters(domain=domain or [], state=state or [], level=level or [])
    try:
        total, risks = queries.list_risks(session, active_matrix(runtime.settings), scope, filters,
                                          aggregation=runtime.settings.aggregation)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return templates.TemplateResponse(request, "risks.html", {
        "risks": risks, "total": total, "lang": lang,
        "matrix": active_matrix(runtime.settings).as_json(),
    })


@router.get("/risks/{key}", response_class=HTMLResponse)
def risk_detail(
    key: str, request: Request, session: SessionDep, runtime: RuntimeDep, scope: ScopeDep,
    lang: str = "en",
) -> HTMLResponse:
    try:
        risk = queries.get_risk(session, active_matrix(runtime.settings), scope, key,
                                runtime.settings.aggregation)
    except queries.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    measures = rec.measure_records(session, scope, [Measure.key.in_(risk["measures"])])
    return templates.TemplateResponse(request, "risk.html", {
        "risk": risk, "measures": measures, "lang": lang,
    })


@router.get("/measures/{key}", response_class=HTMLResponse)
def measure_detail(
    key: str, request: Request, session: SessionDep, scope: ScopeDep, lang: str = "en",
) -> HTMLResponse:
    try:
        measure = queries.get_measure(session, scope, key)
    except queries.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return templates.TemplateResponse(request, "measure.html", {"m": measure, "lang": lang})
