"""Small helpers shared by tests: run the CLI, import a file, export the catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from riskatlas.cli import app

DATA = Path(__file__).parent / "catalog" / "data"
SMALL = DATA / "small.yaml"


def cli(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), input=input)


def export(db_url: str) -> dict[str, Any]:
    result = cli("export", "--format", "json", "--db", db_url)
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def load(db_url: str, *paths: Path) -> None:
    result = cli("import", *map(str, paths), "--db", db_url)
    assert result.exit_code == 0, result.output
