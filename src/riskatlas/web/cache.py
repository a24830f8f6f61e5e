"""Reuse of API read answers and of API token look-ups, keyed by a generation of the data.

An answer to `GET /api/v1/risks…` or `/api/v1/measures…` depends on the stored records, on who
asks (the sharing scope of their account) and on the URL, nothing else. Every write made through
Risk Atlas appends to the audit chain in the same transaction (records, shares, users, tokens,
organisations, logins), so the sequence number of the chain's head row is a **generation** that
changes whenever an answer could. A cached answer is reused only for the same generation, the
same account and the same URL, and for at most `TTL` seconds, so that a change made behind the
product's back (directly in the database) is also seen. Browser sessions are not cached
(a logout must end them at once); neither are answers other than 200 or larger than
`MAX_ENTRY` bytes.

Hand-written rather than an HTTP cache library: the key must hold the caller's identity and the
data generation, which only the application knows. Each worker process keeps its own cache.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool

from riskatlas.parties.accounts import sha256_hex
from riskatlas.sharing.policy import Principal
from riskatlas.web.deps import run_db

# Seconds an answer is trusted without a write: only changes made behind the product's back
# need it. (At 60 s, every page of a busy server expired at once each minute, and recomputing
# them together was the worst moment of the load benchmark.)
TTL = 300.0
# A token's owner is looked up again each minute, which also keeps its last-used time current
# (parties.auth.LAST_USED_PRECISION).
TOKEN_TTL = 60.0
MAX_ENTRY = 1 << 20  # bytes: larger answers (whole exports) are not kept
CACHED_PREFIXES = ("/api/v1/risks", "/api/v1/measures")
_HEAD_SQL = "SELECT seq FROM audit_head WHERE id = 1"
_HEAD = text(_HEAD_SQL)


def generation(engine: Engine) -> int:
    """The audit chain's head sequence: changes with every write made through the product."""
    with engine.connect() as conn:
        return int(conn.execute(_HEAD).scalar() or 0)


class Generation:
    """Reads the generation for each request. With SQLite, whose reads run on the event loop's
    thread only (web.deps.run_db), one connection is kept for it: checking a connection out of
    the pool and back cost more than the read itself (13 % of the server's time under load).
    Outside a transaction, each read sees the last commit."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self._raw: Any = None

    def read(self) -> int:
        if not self.runtime.inline_reads:
            return generation(self.runtime.engine)
        if self._raw is None:
            self._raw = self.runtime.engine.raw_connection()
        cursor = self._raw.cursor()
        try:
            row = cursor.execute(_HEAD_SQL).fetchone()
        finally:
            cursor.close()
        return int(row[0]) if row else 0


@dataclass
class _Token:
    principal: Principal
    generation: int
    fetched: float
    expires: float  # epoch seconds


@dataclass
class _Answer:
    generation: int
    stored: float
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass
class ReadCache:
    """Per-process caches; `max_bytes` 0 turns answer caching off (tokens are still reused)."""

    max_bytes: int
    _answers: OrderedDict[tuple[Any, ...], _Answer] = field(default_factory=OrderedDict)
    _tokens: dict[str, _Token] = field(default_factory=dict)
    _size: int = 0
    hits: int = 0
    misses: int = 0

    # --- tokens ---------------------------------------------------------------------------

    def token(self, token_hash: str, gen: int) -> Principal | None:
        entry = self._tokens.get(token_hash)
        now = time.monotonic()
        if (entry is None or entry.generation != gen or now - entry.fetched > TOKEN_TTL
                or time.time() >= entry.expires):
            return None
        return entry.principal

    def keep_token(self, token_hash: str, gen: int, principal: Principal,
                   expires: float) -> None:
        if len(self._tokens) > 10_000:  # bounded: drop everything rather than track age
            self._tokens.clear()
        self._tokens[token_hash] = _Token(principal, gen, time.monotonic(), expires)

    # --- answers --------------------------------------------------------------------------

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

Scope = dict[str, Any]


class CachedReads:
    """ASGI middleware: answers repeated API reads of the same caller from the ReadCache.

    It resolves the caller of a cacheable request once (an API token, through the token cache,
    or nobody) and hands it to the route's dependencies in `request.state.principal`, so the
    sharing scope of a fresh answer and the key of a cached one come from the same principal.
    Requests with a session cookie, other methods and other paths pass straight through.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (scope["type"] != "http" or scope["method"] != "GET"
                or not scope["path"].startswith(CACHED_PREFIXES)):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        cache: ReadCache = state.read_cache
        caller = await run_db(state.runtime, _caller, scope, state, cache)
        gen, principal = caller.generation, caller.principal
        if caller.token is not None:
            grant = await run_in_threadpool(_grant, state.runtime, caller.token)
            if grant is not None:
                principal = grant[0]
                cache.keep_token(sha256_hex(caller.token), gen, principal,
                                 grant[1].timestamp())
        if principal is None:  # a session, or a token the route must refuse: no caching
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
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

    async def _answer_and_keep(self, scope: Scope, receive: Any, send: Any, cache: ReadCache,
                               key: tuple[Any, ...], gen: int) -> None:
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


@dataclass
class _Caller:
    generation: int
    principal: Principal | None = None
    token: str | None = None  # a bearer token still to look up


def _caller(scope: Scope, state: Any, cache: ReadCache) -> _Caller:
    """The generation, and the caller of a cacheable request: the principal of its API token
    when kept for this generation, ANONYMOUS, a token to look up, or neither when the route
    must decide (a browser session, or a malformed header the route will refuse)."""
    from riskatlas.parties import auth
    from riskatlas.sharing.policy import ANONYMOUS

    found = _Caller(state.generation.read())
    headers = dict(scope["headers"])
    header = headers.get(b"authorization")
    if header is None:
        if auth.SESSION_COOKIE.encode() not in headers.get(b"cookie", b""):
            found.principal = ANONYMOUS
        return found
    scheme, _, raw = header.decode("latin-1").partition(" ")
    raw = raw.strip()
    if scheme.lower() == "bearer" and raw:
        found.principal = cache.token(sha256_hex(raw), found.generation)
        found.token = None if found.principal else raw
    return found


def _grant(runtime: Any, raw: str) -> Any:
    """Look a token up (in the thread pool: it may write the token's last-used time, and a
    write may wait for SQLite's lock, which the event loop must never do)."""
    from riskatlas.parties import auth

    with runtime.transaction() as session:
        return auth.token_grant(session, raw)
