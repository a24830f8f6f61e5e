"""HTML pages of accounts and administration: /account (language, password, own API tokens)
and /admin (organisations, users, tokens; sharing groups in sharing.pages).

Thin doors over parties.accounts and parties.service, audited as the CLI is (the actor is the
signed-in user). Every POST is a plain form: it carries the session's CSRF token in a hidden
`csrf` field (web.deps.form_csrf_ok). A change answers with a redirect to the page (so a reload
does not repeat it), except where a secret is shown once (a new token, a generated password):
that page is the answer itself, so the secret is never in a URL or the history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from riskatlas.parties import accounts, service
from riskatlas.parties.auth import SESSION_COOKIE
from riskatlas.parties.principal import BODY_STANDINGS, Principal
from riskatlas.runtime import Runtime
from riskatlas.sharing import service as sharing
from riskatlas.web import i18n
from riskatlas.web.deps import CurrentPrincipal, RuntimeDep, ScopeDep, form_csrf_ok
from riskatlas.web.templating import here, page_language, render

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=1024)]
Csrf = Annotated[str, Form(max_length=256)]


# --- shared by the account, admin and sharing-group pages ---------------------------------------

def to_login(request: Request) -> RedirectResponse:
    return RedirectResponse("/login?" + _query(next=here(request)), status_code=303)


def _query(**values: str) -> str:
    return urlencode(values)


def refusal(request: Request, status: int, message: str) -> HTMLResponse:
    """A page saying why not (403: not allowed, or the form's CSRF field is missing)."""
    return render(request, "parties/refused.html", {"status": status, "message": message},
                  status_code=status)


def gate(request: Request, principal: Principal, csrf: str | None = None, *,
         admin: bool = False) -> Response | None:
    """None when the request may go on; else the answer: sign in first (anonymous), 403 for a
    non-administrator on an admin page, 403 for a form without the session's CSRF token."""
    gettext = i18n.translations(page_language(request)).gettext
    if principal.anonymous:
        return to_login(request)
    if admin and principal.role != "admin":
        return refusal(request, 403, gettext("This page is for administrators."))
    if request.method == "POST" and not form_csrf_ok(request, csrf):
        return refusal(request, 403, gettext(
            "The form has expired or did not come from this site. Reload the page and try "
            "again."))
    return None


def address(request: Request) -> str | None:
    return request.client.host if request.client else None


def done(path: str, what: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"{path}?{_query(done=what)}{anchor}", status_code=303)


def shown(message: str, lang: str) -> dict[str, str]:
    """A service's message for a page: translated when the catalog has it, else in English
    (marked so, for screen readers and the eye)."""
    translated = i18n.translations(lang).gettext(message)
    return {"text": translated, "lang": lang if translated != message or lang == "en" else "en"}


# --- /account -----------------------------------------------------------------------------------

def _password_problem(exc: accounts.AccountError, gettext: Callable[[str], str]) -> str:
    """The password policy's refusals in the reader's language (the service words them in
    English for the CLI; they are told apart by how they begin)."""
    text = str(exc)
    known = {
        "the current password is wrong": gettext("The current password is wrong."),
        "the new password is the same": gettext(
            "The new password must differ from the current one."),
        "password is blank": gettext("The password is blank."),
        "password too short": gettext("The password is too short: use at least %(n)s "
                                      "characters.") % {"n": accounts.MIN_PASSWORD},
        "password too long": gettext("The password is too long: use at most %(n)s "
                                     "characters.") % {"n": accounts.MAX_PASSWORD},
        "password too easy to guess": gettext(
            "The password is too easy to guess: it is a common password or made of common "
            "words, names, dates, sequences or repeats. A few unrelated words make a good one."),
    }
    for start, message in known.items():
        if text.startswith(start):
            return message
    return text


def _account(request: Request, runtime: Runtime, principal: Principal,
             **extra: Any) -> dict[str, Any]:
    assert principal.username is not None
    with runtime.sessions() as session:
        tokens = accounts.list_tokens(session, principal.username)
        chosen = accounts.language_of(session, principal.user_id or 0)
    return {"tokens": tokens, "chosen_language": chosen, "scopes": accounts.SCOPES,
            "page_path": "/account",
            "token_days": runtime.settings.token_days, "done": request.query_params.get("done"),
            "min_password": accounts.MIN_PASSWORD, **extra}


# The GET pages read no catalog record, yet depend on the sharing scope like every read route
# (tests/web/test_routes_scope.py): whatever they come to show from the catalog is then read
# under the policy already.
@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, principal: CurrentPrincipal, runtime: RuntimeDep,
                 _scope: ScopeDep) -> Response:
    return gate(request, principal) or render(request, "parties/account.html",
                                              _account(request, runtime, principal))


@router.post("/account/language")
def account_language(request: Request, principal: CurrentPrincipal, runtime: RuntimeDep,
                     csrf: Csrf = "", language: Annotated[str, Form(max_length=16)] = "",
                     ) -> Response:
    if (answer := gate(request, principal, csrf)) is not None:
        return answer
    assert principal.username is not None
    if language and language not in i18n.available():
        return render(request, "parties/account.html", _account(
            request, runtime, principal, language_problem=True), status_code=422)
    with runtime.transaction() as session:
        accounts.set_language(session, principal.username, language or None,
                              actor=principal.username, address=address(request))
    return done("/account", "language")


@router.post("/account/password")
def account_password(request: Request, principal: CurrentPrincipal, runtime: RuntimeDep,
                     csrf: Csrf = "", current: Text = "", new: Text = "",
                     again: Text = "") -> Response:
    if (answer := gate(request, principal, csrf)) is not None:
        return answer
    assert principal.username is not None
    gettext = i18n.translations(page_language(request)).gettext
    problem: dict[str, str] | None = None
    if new != again:
        problem = {"field": "again", "text": gettext("The two new passwords differ.")}
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        kept = accounts.sha256_hex(cookie) if cookie else None  # this browser stays signed in
        try:
            with runtime.transaction() as session:
                accounts.change_password(session, principal.username, current, new,
                                         actor=principal.username, address=address(request),
                                         keep_session=kept)
        except accounts.AccountError as exc:
            field = "current" if str(exc).startswith("the current") else "new"
            problem = {"field": field, "text": _password_problem(exc, gettext)}
    if problem is not None:
        return render(request, "parties/account.html", _account(
            request, runtime, principal, password_problem=problem), status_code=422)
    return done("/account", "password")


@router.post("/account/tokens", response_class=HTMLResponse)
def account_token_create(request: Request, principal: CurrentPrincipal, runtime: RuntimeDep,
                         csrf: Csrf = "", name: Annotated[str, Form(max_length=128)] = "",
                         scope: Annotated[str, Form(max_length=8)] = "read") -> Response:
    if (answer := gate(request, principal, csrf)) is not None:
        return answer
    assert principal.username is not None
    try:
        with runtime.transaction() as session:
            secret = accounts.create_token(session, principal.username, scope,
                                           runtime.settings.token_days, name.strip() or None,
                                           actor=principal.username, address=address(request))
    except accounts.AccountError as exc:
        return render(request, "parties/account.html", _account(
            request, runtime, principal,
            token_problem=shown(str(exc), page_language(request))), status_code=422)
    return render(request, "parties/token_created.html", {
        "secret": secret, "name": name.strip(), "scope": scope,
        "days": runtime.settings.token_days, "back": "/account",
        "page_path": "/account"},
        headers={"Cache-Control": "no-store"})


@router.post("/account/tokens/{token_id}/revoke")
def account_token_revoke(request: Request, token_id: int, principal: CurrentPrincipal,
                         runtime: RuntimeDep, csrf: Csrf = "") -> Response:
    if (answer := gate(request, principal, csrf)) is not None:
        return answer
    assert principal.username is not None
    try:
        with runtime.transaction() as session:
            accounts.revoke_own_token(session, principal.username, token_id,
                                      actor=principal.username, address=address(request))
    except accounts.AccountError as exc:
        return render(request, "parties/account.html", _account(
            request, runtime, principal,
            token_problem=shown(str(exc), page_language(request))), status_code=422)
    return done("/account", "revoked", "#tokens")


# --- /admin -------------------------------------------------------------------------------------

def admin_context(request: Request, runtime: Runtime, **extra: Any) -> dict[str, Any]:
    with runtime.sessions() as session:
        return {"orgs": service.list_organisations(session),
                "states": service.list_states(session),
                "users": accounts.list_users(session), "tokens": accounts.list_tokens(session),
                "groups": sharing.list_groups(session), "roles": accounts.ROLES,
                "standings": BODY_STANDINGS, "done": request.query_params.get("done"),
                "page_path": "/admin",
                **extra}


def admin_problem(request: Request, runtime: Runtime, section: str,
                  exc: Exception) -> HTMLResponse:
    """The admin page again, with the service's refusal shown in its section (422)."""
    problem = {"section": section, **shown(str(exc), page_language(request))}
    return render(request, "parties/admin.html", admin_context(request, runtime,
                                                               problem=problem), status_code=422)


def admin_write(request: Request, runtime: Runtime, section: str, what: str,
                write: Callable[[Session], None], errors: tuple[type[Exception], ...],
                ) -> Response:
    try:
        with runtime.transaction() as session:
            write(session)
    except errors as exc:
        return admin_problem(request, runtime, section, exc)
    return done("/admin", what, f"#{section}")


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, principal: CurrentPrincipal, runtime: RuntimeDep,
               _scope: ScopeDep) -> Response:
    return gate(request, principal, admin=True) or render(
        request, "parties/admin.html", admin_context(request, runtime))


@router.post("/admin/orgs")
def admin_org_add(request: Request, principal: CurrentPrincipal, runtime: RuntimeDep,
                  csrf: Csrf = "", name: Text = "", key: Annotated[str, Form(max_length=64)] = "",
                  where: Annotated[str, Form(max_length=32)] = "") -> Response:
    """`where`: a state's code, or `standing:<regional|partner|observer>` for a body."""
    if (answer := gate(request, principal, csrf, admin=True)) is not None:
        return answer
    body = where.startswith("standing:")
    state = None if body else (where or None)
    standing = where.removeprefix("standing:") if body else None

    def write(session: Session) -> None:
        service.add_organisation(session, name, state=state, standing=standing,
                                 key=key.strip() or None, actor=principal.username)
    return admin_write(request, runtime, "orgs", "org", write, (service.PartiesError,))


@router.post("/admin/users", response_class=HTMLResponse)
def admin_user_add(request: Request, principal: CurrentPrincipal, runtime: RuntimeDep,
                   csrf: Csrf = "", username: Annotated[str, Form(max_length=64)] = "",
                   org: Annotated[str, Form(max_length=64)] = "",
                   role: Annotated[str, Form(max_length=16)] = "viewer",
                   password: Text = "") -> Response:
    if (answer := gate(request, principal, csrf, admin=True)) is not None:
        return answer
    try:
        with runtime.transaction() as session:
            _, generated = accounts.add_user(session, username.strip(), org, role,
                                             password or None, actor=principal.username,
                                             address=address(request))
    except accounts.AccountError as exc:
        problem: Exception = exc
        if str(exc).startswith("password"):
            gettext = i18n.translations(page_language(request)).gettext
            problem = accounts.AccountError(_password_problem(exc, gettext))
        return admin_problem(request, runtime, "users", problem)
    if generated is None:
        return done("/admin", "user", "#users")
    return render(request, "parties/token_created.html", {
        "password": generated, "username": username.strip(), "back": "/admin#users",
        "page_path": "/admin"},
        headers={"Cache-Control": "no-store"})


@router.post("/admin/users/{username}/disable")
def admin_user_disable(request: Request, username: str, principal: CurrentPrincipal,
                       runtime: RuntimeDep, csrf: Csrf = "") -> Response:
    if (answer := gate(request, principal, csrf, admin=True)) is not None:
        return answer

    def write(session: Session) -> None:
        accounts.disable_user(session, username, actor=principal.username,
                              address=address(request))
    return admin_write(request, runtime, "users", "disabled", write, (accounts.AccountError,))


@router.post("/admin/users/{username}/role")
def admin_user_role(request: Request, username: str, principal: CurrentPrincipal,
                    runtime: RuntimeDep, csrf: Csrf = "",
                    role: Annotated[str, Form(max_length=16)] = "") -> Response:
    if (answer := gate(request, principal, csrf, admin=True)) is not None:
        return answer

    def write(session: Session) -> None:
        accounts.set_role(session, username, role, actor=principal.username,
                          address=address(request))
    return admin_write(request, runtime, "users", "role", write, (accounts.AccountError,))


@router.post("/admin/tokens/{token_id}/revoke")
def admin_token_revoke(request: Request, token_id: int, principal: CurrentPrincipal,
                       runtime: RuntimeDep, csrf: Csrf = "") -> Response:
    if (answer := gate(request, principal, csrf, admin=True)) is not None:
        return answer

    def write(session: Session) -> None:
        accounts.revoke_token(session, str(token_id), actor=principal.username,
                              address=address(request))
    return admin_write(request, runtime, "tokens", "revoked", write, (accounts.AccountError,))
