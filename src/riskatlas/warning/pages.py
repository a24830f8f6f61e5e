"""Pages for early warning: the alerts (/alerts, /alerts/{id}, with their status forms), the
events (/events), the dashboard's latest alerts (/alerts/latest, a fragment the dashboard
loads) and the field incident report form (/reports/new).

Thin doors over warning.alerts and warning.service: every read takes the request's Scope, so
a page shows exactly the alerts the JSON API shows the same person; every write goes through
the service with the principal, which decides what that person may do (the pages only hide
the buttons a person may not use). Plain forms with the session's CSRF token in a hidden field
(web.deps.form_csrf_ok), as the other pages.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from riskatlas.catalog.pages import url
from riskatlas.sharing.policy import TLP_LEVELS, Principal
from riskatlas.warning import alerts, service
from riskatlas.warning.formats import ACLED_TYPES, UCDP_TYPES
from riskatlas.warning.indicators import Indicator, default_indicator_file, load_indicators
from riskatlas.warning.models import ALERT_STATUSES, SOURCES
from riskatlas.warning.schemas import ReportIn
from riskatlas.web import i18n
from riskatlas.web.deps import CurrentPrincipal, ScopeDep, SessionDep, form_csrf_ok, who
from riskatlas.web.templating import page_language, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
LATEST = 5
EVENTS_SHOWN = 50  # on an alert's page: the events behind it
ACTIONS = ("acknowledged", "dismissed", "escalated")  # the statuses an editor may set
# The event types a page filters by: ACLED's six and UCDP GED's three (as stored)
EVENT_TYPES = (*sorted(ACLED_TYPES), *UCDP_TYPES.values())


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "translated where shown"
    return message


# Coded values as the pages name them (translated: warning.po)
NAMES = {"new": N_("new"), "acknowledged": N_("acknowledged"), "dismissed": N_("dismissed"),
         "escalated": N_("escalated"), "low": N_("low"), "moderate": N_("moderate"),
         "high": N_("high"), "critical": N_("critical")}


def _context(request: Request) -> dict[str, Any]:
    gettext = i18n.translations(page_language(request)).gettext
    return {"url": lambda path, *pairs: url(request, path, list(pairs)),
            "name": lambda value: gettext(NAMES[value]) if value in NAMES else value,
            "section": "alerts"}


def _int(raw: str | None, low: int, high: int) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return value if low <= value <= high else None


def _pages(request: Request, path: str, kept: list[tuple[str, str]], page: int,
           total: int) -> dict[str, str | None]:
    """The previous and next pages' URLs of a list (warning/_pages.html), its filters kept."""
    return {"previous": url(request, path, [*kept, ("page", str(page - 1))])
            if page > 1 else None,
            "next": url(request, path, [*kept, ("page", str(page + 1))])
            if page * PAGE_SIZE < total else None}


@router.get("/alerts", response_class=HTMLResponse)
def alert_list(request: Request, session: SessionDep, scope: ScopeDep) -> HTMLResponse:
    q = request.query_params
    status = q.get("status") if q.get("status") in ALERT_STATUSES else None
    country = (q.get("country") or "").strip().upper()[:3] or None
    severity = _int(q.get("min_severity"), 1, 4)
    page = _int(q.get("page"), 1, 10_000) or 1
    filters = alerts.AlertFilters(status=status, country=country, min_severity=severity)
    total, items = alerts.list_alerts(session, scope, filters, PAGE_SIZE,
                                      (page - 1) * PAGE_SIZE)
    kept = [(k, v) for k, v in (("status", status), ("country", country),
                                ("min_severity", str(severity) if severity else None)) if v]
    pages = _pages(request, "/alerts", kept, page, total)
    return render(request, "warning/alerts.html", {
        "alerts": items, "total": total, "page": page, "pages": pages, "statuses":
        ALERT_STATUSES, "asked": {"status": status, "country": country,
                                  "min_severity": severity}, **_context(request)})


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


@router.get("/events", response_class=HTMLResponse)
def event_list(request: Request, session: SessionDep, scope: ScopeDep) -> HTMLResponse:
    """The events the reader may see, newest first, filtered as the JSON API's list."""
    q = request.query_params
    event_type = q.get("event_type") if q.get("event_type") in EVENT_TYPES else None
    filters = service.EventFilters(
        country=(q.get("country") or "").strip().upper()[:3] or None,
        admin1=(q.get("admin1") or "").strip()[:120] or None,
        source=q.get("source") if q.get("source") in SOURCES else None,
        event_type=event_type, since=_day(q.get("since")), until=_day(q.get("until")))
    page = _int(q.get("page"), 1, 10_000) or 1
    total, items = service.list_events(session, scope, filters, PAGE_SIZE,
                                       (page - 1) * PAGE_SIZE)
    asked = {"country": filters.country, "admin1": filters.admin1, "source": filters.source,
             "event_type": event_type,
             "since": filters.since.isoformat() if filters.since else None,
             "until": filters.until.isoformat() if filters.until else None}
    kept = [(k, v) for k, v in asked.items() if v]
    pages = _pages(request, "/events", kept, page, total)
    return render(request, "warning/events.html", {
        "events": items, "total": total, "pages": pages, "asked": asked,
        "types": EVENT_TYPES, "sources": SOURCES, **_context(request), "section": "events"})


@router.get("/alerts/latest", response_class=HTMLResponse)
def latest(request: Request, session: SessionDep, scope: ScopeDep) -> HTMLResponse:
    """The dashboard's and a country page's part (`country`): the newest alerts not
    dismissed, most severe first."""
    country = (request.query_params.get("country") or "").strip().upper()[:3] or None
    _, items = alerts.list_alerts(session, scope, alerts.AlertFilters(country=country), 50)
    shown = [a for a in items if a["status"] != "dismissed"][:LATEST]
    more = url(request, "/alerts", [("country", country)] if country else [])
    return render(request, "warning/_latest.html", {"alerts": shown, "more": more,
                                                    **_context(request)})


def _may_change(principal: Principal) -> bool:
    """May change an alert's status (warning.alerts.set_status decides; this hides buttons)."""
    return not principal.anonymous and principal.can_write and principal.org_id is not None


def _may_report(principal: Principal) -> bool:
    """May file a field report: any signed-in user of an organisation, as over the API."""
    return not principal.anonymous and principal.org_id is not None


@functools.cache
def _shipped() -> dict[str, Indicator]:
    return {i.key: i for i in load_indicators(default_indicator_file())}


def events_behind(session: SessionDep, scope: ScopeDep, alert: dict[str, Any],
                  ) -> tuple[list[dict[str, Any]], bool]:
    """The events of the alert's place and period that the reader may see, newest first, and
    whether they are those its indicator counts (its filter is known for the shipped
    indicators; for another indicator file, every event of the place and period)."""
    _, rows = service.list_events(session, scope, service.EventFilters(
        country=alert["country"], admin1=alert["admin1"],
        since=date.fromisoformat(alert["period_start"]),
        until=date.fromisoformat(alert["period_end"])), limit=EVENTS_SHOWN * 10)
    indicator = _shipped().get(alert["indicator"])
    if indicator is not None:
        match = indicator.filter.matcher
        rows = [r for r in rows if match(r["country"], r["admin1"], r["event_type"],
                                         r["sub_type"], r["actor1"], r["actor2"])]
    return rows[:EVENTS_SHOWN], indicator is not None


def alert_page(request: Request, session: SessionDep, scope: ScopeDep, principal: Principal,
               alert_id: int, problem: str | None = None, status: int = 200) -> HTMLResponse:
    try:
        found = alerts.get_alert(session, scope, alert_id)
    except alerts.AlertNotFound:
        raise HTTPException(404, "No such alert.") from None
    events, counted = events_behind(session, scope, found)
    return render(request, "warning/alert.html", {
        "alert": found, "actions": ACTIONS if _may_change(principal) else (),
        "events": events, "counted": counted, "problem": problem, **_context(request)},
        status_code=status)


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_detail(alert_id: int, request: Request, session: SessionDep, scope: ScopeDep,
                 principal: CurrentPrincipal) -> HTMLResponse:
    return alert_page(request, session, scope, principal, alert_id)


def _refused(request: Request, message: str, status: int) -> HTMLResponse:
    # the catalog's page of refusals says why ("csrf": the form expired)
    return render(request, "catalog/refused.html", {"message": message, **_context(request)},
                  status_code=status)


async def _form(request: Request, principal: Principal) -> tuple[Any, Response | None]:
    form = await request.form()
    if principal.anonymous:
        return form, RedirectResponse(url(request, "/login", [("next", request.url.path)]),
                                      status_code=303)
    csrf = form.get("csrf")
    if not form_csrf_ok(request, csrf if isinstance(csrf, str) else None):
        return form, _refused(request, "csrf", 403)
    return form, None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


@router.post("/alerts/{alert_id}/status", response_class=HTMLResponse)
async def change_status(alert_id: int, request: Request, session: SessionDep,
                        scope: ScopeDep, principal: CurrentPrincipal) -> Response:
    form, refused = await _form(request, principal)
    if refused:
        return refused
    wanted = _text(form.get("status"))
    note = _text(form.get("note"))[:2000] or None
    try:
        alerts.set_status(session, scope, principal, alert_id, wanted,
                          who(request, principal), note)
    except alerts.AlertNotFound:
        raise HTTPException(404, "No such alert.") from None
    except alerts.AlertError as exc:
        session.rollback()
        return alert_page(request, session, scope, principal, alert_id, problem=str(exc),
                          status=403)
    session.commit()
    return RedirectResponse(url(request, f"/alerts/{alert_id}"), status_code=303)


# --- field incident reports ---------------------------------------------------------------------

REPORT_FIELDS = ("date", "country", "admin1", "location", "latitude", "longitude",
                 "event_type", "sub_type", "actor1", "actor2", "fatalities", "notes", "tlp")


def _report_page(request: Request, principal: Principal, typed: dict[str, str],
                 problems: list[str] | None = None, created: int | None = None,
                 status: int = 200) -> HTMLResponse:
    return render(request, "warning/report.html", {
        "typed": typed, "problems": problems or [], "created": created,
        "types": {t: sorted(s) for t, s in ACLED_TYPES.items()}, "tlps": TLP_LEVELS,
        "may_report": _may_report(principal), **_context(request)}, status_code=status)


@router.get("/reports/new", response_class=HTMLResponse)
def report_form(request: Request, principal: CurrentPrincipal) -> Response:
    if principal.anonymous:
        return RedirectResponse(url(request, "/login", [("next", "/reports/new")]),
                                status_code=303)
    created = _int(request.query_params.get("created"), 1, 2**63 - 1)
    return _report_page(request, principal, {"date": date.today().isoformat(), "tlp": "amber"},
                        created=created)


@router.post("/reports/new", response_class=HTMLResponse)
async def file_report(request: Request, session: SessionDep,
                      principal: CurrentPrincipal) -> Response:
    form, refused = await _form(request, principal)
    if refused:
        return refused
    typed = {k: _text(form.get(k)) for k in REPORT_FIELDS}
    if not _may_report(principal):
        return _report_page(request, principal, typed, status=403)
    try:
        report = ReportIn.model_validate({k: v for k, v in typed.items() if v != ""})
        event_id = service.create_report(session, principal, report, who(request, principal))
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return _report_page(request, principal, typed, problems, status=422)
    except service.EventError as exc:
        return _report_page(request, principal, typed, [str(exc)], status=403)
    session.commit()
    return RedirectResponse(url(request, "/reports/new", [("created", str(event_id))]),
                            status_code=303)
