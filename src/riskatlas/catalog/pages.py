"""HTML pages of the catalog: the dashboard (`/`) and the risk catalog (`/risks`).

The same reads as the JSON API (catalog.queries with the request's Scope), rendered with
Jinja2; risk pages and forms are in catalog.risk_pages, national assessments in
catalog.assessment_pages. The catalog's filters update the results in place with htmx: a
request with `HX-Request` gets the results fragment only, the same URL loaded directly the
whole page.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from riskatlas.catalog import assessments, queries
from riskatlas.catalog.matrix import Matrix, active_matrix
from riskatlas.catalog.schemas import DOMAINS
from riskatlas.parties.service import list_states
from riskatlas.sharing.policy import TLP_LEVELS, Scope
from riskatlas.web import i18n
from riskatlas.web.deps import RuntimeDep, ScopeDep, SessionDep
from riskatlas.web.templating import page_language, render

router = APIRouter(include_in_schema=False)
Multi = Annotated[list[str] | None, Query()]
PAGE_SIZE = 25
MAX_PAGE = 100_000
# Sort choices of the catalog page (queries.RISK_SORTS, the most useful first).
SORTS = ("-residual_level", "-level", "key", "-updated_at", "domain", "status")
# Used when a matrix names no colour for a level: low to high.
FALLBACK_COLOURS = ("#d8e8c8", "#a8c686", "#f3c23a", "#e4572e", "#8b0000", "#5a0000")


# --- shared by the catalog's pages ---------------------------------------------------------


def matrix_of(runtime: Any) -> Matrix:
    return active_matrix(runtime.settings)


def kept_lang(request: Request) -> list[tuple[str, str]]:
    """The `lang` of this request's query, to carry over in links (only when it was given:
    otherwise the account or the browser decides, as in the page frame)."""
    lang = request.query_params.get("lang")
    return [("lang", lang)] if lang else []


def url(request: Request, path: str, params: list[tuple[str, str]] | None = None) -> str:
    query = urlencode([*(params or []), *kept_lang(request)])
    return f"{path}?{query}" if query else path


def level_class(matrix: Matrix, label: str | None) -> str:
    """The CSS class of a level (`lvl-3`), from its position on the matrix (levels.css)."""
    if not label:
        return ""
    try:
        return f"lvl-{matrix.parse('level', label)}"
    except ValueError:
        return ""


def _text_colour(colour: str) -> str:
    """Black or white, whichever contrasts more with a #rrggbb background."""
    raw = colour.lstrip("#")
    if len(raw) == 3:
        raw = "".join(c * 2 for c in raw)
    try:
        r, g, b = (int(raw[i:i + 2], 16) / 255 for i in (0, 2, 4))
    except ValueError:
        return "#000"

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return "#000" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#fff"


def levels_css(matrix: Matrix) -> str:
    """One class per level of the matrix, coloured as its YAML says (CSP: no inline style)."""
    out = []
    for position, label in enumerate(matrix.levels, start=1):
        colour = matrix.colours.get(label) or FALLBACK_COLOURS[
            min(position - 1, len(FALLBACK_COLOURS) - 1)]
        out.append(f".lvl-{position} {{ background: {colour}; color: {_text_colour(colour)}; }}")
    return "\n".join(out) + "\n"


@router.get("/catalog/levels.css")
def level_styles(runtime: RuntimeDep) -> Response:
    return Response(levels_css(matrix_of(runtime)), media_type="text/css",
                    headers={"Cache-Control": "max-age=300"})


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "translated where shown"
    return message


# Names of the catalog's coded values as pages show them (translated: catalog.po).
NAMES = {
    "terrorism": N_("Terrorism and violent extremism"),
    "trafficking": N_("Drug and arms trafficking"),
    "borders": N_("Borders and territorial disputes"),
    "water_energy": N_("Water, energy and environment"),
    "afghanistan": N_("Spillover from Afghanistan"), "unrest": N_("Internal unrest"),
    "cyber": N_("Cyber"), "information": N_("Information and disinformation"),
    "climate": N_("Climate and natural hazards"), "health": N_("Health and biosecurity"),
    "economic": N_("Economic coercion and sanctions"), "cbrn": N_("CBRN and nuclear legacy"),
    "migration": N_("Migration"),
    "traditional": N_("Traditional"), "emerging": N_("Emerging"), "hybrid": N_("Hybrid"),
    "draft": N_("Draft"), "proposed": N_("Proposed"), "adopted": N_("Adopted"),
    "retired": N_("Retired"), "agreed": N_("Agreed"), "in_progress": N_("In progress"),
    "implemented": N_("Implemented"), "evaluated": N_("Evaluated"),
    "abandoned": N_("Abandoned"),
    "rising": N_("Rising"), "stable": N_("Stable"), "falling": N_("Falling"),
    "unknown": N_("Unknown"), "short": N_("Short term"), "medium": N_("Medium term"),
    "long": N_("Long term"),
    "pending": N_("Pending"), "accepted": N_("Accepted"), "rejected": N_("Rejected"),
    "create": N_("Created"), "update": N_("Changed"), "retire": N_("Retired"),
    "remove": N_("Removed"),
    "prevention": N_("Prevention"), "preparedness": N_("Preparedness"),
    "mitigation": N_("Mitigation"), "response": N_("Response"), "recovery": N_("Recovery"),
    "clear": "TLP:CLEAR", "green": "TLP:GREEN", "amber": "TLP:AMBER",
    "amber+strict": "TLP:AMBER+STRICT", "red": "TLP:RED",
    "risk": N_("Risk"), "measure": N_("Measure"),
    "key": N_("Key"), "-level": N_("Level, highest first"),
    "-residual_level": N_("Residual level, highest first"),
    "-updated_at": N_("Last changed first"), "domain": N_("Domain"), "status": N_("Status"),
}


def page_context(request: Request, matrix: Matrix) -> dict[str, Any]:
    """Helpers every catalog template uses: level classes, links keeping `lang`, names."""
    gettext = i18n.translations(page_language(request)).gettext
    return {"level_class": lambda label: level_class(matrix, label),
            "url": lambda path, *pairs: url(request, path, list(pairs)),
            "name": lambda value: gettext(NAMES[value]) if value in NAMES else value}


def wants_fragment(request: Request) -> bool:
    """An htmx request for part of a page (not htmx restoring a page from its history)."""
    return (request.headers.get("hx-request") == "true"
            and request.headers.get("hx-history-restore-request") != "true")


# --- dashboard -----------------------------------------------------------------------------


def heat_grid(request: Request, matrix: Matrix, counts: dict[tuple[int, int], int],
              view: str) -> list[dict[str, Any]]:
    """Rows of the heat map, likelihood high to low, cells impact low to high."""
    prefix = "residual_" if view == "residual" else ""
    rows = []
    for lik in range(len(matrix.likelihood), 0, -1):
        cells = []
        for imp in range(1, len(matrix.impact) + 1):
            level = matrix.level(lik, imp)
            n = counts.get((lik, imp), 0)
            cells.append({
                "count": n, "level": matrix.label("level", level), "cls": f"lvl-{level}",
                "href": url(request, "/risks", [
                    (f"{prefix}likelihood", matrix.label("likelihood", lik)),
                    (f"{prefix}impact", matrix.label("impact", imp))]) if n else None})
        rows.append({"label": matrix.label("likelihood", lik), "cells": cells})
    return rows


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, runtime: RuntimeDep, scope: ScopeDep,
              view: str = "inherent") -> HTMLResponse:
    matrix = matrix_of(runtime)
    view = "residual" if view == "residual" else "inherent"
    counts = queries.heat_map(session, matrix, scope, residual_view=view == "residual",
                              listing=request.app.state.listing)
    heat = {"view": view, "rows": heat_grid(request, matrix, counts, view),
            "impact": matrix.impact, "total": sum(counts.values()),
            "links": {v: url(request, "/", [("view", v)]) for v in ("inherent", "residual")}}
    if wants_fragment(request) and request.headers.get("hx-target") == "heatmap":
        return render(request, "catalog/_heatmap.html",
                      {"heat": heat, **page_context(request, matrix)})
    _, top = queries.list_risks(session, matrix, scope, queries.RiskFilters(), limit=10,
                                sort="-residual_level",
                                aggregation=runtime.settings.aggregation,
                                listing=request.app.state.listing)
    return render(request, "catalog/dashboard.html", {
        "heat": heat, "top": top, "due": queries.measures_due(session, scope, date.today()),
        "recent": recent_changes(session, scope), **page_context(request, matrix),
    })


def recent_changes(session: Session, scope: Scope, limit: int = 10) -> list[dict[str, Any]]:
    """Risks, measures and national assessments, newest first: the latest of each kind (each
    read through the scope) merged by time."""
    both = (queries.recent_changes(session, scope, limit)
            + assessments.recent_changes(session, scope, limit))
    return sorted(both, key=lambda c: c["changed_at"], reverse=True)[:limit]


# --- catalog -------------------------------------------------------------------------------

FILTERS = ("domain", "state", "level", "residual_level", "status", "category", "tlp",
           "likelihood", "impact", "residual_likelihood", "residual_impact")


def _values(request: Request, name: str) -> list[str]:
    return [v.strip() for v in request.query_params.getlist(name) if v.strip()][:20]


def _page_number(raw: str | None) -> int:
    try:
        return max(1, min(MAX_PAGE, int(raw or 1)))
    except ValueError:
        return 1


def catalog_query(request: Request) -> dict[str, Any]:
    """What the catalog page was asked for: filters, search text, sort and page."""
    sort = request.query_params.get("sort") or ""
    return {"filters": {name: _values(request, name) for name in FILTERS},
            "q": (request.query_params.get("q") or "").strip()[:200],
            "sort": sort if sort.removeprefix("-") in queries.RISK_SORTS else "",
            "page": _page_number(request.query_params.get("page"))}


def find_risks(session: Any, matrix: Matrix, scope: Any, asked: dict[str, Any],
               aggregation: str, listing: Any = None) -> tuple[int, list[dict[str, Any]]]:
    """The catalog page's risks; `listing`: the app's list index (catalog.listing), used when
    no page-only filter (TLP, a heat map cell) is asked."""
    f = asked["filters"]
    filters = queries.RiskFilters(domain=f["domain"], state=f["state"], level=f["level"],
                                  residual_level=f["residual_level"], status=f["status"],
                                  category=f["category"])
    extra = queries.page_filters(matrix, scope, tlp=f["tlp"], likelihood=f["likelihood"],
                                 impact=f["impact"],
                                 residual_likelihood=f["residual_likelihood"],
                                 residual_impact=f["residual_impact"])
    try:
        return queries.list_risks(session, matrix, scope, filters, limit=PAGE_SIZE,
                                  offset=(asked["page"] - 1) * PAGE_SIZE, extra=extra,
                                  q=asked["q"] or None, sort=asked["sort"] or None,
                                  aggregation=aggregation, listing=listing)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def _params(asked: dict[str, Any], **changed: Any) -> list[tuple[str, str]]:
    """The query of the catalog page as asked, with some parts changed (a page link)."""
    out: list[tuple[str, str]] = []
    if asked["q"]:
        out.append(("q", asked["q"]))
    for name, values in asked["filters"].items():
        out += [(name, v) for v in values]
    sort = changed.get("sort", asked["sort"])
    if sort:
        out.append(("sort", sort))
    page = changed.get("page", asked["page"])
    if page > 1:
        out.append(("page", str(page)))
    return out


@router.get("/risks", response_class=HTMLResponse)
def catalog(request: Request, session: SessionDep, runtime: RuntimeDep,
            scope: ScopeDep) -> HTMLResponse:
    matrix = matrix_of(runtime)
    asked = catalog_query(request)
    total, risks = find_risks(session, matrix, scope, asked, runtime.settings.aggregation,
                              request.app.state.listing)
    pages = max(1, -(-total // PAGE_SIZE))
    context: dict[str, Any] = {
        "risks": risks, "total": total, "asked": asked, "page": asked["page"], "pages": pages,
        "prev_url": url(request, "/risks", _params(asked, page=asked["page"] - 1))
        if asked["page"] > 1 else None,
        "next_url": url(request, "/risks", _params(asked, page=asked["page"] + 1))
        if asked["page"] < pages else None, **page_context(request, matrix),
    }
    headers = {"Vary": "HX-Request"}
    if wants_fragment(request):
        return render(request, "catalog/_results.html", context, headers=headers)
    states = list_states(session)
    context.update({
        "choices": {
            "domain": DOMAINS, "state": [s["code"] for s in states if s["role"] != "observer"],
            "level": matrix.levels, "residual_level": matrix.levels,
            "status": queries.RISK_STATUSES, "category": queries.CATEGORIES, "tlp": TLP_LEVELS,
        },
        "sorts": SORTS,
        "cell": [(name, v) for name in ("likelihood", "impact", "residual_likelihood",
                                        "residual_impact")
                 for v in asked["filters"][name]],
        "clear_url": url(request, "/risks"),
    })
    return render(request, "catalog/risks.html", context, headers=headers)

