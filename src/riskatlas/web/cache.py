"""Reuse of API read answers, keyed by the read generation of the data.

An answer to `GET /api/v1/risks…` or `/api/v1/measures…` depends on the stored data, on who asks
(the sharing scope of their account) and on the URL, nothing else. The **read generation**
(riskatlas.generation) moves with every change of any table such an answer or a caller's
principal depends on: database triggers move it, whoever writes (the services, `seed`, `db
reindex`, sharing groups, raw SQL), so no write path can leave a kept answer stale. A kept
answer is reused only for the same generation, the same principal and the same URL, and for at
most `TTL` seconds (which bounds the memory a rarely changing catalog keeps busy). Browser
sessions are not cached (a logout must end them at once); neither are answers other than 200 or
larger than `MAX_ENTRY` bytes.

The caller comes from web.deps.Principals, the one function that turns a request into a
principal, for the cache as for the route: a kept answer and a fresh one follow from the same
principal. Hand-written rather than an HTTP cache library: the key must hold the caller's
identity and the data generation, which only the application knows. Each worker process keeps
its own cache.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from riskatlas.web.deps import Principals, credential_of
from riskatlas.web.errors import ApiError

# Seconds an answer is kept at most: every change moves the generation, so this only bounds
# how long an answer nobody asks for again holds memory. (At 60 s, every page of a busy server
# expired at once each minute, and recomputing them together was the worst moment of the load
# benchmark.)
TTL = 300.0
MAX_ENTRY = 1 << 20  # bytes: larger answers (whole exports) are not kept
CACHED_PREFIXES = ("/api/v1/risks", "/api/v1/measures")


@dataclass
class _Answer:
    generation: int
    stored: float
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass
class ReadCache:
    """Per-process answer cache; `max_bytes` 0 turns it off."""

    max_bytes: int
    _answers: OrderedDict[tuple[Any, ...], _Answer] = field(default_factory=OrderedDict)
    _size: int = 0
    hits: int = 0
    misses: int = 0

    def answer(self, key: tuple[Any, ...], gen: int) -> _Answer | None:
        entry = self._answers.get(key)
        if entry is None or entry.generation != gen or time.monotonic() - entry.stored > TTL:
            self.misses += 1
            return None
        self._answers.move_to_end(key)
        self.hits += 1
        return entry

    def keep_answer(self, key: tuple[Any, ...], gen: int, status: int,
                    headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        if not self.max_bytes or len(body) > min(MAX_ENTRY, self.max_bytes):
            return
        old = self._answers.pop(key, None)
        if old is not None:
            self._size -= len(old.body)
        self._answers[key] = _Answer(gen, time.monotonic(), status, headers, body)
        self._size += len(body)
        while self._size > self.max_bytes:
            _, dropped = self._answers.popitem(last=False)
            self._size -= len(dropped.body)


# --- the middleware ----------------------------------------------------------------------------

AsgiScope = dict[str, Any]


class CachedReads:
    """ASGI middleware: answers repeated API reads of the same caller from the ReadCache.

    It asks web.deps.Principals for the caller of a cacheable request (an API token or nobody),
    with the generation it has just read; the route's own dependencies then get the same
    principal from the same function. Requests with a session cookie or a malformed
    Authorization header, other methods and other paths pass straight through (the route
    answers or refuses them itself)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: AsgiScope, receive: Any, send: Any) -> None:
        if (scope["type"] != "http" or scope["method"] != "GET"
                or not scope["path"].startswith(CACHED_PREFIXES)):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        credential = credential_of(request)
        if credential.cookie is not None or credential.malformed:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        cache: ReadCache = state.read_cache
        principals: Principals = state.principals
        gen = principals.generation.read_now()
        # For the route: a read it can answer from the memory of this generation needs no
        # database (web.deps.read `known`).
        scope.setdefault("state", {})["read_generation"] = gen
        try:
            principal = await principals.of(request, gen)
        except ApiError:  # a token the route refuses (401), through the usual error answer
            await self.app(scope, receive, send)
            return
        # The whole principal, not only the user: the answer follows from the scope, which
        # depends on the organisation and its standing too.
        key = (principal, scope["path"], scope["query_string"])
        found = cache.answer(key, gen)
        if found is not None:
            await send({"type": "http.response.start", "status": found.status,
                        "headers": found.headers})
            await send({"type": "http.response.body", "body": found.body})
            return
        await self._answer_and_keep(scope, receive, send, cache, key, gen)

    async def _answer_and_keep(self, scope: AsgiScope, receive: Any, send: Any,
                               cache: ReadCache, key: tuple[Any, ...], gen: int) -> None:
        start: dict[str, Any] = {}
        parts: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if not message.get("more_body") and start.get("status") == 200:
                    cache.keep_answer(key, gen, 200, list(start.get("headers", [])),
                                      b"".join(parts))
            await send(message)

        await self.app(scope, receive, capture)
