"""Write docs/cli.md from the Typer app itself and docs/api-reference.md from the app's OpenAPI
description, so the references cannot drift from the code.

Run `python -m riskatlas.docgen > docs/cli.md` and `python -m riskatlas.docgen api >
docs/api-reference.md`; a test fails when either file is out of date.
"""

from __future__ import annotations

import sys
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


HTTP_METHODS = ("get", "put", "post", "patch", "delete")


def _cell(text: Any) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def _type(schema: dict[str, Any]) -> str:
    """A short reading of a JSON schema: a component as a link, unions, arrays, maps, enums."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[`{name}`](#{name.lower()})"
    if "anyOf" in schema or "oneOf" in schema:
        return " or ".join(_type(s) for s in schema.get("anyOf", schema.get("oneOf", [])))
    if "enum" in schema:
        return "one of " + ", ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {_type(schema['additionalProperties'])}"
    if kind is None:
        return "any"
    return f"`{kind}`" + (f" ({schema['format']})" if "format" in schema else "")


def _content(content: dict[str, Any]) -> str:
    parts = []
    for media, body in content.items():
        schema = body.get("schema") or {}
        parts.append(f"{_type(schema)} (`{media}`)" if schema else f"`{media}`")
    return "; ".join(parts)


def render_api(spec: dict[str, Any]) -> str:
    """The OpenAPI description as Markdown: every operation by tag, then every schema."""
    lines = ["# API reference", "",
             "Generated from the OpenAPI description of the code "
             "(`create_app().openapi()`) by `python -m riskatlas.docgen api`; do not edit by "
             "hand. A running server serves the same description at `/api/openapi.json` and "
             "an interactive view at `/api/docs`; how to sign in, versions (ETags) and errors "
             "are explained in the [JSON API guide](api.md).", "",
             f"OpenAPI {spec.get('openapi', '')}, {spec['info']['title']} "
             f"{spec['info']['version']}.", ""]
    operations: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                tag = (item[method].get("tags") or ["other"])[0]
                operations.setdefault(tag, []).append((method, path, item[method]))
    lines += ["## Operations", ""]
    for tag in sorted(operations):
        lines += [f"### {tag}", ""]
        for method, path, op in operations[tag]:
            lines += [f"#### {method.upper()} `{path}`", "", f"**{op.get('summary', '')}**", ""]
            if op.get("description"):
                lines += [op["description"].strip(), ""]
            params = op.get("parameters", [])
            if params:
                lines += ["| parameter | in | required | type | description |",
                          "|---|---|---|---|---|"]
                lines += [f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else ''}"
                          f" | {_type(p.get('schema', {}))} | {_cell(p.get('description'))} |"
                          for p in params]
                lines.append("")
            body = op.get("requestBody")
            if body:
                lines += [f"Request body{' (required)' if body.get('required') else ''}: "
                          f"{_content(body.get('content', {}))}."
                          + (f" {_cell(body['description'])}" if body.get("description")
                             else ""), ""]
            lines += ["| status | answer |", "|---|---|"]
            for status, answer in op.get("responses", {}).items():
                shape = _content(answer.get("content", {}))
                lines.append(f"| {status} | {_cell(answer.get('description'))}"
                             + (f": {shape}" if shape else "") + " |")
            lines.append("")
    lines += ["## Schemas", ""]
    for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items()):
        lines += [f"### {name}", ""]
        if schema.get("description"):
            lines += [_cell(schema["description"]), ""]
        props = schema.get("properties", {})
        if props:
            required = set(schema.get("required", []))
            lines += ["| field | type | required | description |", "|---|---|---|---|"]
            lines += [f"| `{field}` | {_type(prop)} | {'yes' if field in required else ''} | "
                      f"{_cell(prop.get('description'))} |" for field, prop in props.items()]
        else:
            lines.append(f"Type: {_type(schema)}.")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def api_reference() -> str:
    """docs/api-reference.md, from the app as built with the default settings (an in-memory
    database that is never opened: the description does not depend on the data)."""
    from riskatlas.config import Settings
    from riskatlas.web.app import create_app

    return render_api(create_app(Settings.model_construct(database_url="sqlite://")).openapi())


if __name__ == "__main__":
    print(api_reference() if sys.argv[1:] == ["api"] else render(), end="")
