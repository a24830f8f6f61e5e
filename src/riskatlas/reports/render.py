"""A briefing pack as HTML (Jinja2) and as PDF (WeasyPrint over the same HTML).

The HTML is self-contained (styles and charts inline), and the PDF is laid out from it with
Debian's Pango and the DejaVu fonts: WeasyPrint is handed a fetcher that refuses every URL, so
a pack never reaches the network, whatever a record's text holds.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from riskatlas.library.labels import label
from riskatlas.reports import charts
from riskatlas.reports.briefing import FIRST_WINDOW_DAYS, Briefing

LANGUAGES = ("en", "ru")
TEMPLATES = Path(__file__).parent / "templates"
HIGH_LEVELS = 2  # the summary counts the risks in the top two levels of the matrix


class BriefError(ValueError):
    """A pack that cannot be made as asked (an unknown language or format)."""


@cache
def _texts() -> dict[str, Any]:
    source = resources.files("riskatlas.library").joinpath("briefing.yaml")
    doc: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    return doc


@cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise BriefError(f"--lang: expected one of {', '.join(LANGUAGES)}, got {lang!r}")
    return lang


def _text(value: Any, lang: str) -> str:
    """A record's text in `lang`, else English, else any language it has."""
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("en") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def _label(field: str, value: Any, lang: str) -> str:
    """A value's label in `lang`; a machine value without one reads as words (in_progress)."""
    found = label(field, value, lang)
    return str(found).replace("_", " ") if found == value else str(found)


def html(brief: Briefing, lang: str, today: date | None = None) -> str:
    check_language(lang)
    t = _texts()[lang]
    matrix = brief.matrix
    levels = [str(label("level", name, lang)) for name in matrix.levels]
    high = sum(n for level, n in brief.by_level.items()
               if level > len(matrix.levels) - HIGH_LEVELS)
    severe = brief.alerts_by_severity.get(3, 0) + brief.alerts_by_severity.get(4, 0)
    since = brief.since.isoformat()
    summary = [t["summary"]["risks"].format(
        count=brief.risks_total, high=high, levels=" / ".join(levels[-HIGH_LEVELS:]))]
    if brief.top:
        first = brief.top[0]
        summary.append(t["summary"]["highest"].format(
            title=_text(first["title"], lang),
            level=label("level", first["residual_level"], lang)))
    elif not brief.risks_total:
        summary.append(t["summary"]["no_risks"])
    summary += [t["summary"]["changes"].format(count=brief.changes_total, since=since),
                t["summary"]["measures"].format(count=brief.measures_total,
                                                overdue=brief.overdue_total),
                t["summary"]["proposals"].format(count=len(brief.open_proposals)),
                t["summary"]["alerts"].format(count=brief.alerts_total, since=since,
                                              severe=severe)]
    heat = charts.heat_map(
        matrix, brief.heat, t["heat"]["likelihood"], t["heat"]["impact"],
        [str(label("level", x, lang)) for x in matrix.likelihood],
        [str(label("level", x, lang)) for x in matrix.impact], t["sections"]["heat"])
    status_bars = charts.bars(
        [(_label("status", s, lang), n, "#1565c0")
         for s, n in sorted(brief.measures_by_status.items(), key=lambda kv: -kv[1])],
        t["sections"]["measures"])
    meeting = brief.meeting
    previous = (t["previous"].format(title=brief.previous["title"],
                                     date=brief.previous["date"])
                if brief.previous else t["no_previous"].format(days=FIRST_WINDOW_DAYS))
    colour = {name: charts.level_colour(matrix, i) for i, name in enumerate(matrix.levels, 1)}
    return _environment().get_template("briefing.html").render(
        lang=lang, t=t, meeting=meeting, kind=t["kinds"].get(meeting["kind"], meeting["kind"]),
        prepared=t["prepared"].format(today=(today or date.today()).isoformat()),
        previous=previous, summary=summary, heat=heat, status_bars=status_bars, brief=brief,
        text=lambda v: _text(v, lang), lab=lambda f, v: _label(f, v, lang), colour=colour)


def _refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"a briefing pack fetches nothing: {url[:80]!r} refused")


def pdf(document: str) -> bytes:
    """The PDF of a pack's HTML (WeasyPrint is imported here: it loads Pango on import)."""
    from weasyprint import HTML

    out: bytes = HTML(string=document, url_fetcher=_refuse, base_url=None).write_pdf()
    return out
