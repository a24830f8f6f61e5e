"""What the OpenAPI description says that FastAPI cannot read from the handlers' signatures.

The catalog's write handlers take the raw JSON object and validate it themselves (every problem
with its field, in the API's error shape), so FastAPI only sees `dict[str, Any]`. The real
request bodies are declared here, from the input models, and added to the document's
components; so are the If-Match headers, which the handlers read as optional to answer 428
(not FastAPI's 422) when one is missing, and the error answers of each operation.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "The body cannot be read (not UTF-8, or a form that cannot be parsed).",
    401: "No valid credentials: sign in, or send a valid `Authorization: Bearer` token.",
    403: "Signed in, but not allowed (role, organisation, read-only token, CSRF token).",
    404: "No such record, or none you may read.",
    409: "In conflict with what is stored (a key already in use, a member already added).",
    412: "If-Match names another version than the stored one: reload and apply again.",
    413: "The body is larger than RISKATLAS_MAX_BODY_BYTES.",
    422: "The request is not valid; `problems` names each field and why.",
    428: "If-Match is missing: send the ETag of the version you are changing.",
    429: "Too many failed sign-ins; see Retry-After.",
}
ETAG = {"ETag": {"description": "The record's version, to send back as If-Match.",
                 "required": True, "schema": {"type": "string"}}}

_models: list[type[BaseModel]] = []
# name -> (model it derives from, properties to drop, property schemas to replace)
_derived: dict[str, tuple[type[BaseModel], tuple[str, ...], dict[str, Any]]] = {}
_overrides: dict[str, dict[str, Any]] = {}


def errors(model: type[BaseModel], *codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses` for these error statuses, each with `model` (the error shape)."""
    return {code: {"model": model, "description": ERROR_TEXT[code]} for code in codes}


def schema(model: type[BaseModel], overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A reference to `model`'s validation schema in the components, with some property schemas
    replaced: where the model's validators accept more than its types say (a rating given as
    a label or a number), the description must say what the server accepts."""
    if model not in _models:
        _models.append(model)
    if overrides:
        _overrides[model.__name__] = dict(overrides)
    return {"$ref": REF.format(model=model.__name__)}


def partial(name: str, model: type[BaseModel], *, drop: Iterable[str] = (),
            overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A reference to a schema `name`: `model`'s with every property optional, `drop` left out
    (fields a change ignores or refuses), `overrides` replaced. For JSON merge patches."""
    schema(model)
    _derived[name] = (model, tuple(drop), dict(overrides or {}))
    return {"$ref": REF.format(model=name)}


def json_body(ref: dict[str, Any], description: str) -> dict[str, Any]:
    """`openapi_extra` declaring the JSON request body (the handler still gets the raw dict).
    Give the handler's body parameter `WithJsonSchema({})`: this then is its whole schema."""
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": ref}}}}


def if_match(required: bool, description: str) -> dict[str, Any]:
    """`openapi_extra` declaring If-Match (the handler reads it through a hidden Header)."""
    return {"parameters": [{"name": "If-Match", "in": "header", "required": required,
                            "description": description, "schema": {"type": "string"}}]}


def extra(*parts: dict[str, Any]) -> dict[str, Any]:
    """Several `openapi_extra` parts as one (their keys do not overlap)."""
    out: dict[str, Any] = {}
    for part in parts:
        out.update(part)
    return out


def link(path: str, method: str, parameters: dict[str, str],
         description: str = "") -> dict[str, Any]:
    """An OpenAPI link to the operation `method path` (e.g. from a create to its record), so
    that clients and schemathesis's stateful tests can chain calls. `parameters` as in
    OpenAPI: `{"path.key": "$response.body#/key", "header.If-Match": "$response.header.ETag"}`."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method.lower()}", "parameters": parameters,
            **({"description": description} if description else {})}


def _component_schemas() -> dict[str, Any]:
    _, top = models_json_schema([(model, "validation") for model in _models],
                                ref_template=REF)
    found: dict[str, Any] = top.get("$defs", {})
    for name, replaced in _overrides.items():
        found[name]["properties"].update(copy.deepcopy(replaced))
    for name, (model, drop, replaced) in _derived.items():
        derived = copy.deepcopy(found[model.__name__])
        derived.pop("required", None)
        derived["title"] = name
        for field in drop:
            derived["properties"].pop(field, None)
        for prop in derived["properties"].values():  # a field left out keeps its value
            prop.pop("default", None)
        derived["properties"].update(copy.deepcopy(replaced))
        found[name] = derived
    return found


def install(app: FastAPI) -> None:
    """Adds the declared schemas to the document's components when it is first built."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            components = document.setdefault("components", {}).setdefault("schemas", {})
            for name, value in _component_schemas().items():
                if components.get(name, value) != value:
                    raise RuntimeError(f"two different OpenAPI schemas are named {name}")
                components[name] = value
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
