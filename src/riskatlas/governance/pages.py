"""Pages for proposals, positions and meetings.

Thin doors over governance.proposals and governance.meetings: every read takes the request's
Scope (a proposal is shown exactly to those who may see its target record), every write goes
through the service with the principal, which decides what that person may do; the pages only
hide the buttons a person may not use. Plain forms, each with the session's CSRF token in a
hidden field (web.deps.form_csrf_ok), as the catalog's forms.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from riskatlas.catalog import queries
from riskatlas.catalog.importer import ImportError_
from riskatlas.catalog.pages import matrix_of, page_context, url
from riskatlas.catalog.risk_pages import (
    FIELD_LABELS,
    changes_from,
    field_text,
    form_choices,
    form_values,
    problems_by_field,
    word_diff,
)
from riskatlas.governance import meetings, proposals
from riskatlas.governance.proposals import GovernanceError
from riskatlas.parties.service import list_organisations, list_states
from riskatlas.runtime import Runtime
from riskatlas.sharing.policy import GROUPING_ROLES, MEMBER_ROLES, Principal, Scope
from riskatlas.web import i18n
from riskatlas.web.deps import CurrentPrincipal, RuntimeDep, ScopeDep, SessionDep, form_csrf_ok, who
from riskatlas.web.reasons import explain
from riskatlas.web.templating import page_language, render

router = APIRouter(include_in_schema=False)

STATUSES = ("open", "adopted", "rejected", "withdrawn")
STANCES = ("endorse", "object", "abstain", "reserve")
MEETING_KINDS = ("summit", "ministerial", "expert")
# The fields a proposal to change a risk may set from its page (the rest of a record is
# changed by its owner, or by a proposal through the API).
TEXTS = ("title", "summary", "rationale")
CHOICES = ("category", "domain", "likelihood", "impact", "trend", "horizon", "tlp", "status")
LANGS = ("en", "ru")


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "translated where shown"
    return message


# Coded values of governance as the pages name them (translated: governance.po).
NAMES = {
    "open": N_("Open"), "adopted": N_("Adopted"), "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"), "pending": N_("Pending"),
    "endorse": N_("Endorse"), "object": N_("Object"), "abstain": N_("Abstain"),
    "reserve": N_("Reserve"),
    "create": N_("New record"), "change": N_("Change"), "retire": N_("Retirement"),
    "risks": N_("Risk"), "measures": N_("Measure"),
    "summit": N_("Summit"), "ministerial": N_("Ministerial"), "expert": N_("Expert meeting"),
    "all": N_("All"),
}


STATUS_WORDS = frozenset({"open", "adopted", "rejected", "withdrawn", "pending"})


def _context(request: Request, runtime: Runtime) -> dict[str, Any]:
    gettext = i18n.translations(page_language(request)).gettext
    base = page_context(request, matrix_of(runtime))
    catalog_name = base["name"]
    lang = page_language(request)
    pgettext = i18n.translations(lang).pgettext

    def gname(value: str) -> str:
        if value in STATUS_WORDS:  # a proposal's status agrees with "предложение" (neuter)
            return pgettext("proposal status", NAMES[value])
        return gettext(NAMES[value]) if value in NAMES else str(catalog_name(value))

    return {**base, "gname": gname, "reason": lambda text: reason(text, lang),
            "rule_name": lambda text: rule_name(text, lang)}


def _str(value: Any) -> str:
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""


def _refused(request: Request, runtime: Runtime, message: str,
             status: int = 403) -> HTMLResponse:
    return render(request, "governance/refused.html",
                  {"message": message, **_context(request, runtime)}, status_code=status)


def _csrf_refused(request: Request, runtime: Runtime) -> HTMLResponse:
    return _refused(request, runtime, "csrf")


# The service's and the rule's reasons (governance.proposals, governance.rules speak English)
# in the reader's language: (pattern, message); {0}.. are the pattern's groups. A reason not
# known here goes to web.reasons, which shows it in English, marked as such.
_REASONS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), m) for p, m in [
    (r"^waiting for (\d+) member\(s\) to take a position \(([^)]+)\)",
     N_("Waiting for {0} member state(s) to take a position ({1}).")),
    (r"^objected to by (.+?) \(([^)]+)\)", N_("Objected to by {0} ({1}).")),
    (r"^no member endorsed it and the deadline has passed \(([^)]+)\)",
     N_("No member state endorsed it and the deadline has passed ({0}).")),
    (r"^no member endorsed it and every member has a position \(([^)]+)\)",
     N_("No member state endorsed it and every member state has a position ({0}).")),
    (r"^every member has a position, no blocking objection \(([^)]+)\)",
     N_("Every member state has a position and no objection blocks it ({0}).")),
    (r"^the deadline has passed, no blocking objection \(([^)]+)\)",
     N_("The deadline has passed and no objection blocks it ({0}).")),
    (r"^(\d+) of (\d+) endorse \(at least (\d+) needed\)",
     N_("{0} of {1} member states endorse (at least {2} needed).")),
    (r"^(\d+) endorsements can no longer be reached",
     N_("{0} endorsements can no longer be reached.")),
    (r"^(\d+) of the (\d+) endorsements needed so far",
     N_("{0} of the {1} endorsements needed so far.")),
    (r"^withdrawn by (\S+)", N_("Withdrawn by {0}.")),
    (r"^proposal \d+ is \w+: it is closed", N_("This proposal is closed.")),
    (r"is stale: .*rebase it first", N_(
        "The record changed since this proposal was made: it must be rebased before a "
        "decision.")),
    (r"^changes: the record already has these values", N_(
        "The record already has these values: nothing would change.")),
    (r"^the record's version \d+ already has these values", N_(
        "The record already has these values: nothing would change.")),
    (r"^text: required", N_("Write a comment first.")),
    (r"^(?:stance|kind|date|place|title): ", N_("Fill in every field of the form.")),
    (r"^only ", N_("Your organisation or your role does not allow this step.")),
]]
RULE_NAMES = {"unanimity": N_("unanimity"), "consensus-minus-one": N_("consensus minus one"),
              "qualified-majority": N_("qualified majority of {0}")}


def rule_name(rule: str, lang: str) -> str:
    gettext = i18n.translations(lang).gettext
    name, _, k = rule.partition(":")
    return gettext(RULE_NAMES[name]).format(k) if name in RULE_NAMES else rule


def reason(text: str | None, lang: str) -> Markup:
    """A reason of the service or the rule in `lang`."""
    if not text:
        return Markup("")
    gettext = i18n.translations(lang).gettext
    for pattern, message in _REASONS:
        found = pattern.search(text)
        if found:
            groups = [rule_name(g, lang) if g and g.split(":")[0] in RULE_NAMES else g
                      for g in found.groups()]
            return escape(gettext(message).format(*groups))
    return explain(text, lang, "proposal")


def _message(request: Request, exc: Exception) -> Markup:
    """A refused step's reason in the reader's language; each problem of a record the
    catalog would not write (ImportError_), with its field."""
    lang = page_language(request)
    if isinstance(exc, ImportError_):
        gettext = i18n.translations(lang).gettext
        found = problems_by_field(exc, lang)
        return Markup("; ").join(
            Markup("{}: {}").format(gettext(FIELD_LABELS.get(name, name)), problem)
            if name in FIELD_LABELS else problem
            for name, problems in found.items() for problem in problems)
    return reason(str(exc), lang)


# --- who may do what (the service decides and refuses; these only choose the buttons shown,
# following the rules written at the head of governance.proposals) --------------------------


def _writes(principal: Principal) -> bool:
    return principal.can_write and principal.org_id is not None


def member_state(session: Session, principal: Principal) -> str | None:
    """The member state whose position this principal may record, or None."""
    if not _writes(principal) or principal.standing != "member":
        return None
    org = next((o for o in list_organisations(session) if o["key"] == principal.org_key), None)
    return None if org is None else org["state"]


def may_decide(principal: Principal) -> bool:
    return _writes(principal) and (principal.standing == "regional" or (
        principal.standing == "member" and principal.role == "admin"))


def may_comment(principal: Principal) -> bool:
    return (principal.org_id is not None and principal.standing in GROUPING_ROLES
            and principal.role in {"analyst", "editor", "admin"}
            and principal.token_scope in {None, "write"})


def may_propose(principal: Principal) -> bool:
    return _writes(principal) and principal.standing in MEMBER_ROLES


def abilities(session: Session, principal: Principal, p: dict[str, Any]) -> dict[str, Any]:
    is_open = p["status"] == "open"
    proposer = _writes(principal) and p.get("proposer") == principal.org_key
    return {"position": member_state(session, principal) if is_open else None,
            "comment": may_comment(principal),
            "rebase": is_open and p["stale"] and (proposer or (
                _writes(principal) and principal.standing == "regional")),
            "decide": is_open and not p["stale"] and may_decide(principal),
            "withdraw": is_open and proposer}


# --- the list ------------------------------------------------------------------------------


@router.get("/proposals", response_class=HTMLResponse)
def proposal_list(request: Request, session: SessionDep, runtime: RuntimeDep, scope: ScopeDep,
                  principal: CurrentPrincipal, status: str = "open") -> HTMLResponse:
    status = status if status in (*STATUSES, "all") else "open"
    found = proposals.list_proposals(session, scope,
                                     status=None if status == "all" else status)
    return render(request, "governance/proposals.html", {
        "proposals": found, "status": status, "statuses": ("open", "adopted", "rejected",
                                                            "withdrawn", "all"),
        **_context(request, runtime)})


# --- one proposal --------------------------------------------------------------------------


def _label(path: str) -> str:
    head = path.split(".", 1)[0].split("[", 1)[0]
    return FIELD_LABELS.get(head, head)


def shown_diff(diff: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each changed field with its before, its after and a word diff between them."""
    return [{"path": d["path"], "label": _label(d["path"]), "before": field_text(d["before"]),
             "after": field_text(d["after"]),
             "diff": word_diff(field_text(d["before"]), field_text(d["after"]))}
            for d in diff]


def member_positions(session: Session, p: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """Every member state with its current position on the proposal, or none yet."""
    given = {pos["state"]: pos for pos in p["positions"]}
    out = []
    for s in list_states(session):
        if s["role"] != "member" and s["code"] not in given:
            continue
        out.append({"state": s["code"], "name": s.get(f"name_{lang}") or s["name_en"],
                    "position": given.get(s["code"])})
    return out


def _proposal(session: Session, runtime: Runtime, scope: Scope,
              proposal_id: int) -> dict[str, Any]:
    try:
        return proposals.get_proposal(session, matrix_of(runtime), scope, proposal_id)
    except queries.NotFound:
        raise HTTPException(404, f"No proposal {proposal_id}.") from None


def proposal_page(request: Request, session: Session, runtime: Runtime, scope: Scope,
                  principal: Principal, proposal_id: int, *, problem: Markup | str | None = None,
                  typed: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    lang = page_language(request)
    p = _proposal(session, runtime, scope, proposal_id)
    may = abilities(session, principal, p)
    mine = next((pos for pos in p["positions"] if pos["state"] == may["position"]), None)
    return render(request, "governance/proposal.html", {
        "p": p, "diff": shown_diff(p.get("diff") or []), "may": may, "mine": mine,
        "members": member_positions(session, p, lang), "stances": STANCES,
        "problem": problem, "typed": typed or {}, "page_path": f"/proposals/{proposal_id}",
        **_context(request, runtime)}, status_code=status, lang=lang)


@router.get("/proposals/{proposal_id}", response_class=HTMLResponse)
def proposal_detail(proposal_id: int, request: Request, session: SessionDep,
                    runtime: RuntimeDep, scope: ScopeDep,
                    principal: CurrentPrincipal) -> HTMLResponse:
    return proposal_page(request, session, runtime, scope, principal, proposal_id)


async def _form(request: Request, runtime: Runtime, principal: Principal
                ) -> tuple[FormData, HTMLResponse | None]:
    form = await request.form()
    if principal.anonymous:
        return form, _refused(request, runtime, "signin", 401)
    csrf = form.get("csrf")
    if not form_csrf_ok(request, csrf if isinstance(csrf, str) else None):
        return form, _csrf_refused(request, runtime)
    return form, None


def _back(request: Request, proposal_id: int) -> RedirectResponse:
    return RedirectResponse(url(request, f"/proposals/{proposal_id}"), status_code=303)


def _step(request: Request, session: Session, runtime: Runtime, scope: Scope,
          principal: Principal, proposal_id: int, step: Any,
          typed: dict[str, str] | None = None) -> Response:
    """Run one write of the service; its refusal comes back on the proposal's page."""
    _proposal(session, runtime, scope, proposal_id)  # a 404 for what the reader may not see
    try:
        step()
        session.commit()
    except (GovernanceError, ImportError_, ValueError, PermissionError) as exc:
        session.rollback()
        return proposal_page(request, session, runtime, scope, principal, proposal_id,
                             problem=_message(request, exc), typed=typed, status=409)
    return _back(request, proposal_id)


@router.post("/proposals/{proposal_id}/position", response_class=HTMLResponse)
async def record_position(proposal_id: int, request: Request, session: SessionDep,
                          runtime: RuntimeDep, scope: ScopeDep,
                          principal: CurrentPrincipal) -> Response:
    form, refused = await _form(request, runtime, principal)
    if refused:
        return refused
    stance, comment = _str(form.get("stance")), _str(form.get("comment"))
    return _step(request, session, runtime, scope, principal, proposal_id,
                 lambda: proposals.record_position(session, scope, principal,
                                                   who(request, principal), proposal_id,
                                                   stance, comment or None),
                 typed={"stance": stance, "position_comment": comment})


@router.post("/proposals/{proposal_id}/comments", response_class=HTMLResponse)
async def add_comment(proposal_id: int, request: Request, session: SessionDep,
                      runtime: RuntimeDep, scope: ScopeDep,
                      principal: CurrentPrincipal) -> Response:
    form, refused = await _form(request, runtime, principal)
    if refused:
        return refused
    text = _str(form.get("text"))
    return _step(request, session, runtime, scope, principal, proposal_id,
                 lambda: proposals.add_comment(session, scope, principal,
                                               who(request, principal), proposal_id, text),
                 typed={"text": text})


@router.post("/proposals/{proposal_id}/rebase", response_class=HTMLResponse)
async def rebase(proposal_id: int, request: Request, session: SessionDep, runtime: RuntimeDep,
                 scope: ScopeDep, principal: CurrentPrincipal) -> Response:
    _, refused = await _form(request, runtime, principal)
    if refused:
        return refused
    return _step(request, session, runtime, scope, principal, proposal_id,
                 lambda: proposals.rebase(session, matrix_of(runtime), scope, principal,
                                          who(request, principal), proposal_id))


@router.post("/proposals/{proposal_id}/decide", response_class=HTMLResponse)
async def decide(proposal_id: int, request: Request, session: SessionDep, runtime: RuntimeDep,
                 scope: ScopeDep, principal: CurrentPrincipal) -> Response:
    _, refused = await _form(request, runtime, principal)
    if refused:
        return refused
    outcome: dict[str, Any] = {}

    def step() -> None:
        outcome.update(proposals.decide(session, matrix_of(runtime), scope, principal,
                                        who(request, principal), proposal_id))

    answer = _step(request, session, runtime, scope, principal, proposal_id, step)
    if isinstance(answer, RedirectResponse) and outcome.get("status") == "open":
        # Still open: say why on the page rather than a silent redirect.
        gettext = i18n.translations(page_language(request)).gettext
        why = reason((outcome.get("outcome") or {}).get("reason"), page_language(request))
        return proposal_page(request, session, runtime, scope, principal, proposal_id,
                             problem=Markup("{} {}").format(
                                 gettext("No decision yet:"), why), status=409)
    return answer


@router.post("/proposals/{proposal_id}/withdraw", response_class=HTMLResponse)
async def withdraw(proposal_id: int, request: Request, session: SessionDep,
                   runtime: RuntimeDep, scope: ScopeDep,
                   principal: CurrentPrincipal) -> Response:
    _, refused = await _form(request, runtime, principal)
    if refused:
        return refused
    return _step(request, session, runtime, scope, principal, proposal_id,
                 lambda: proposals.withdraw(session, scope, principal,
                                            who(request, principal), proposal_id))


# --- proposing a change to a risk ----------------------------------------------------------


def _visible_risk(session: Session, runtime: Runtime, scope: Scope, key: str) -> dict[str, Any]:
    try:
        return queries.get_risk(session, matrix_of(runtime), scope, key,
                                runtime.settings.aggregation)
    except queries.NotFound:
        raise HTTPException(404, f"No risk {key!r}.") from None


def propose_values(form: FormData, base: dict[str, Any]) -> dict[str, Any]:
    """The risk form's values with what the propose form sent in place of the base's."""
    values = form_values(base)
    for name in TEXTS:
        for lang in LANGS:
            values[f"{name}_{lang}"] = _str(form.get(f"{name}_{lang}"))
    for name in CHOICES:
        values[name] = _str(form.get(name))
    values["states"] = [v for v in form.getlist("states") if isinstance(v, str) and v]
    return values


def _propose_page(request: Request, session: Session, runtime: Runtime, risk: dict[str, Any],
                  values: dict[str, Any], proposal: dict[str, str], *,
                  problem: Markup | str | None = None, status: int = 200) -> HTMLResponse:
    lang = page_language(request)
    return render(request, "governance/propose.html", {
        "risk": risk, "v": values, "proposal": proposal, "problem": problem,
        "choices": form_choices(session, matrix_of(runtime), lang), "labels": FIELD_LABELS,
        "texts": TEXTS, "selects": CHOICES, "page_path": f"/risks/{risk['key']}/propose",
        **_context(request, runtime)}, status_code=status, lang=lang)


@router.get("/risks/{key}/propose", response_class=HTMLResponse)
def propose_form(key: str, request: Request, session: SessionDep, runtime: RuntimeDep,
                 scope: ScopeDep, principal: CurrentPrincipal) -> HTMLResponse:
    risk = _visible_risk(session, runtime, scope, key)
    if not may_propose(principal):
        return _refused(request, runtime, "member")
    return _propose_page(request, session, runtime, risk, form_values(risk),
                         {"title": "", "comment": "", "deadline": "", "kind": "change"})


@router.post("/risks/{key}/propose", response_class=HTMLResponse)
async def propose(key: str, request: Request, session: SessionDep, runtime: RuntimeDep,
                  scope: ScopeDep, principal: CurrentPrincipal) -> Response:
    form = await request.form()
    risk = _visible_risk(session, runtime, scope, key)
    if not may_propose(principal):
        return _refused(request, runtime, "member")
    csrf = form.get("csrf")
    if not form_csrf_ok(request, csrf if isinstance(csrf, str) else None):
        return _csrf_refused(request, runtime)
    values = propose_values(form, risk)
    typed = {"title": _str(form.get("proposal_title")), "comment": _str(form.get("comment")),
             "deadline": _str(form.get("deadline")),
             "kind": "retire" if _str(form.get("kind")) == "retire" else "change"}
    gettext = i18n.translations(page_language(request)).gettext

    def again(message: str, status: int = 422) -> HTMLResponse:
        return _propose_page(request, session, runtime, risk, values, typed, problem=message,
                             status=status)

    changes = changes_from(values, risk) if typed["kind"] == "change" else None
    if typed["kind"] == "change" and not changes:
        return again(gettext("Change at least one field to propose a change."))
    if not typed["title"]:
        return again(gettext("Give the proposal a title."))
    try:
        deadline = date.fromisoformat(typed["deadline"]) if typed["deadline"] else None
    except ValueError:
        return again(gettext("The deadline is a date: YYYY-MM-DD."))
    try:
        made = proposals.create_proposal(
            session, matrix_of(runtime), scope, principal, who(request, principal),
            kind=typed["kind"], entity="risks", key=risk["key"], changes=changes,
            title=typed["title"], comment=typed["comment"] or None, deadline=deadline)
        session.commit()
    except (GovernanceError, ImportError_, ValueError, PermissionError) as exc:
        session.rollback()
        return again(_message(request, exc))
    return RedirectResponse(url(request, f"/proposals/{made['id']}"), status_code=303)


# --- meetings ------------------------------------------------------------------------------


def may_add_meeting(principal: Principal) -> bool:
    return may_propose(principal)  # the same people (governance.meetings)


def _meeting_form(session: Session, scope: Scope, typed: dict[str, Any]) -> dict[str, Any]:
    orgs = [o for o in list_organisations(session) if o["standing"] != "observer"]
    return {"v": typed, "orgs": orgs, "kinds": MEETING_KINDS,
            "agenda": proposals.list_proposals(session, scope, status="open")}


@router.get("/meetings", response_class=HTMLResponse)
def meeting_list(request: Request, session: SessionDep, runtime: RuntimeDep, scope: ScopeDep,
                 principal: CurrentPrincipal) -> HTMLResponse:
    return _meetings_page(request, session, runtime, scope, principal, {})


def _meetings_page(request: Request, session: Session, runtime: Runtime, scope: Scope,
                   principal: Principal, typed: dict[str, Any], problem: Markup | str | None = None,
                   status: int = 200) -> HTMLResponse:
    form = _meeting_form(session, scope, {"kind": "expert", "date": "", "place": "",
                                          "title": "", "participants": [], "agenda": [],
                                          **typed}) if may_add_meeting(principal) else None
    return render(request, "governance/meetings.html", {
        "meetings": meetings.list_meetings(session, scope), "form": form, "problem": problem,
        "page_path": "/meetings", **_context(request, runtime)}, status_code=status)


@router.post("/meetings", response_class=HTMLResponse)
async def add_meeting(request: Request, session: SessionDep, runtime: RuntimeDep,
                      scope: ScopeDep, principal: CurrentPrincipal) -> Response:
    form, refused = await _form(request, runtime, principal)
    if refused:
        return refused
    if not may_add_meeting(principal):
        return _refused(request, runtime, "secretariat")
    typed: dict[str, Any] = {"kind": _str(form.get("kind")), "date": _str(form.get("date")),
             "place": _str(form.get("place")), "title": _str(form.get("title")),
             "participants": [v for v in form.getlist("participants") if isinstance(v, str)],
             "agenda": [v for v in form.getlist("agenda") if isinstance(v, str)]}
    gettext = i18n.translations(page_language(request)).gettext
    try:
        day = date.fromisoformat(typed["date"])
    except ValueError:
        return _meetings_page(request, session, runtime, scope, principal, typed,
                              gettext("The date is a date: YYYY-MM-DD."), 422)
    if not typed["place"] or not typed["title"] or typed["kind"] not in MEETING_KINDS:
        return _meetings_page(request, session, runtime, scope, principal, typed,
                              gettext("Give the meeting a kind, a date, a place and a title."),
                              422)
    visible = {str(p["id"]) for p in proposals.list_proposals(session, scope, status="open")}
    try:
        meeting_id = meetings.add_meeting(
            session, who(request, principal), kind=typed["kind"], date=day,
            place=typed["place"], title=typed["title"], participants=typed["participants"],
            agenda=[int(v) for v in typed["agenda"] if v in visible], principal=principal,
            scope=scope)
        session.commit()
    except (GovernanceError, ValueError) as exc:
        session.rollback()
        return _meetings_page(request, session, runtime, scope, principal, typed,
                              _message(request, exc), 422)
    return RedirectResponse(url(request, f"/meetings/{meeting_id}"), status_code=303)


@router.get("/meetings/{meeting_id}", response_class=HTMLResponse)
def meeting_detail(meeting_id: int, request: Request, session: SessionDep, runtime: RuntimeDep,
                   scope: ScopeDep) -> HTMLResponse:
    try:
        meeting = meetings.get_meeting(session, scope, meeting_id)
    except queries.NotFound:
        raise HTTPException(404, f"No meeting {meeting_id}.") from None
    orgs = {o["key"]: o for o in list_organisations(session)}
    brief = any(getattr(r, "path", "") == "/api/v1/meetings/{meeting_id}/brief"
                for r in request.app.routes)
    return render(request, "governance/meeting.html", {
        "m": meeting, "orgs": orgs, "brief": brief, **_context(request, runtime)})

