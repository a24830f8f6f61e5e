"""The risk page (`/risks/{key}`) and the create and edit forms of risks.

Reads go through catalog.queries with the request's Scope; writes through catalog.edits, the
service the JSON API uses, with its validation and its rights. An edit form carries the
version it started from: when the record changed meanwhile (edits.Conflict, a 412 at the API)
the form comes back with everything typed in it and what the other person changed, and a
second submit applies only this user's own changes on top of the new version.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from riskatlas.catalog import checks, edits, queries
from riskatlas.catalog import records as rec
from riskatlas.catalog.importer import ImportError_, KeyInUse
from riskatlas.catalog.matrix import Matrix
from riskatlas.catalog.models import Measure
from riskatlas.catalog.pages import matrix_of, page_context, url
from riskatlas.catalog.schemas import DOMAINS, Horizon, Trend
from riskatlas.governance import proposals as governance
from riskatlas.parties.service import list_states
from riskatlas.runtime import Runtime
from riskatlas.sharing.policy import MEMBER_ROLES, TLP_LEVELS, Principal, Scope
from riskatlas.web import i18n
from riskatlas.web.deps import (
    CurrentPrincipal,
    RuntimeDep,
    ScopeDep,
    SessionDep,
    form_csrf_ok,
    who,
)
from riskatlas.web.reasons import explain
from riskatlas.web.templating import page_language, render

router = APIRouter(include_in_schema=False)
TRENDS: tuple[str, ...] = Trend.__args__  # type: ignore[attr-defined]
HORIZONS: tuple[str, ...] = Horizon.__args__  # type: ignore[attr-defined]
LANGS = ("en", "ru")  # the languages a form edits (others are kept as stored)
TEXTS = ("title", "summary", "rationale")
LISTS = ("drivers", "warning_signs")
CHOICES = ("category", "domain", "likelihood", "impact", "trend", "horizon", "tlp", "status")
SOURCE_PARTS = ("title", "url", "published", "publisher")


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "translated where shown"
    return message


# Fields of a risk as the pages name them (translated where shown: catalog.po).
FIELD_LABELS = {
    "key": N_("Key"), "title": N_("Title"), "summary": N_("Summary"),
    "category": N_("Category"), "domain": N_("Domain"), "states": N_("Affected states"),
    "actors": N_("Actors"), "likelihood": N_("Likelihood"), "impact": N_("Impact"),
    "rationale": N_("Rationale"), "trend": N_("Trend"), "horizon": N_("Time horizon"),
    "drivers": N_("Drivers"), "warning_signs": N_("Warning signs"), "sources": N_("Sources"),
    "tlp": N_("TLP"), "status": N_("Status"),
}
DIFF_FIELDS = tuple(FIELD_LABELS)


# --- word-level differences ----------------------------------------------------------------

_WORDS = re.compile(r"(\S+)(\s*)")  # a word and the spaces after it


def word_diff(before: str, after: str) -> Markup:
    """`after` against `before` word by word: removed words in <del>, added ones in <ins>
    (words are compared without the spaces after them; the spaces shown are the new ones')."""
    a, b = _WORDS.findall(before), _WORDS.findall(after)
    matcher = difflib.SequenceMatcher(None, [w for w, _ in a], [w for w, _ in b],
                                      autojunk=False)

    def text(pairs: list[tuple[str, str]]) -> str:
        return "".join(w + space for w, space in pairs)

    out: list[Markup] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(escape(text(b[j1:j2])))
            continue
        if i2 > i1:
            out.append(Markup("<del>{}</del>").format(text(a[i1:i2])))
        if j2 > j1:
            out.append(Markup("<ins>{}</ins>").format(text(b[j1:j2])))
    return Markup("").join(out)


def _ordered_langs(text: dict[str, Any]) -> list[str]:
    return [*(lang for lang in LANGS if lang in text), *sorted(set(text) - set(LANGS))]


def field_text(value: Any) -> str:
    """A field's value as plain text, for a diff."""
    if value is None:
        return ""
    if isinstance(value, dict):
        if "url" in value and "title" in value:  # a source
            publisher = f", {value['publisher']}" if value.get("publisher") else ""
            return f"{value.get('published', '')} {value['title']}{publisher} <{value['url']}>"
        return " · ".join(f"[{lang}] {value[lang]}" for lang in _ordered_langs(value))
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return ", ".join(value)
        return "\n".join(field_text(v) for v in value)
    return str(value)


def record_diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields shown on the page that differ between two versions, each as a word diff."""
    out = []
    for name in DIFF_FIELDS:
        old, new = field_text(before.get(name)), field_text(after.get(name))
        if old != new:
            out.append({"field": name, "label": FIELD_LABELS[name], "diff": word_diff(old, new)})
    return out


def history_with_diffs(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Versions newest first, each with its word diff against the one before."""
    out = []
    previous: dict[str, Any] = {}
    for v in versions:
        out.append({**v, "changes": record_diff(previous, v["data"]) if previous else []})
        previous = v["data"]
    return out[::-1]


# --- validation problems, next to their fields, in the reader's language -------------------

FORM_FIELDS = frozenset({"key", *TEXTS, *CHOICES, "states", "actors", *LISTS, "sources"})
# Problems of fields the form does not show go with the field that decides them.
MOVED = {"sharing": "tlp"}


def problems_by_field(exc: ImportError_, lang: str) -> dict[str, list[Markup]]:
    """The service's problems keyed by the form field they belong to (`_` for the record);
    a source's row is named ("row 2, url: ...")."""
    gettext = i18n.translations(lang).gettext
    out: dict[str, list[Markup]] = {}
    for problem in exc.problems:
        head, *rest = re.split(r"[.\[]", problem.field, maxsplit=1)
        name = MOVED.get(head, head)
        message = explain(problem.reason, lang, "risk")
        if name == "sources" and rest:
            row = re.match(r"(\d+)\]\.?(\w*)", rest[0])
            if row:
                label = FIELD_LABELS.get(row.group(2), row.group(2))
                part = gettext(label) if label else ""
                where = gettext("Row {0}").format(int(row.group(1)) + 1)
                message = Markup("{}{}: {}").format(where, f", {part}" if part else "", message)
        out.setdefault(name if name in FORM_FIELDS else "_", []).append(message)
    return out


# --- the form ------------------------------------------------------------------------------


def form_values(record: dict[str, Any]) -> dict[str, Any]:
    """What the form shows for a record (or {} for a new one)."""
    values: dict[str, Any] = {"key": record.get("key", "")}
    for name in TEXTS:
        for lang in LANGS:
            values[f"{name}_{lang}"] = (record.get(name) or {}).get(lang, "")
    for name in CHOICES:
        values[name] = record.get(name) or ""
    values["states"] = list(record.get("states") or [])
    values["actors"] = ", ".join(record.get("actors") or [])
    for name in LISTS:
        for lang in LANGS:
            values[f"{name}_{lang}"] = "\n".join(item.get(lang, "")
                                                 for item in record.get(name) or [])
    values["sources"] = [{part: s.get(part) or "" for part in SOURCE_PARTS}
                         for s in record.get("sources") or []]
    return values


def typed_values(form: FormData) -> dict[str, Any]:
    """What the user typed, in the shape of form_values."""
    def one(name: str) -> str:
        value = form.get(name)
        return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""

    values: dict[str, Any] = {"key": one("key")}
    for name in TEXTS:
        for lang in LANGS:
            values[f"{name}_{lang}"] = one(f"{name}_{lang}")
    for name in CHOICES:
        values[name] = one(name)
    values["states"] = [v for v in form.getlist("states") if isinstance(v, str) and v]
    values["actors"] = one("actors")
    for name in LISTS:
        for lang in LANGS:
            values[f"{name}_{lang}"] = one(f"{name}_{lang}")
    columns = {part: [v if isinstance(v, str) else "" for v in form.getlist(f"source_{part}")]
               for part in SOURCE_PARTS}
    rows = max((len(c) for c in columns.values()), default=0)
    values["sources"] = [{part: (columns[part][i] if i < len(columns[part]) else "").strip()
                          for part in SOURCE_PARTS} for i in range(rows)]
    values["sources"] = [s for s in values["sources"] if any(s.values())]
    return values


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n")]


def _text_list(values: dict[str, Any], name: str, stored: list[dict[str, str]]) -> list[Any]:
    """A list of texts (drivers) from one textarea per language, line by line; the languages
    the form does not show are kept from the stored item at the same place."""
    per_lang = {lang: _lines(values[f"{name}_{lang}"]) for lang in LANGS}
    count = max(len(lines) for lines in per_lang.values())
    out = []
    for i in range(count):
        item = {k: v for k, v in (stored[i] if i < len(stored) else {}).items()
                if k not in LANGS}
        for lang, lines in per_lang.items():
            if i < len(lines) and lines[i]:
                item[lang] = lines[i]
        if any(item.get(lang) for lang in LANGS):
            out.append(item)
    return out


def _sources(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in s.items() if v or k != "publisher"} for s in values["sources"]]


def _actors(text: str) -> list[str]:
    return [a.upper() for a in re.split(r"[\s,;]+", text) if a]


def changes_from(typed: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """The changes (dotted paths, as edits.edit takes them) of what the user typed against
    the version the form started from: only the fields the user changed."""
    shown = form_values(base)
    changes: dict[str, Any] = {}
    for name in TEXTS:
        for lang in LANGS:
            field = f"{name}_{lang}"
            if typed[field] != shown[field]:
                changes[f"{name}.{lang}"] = typed[field]
    for name in CHOICES:
        if typed[name] != shown[name]:
            changes[name] = typed[name] or None
    if typed["states"] != shown["states"]:
        changes["states"] = typed["states"]
    if _actors(typed["actors"]) != _actors(shown["actors"]):
        changes["actors"] = _actors(typed["actors"])
    for name in LISTS:
        if any(typed[f"{name}_{lang}"] != shown[f"{name}_{lang}"] for lang in LANGS):
            changes[name] = _text_list(typed, name, base.get(name) or [])
    if typed["sources"] != shown["sources"]:
        changes["sources"] = _sources(typed)
    return changes


def new_record(typed: dict[str, Any], owner: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {"key": typed["key"], "owner": owner}
    for name in TEXTS:
        data[name] = {lang: typed[f"{name}_{lang}"] for lang in LANGS}
    for name in CHOICES:
        if typed[name]:
            data[name] = typed[name]
    data["states"] = typed["states"]
    data["actors"] = _actors(typed["actors"])
    for name in LISTS:
        data[name] = _text_list(typed, name, [])
    data["sources"] = _sources(typed)
    return data


def form_choices(session: Session, matrix: Matrix, lang: str) -> dict[str, Any]:
    states = [(s["code"], s.get(f"name_{lang}") or s["name_en"] or s["code"])
              for s in list_states(session) if s["role"] != "observer"]
    return {"category": queries.CATEGORIES, "domain": DOMAINS, "likelihood": matrix.likelihood,
            "impact": matrix.impact, "trend": TRENDS, "horizon": ("", *HORIZONS),
            "tlp": TLP_LEVELS, "status": queries.RISK_STATUSES, "states": states}


def _form_page(request: Request, session: Session, matrix: Matrix, mode: str,
               values: dict[str, Any], *, key: str | None = None, version: int | None = None,
               base: int | None = None, problems: dict[str, list[Markup]] | None = None,
               conflict: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    lang = page_language(request)
    if not values["sources"] or any(values["sources"][-1].values()):
        values = {**values, "sources": [*values["sources"], dict.fromkeys(SOURCE_PARTS, "")]}
    action = url(request, "/risks/new" if mode == "create" else f"/risks/{key}/edit")
    return render(request, "catalog/risk_form.html", {
        "mode": mode, "v": values, "key": key, "version": version, "base": base,
        "problems": problems or {}, "conflict": conflict, "action": action,
        "choices": form_choices(session, matrix, lang), "labels": FIELD_LABELS,
        "cancel": url(request, f"/risks/{key}" if key else "/risks"),
        **page_context(request, matrix),
    }, status_code=status, lang=lang)


def _forbidden(request: Request, message: str) -> HTMLResponse:
    return render(request, "catalog/refused.html", {"message": message}, status_code=403)


def _csrf_refused(request: Request) -> HTMLResponse:
    return _forbidden(request, "csrf")


def _visible_risk(session: Session, runtime: Runtime, scope: Scope, key: str) -> dict[str, Any]:
    try:
        return queries.get_risk(session, matrix_of(runtime), scope, key,
                                runtime.settings.aggregation)
    except queries.NotFound:
        raise HTTPException(404, f"No risk {key!r}.") from None


def may_edit(principal: Principal, risk: dict[str, Any]) -> bool:
    return principal.can_write and principal.org_key == risk["owner"]


# --- routes (the fixed /risks/new before /risks/{key}) -------------------------------------


@router.get("/risks/new", response_class=HTMLResponse)
def new_risk_form(request: Request, session: SessionDep, runtime: RuntimeDep,
                  principal: CurrentPrincipal, scope: ScopeDep) -> HTMLResponse:
    # (The scope: this page reads no record, but every GET page takes it: test_routes_scope.)
    if not principal.can_write:
        return _forbidden(request, "role")
    values = form_values({"category": "traditional", "tlp": "amber", "status": "draft",
                          "trend": "unknown"})
    return _form_page(request, session, matrix_of(runtime), "create", values)


@router.post("/risks/new", response_class=HTMLResponse)
async def create_risk(request: Request, session: SessionDep, runtime: RuntimeDep,
                      principal: CurrentPrincipal) -> Response:
    form = await request.form()
    if not principal.can_write:
        return _forbidden(request, "role")
    if not form_csrf_ok(request, _str(form.get("csrf"))):
        return _csrf_refused(request)
    typed = typed_values(form)
    matrix = matrix_of(runtime)
    lang = page_language(request)
    data = new_record(typed, principal.org_key)
    key = typed["key"].upper()
    try:
        edits.write(session, matrix, "risks", data, who(request, principal), create=True,
                    principal=principal)
        session.commit()
    except ImportError_ as exc:
        session.rollback()
        return _form_page(request, session, matrix, "create", typed,
                          problems=problems_by_field(exc, lang), status=422)
    except (KeyInUse, IntegrityError):
        session.rollback()
        message = escape(i18n.translations(lang).gettext("This key is already in use."))
        return _form_page(request, session, matrix, "create", typed,
                          problems={"key": [message]}, status=409)
    return RedirectResponse(url(request, f"/risks/{key}"), status_code=303)


@router.get("/risks/{key}/edit", response_class=HTMLResponse)
def edit_risk_form(key: str, request: Request, session: SessionDep, runtime: RuntimeDep,
                   scope: ScopeDep, principal: CurrentPrincipal) -> HTMLResponse:
    risk = _visible_risk(session, runtime, scope, key)
    if not may_edit(principal, risk):
        return _forbidden(request, "owner")
    return _form_page(request, session, matrix_of(runtime), "edit", form_values(risk),
                      key=risk["key"], version=risk["version"], base=risk["version"])


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    text = _str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def _version_data(session: Session, scope: Scope, key: str, version: int) -> dict[str, Any]:
    for v in queries.history(session, "risk", key, scope):
        if v["version"] == version:
            return dict(v["data"])
    return {}


@router.post("/risks/{key}/edit", response_class=HTMLResponse)
async def edit_risk(key: str, request: Request, session: SessionDep, runtime: RuntimeDep,
                    scope: ScopeDep, principal: CurrentPrincipal) -> Response:
    form = await request.form()
    current = _visible_risk(session, runtime, scope, key)
    if not may_edit(principal, current):
        return _forbidden(request, "owner")
    if not form_csrf_ok(request, _str(form.get("csrf"))):
        return _csrf_refused(request)
    matrix = matrix_of(runtime)
    lang = page_language(request)
    typed = typed_values(form)
    version = _int(form.get("version")) or current["version"]
    base_version = _int(form.get("base")) or version
    base = current if base_version == current["version"] else _version_data(
        session, scope, current["key"], base_version)
    changes = changes_from(typed, base)
    if not changes and version == current["version"]:
        return RedirectResponse(url(request, f"/risks/{current['key']}"), status_code=303)
    try:
        edits.edit(session, matrix, scope, "risks", current["key"], changes,
                   who(request, principal), expected_version=version,
                   aggregation=runtime.settings.aggregation, principal=principal)
        session.commit()
    except edits.Conflict:
        session.rollback()
        latest = _visible_risk(session, runtime, scope, key)
        conflict = {"changes": record_diff(base, latest), "version": latest["version"],
                    "from": base_version}
        return _form_page(request, session, matrix, "edit", typed, key=latest["key"],
                          version=latest["version"], base=base_version, conflict=conflict,
                          status=409)
    except ImportError_ as exc:
        session.rollback()
        return _form_page(request, session, matrix, "edit", typed, key=current["key"],
                          version=version, base=base_version,
                          problems=problems_by_field(exc, lang), status=422)
    except ValueError as exc:
        session.rollback()
        return _form_page(request, session, matrix, "edit", typed, key=current["key"],
                          version=version, base=base_version,
                          problems={"_": [explain(str(exc), lang, "risk")]}, status=422)
    return RedirectResponse(url(request, f"/risks/{current['key']}"), status_code=303)


# --- the risk page -------------------------------------------------------------------------

RULES = {"max": N_("the highest national rating on each axis"),
         "median": N_("the median of the national ratings on each axis"),
         "mean": N_("the mean of the national ratings on each axis, rounded half up")}


def national_ratings(session: Session, matrix: Matrix, risk: dict[str, Any],
                     lang: str) -> list[dict[str, Any]]:
    """Every member state with its assessment of the risk (or none), side by side."""
    given = {a["state"]: a for a in risk["assessments"]}
    out = []
    for s in list_states(session):
        if s["role"] != "member" and s["code"] not in given:
            continue
        a = given.get(s["code"])
        level = None if a is None else matrix.label("level", matrix.level(
            matrix.parse("likelihood", a["likelihood"]), matrix.parse("impact", a["impact"])))
        out.append({"state": s["code"], "name": s.get(f"name_{lang}") or s["name_en"],
                    "assessment": a, "level": level})
    return out


def assessment_form(session: Session, principal: Principal, risk: dict[str, Any],
                    typed: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The national assessment the principal may record for their own state, or None."""
    if principal.anonymous or principal.role not in checks.ASSESSORS:
        return None
    writer = checks.writer_for(session, principal)
    if writer.state is None or writer.may_assess(writer.state) is not None:
        return None
    current = next((a for a in risk["assessments"] if a["state"] == writer.state), None)
    values = typed or ({} if current is None else {
        "likelihood": current["likelihood"], "impact": current["impact"],
        **{f"rationale_{lang}": current["rationale"].get(lang, "") for lang in LANGS}})
    return {"state": writer.state, "current": current, "v": values,
            "version": None if current is None else current["version"]}


def risk_page(request: Request, session: Session, runtime: Runtime, scope: Scope,
              principal: Principal, key: str, *, assess: dict[str, Any] | None = None,
              status: int = 200) -> HTMLResponse:
    """The risk page; `assess`: the assessment form as typed, with its problems."""
    matrix = matrix_of(runtime)
    lang = page_language(request)
    risk = _visible_risk(session, runtime, scope, key)
    linked = [link["measure"] for link in risk["links"]]
    measures = {m["key"]: m for m in rec.measure_records(
        session, scope, [Measure.key.in_(linked)])} if linked else {}
    form = assessment_form(session, principal, risk, (assess or {}).get("v"))
    if form is not None and assess:
        form.update({k: v for k, v in assess.items() if k != "v"})
    return render(request, "catalog/risk.html", {
        "risk": risk, "measures": measures, "matrix": matrix,
        "national": national_ratings(session, matrix, risk, lang),
        "rule": RULES.get(risk["regional"]["rule"] if risk["regional"] else
                          runtime.settings.aggregation, runtime.settings.aggregation),
        "rule_key": runtime.settings.aggregation,
        "history": history_with_diffs(queries.history(session, "risk", risk["key"], scope)),
        "may_edit": may_edit(principal, risk), "assess": form, "labels": FIELD_LABELS,
        **governance_context(session, scope, principal, risk),
        **page_context(request, matrix),
    }, status_code=status, lang=lang)


def governance_context(session: Session, scope: Scope, principal: Principal,
                       risk: dict[str, Any]) -> dict[str, Any]:
    """The reservations recorded next to the risk's versions (the current one's apart), the
    open proposals about it (governance.pages shows them in full) and whether the reader may
    propose a change (as governance.proposals decides: member and regional editors)."""
    reservations = governance.reservations_of(session, scope, "risks", risk["key"])
    return {"reservations": [r for r in reservations if r["version"] == risk["version"]],
            "earlier_reservations": [r for r in reservations
                                     if r["version"] != risk["version"]],
            "open_proposals": [p for p in governance.list_proposals(session, scope,
                                                                    status="open")
                               if p["entity"] == "risks" and p["key"] == risk["key"]],
            "may_propose": principal.can_write and principal.org_id is not None
            and principal.standing in MEMBER_ROLES}


@router.get("/risks/{key}", response_class=HTMLResponse)
def risk_detail(key: str, request: Request, session: SessionDep, runtime: RuntimeDep,
                scope: ScopeDep, principal: CurrentPrincipal) -> HTMLResponse:
    return risk_page(request, session, runtime, scope, principal, key)

