"""Render records for the terminal: one place for --format table|json|csv|yaml.

Tables speak the language of --lang: texts in that language, and headings and enum values from
library/labels.yaml when it has them (Russian today). JSON, YAML and CSV keep machine values.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from riskatlas.catalog.files import dump_yaml
from riskatlas.catalog.spreadsheets import write_csv
from riskatlas.library.labels import group, heading, label, phrase


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    yaml = "yaml"


class ExportFormat(StrEnum):
    """What `riskatlas export` writes: the listing formats but table, and workbooks."""

    json = "json"
    yaml = "yaml"
    csv = "csv"
    xlsx = "xlsx"


# The labels by language live with the data (library/labels.py): the briefing packs use them too.
_group = group


def text(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("en") or next(iter(value.values()), ""))
    if isinstance(value, list):
        return ", ".join(text(v, lang) for v in value)
    return "" if value is None else str(value)


def cell(field: str, value: Any, lang: str) -> str:
    """One value in a table: enum values labelled, lists joined, texts in `lang`."""
    if isinstance(value, list):
        return ", ".join(cell(field, v, lang) for v in value)
    return text(label(field, value, lang), lang)


def detail(field: str, value: Any, record: dict[str, Any], lang: str) -> str:
    """One field of a record shown on its own (`risks show`): nested shapes of the export
    contract spelled out, one item a line."""
    if field == "regional":
        return _regional(value, record, lang)
    if field == "effect" and isinstance(value, dict):
        return phrase("effect", lang, likelihood=value.get("likelihood", 0),
                      impact=value.get("impact", 0))
    if field == "sharing" and isinstance(value, dict):
        return "; ".join(f"{phrase(part, lang)}: {', '.join(map(str, names))}"
                         for part, names in value.items() if names)
    if not isinstance(value, list) or not value or not isinstance(value[0], dict):
        return cell(field, value, lang)
    if field == "sources":
        return "\n".join(f"{s.get('title')} ({s.get('published')}) {s.get('url')}" for s in value)
    if field == "assessments":
        return "\n".join(phrase(
            "assessment", lang, state=a.get("state"),
            likelihood=label("likelihood", a.get("likelihood"), lang),
            impact=label("impact", a.get("impact"), lang),
            rationale=text(a.get("rationale"), lang)) for a in value)
    if "status" in value[0]:  # linked records with their status: {key|measure|risk, status}
        return "\n".join(_link(v, lang) for v in value)
    if field in {"drivers", "warning_signs"}:  # lists of texts
        return "\n".join(f"• {text(v, lang)}" for v in value)
    return "\n".join(", ".join(f"{k}: {text(v, lang)}" for k, v in item.items())
                     for item in value)


def _link(value: dict[str, Any], lang: str) -> str:
    key = next(iter(value.values()))
    status = label("status", value.get("status"), lang)
    if "measure_status" in value:  # a risk's link: its own status and the measure's
        return phrase("link_measure", lang, key=key, status=status,
                      measure_status=label("status", value["measure_status"], lang))
    return phrase("link", lang, key=key, status=status)


def _regional(value: Any, record: dict[str, Any], lang: str) -> str:
    if not isinstance(value, dict):
        return phrase("no_regional", lang)
    count = len(record.get("assessments") or [])
    rule = value.get("rule", "")
    return phrase("regional_one" if count == 1 else "regional", lang,
                  level=label("level", value.get("level"), lang),
                  likelihood=label("likelihood", value.get("likelihood"), lang),
                  impact=label("impact", value.get("impact"), lang), count=count,
                  rule=phrase(f"rule_{rule}", lang) if f"rule_{rule}" in
                  _group("en", "phrases") else rule)


def emit(
    data: Any, fmt: Format, columns: Sequence[str] = (), lang: str = "en", title: str = ""
) -> None:
    """Print records (a list) or one record (a dict) in the chosen format."""
    if fmt is Format.json:
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif fmt is Format.yaml:
        sys.stdout.write(dump_yaml(data))
    elif fmt is Format.csv:
        write_csv(data if isinstance(data, list) else [data], sys.stdout)
    else:
        console = Console()
        rows = data if isinstance(data, list) else [data]
        if isinstance(data, dict) and not columns:
            table = Table(show_header=False, title=title)
            table.add_column(style="bold")
            table.add_column()
            for key, value in data.items():
                table.add_row(heading(key, lang), detail(key, value, data, lang))
            console.print(table)
            return
        table = Table(title=title)
        for col in columns:
            table.add_column(heading(col, lang))
        for row in rows:
            table.add_row(*(cell(col, row.get(col), lang) for col in columns))
        console.print(table)
