"""Country pages: a map of Central Asia and its neighbours, then one state's risks, measures
and national assessments, all read with the request's Scope.

The map is drawn by the server, inline, from the SVG that scripts/make_map.py made once from
Natural Earth (web/static/map/SOURCE.md): each state of the grouping is a link around its
shape, shaded by CSS class from the number of risks at the matrix's two highest levels that
the reader may see; the counts are in the page as text too.
"""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pycountry
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from riskatlas.catalog import queries
from riskatlas.catalog.matrix import active_matrix
from riskatlas.catalog.measure_pages import STATUS_LABELS
from riskatlas.parties.service import list_states
from riskatlas.web.deps import RuntimeDep, ScopeDep, SessionDep
from riskatlas.web.templating import page_language, render

router = APIRouter(include_in_schema=False)

MAP_FILE = Path(__file__).resolve().parents[1] / "web" / "static" / "map" / "central-asia.svg"
MAP_URL = "/static/map/central-asia.svg"
# Upper bounds of the shading classes shade-0 .. shade-4 (counts of high and very high risks).
SHADES = (0, 2, 5, 9)
LIMIT = 200  # records of each list on one page


@dataclass(frozen=True)
class Shape:
    code: str  # ISO 3166-1 alpha-3
    name: str  # English, as Natural Earth names it
    d: str
    label: tuple[float, float] | None  # where its name goes (None: not named on the map)


@dataclass(frozen=True)
class Map:
    width: int
    height: int
    shapes: tuple[Shape, ...]


@cache
def load_map(path: Path = MAP_FILE) -> Map:
    text = path.read_text(encoding="utf-8")
    box = re.search(r'viewBox="0 0 (\d+) (\d+)"', text)
    if box is None:
        raise ValueError(f"{path}: no viewBox")
    shapes = []
    for code, name, label, d in re.findall(
            r'<path id="([A-Z]{3})" data-name="([^"]*)"(?: data-label="([\d.,]+)")? '
            r'd="([^"]*)"/>', text):
        x, _, y = label.partition(",")
        shapes.append(Shape(code, name, d, (float(x), float(y)) if label else None))
    return Map(int(box[1]), int(box[2]), tuple(shapes))


@cache
def _iso_russian() -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ru"],
                               fallback=True)


# Short names where ISO 3166 has only the long one.
SHORT_NAMES = {"RUS": {"en": "Russia", "ru": "Россия"}}


def neighbour_name(code: str, lang: str) -> str:
    """A country outside the grouping, named from pycountry (Russian from its ISO catalog)."""
    if code in SHORT_NAMES:
        return SHORT_NAMES[code].get(lang, SHORT_NAMES[code]["en"])
    country = pycountry.countries.get(alpha_3=code)
    if country is None:
        return code
    english = getattr(country, "common_name", None) or country.name
    if lang == "ru":
        russian = _iso_russian().gettext(english)
        return russian if russian != english else _iso_russian().gettext(country.name)
    return str(english)


def shade(count: int) -> int:
    return next((n for n, bound in enumerate(SHADES) if count <= bound), len(SHADES))


def legend() -> list[tuple[int, str]]:
    """(class number, range of counts) for each shade."""
    out, low = [], 0
    for n, bound in enumerate(SHADES):
        out.append((n, str(bound) if low == bound else f"{low}–{bound}"))
        low = bound + 1
    out.append((len(SHADES), f"{low}+"))
    return out


@router.get("/countries/{code}", response_class=HTMLResponse)
def country(
    code: str, request: Request, session: SessionDep, runtime: RuntimeDep, scope: ScopeDep,
) -> HTMLResponse:
    lang = page_language(request)
    states = {s["code"]: s for s in list_states(session)}
    code = code.strip().upper()
    if code not in states:
        raise HTTPException(404, "Not found")
    matrix = active_matrix(runtime.settings)
    high = list(matrix.levels[-2:])  # High and Very High on the default matrix
    counts = queries.risk_counts_by_state(session, matrix, scope, high)
    aggregation = runtime.settings.aggregation
    risk_total, risks = queries.list_risks(
        session, matrix, scope, queries.RiskFilters(state=[code]), limit=LIMIT, sort="-level",
        aggregation=aggregation)
    measure_total, measures = queries.list_measures(
        session, scope, queries.MeasureFilters(state=[code]), limit=LIMIT)
    assessed_total, assessed = queries.list_risks(
        session, matrix, scope, queries.RiskFilters(), limit=LIMIT,
        extra=[queries.assessed_by(code)], aggregation=aggregation)
    assessments = [(r, next(a for a in r["assessments"] if a["state"] == code))
                   for r in assessed]

    def name(c: str) -> str:
        if c in states:
            found = states[c].get(f"name_{lang}") or states[c].get("name_en")
            return str(found or c)
        return neighbour_name(c, lang)

    drawn = load_map()
    shapes: list[dict[str, Any]] = [{
        "code": s.code, "d": s.d, "label": s.label, "name": name(s.code),
        "state": s.code in states, "role": states[s.code]["role"] if s.code in states else None,
        "count": counts.get(s.code, 0), "shade": shade(counts.get(s.code, 0)),
    } for s in drawn.shapes]
    shapes.sort(key=lambda s: (s["state"], s["code"] == code))  # links and the current on top
    shown = [s for s in shapes if s["state"]]
    members = sorted((c for c, s in states.items() if s["role"] == "member"), key=name)
    return render(request, "countries/country.html", {
        "code": code, "state": states[code], "state_name": name(code), "map": drawn,
        "shapes": shapes, "on_map": {s["code"] for s in shown}, "map_url": MAP_URL,
        "members": [(c, name(c), counts.get(c, 0), shade(counts.get(c, 0))) for c in members],
        "legend": legend(), "high": high, "count": counts.get(code, 0),
        "risks": risks, "risk_total": risk_total, "measures": measures,
        "measure_total": measure_total, "assessments": assessments,
        "assessed_total": assessed_total, "limit": LIMIT, "STATUS_LABELS": STATUS_LABELS,
        "lq": f"?lang={lang}" if request.query_params.get("lang") else "",
    }, lang=lang)
