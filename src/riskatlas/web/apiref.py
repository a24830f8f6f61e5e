"""The API reference (docs/api-reference.md) as Markdown, rendered from the app's OpenAPI
description: `python -m riskatlas.web.app > docs/api-reference.md` writes it (web.app builds the
app), and tests/test_docs.py fails when the committed file differs from the code's."""

from __future__ import annotations

from typing import Any

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
             "(`create_app().openapi()`) by `python -m riskatlas.web.app`; do not edit by "
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
