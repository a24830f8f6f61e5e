"""Jinja2 for the pages: one environment, `render` gives every page the reader's language.

Templates write English text inside `_()` / `{% trans %}`; `render` puts that request's
gettext in the context, so one environment serves every language at once.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup, escape

from riskatlas.parties.principal import ANONYMOUS
from riskatlas.web import i18n

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.add_extension("jinja2.ext.i18n")
# The language of the page being rendered: set by `render` just before Jinja renders (which
# Starlette does at once, in the same thread), read by the gettext callables below.
_LANG: ContextVar[str] = ContextVar("page_language", default=i18n.DEFAULT)
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=lambda message: i18n.translations(_LANG.get()).gettext(message),
    ngettext=lambda one, many, n: i18n.translations(_LANG.get()).ngettext(one, many, n),
    # With a context where one English word is two in another language ("Sign in": a
    # heading "Вход", a button "Войти"): `pgettext("button", "Sign in")`, msgctxt in the .po.
    pgettext=lambda ctx, message: i18n.translations(_LANG.get()).pgettext(ctx, message),
    npgettext=lambda ctx, one, many, n: i18n.translations(_LANG.get()).npgettext(
        ctx, one, many, n),
    newstyle=True)


def tr(value: Any, lang: str = "en") -> str:
    """The text in the reader's language, falling back to English."""
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("en") or "")
    return "" if value is None else str(value)


@pass_context
def tr_marked(context: Any, value: Any) -> Markup:
    """Like `tr` in the page's language, but an English fallback says so visibly."""
    lang = context.get("lang", i18n.DEFAULT)
    if isinstance(value, dict) and not value.get(lang) and value.get("en") and lang != "en":
        return Markup('<span lang="en" class="fallback" title="{}">{}</span>').format(
            i18n.translations(lang).gettext("Not yet translated: shown in English"),
            value["en"])
    return escape(tr(value, lang))


@pass_context
def number(context: Any, value: float | int | None) -> str:
    return "" if value is None else format_decimal(value, locale=i18n.locale(context["lang"]))


@pass_context
def day(context: Any, value: date | datetime | str | None, form: str = "medium") -> str:
    """A date in the page's locale (`2 Dec 2026`, `2 дек. 2026 г.`); ISO strings accepted."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = (date.fromisoformat(value) if len(value) == 10
                 else datetime.fromisoformat(value.replace("Z", "+00:00")))
    if isinstance(value, datetime):
        return format_datetime(value, form, locale=i18n.locale(context["lang"]))
    return format_date(value, form, locale=i18n.locale(context["lang"]))


templates.env.filters.update(tr=tr, trm=tr_marked, number=number, day=day,
                             language_name=i18n.native_name)


def page_language(request: Request, account: str | None = None) -> str:
    """`?lang=`, then the account's choice (given, or the signed-in user's as web.deps found
    it), then Accept-Language, then English."""
    if account is None:
        account = getattr(request.state, "viewer_language", None)
    return i18n.choose(request.query_params.get("lang"), account,
                       request.headers.get("accept-language"))


def page_path(request: Request, context: dict[str, Any] | None = None) -> str:
    """The address of the page shown: the request's path for a GET; a page answering a form
    (POST) names its own with `page_path` in the context, else the dashboard (a link to the
    form's target would be a GET of a POST-only route)."""
    named = (context or {}).get("page_path")
    if named:
        return str(named)
    return request.url.path if request.method in {"GET", "HEAD"} else "/"


def language_links(request: Request, path: str | None = None) -> dict[str, str]:
    """For each language, this page's path and query with `lang` replaced (the switcher)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    path = path or page_path(request)
    return {code: path + "?" + urlencode([*kept, ("lang", code)]) for code in i18n.available()}


def here(request: Request, path: str | None = None) -> str:
    """This page's path and query, for a sign-in link's `next`."""
    query = request.url.query
    return (path or page_path(request)) + (f"?{query}" if query else "")


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200,
           headers: dict[str, str] | None = None, lang: str | None = None) -> HTMLResponse:
    """A page in the reader's language: `_()` and `{% trans %}` translate into it, and
    `lang`, `dir`, `languages` and the session's `csrf_token` are in every template's context,
    with `language_links` (the switcher), `here` (path and query) and `viewer`: who is signed
    in, for display only (the frame's navigation), as web.deps.get_principal found it; a page
    whose handler does not depend on the principal shows the anonymous frame."""
    lang = lang or context.get("lang") or page_language(request)
    path = page_path(request, context)
    full = {"dir": i18n.direction(lang), "languages": i18n.available(),
            "language_links": language_links(request, path), "here": here(request, path),
            "viewer": getattr(request.state, "viewer", ANONYMOUS),
            "csrf_token": getattr(request.state, "csrf_token", None), **context, "lang": lang}
    token = _LANG.set(lang)
    try:
        return templates.TemplateResponse(request, name, full, status_code=status_code,
                                          headers=headers)
    finally:
        _LANG.reset(token)
