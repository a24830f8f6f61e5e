"""HTML pages for measures: the table, the status board and a measure's page.

Reads go through catalog.queries with the request's Scope (the sharing policy is the API's);
a change of status or progress goes through catalog.edits.edit, the service of the JSON API's
PATCH, with the same rights (editors of the owner organisation), version check and audit.
A change is a plain form POST with a `csrf` field (works without JavaScript); htmx posts the
same form and swaps the view in place (static/board.js).
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from babel.dates import format_date
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from riskatlas.catalog import checks, edits, queries
from riskatlas.catalog.importer import ImportError_
from riskatlas.catalog.matrix import active_matrix
from riskatlas.catalog.models import Risk
from riskatlas.governance import proposals as governance
from riskatlas.parties.service import list_organisations, list_states
from riskatlas.runtime import Runtime
from riskatlas.sharing.policy import Principal, Scope
from riskatlas.web.deps import CurrentPrincipal, RuntimeDep, ScopeDep, SessionDep, who
from riskatlas.web.i18n import available, locale, translations
from riskatlas.web.reasons import explain
from riskatlas.web.templating import page_language, render

router = APIRouter(include_in_schema=False)
Multi = Annotated[list[str] | None, Query()]

# The board's columns, in the order work moves; `retired` records are off the board.
BOARD = ("proposed", "agreed", "in_progress", "implemented", "evaluated", "abandoned")
STATUS_LABELS = {"proposed": "Proposed", "agreed": "Agreed", "in_progress": "In progress",
                 "implemented": "Implemented", "evaluated": "Evaluated",
                 "abandoned": "Abandoned", "retired": "Retired"}
KIND_LABELS = {"prevention": "Prevention", "preparedness": "Preparedness",
               "mitigation": "Mitigation", "response": "Response", "recovery": "Recovery"}
TREATMENT_LABELS = {"avoid": "Avoid", "reduce": "Reduce", "share": "Share", "retain": "Retain"}
# A due date has passed and the work is not done: neither done nor given up.
CLOSED = frozenset({"implemented", "evaluated", "abandoned", "retired"})
PAGE_SIZE = 50  # measures on one page of the table or the board, as /risks pages its list
MAX_PAGE = 100_000


def due_day(end: str | None) -> date | None:
    """The last day of a partial date (`2025` -> 31 Dec 2025, `2025-02` -> 28 Feb 2025)."""
    if not end:
        return None
    parts = [int(p) for p in end.split("-")]
    if len(parts) == 3:
        return date(*parts)
    year, month = parts[0], (parts[1] if len(parts) == 2 else 12)
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(first_next.toordinal() - 1)


def date_text(value: str | None, lang: str) -> str:
    """A partial date in the reader's locale: `2025-03-04` as a day, `2025-03` as a month."""
    if not value:
        return ""
    parts = [int(p) for p in value.split("-")]
    if len(parts) == 3:
        return format_date(date(*parts), "medium", locale=locale(lang))
    if len(parts) == 2:
        return format_date(date(parts[0], parts[1], 1), "LLL y", locale=locale(lang))
    return str(parts[0])


def is_overdue(measure: dict[str, Any], today: date | None = None) -> bool:
    due = due_day(measure.get("end"))
    return (due is not None and due < (today or date.today())
            and measure["status"] not in CLOSED)


def may_edit(principal: Principal, measure: dict[str, Any]) -> bool:
    """The API's rule on the fields these pages change (status, progress): editors of the
    owner, or of the lead organisation (catalog.checks.may_change_measure)."""
    return checks.may_change_measure(principal, measure)


def _listing(session: Session, runtime: Runtime, scope: Scope, principal: Principal,
             view: str, status: list[str], state: list[str], lead: list[str], lang: str,
             page: int = 1) -> dict[str, Any]:
    """Everything the table and the board show: a bounded number of queries for any page."""
    matrix = active_matrix(runtime.settings)
    wanted = status or (list(BOARD) if view == "board" else [])
    filters = queries.MeasureFilters(status=wanted, state=state)
    extra = [queries.led_by(lead)] if lead else []
    total, items = queries.list_measures(session, scope, filters, limit=PAGE_SIZE,
                                         offset=(page - 1) * PAGE_SIZE, extra=extra)
    effects = queries.measure_effects(session, matrix, scope, [m["key"] for m in items])
    today = date.today()
    for m in items:
        m["overdue"] = is_overdue(m, today)
        m["end_text"] = date_text(m.get("end"), lang)
        m["editable"] = may_edit(principal, m)
        m["effects"] = effects.get(m["key"], [])
    columns = {s: [m for m in items if m["status"] == s] for s in BOARD}
    return {
        "view": view, "total": total, "measures": items, "columns": columns,
        "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
        "filters": {"status": status, "state": state, "lead": lead},
        "leads": queries.measure_leads(session, scope),
        "orgs": {o["key"]: o["name"] for o in list_organisations(session)},
        "states": list_states(session),
        "statuses": [s for s in queries.MEASURE_STATUSES],
    }


def _context() -> dict[str, Any]:
    return {"BOARD": BOARD, "STATUS_LABELS": STATUS_LABELS, "KIND_LABELS": KIND_LABELS,
            "TREATMENT_LABELS": TREATMENT_LABELS}


def _url_lang(request: Request) -> str | None:
    """The language the reader chose in the URL (links keep it): `?lang=` of this page, or of
    the page a form came back from."""
    chosen = request.query_params.get("lang") or request.scope.get("riskatlas.back_lang")
    return page_language(request) if request.query_params.get("lang") else chosen


def _lq(request: Request) -> str:
    lang = _url_lang(request)
    return f"?lang={lang}" if lang else ""


def page_number(raw: str | list[str] | None) -> int:
    """The `page` asked for (1 for anything that is not a page number)."""
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        return max(1, min(MAX_PAGE, int(raw or 1)))
    except ValueError:
        return 1


def _urls(request: Request, view: str, status: list[str], state: list[str],
          lead: list[str], page: int = 1, pages: int = 1) -> dict[str, Any]:
    """This page's URL (where a form comes back to), those of both views (first page) and of
    the previous and next pages, filters kept."""
    chosen = _url_lang(request)
    lang = [("lang", chosen)] if chosen else []
    query = [("status", s) for s in status] + [("state", s) for s in state]
    query += [("lead", s) for s in lead] + lang

    def url(v: str, n: int = 1) -> str:
        q = ([("view", "board")] if v == "board" else []) + query
        q += [("page", str(n))] if n > 1 else []
        return "/measures" + (f"?{urlencode(q)}" if q else "")

    return {"here": url(view, page), "table_url": url("table"), "board_url": url("board"),
            "prev_url": url(view, page - 1) if page > 1 else None,
            "next_url": url(view, page + 1) if page < pages else None,
            "lq": _lq(request)}


@router.get("/measures", response_class=HTMLResponse)
def measures(
    request: Request, session: SessionDep, runtime: RuntimeDep, scope: ScopeDep,
    principal: CurrentPrincipal, view: str = "table", status: Multi = None,
    state: Multi = None, lead: Multi = None,
) -> HTMLResponse:
    view = "board" if view == "board" else "table"
    page = page_number(request.query_params.get("page"))
    data = _listing(session, runtime, scope, principal, view, status or [], state or [],
                    lead or [], page_language(request), page)
    data.update(_urls(request, view, status or [], state or [], lead or [], page,
                      data["pages"]))
    return render(request, "measures/list.html", {**_context(), **data})


@router.get("/measures/board", response_class=HTMLResponse)
def board(
    request: Request, session: SessionDep, runtime: RuntimeDep, scope: ScopeDep,
    principal: CurrentPrincipal, status: Multi = None, state: Multi = None, lead: Multi = None,
) -> HTMLResponse:
    return measures(request, session, runtime, scope, principal, "board", status, state, lead)


@router.get("/measures/{key}", response_class=HTMLResponse)
def measure_detail(
    key: str, request: Request, session: SessionDep, runtime: RuntimeDep, scope: ScopeDep,
    principal: CurrentPrincipal,
) -> HTMLResponse:
    return _detail(request, session, runtime, scope, principal, key)


def _detail(request: Request, session: Session, runtime: Runtime, scope: Scope,
            principal: Principal, key: str, error: str | Markup | None = None,
            status_code: int = 200) -> HTMLResponse:
    try:
        measure = queries.get_measure(session, scope, key)
        history = queries.history(session, "measure", measure["key"], scope)
    except queries.NotFound:
        raise HTTPException(404, "Not found") from None
    matrix = active_matrix(runtime.settings)
    effects = queries.measure_effects(session, matrix, scope, [measure["key"]])
    measure["effects"] = effects.get(measure["key"], [])
    measure["overdue"] = is_overdue(measure)
    lang = _url_lang(request) or page_language(request)
    measure["end_text"] = date_text(measure.get("end"), lang)
    measure["start_text"] = date_text(measure.get("start"), lang)
    measure["editable"] = may_edit(principal, measure)
    keys = [e["risk"] for e in measure["effects"]]
    risks = {r["key"]: r for r in queries.list_risks(
        session, matrix, scope, queries.RiskFilters(), extra=[Risk.key.in_(keys)],
        aggregation=runtime.settings.aggregation)[1]} if keys else {}
    orgs = {o["key"]: o["name"] for o in list_organisations(session)}
    reservations = [r for r in governance.reservations_of(session, scope, "measures",
                                                          measure["key"])
                    if r["version"] == measure["version"]]
    return render(request, "measures/detail.html", {
        **_context(), "m": measure, "risks": risks, "history": history, "orgs": orgs,
        "reservations": reservations,
        "here": f"/measures/{measure['key']}{_lq(request)}", "lq": _lq(request),
        "view": "detail", "error": error}, status_code=status_code, lang=lang)


# --- changes of status and progress --------------------------------------------------------------


def _safe_next(target: str | None, fallback: str) -> str:
    if (target and target.startswith("/") and not target.startswith("//")
            and "\\" not in target and all(ord(c) > 31 for c in target)):
        return target
    return fallback


def _csrf_ok(request: Request, principal: Principal, field: str | None) -> bool:
    """A browser session's form carries its CSRF token (the `csrf` field, or htmx's
    X-CSRF-Token header); an API token needs none, as in web.deps."""
    if principal.token_scope is not None:
        return True
    expected = getattr(request.state, "csrf_token", None)
    given = field or request.headers.get("x-csrf-token") or ""
    return isinstance(expected, str) and bool(expected) and secrets.compare_digest(
        given.encode(), expected.encode())


@router.post("/measures/{key}/update", response_class=HTMLResponse)
def update_measure(
    key: str, request: Request, session: SessionDep, runtime: RuntimeDep, scope: ScopeDep,
    principal: CurrentPrincipal, csrf: Annotated[str | None, Form()] = None,
    version: Annotated[int | None, Form()] = None,
    status: Annotated[str | None, Form()] = None,
    progress: Annotated[str | None, Form()] = None,
    next_url: Annotated[str | None, Form(alias="next")] = None,
) -> Response:
    """Move a measure to another status or set its progress (one form field or both)."""
    back = _safe_next(next_url, "/measures?view=board")
    chosen = parse_qs(back.partition("?")[2]).get("lang", [None])[0]
    if chosen in available():  # the page the form came from was in this language
        request.scope["riskatlas.back_lang"] = chosen
    lang = _url_lang(request) or page_language(request)
    gettext = translations(lang).gettext
    if principal.anonymous:
        return _refused(request, runtime, session, scope, principal, back, 401,
                        gettext("Sign in to change measures."))
    try:
        measure = queries.get_measure(session, scope, key)
    except queries.NotFound:
        raise HTTPException(404, "Not found") from None
    changes: dict[str, Any] = {}
    if status:
        changes["status"] = status
    if progress is not None and progress.strip():
        if not progress.strip().isascii() or not progress.strip().isdigit():
            return _refused(request, runtime, session, scope, principal, back, 422,
                            gettext("Progress must be a whole number from 0 to 100."))
        changes["progress"] = int(progress)
    if not _csrf_ok(request, principal, csrf):
        return _refused(request, runtime, session, scope, principal, back, 403,
                        gettext("The form has expired: reload the page and try again."))
    if not may_edit(principal, measure):
        return _refused(request, runtime, session, scope, principal, back, 403, gettext(
            "Only editors of the organisation that owns or leads this measure may change its "
            "status and progress."))
    if status and status not in BOARD:
        return _refused(request, runtime, session, scope, principal, back, 422,
                        gettext("Choose one of the statuses offered."))
    if not changes:
        return RedirectResponse(back, status_code=303)
    if version is None:  # as the API's If-Match: a change names the version it was made on
        return _refused(request, runtime, session, scope, principal, back, 428, gettext(
            "The form has expired: reload the page and try again."))
    try:
        edits.edit(session, active_matrix(runtime.settings), scope, "measures", measure["key"],
                   changes, who(request, principal), expected_version=version,
                   aggregation=runtime.settings.aggregation, principal=principal)
    except edits.Conflict:
        session.rollback()
        return _refused(request, runtime, session, scope, principal, back, 412, gettext(
            "Someone else changed this measure meanwhile: the page now shows their version; "
            "make your change again."))
    except ImportError_ as exc:
        session.rollback()
        return _refused(request, runtime, session, scope, principal, back, 422, Markup(
            "; ").join(explain(p.reason, lang, "measure") for p in exc.problems))
    except ValueError as exc:
        session.rollback()
        return _refused(request, runtime, session, scope, principal, back, 422,
                        explain(str(exc), lang, "measure"))
    session.commit()
    return RedirectResponse(back, status_code=303)


def _refused(request: Request, runtime: Runtime, session: Session, scope: Scope,
             principal: Principal, back: str, code: int, message: str | Markup
             ) -> HTMLResponse:
    """The view the form came from, with the reason at the top and the refusal's status: a
    browser without JavaScript shows it as a page, htmx swaps it in (static/board.js)."""
    path = back.partition("?")[0]
    if path.startswith("/measures/") and path != "/measures/board":
        session.rollback()
        return _detail(request, session, runtime, scope, principal, path.split("/")[2],
                       message, code)
    asked = parse_qs(back.partition("?")[2])
    view = "board" if asked.get("view") == ["board"] or path == "/measures/board" else "table"
    status, state, lead = (asked.get(name, []) for name in ("status", "state", "lead"))
    session.rollback()
    lang = _url_lang(request) or page_language(request)
    page = page_number(asked.get("page"))
    data = _listing(session, runtime, scope, principal, view, status, state, lead, lang, page)
    data.update(_urls(request, view, status, state, lead, page, data["pages"]))
    return render(request, "measures/list.html", {**_context(), **data, "error": message},
                  status_code=code, lang=lang)
