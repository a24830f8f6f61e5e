"""Dependency aliases shared by every route: handlers read like prose."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import UnboundExecutionError
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from riskatlas.audit.service import Who
from riskatlas.generation import Generation
from riskatlas.parties import accounts, auth
from riskatlas.parties.accounts import sha256_hex
from riskatlas.parties.auth import SESSION_COOKIE
from riskatlas.runtime import Runtime
from riskatlas.sharing.policy import ANONYMOUS, Principal, Scope, scope_for
from riskatlas.web.errors import ApiError

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
T = TypeVar("T")


async def run_db(runtime: Runtime, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking database work for a read route: inline on SQLite, in the thread pool on
    PostgreSQL.

    SQLite is a library call that never waits on a network, and a hand-off to the thread pool
    costs more (~0.9 ms, measured) than reading a record (~2 ms) is worth sharing out. The
    reads routed here are short (a page, a record); searches, exports and writes stay in the
    thread pool. The event loop never waits for a pooled connection: SQLite's pool has no upper
    bound (db.make_engine). A PostgreSQL call waits on the network, so there the loop stays free
    for other requests meanwhile.
    """
    if runtime.inline_reads:
        return fn(*args, **kwargs)
    return await run_in_threadpool(fn, *args, **kwargs)


async def read(runtime: Runtime, fn: Callable[..., T], *args: Any, threaded: bool = False,
               known: int | None = None, **kwargs: Any) -> T:
    """run_db with a short session of its own, passed first: `fn(session, *args)`. Read
    routes use this rather than SessionDep, so the connection goes back to the pool as soon
    as the records are read (and FastAPI has no generator dependency to unwind).

    `threaded`: always in the thread pool, for reads that may take tens of milliseconds (a
    search for a common word): there SQLite works without holding the GIL, and the event loop
    keeps answering other requests meanwhile.

    `known`: the read generation the request has just read (web.cache). `fn` is then first
    tried on the event loop with a session bound to no database, as `fn(session, *args,
    known=known)`: a read that finds everything in the memory of that generation (the list
    index and the reused parts) answers with no connection, no transaction and no thread; the
    first statement it would run raises, and the read runs as usual, without `known`."""
    if known is not None:
        try:
            with Session() as unbound:
                return fn(unbound, *args, known=known, **kwargs)
        except UnboundExecutionError:
            pass
    if threaded:
        return await run_in_threadpool(in_session, runtime, fn, *args, **kwargs)
    return await run_db(runtime, in_session, runtime, fn, *args, **kwargs)


def in_session(runtime: Runtime, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(session, *args, **kwargs)` in a short session of its own (a read, or work after an
    answer)."""
    with runtime.sessions() as session:
        return fn(session, *args, **kwargs)


# Dependencies that do no I/O are `async def`: FastAPI runs sync ones in its thread pool, and
# each hand-off costs more than these functions (~0.3 ms per request each, measured).


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[Session]:
    """One session per request; writes commit explicitly, anything uncommitted rolls back.
    Opening one does no I/O (it connects on first use, in the route's thread); closing hands
    the connection back to the pool."""
    with runtime.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


# --- who is asking -------------------------------------------------------------------------------

# Seconds a token's principal is reused without a change of the data (the read generation,
# which revoking a token, disabling its user or changing its organisation's standing moves):
# each minute the look-up runs again, which also keeps the token's last-used time current
# (parties.auth.LAST_USED_PRECISION).
TOKEN_TTL = 60.0
_MEMO = "riskatlas.principal"  # where a request keeps what Principals.of found for it


# HTTP Basic is taken on the TAXII server only (its clients speak it; exchange.taxii_routes):
# elsewhere a browser that once answered a Basic challenge would send it with cross-site forms.
BASIC_PREFIX = "/taxii2"


@dataclass(frozen=True)
class Credential:
    """What a request presents to say who sends it, read from its headers here and nowhere
    else: an API token (Authorization: Bearer), a username and an API token or password
    (Authorization: Basic, under BASIC_PREFIX only), a browser session cookie, a malformed
    Authorization header (refused with 401), or nothing (anonymous)."""

    token: str | None = None
    cookie: str | None = None
    malformed: bool = False
    username: str | None = None  # Basic: the token (or password) is `token`


def credential_of(request: HTTPConnection) -> Credential:
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "basic" and request.url.path.startswith(BASIC_PREFIX):
            return _basic(token.strip())
        if scheme.lower() != "bearer" or not token.strip():
            return Credential(malformed=True)
        return Credential(token=token.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    return Credential(cookie=cookie) if cookie else Credential()


def _basic(value: str) -> Credential:
    try:
        username, sep, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return Credential(malformed=True)
    if not sep or not username or not secret:
        return Credential(malformed=True)
    return Credential(token=secret, username=username)


@dataclass
class _Kept:
    principal: Principal
    generation: int
    fetched: float  # monotonic seconds
    expires: float  # epoch seconds: the token's expiry


@dataclass(frozen=True)
class _Resolved:
    credential: Credential
    principal: Principal


class Principals:
    """Turns a request into a principal: the one way, for every route (get_principal) and for
    the answer cache (web.cache), so a kept answer and a fresh one follow from the same
    principal. One per app (app.state.principals).

    An API token's principal is kept per process for the same read generation and at most
    TOKEN_TTL seconds; a browser session is looked up on every request (a logout ends it at
    once). What was found for a request is kept in the request's own scope, with the
    credential it was found for, so its dependencies do not look it up again; nothing else a
    request carries (such as `request.state.principal`) is believed."""

    def __init__(self, runtime: Runtime, generation: Generation) -> None:
        self.runtime = runtime
        self.generation = generation
        self._tokens: dict[str, _Kept] = {}

    async def of(self, request: HTTPConnection, generation: int | None = None) -> Principal:
        """The caller of `request`; ApiError 401 for a malformed header or a token that is
        unknown, expired or revoked. `generation`: the read generation, when the caller has
        just read it (web.cache)."""
        credential = credential_of(request)
        memo = request.scope.get(_MEMO)
        if isinstance(memo, _Resolved) and memo.credential == credential:
            return memo.principal
        if credential.malformed:
            raise ApiError(401, "unauthorized", "Use 'Authorization: Bearer <token>'.",
                           headers={"WWW-Authenticate": "Bearer"})
        if credential.username is not None:
            principal = await self._of_basic(request, credential, generation)
        elif credential.token is not None:
            principal = await self._of_token(credential.token, generation)
        elif credential.cookie is not None:
            principal = await run_in_threadpool(self._of_session, request, credential.cookie)
        else:
            principal = ANONYMOUS
        request.scope[_MEMO] = _Resolved(credential, principal)
        return principal

    async def _of_token(self, token: str, generation: int | None) -> Principal:
        gen = generation if generation is not None else await run_db(
            self.runtime, self.generation.read)
        token_hash = sha256_hex(token)
        kept = self._tokens.get(token_hash)
        if (kept is not None and kept.generation == gen
                and time.monotonic() - kept.fetched <= TOKEN_TTL and time.time() < kept.expires):
            return kept.principal
        # Always in the thread pool: the look-up may write the token's last-used time, and a
        # write may wait for SQLite's lock, which the event loop must never do.
        grant = await run_in_threadpool(self._grant, token)
        if grant is None:
            self._tokens.pop(token_hash, None)
            raise ApiError(401, "invalid_token", "The token is unknown, expired or revoked.",
                           headers={"WWW-Authenticate": "Bearer"})
        principal, expires = grant
        if len(self._tokens) > 10_000:  # bounded: drop everything rather than track age
            self._tokens.clear()
        self._tokens[token_hash] = _Kept(principal, gen, time.monotonic(), expires.timestamp())
        return principal

    async def _of_basic(self, request: HTTPConnection, credential: Credential,
                        generation: int | None) -> Principal:
        """Basic: the username with one of its API tokens, or with its password. A password
        sign-in is kept like a token's principal (per generation, TOKEN_TTL), so a client
        paging a collection is not slowed by the password hash and the sign-in record of
        each page; it may write (token scope "write"): the TAXII writes it reaches take only
        TAXII's media type, which no cross-site form can send."""
        assert credential.token is not None and credential.username is not None
        refused = ApiError(401, "invalid_credentials", "Unknown username, token or password.",
                           headers={"WWW-Authenticate": 'Basic realm="taxii", Bearer'})
        try:
            principal = await self._of_token(credential.token, generation)
        except ApiError:
            pass
        else:
            if principal.username != credential.username:
                raise refused
            return principal
        gen = generation if generation is not None else await run_db(
            self.runtime, self.generation.read)
        key = "basic:" + hashlib.sha256(
            f"{credential.username}\0{credential.token}".encode()).hexdigest()
        kept = self._tokens.get(key)
        if kept is not None and kept.generation == gen and (
                time.monotonic() - kept.fetched <= TOKEN_TTL):
            return kept.principal
        address = request.client.host if request.client else None
        found = await run_in_threadpool(self._sign_in, credential.username, credential.token,
                                        address)
        if found is None:
            raise refused
        principal = replace(found, token_scope="write")
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[key] = _Kept(principal, gen, time.monotonic(), time.time() + TOKEN_TTL)
        return principal

    def _sign_in(self, username: str, password: str, address: str | None) -> Principal | None:
        with self.runtime.transaction() as session:  # the attempt is recorded either way
            try:
                return accounts.authenticate(session, username, password, address,
                                             settings=self.runtime.settings)
            except accounts.LoginFailed:
                return None

    def _grant(self, token: str) -> tuple[Principal, datetime] | None:
        with self.runtime.transaction() as session:  # keeps the token's last-used time
            return auth.token_grant(session, token)

    def _of_session(self, request: HTTPConnection, cookie: str) -> Principal:
        with self.runtime.sessions() as session:  # its own short session: reads need no other
            found = auth.session_grant(session, cookie)
        if found is None:
            return ANONYMOUS
        principal, csrf, language = found
        request.state.csrf_token = csrf
        request.state.viewer_language = language  # for web.templating.page_language only
        return principal


def found_principal(scope: Any) -> Principal | None:
    """Who Principals.of found the request to be, if it was asked (for the access log only:
    no check reads this)."""
    memo = scope.get(_MEMO)
    return memo.principal if isinstance(memo, _Resolved) else None


async def get_principal(request: Request) -> Principal:
    """The caller: an API token (Authorization: Bearer), a browser session cookie, or nobody."""
    principals: Principals = request.app.state.principals
    principal = await principals.of(request)
    # A copy for display only (the page frame's navigation, web.templating.render): no check
    # reads it, as the request's state is not believed for who is asking (Principals).
    request.state.viewer = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_scope(principal: CurrentPrincipal, runtime: RuntimeDep) -> Scope:
    return scope_for(principal, runtime.settings.public_mode)


ScopeDep = Annotated[Scope, Depends(get_scope)]


async def require_author(request: Request, principal: CurrentPrincipal) -> Principal:
    """Anybody signed in with a session or a read-write token (CSRF for sessions); the
    service decides what their role and organisation may write (national assessments)."""
    if principal.anonymous:
        raise ApiError(401, "unauthorized", "Sign in or send an API token to make changes.")
    if principal.token_scope == "read":
        raise ApiError(403, "read_only_token", "This token may only read.")
    _check_csrf(request, principal)
    return principal


Author = Annotated[Principal, Depends(require_author)]


async def require_writer(request: Request, principal: CurrentPrincipal) -> Principal:
    """Editors and administrators with a session or a read-write token; CSRF for sessions."""
    await require_author(request, principal)
    if principal.role not in {"editor", "admin"}:
        raise ApiError(403, "forbidden", f"The {principal.role} role cannot change records.")
    return principal


def _check_csrf(request: Request, principal: Principal) -> None:
    if principal.token_scope is None and request.method not in SAFE_METHODS:
        expected = getattr(request.state, "csrf_token", None)
        if not expected or request.headers.get("x-csrf-token") != expected:
            raise ApiError(403, "csrf_failed", "Missing or wrong X-CSRF-Token header.")


Writer = Annotated[Principal, Depends(require_writer)]


def form_csrf_ok(request: Request, value: str | None) -> bool:
    """A plain HTML form's hidden `csrf` field matches the session's CSRF token (pages check
    this on every POST: a form cannot send the X-CSRF-Token header)."""
    expected = getattr(request.state, "csrf_token", None)
    return bool(expected and value and secrets.compare_digest(value, expected))


def require_form_csrf(request: Request, value: str | None) -> None:
    """ApiError 403 unless form_csrf_ok."""
    if not form_csrf_ok(request, value):
        raise ApiError(403, "csrf_failed", "Missing or wrong csrf form field.")


def who(request: Request, principal: Principal) -> Who:
    address = request.client.host if request.client else None
    return Who(principal.username, principal.org_key, address)
