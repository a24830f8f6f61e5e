"""Write docs/cli.md from the Typer app itself, so the reference cannot drift from the code.

Run `python -m riskatlas.docgen > docs/cli.md`; a test fails when the file is out of date. (The
API reference comes from the web side: `python -m riskatlas.web.app > docs/api-reference.md`.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer.main

from riskatlas.cli import app


def _walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    # Typer ships its own copy of click, so commands are told apart by shape, not class.
    if hasattr(command, "commands"):
        for name in sorted(command.commands):
            yield from _walk(command.commands[name], [*path, name])
    else:
        yield path, command


def _option(param: Any) -> str:
    if param.param_type_name == "argument":
        return f"| `{str(param.name).upper()}` | {'required' if param.required else ''} | |"
    names = ", ".join(f"`{n}`" for n in param.opts + param.secondary_opts)
    default = param.default
    shown = "" if default in (None, False, (), []) else f"`{getattr(default, 'value', default)}`"
    return f"| {names} | {shown} | {(param.help or '').replace('|', '/')} |"


def render() -> str:
    root = typer.main.get_command(app)
    lines = ["# Command-line reference", "",
             "Generated from the code by `python -m riskatlas.docgen`; do not edit by hand.", "",
             "Every command takes `--db URL` (default: `RISKATLAS_DATABASE_URL`, else",
             "`sqlite:///riskatlas.db`). Listing commands take `--format table|json|csv|yaml`.",
             ""]
    for path, command in _walk(root, []):
        lines += [f"## riskatlas {' '.join(path)}", "", (command.help or "").strip(), ""]
        params = [p for p in command.params if p.name != "help"]
        if params:
            lines += ["| parameter | default | help |", "|---|---|---|"]
            lines += [_option(p) for p in params]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def commands() -> list[str]:
    return [" ".join(path) for path, _ in _walk(typer.main.get_command(app), [])]


if __name__ == "__main__":
    print(render(), end="")
