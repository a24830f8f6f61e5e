"""National assessments from the risk page: a member state's analyst or editor records their
own state's likelihood, impact and rationale (catalog.assessments decides who may, as for the
JSON API), and every state's rating has its history page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import escape
from sqlalchemy.exc import IntegrityError

from riskatlas.catalog import assessments, queries
from riskatlas.catalog.importer import ImportError_
from riskatlas.catalog.pages import matrix_of, page_context, url
from riskatlas.catalog.risk_pages import LANGS, explain, risk_page, word_diff
from riskatlas.web import i18n
from riskatlas.web.deps import CurrentPrincipal, RuntimeDep, ScopeDep, SessionDep, form_csrf_ok, who
from riskatlas.web.templating import page_language, render

router = APIRouter(include_in_schema=False)


def _str(value: Any) -> str:
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""


@router.post("/risks/{key}/assessments/{state}", response_class=HTMLResponse)
async def record_assessment(key: str, state: str, request: Request, session: SessionDep,
                            runtime: RuntimeDep, scope: ScopeDep,
                            principal: CurrentPrincipal) -> Response:
    form = await request.form()
    lang = page_language(request)
    gettext = i18n.translations(lang).gettext
    typed = {name: _str(form.get(name)) for name in
             ("likelihood", "impact", *(f"rationale_{lang}" for lang in LANGS))}
    raw_version = _str(form.get("version"))
    expected = int(raw_version) if raw_version.isascii() and raw_version.isdigit() \
        and len(raw_version) <= 9 else None

    def again(status: int, problems: dict[str, list[Any]], stale: bool = False
              ) -> HTMLResponse:
        # After a stale version the form names the stored one, so a resubmit replaces it.
        kept = {} if stale else {"version": expected}
        return risk_page(request, session, runtime, scope, principal, key, status=status,
                         assess={"v": typed, "problems": problems, **kept})

    if principal.anonymous:
        raise HTTPException(401, "Sign in to record an assessment.")
    if not form_csrf_ok(request, _str(form.get("csrf"))):
        return again(403, {"_": [escape(gettext("The form has expired. Please submit it "
                                                "again."))]})
    body = {"likelihood": typed["likelihood"], "impact": typed["impact"],
            "rationale": {lang: typed[f"rationale_{lang}"] for lang in LANGS}}
    try:
        assessments.put(session, matrix_of(runtime), scope, principal, key, state, body,
                        who(request, principal), expected)
        session.commit()
    except queries.NotFound:
        session.rollback()
        raise HTTPException(404, f"No risk {key!r}.") from None
    except assessments.Refused as exc:
        session.rollback()
        return again(403, {"_": [explain(str(exc), lang)]})
    except (assessments.Stale, IntegrityError):
        session.rollback()
        message = gettext("Someone else changed this assessment meanwhile: the stored one is "
                          "shown above. Check it and submit yours again.")
        return again(409, {"_": [escape(message)]}, stale=True)
    except ImportError_ as exc:
        session.rollback()
        problems: dict[str, list[Any]] = {}
        for p in exc.problems:
            name = p.field.split(".")[0]
            problems.setdefault(name if name in {"likelihood", "impact", "rationale"} else "_",
                                []).append(explain(p.reason, lang))
        return again(422, problems)
    return RedirectResponse(url(request, f"/risks/{key.upper()}") + "#national",
                            status_code=303)


@router.get("/risks/{key}/assessments/{state}/history", response_class=HTMLResponse)
def assessment_history(key: str, state: str, request: Request, session: SessionDep,
                       runtime: RuntimeDep, scope: ScopeDep) -> HTMLResponse:
    matrix = matrix_of(runtime)
    try:
        versions = assessments.history(session, scope, key, state)
    except queries.NotFound:
        raise HTTPException(404, f"No risk {key!r}.") from None
    rows = []
    before = ""
    for v in versions:
        data = v["data"] or {}
        why = data.get("rationale") or {}
        text = " · ".join(f"[{lang}] {why[lang]}" for lang in why)
        level = None
        if data.get("likelihood") and data.get("impact"):
            level = matrix.label("level", matrix.level(matrix.parse("likelihood",
                                                                    data["likelihood"]),
                                                       matrix.parse("impact", data["impact"])))
        rows.append({**v, "level": level, "rationale_diff": word_diff(before, text)
                     if before else None})
        before = text
    return render(request, "catalog/assessment_history.html", {
        "key": key.upper(), "state": state.upper(), "versions": rows[::-1],
        **page_context(request, matrix), "back": url(request, f"/risks/{key.upper()}"),
    })
