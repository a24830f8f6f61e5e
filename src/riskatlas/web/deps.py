"""Dependency aliases shared by every route: handlers read like prose."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from riskatlas.audit.service import Who
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
               **kwargs: Any) -> T:
    """run_db with a short session of its own, passed first: `fn(session, *args)`. Read
    routes use this rather than SessionDep, so the connection goes back to the pool as soon
    as the records are read (and FastAPI has no generator dependency to unwind).

    `threaded`: always in the thread pool, for reads that may take tens of milliseconds (a
    search for a common word): there SQLite works without holding the GIL, and the event loop
    keeps answering other requests meanwhile."""
    if threaded:
        return await run_in_threadpool(_in_session, runtime, fn, *args, **kwargs)
    return await run_db(runtime, _in_session, runtime, fn, *args, **kwargs)


def _in_session(runtime: Runtime, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
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


async def get_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """The caller: an API token (Authorization: Bearer), a browser session cookie, or nobody."""
    resolved: Principal | None = getattr(request.state, "principal", None)
    if resolved is not None:  # by web.cache.CachedReads, from the same token or nobody
        return resolved
    # Always in the thread pool: a token look-up may write its last-used time (web.cache._grant)
    return await run_in_threadpool(_look_up_principal, request, runtime)


def _look_up_principal(request: Request, runtime: Runtime) -> Principal:
    with runtime.sessions() as session:  # its own short session: reads need no other
        return _principal(request, session)


def _principal(request: Request, session: Session) -> Principal:
    from riskatlas.parties import auth

    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "Use 'Authorization: Bearer <token>'.",
                           headers={"WWW-Authenticate": "Bearer"})
        principal = auth.principal_from_token(session, token.strip())
        session.commit()  # keeps the token's last-used time
        if principal is None:
            raise ApiError(401, "invalid_token", "The token is unknown, expired or revoked.",
                           headers={"WWW-Authenticate": "Bearer"})
        return principal
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if cookie:
        found = auth.principal_from_session(session, cookie)
        if found is not None:
            principal, csrf = found
            request.state.csrf_token = csrf
            return principal
    return ANONYMOUS


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


def who(request: Request, principal: Principal) -> Who:
    address = request.client.host if request.client else None
    return Who(principal.username, principal.org_key, address)
