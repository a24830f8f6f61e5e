"""Render records for the terminal: one place for --format table|json|csv|yaml."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from riskatlas.catalog.files import dump_yaml, write_csv


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    yaml = "yaml"


def text(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("en") or next(iter(value.values()), ""))
    if isinstance(value, list):
        return ", ".join(text(v, lang) for v in value)
    return "" if value is None else str(value)


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
                table.add_row(key, text(value, lang) if not isinstance(value, list) or
                              not value or not isinstance(value[0], dict) or
                              "url" not in value[0] else
                              "\n".join(f"{s['title']} ({s['published']}) {s['url']}"
                                        for s in value))
            console.print(table)
            return
        table = Table(title=title)
        for col in columns:
            table.add_column(col)
        for row in rows:
            table.add_row(*(text(row.get(col), lang) for col in columns))
        console.print(table)
