"""The API benchmark's baseline: a tiny FastAPI app that answers the same URLs with the same JSON
bytes as the real server, from memory (no database, no token check, no record building).

    BENCH_RESPONSES=responses.json uvicorn baseline_app:create_app --factory --app-dir benchmarks

BENCH_RESPONSES names a JSON file {"list": ..., "search": ..., "detail": ...} holding one real
response body of each kind, captured from the real server by api_load.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastapi import FastAPI, Request, Response


def create_app() -> FastAPI:
    bodies = json.loads(Path(os.environ["BENCH_RESPONSES"]).read_text(encoding="utf-8"))
    encoded = {kind: json.dumps(body, ensure_ascii=False).encode("utf-8")
               for kind, body in bodies.items()}
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/api/v1/matrix")
    async def ready() -> Response:
        return Response(b"{}", media_type="application/json")

    @app.get("/api/v1/risks")
    async def risks(request: Request) -> Response:
        kind = "search" if request.query_params.get("q") else "list"
        return Response(encoded[kind], media_type="application/json")

    @app.get("/api/v1/risks/{key}")
    async def risk(key: str) -> Response:
        return Response(encoded["detail"], media_type="application/json")

    return app
