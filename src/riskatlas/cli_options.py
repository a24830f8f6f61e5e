"""Options and helpers shared by the CLI modules, declared once.

riskatlas.cli imports the domain CLIs (parties.cli, ...), so those cannot import riskatlas.cli;
they import from here instead, and riskatlas.cli may do the same.
"""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from riskatlas.output import Format
from riskatlas.runtime import Runtime, make_runtime

err = Console(stderr=True)

Db = Annotated[str | None, typer.Option("--db", help="Database URL (default: "
                                        "RISKATLAS_DATABASE_URL or sqlite:///riskatlas.db).")]
Fmt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def runtime(db: str | None) -> Runtime:
    try:
        return make_runtime(db)
    except ValueError as exc:
        fail(str(exc))
