"""The pack's charts as inline SVG: the heat map and a bar chart.

Written by hand rather than with a plotting library: each is a grid or a column of rectangles
with labels, a few dozen lines of markup, and SVG inline in the HTML is what both the page and
WeasyPrint's PDF draw as vectors, with the pack's own fonts (Cyrillic included), nothing to
fetch and no image files. Every text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from riskatlas.catalog.matrix import Matrix

# Level colours when the matrix names none (low to high: green, yellow, orange, red, dark red).
PALETTE = ("#2e7d32", "#9e9d24", "#f9a825", "#ef6c00", "#c62828", "#7f0000")
FONT = "DejaVu Sans, sans-serif"


def level_colour(matrix: Matrix, level: int) -> str:
    label = matrix.levels[level - 1]
    if label in matrix.colours:
        return matrix.colours[label]
    span = len(matrix.levels)
    return PALETTE[round((level - 1) * (len(PALETTE) - 1) / max(span - 1, 1))]


def _ink(colour: str) -> str:
    """Black or white text, whichever reads better on the fill."""
    value = colour.lstrip("#")
    if len(value) != 6:
        return "#000"
    r, g, b = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#fff"


def heat_map(matrix: Matrix, counts: dict[tuple[int, int], int], likelihood_title: str,
             impact_title: str, likelihood: Sequence[str], impact: Sequence[str],
             title: str) -> str:
    """Likelihood (rows, highest on top) by impact (columns, lowest left), a count per cell
    coloured by the cell's level."""
    rows, cols = len(matrix.likelihood), len(matrix.impact)
    cell, left, top = 78, 150, 10
    width, height = left + cols * cell + 10, top + rows * cell + 80
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} '
           f'{height}" width="{width}" height="{height}" font-family="{FONT}">'
           f"<title>{escape(title)}</title>"]
    for r in range(rows):
        lik = rows - r  # highest likelihood on the top row
        y = top + r * cell
        out.append(f'<text x="{left - 8}" y="{y + cell / 2 + 4}" font-size="12" '
                   f'text-anchor="end">{escape(likelihood[lik - 1])}</text>')
        for c in range(cols):
            imp = c + 1
            fill = level_colour(matrix, matrix.level(lik, imp))
            n = counts.get((lik, imp), 0)
            x = left + c * cell
            out.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                       f'fill="{fill}" rx="3"/>')
            out.append(f'<text x="{x + cell / 2 - 1}" y="{y + cell / 2 + 7}" font-size="20" '
                       f'font-weight="bold" text-anchor="middle" fill="{_ink(fill)}">'
                       f"{n if n else ''}</text>")
    base = top + rows * cell
    for c in range(cols):
        out.append(f'<text x="{left + c * cell + cell / 2 - 1}" y="{base + 16}" '
                   f'font-size="11" text-anchor="middle">{escape(impact[c])}</text>')
    out.append(f'<text x="{left + cols * cell / 2}" y="{base + 44}" font-size="13" '
               f'font-weight="bold" text-anchor="middle">{escape(impact_title)} →</text>')
    out.append(f'<text x="14" y="{top + rows * cell / 2}" font-size="13" font-weight="bold" '
               f'text-anchor="middle" transform="rotate(-90 14 {top + rows * cell / 2})">'
               f"{escape(likelihood_title)} →</text>")
    out.append("</svg>")
    return "".join(out)


def bars(items: Sequence[tuple[str, int, str]], title: str) -> str:
    """Horizontal bars: (label, value, colour) each, longest bar the largest value."""
    bar_h, gap, left, span = 22, 8, 190, 330
    height = max(len(items), 1) * (bar_h + gap) + 10
    width = left + span + 60
    most = max((v for _, v, _ in items), default=0) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} '
           f'{height}" width="{width}" height="{height}" font-family="{FONT}">'
           f"<title>{escape(title)}</title>"]
    for i, (label, value, colour) in enumerate(items):
        y = 5 + i * (bar_h + gap)
        length = round(span * value / most)
        out.append(f'<text x="{left - 8}" y="{y + bar_h / 2 + 4}" font-size="12" '
                   f'text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{max(length, 1)}" height="{bar_h}" '
                   f'fill="{colour}" rx="2"/>')
        out.append(f'<text x="{left + length + 6}" y="{y + bar_h / 2 + 4}" font-size="12">'
                   f"{value}</text>")
    out.append("</svg>")
    return "".join(out)
