"""Sign-in and sign-out: the JSON API (/api/v1/auth/...) and the HTML login page (/login)."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from riskatlas.config import Settings
from riskatlas.parties import accounts, auth
from riskatlas.parties.auth import SESSION_COOKIE, SESSION_LIFETIME
from riskatlas.parties.principal import Principal
from riskatlas.runtime import Runtime
from riskatlas.web.deps import CurrentPrincipal, RuntimeDep
from riskatlas.web.errors import ApiError
from riskatlas.web.templating import render

router = APIRouter()
LOGIN_CSRF_COOKIE = "riskatlas_login_csrf"


class Credentials(BaseModel):
    username: str = Field(max_length=256)
    password: str = Field(max_length=accounts.MAX_PASSWORD)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _sign_in(runtime: Runtime, request: Request, username: str,
             password: str) -> tuple[Principal, str, str]:
    """(principal, cookie, csrf) or LoginFailed. Runs its own transaction so a failed attempt
    is committed before the error goes out, and a new session exists before its cookie does."""
    failure: accounts.LoginFailed | None = None
    with runtime.transaction() as session:
        try:
            principal = accounts.authenticate(session, username, password,
                                              client_address(request), settings=runtime.settings)
        except accounts.LoginFailed as exc:
            failure = exc  # leave the block normally: the attempt must be committed
        else:
            cookie, csrf = auth.start_session(session, principal)
    if failure is not None:
        raise failure
    return principal, cookie, csrf


def _set_session_cookie(response: Response, settings: Settings, cookie: str) -> None:
    response.set_cookie(SESSION_COOKIE, cookie, max_age=int(SESSION_LIFETIME.total_seconds()),
                        path="/", secure=settings.cookie_secure, httponly=True, samesite="lax")


def _refusal(exc: accounts.LoginFailed) -> ApiError:
    if isinstance(exc, accounts.RateLimited):
        return ApiError(429, "rate_limited", str(exc),
                        headers={"Retry-After": str(exc.retry_after_seconds)})
    return ApiError(401, "bad_credentials", str(exc))


@router.post("/api/v1/auth/login", tags=["auth"])
def login(credentials: Credentials, request: Request, runtime: RuntimeDep) -> Response:
    """Sign in with a username and password; sets the session cookie and returns the CSRF token
    to send as `X-CSRF-Token` on later unsafe requests."""
    try:
        principal, cookie, csrf = _sign_in(runtime, request, credentials.username,
                                           credentials.password)
    except accounts.LoginFailed as exc:
        raise _refusal(exc) from None
    response = JSONResponse({"username": principal.username, "org": principal.org_key,
                             "role": principal.role, "csrf_token": csrf})
    _set_session_cookie(response, runtime.settings, cookie)
    return response


@router.post("/api/v1/auth/logout", status_code=204, tags=["auth"])
def logout(request: Request, runtime: RuntimeDep) -> Response:
    """End the browser session. A live session needs its CSRF token (X-CSRF-Token), so other
    sites cannot sign a user out."""
    cookie = request.cookies.get(SESSION_COOKIE)
    with runtime.transaction() as session:
        found = auth.principal_from_session(session, cookie)
        if found is not None and not secrets.compare_digest(
                request.headers.get("x-csrf-token", ""), found[1]):
            raise ApiError(403, "csrf_failed", "Missing or wrong X-CSRF-Token header.")
        auth.end_session(session, cookie)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=runtime.settings.cookie_secure,
                           httponly=True, samesite="lax")
    return response


@router.get("/api/v1/auth/me", tags=["auth"])
def me(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Who the caller is: from `Authorization: Bearer <token>` or the session cookie. For a
    session, also its CSRF token (a page can fetch it again after a reload)."""
    if principal.anonymous:
        raise ApiError(401, "unauthorized", "Sign in or send a valid API token.",
                       headers={"WWW-Authenticate": "Bearer"})
    return {"username": principal.username, "org": principal.org_key, "role": principal.role,
            "standing": principal.standing, "token_scope": principal.token_scope,
            "csrf_token": getattr(request.state, "csrf_token", None)}


# --- HTML login page ---------------------------------------------------------------------------
# Login CSRF (signing a victim into the attacker's account) is stopped by a double-submit
# token: a random cookie set with the form, which must come back equal in the hidden field.
# Another site can post the form but can neither read nor set that cookie.

def _safe_next(target: str | None) -> str:
    """Only same-site paths: never `//host`, `/\\host` or control characters (open redirect)."""
    if (target and target.startswith("/") and not target.startswith("//")
            and "\\" not in target and all(ord(c) > 31 for c in target)):
        return target
    return "/"


def _login_page(request: Request, settings: Settings, status: int = 200,
                problem: str | None = None, username: str = "", next_url: str = "/",
                retry_after: int | None = None) -> HTMLResponse:
    csrf = secrets.token_urlsafe(32)
    headers = None if retry_after is None else {"Retry-After": str(retry_after)}
    response = render(request, "login.html", {
        "csrf": csrf, "problem": problem, "username": username, "retry_after": retry_after,
        "next": _safe_next(next_url), "page_path": "/login"}, status_code=status,
        headers=headers)
    response.set_cookie(LOGIN_CSRF_COOKIE, csrf, max_age=3600, path="/login",
                        secure=settings.cookie_secure, httponly=True, samesite="strict")
    return response


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, runtime: RuntimeDep, _viewer: CurrentPrincipal,
               next_url: Annotated[str, Query(alias="next", max_length=2048)] = "/",
               ) -> HTMLResponse:
    # _viewer: someone already signed in sees their name in the frame, and their language.
    return _login_page(request, runtime.settings, next_url=next_url)


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(
    request: Request, runtime: RuntimeDep,
    username: Annotated[str, Form(max_length=256)] = "",
    password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)] = "",
    csrf: Annotated[str, Form(max_length=256)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=2048)] = "/",
) -> Response:
    settings = runtime.settings
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (csrf and expected and secrets.compare_digest(csrf, expected)):
        return _login_page(request, settings, 403, "csrf", username, next_url)
    try:
        _, cookie, _ = _sign_in(runtime, request, username, password)
    except accounts.RateLimited as exc:
        return _login_page(request, settings, 429, "rate_limited", username, next_url,
                           exc.retry_after_seconds)
    except accounts.LoginFailed:
        return _login_page(request, settings, 401, "bad_credentials", username, next_url)
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    _set_session_cookie(response, settings, cookie)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login", secure=settings.cookie_secure,
                           httponly=True, samesite="strict")
    return response


@router.post("/logout", include_in_schema=False)
def logout_form(request: Request, runtime: RuntimeDep,
                csrf: Annotated[str, Form(max_length=256)] = "") -> Response:
    """Sign out from a page: the frame's form posts the session's CSRF token as a field.
    Without a live session there is nothing to end; a wrong token ends nothing."""
    cookie = request.cookies.get(SESSION_COOKIE)
    with runtime.transaction() as session:
        found = auth.principal_from_session(session, cookie)
        if found is not None:
            if not (csrf and secrets.compare_digest(csrf, found[1])):
                raise HTTPException(403, "The form has expired: sign out again from a page.")
            auth.end_session(session, cookie)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=runtime.settings.cookie_secure,
                           httponly=True, samesite="lax")
    return response
