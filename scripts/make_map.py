"""Make src/riskatlas/web/static/map/central-asia.svg from Natural Earth (run once, by hand).

Input: `countries-50m.json` of the npm package world-atlas 2.0.2 (TopoJSON of Natural Earth
1:50m Admin 0 countries, version 4.1.0; Natural Earth is public domain, world-atlas is ISC).
Get it with `npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz`, then:

    python scripts/make_map.py package/countries-50m.json

The map is Central Asia and its neighbours in an equirectangular projection true at 42°N,
every ring clipped to the frame and simplified (Douglas-Peucker, half a pixel), one <path> per
country with its ISO 3166-1 alpha-3 code as id (and, for some, where its name goes). Not
needed at run time: the server reads the SVG this writes (catalog/country_pages.py) and
draws it inline with links and shading.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pycountry

OUT = Path(__file__).resolve().parents[1] / "src/riskatlas/web/static/map/central-asia.svg"
WEST, EAST, SOUTH, NORTH = 44.0, 90.0, 30.0, 56.0  # degrees
SCALE = 16.0  # pixels per degree of latitude
COS = math.cos(math.radians(42.0))
WIDTH = round((EAST - WEST) * COS * SCALE)
HEIGHT = round((NORTH - SOUTH) * SCALE)
TOLERANCE = 0.5  # pixels
Point = tuple[float, float]
# Where a country's name goes (longitude, latitude): inside the part of it that is shown.
LABELS = {"AFG": (65.5, 33.6), "AZE": (50.6, 41.4), "CHN": (84.0, 37.0), "IRN": (56.0, 32.4),
          "KAZ": (67.5, 48.2), "KGZ": (74.6, 41.6), "MNG": (87.6, 48.0), "PAK": (69.5, 30.7),
          "RUS": (62.0, 54.6), "TJK": (70.8, 38.6), "TKM": (58.6, 39.4), "UZB": (63.2, 42.0)}


def decode_arcs(topo: dict[str, Any]) -> list[list[Point]]:
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(arcs: list[list[Point]], indexes: list[int]) -> list[Point]:
    out: list[Point] = []
    for index in indexes:
        points = arcs[index] if index >= 0 else arcs[~index][::-1]
        out.extend(points[1:] if out else points)
    return out


def project(point: Point) -> Point:
    lon, lat = point
    return (lon - WEST) * COS * SCALE, (NORTH - lat) * SCALE


def clip(points: list[Point], margin: float = 4.0) -> list[Point]:
    """Sutherland-Hodgman against the frame (a little larger, so no edge shows)."""
    edges = [(0, -margin, 1), (0, WIDTH + margin, -1), (1, -margin, 1), (1, HEIGHT + margin, -1)]
    for axis, bound, sign in edges:
        if not points:
            break
        inside = [sign * (p[axis] - bound) >= 0 for p in points]
        out: list[Point] = []
        for i, p in enumerate(points):
            q, q_in = points[i - 1], inside[i - 1]
            if inside[i] != q_in:
                t = (bound - q[axis]) / (p[axis] - q[axis])
                out.append((q[0] + t * (p[0] - q[0]), q[1] + t * (p[1] - q[1])))
            if inside[i]:
                out.append(p)
        points = out
    return points


def simplify(points: list[Point]) -> list[Point]:
    if len(points) < 4:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = points[first], points[last]
        length = math.hypot(bx - ax, by - ay)
        best, index = 0.0, 0
        for i in range(first + 1, last):
            px, py = points[i]
            distance = (abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / length if length
                        else math.hypot(px - ax, py - ay))  # a closed ring: from its start
            if distance > best:
                best, index = distance, i
        if best > TOLERANCE:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def path(rings: list[list[Point]]) -> str:
    parts = []
    for points in rings:
        points = simplify(clip([project(p) for p in points]))
        if len(points) < 3:
            continue
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        if max(xs) - min(xs) < 1.5 and max(ys) - min(ys) < 1.5:
            continue  # specks
        parts.append("M" + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + "Z")
    return "".join(parts)


def main(source: str) -> None:
    topo = json.loads(Path(source).read_text(encoding="utf-8"))
    arcs = decode_arcs(topo)
    shapes = []
    for geometry in topo["objects"]["countries"]["geometries"]:
        country = pycountry.countries.get(numeric=str(geometry.get("id", "")).zfill(3))
        if country is None or geometry["type"] not in {"Polygon", "MultiPolygon"}:
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        d = path([ring(arcs, r) for polygon in polygons for r in polygon])
        if d:
            shapes.append((country.alpha_3, geometry["properties"]["name"], d))
    lines = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}">',
             "<!-- Natural Earth 1:50m Admin 0 countries 4.1.0 (public domain), via world-atlas "
             "2.0.2 (ISC); made by scripts/make_map.py; see SOURCE.md -->"]
    for code, name, d in sorted(shapes):
        label = ""
        if code in LABELS:
            x, y = project(LABELS[code])
            label = f' data-label="{x:.0f},{y:.0f}"'
        lines.append(f'<path id="{code}" data-name="{name}"{label} d="{d}"/>')
    lines.append("</svg>")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(shapes)} countries, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "package/countries-50m.json")
