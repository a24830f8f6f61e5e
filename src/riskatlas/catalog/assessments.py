"""National assessments: each member state's own rating of a risk, its own record.

One assessment per (risk, member state), written only by editors and analysts of an
organisation of that state (catalog.checks.Writer.may_assess), never by the risk's owner on
another state's behalf. Each has its own version (the ETag) and history: Version rows with
entity "assessment" and key "RISK-KEY/ISO3", and an audit entry for every change. Editing a
risk never touches its assessments; an import sets the ones a file carries and keeps the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from riskatlas.audit.service import Who, append_many
from riskatlas.catalog import checks, queries
from riskatlas.catalog.files import Problem
from riskatlas.catalog.importer import Batch, ImportError_, assessment_differs
from riskatlas.catalog.matrix import Matrix
from riskatlas.catalog.models import Assessment, Risk, Version
from riskatlas.catalog.schemas import AssessmentIn
from riskatlas.db import utcnow
from riskatlas.parties.models import State
from riskatlas.sharing.policy import Principal, Scope

ENTITY = "assessment"


class Refused(Exception):
    """The writer may not set this state's assessment (403 at the API)."""


class Stale(Exception):
    """The assessment changed since the caller read it (412), or none was named (428)."""

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass
class Written:
    versions: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)


def version_key(risk_key: str, state: str) -> str:
    return f"{risk_key.upper()}/{state.upper()}"


def _record(matrix: Matrix, risk_key: str, state: str, likelihood: int, impact: int,
            rationale: dict[str, str], version: int) -> dict[str, Any]:
    return {"risk": risk_key, "state": state, "likelihood": matrix.label("likelihood", likelihood),
            "impact": matrix.label("impact", impact), "rationale": rationale,
            "version": version}


def _next_version(session: Session, key: str) -> int:
    last = session.scalar(select(func.max(Version.version))
                          .where(Version.entity == ENTITY, Version.key == key))
    return int(last or 0) + 1


def _change(session: Session, matrix: Matrix, risk_id: int, risk_key: str,
            new: AssessmentIn | None, state: str, who: Who, out: Written) -> dict[str, Any] | None:
    """Create, replace or (new None) remove one assessment; record its version and audit."""
    row = session.execute(select(Assessment).where(
        Assessment.risk_id == risk_id, Assessment.state_code == state)).scalar_one_or_none()
    before = None if row is None else _record(matrix, risk_key, state, row.likelihood,
                                              row.impact, row.rationale, row.version)
    key = version_key(risk_key, state)
    version = _next_version(session, key)
    if new is None:
        if row is None:
            return None
        session.execute(delete(Assessment).where(Assessment.id == row.id))
        after, change = None, "remove"
    else:
        values = {"likelihood": new.likelihood, "impact": new.impact,
                  "rationale": new.rationale, "version": version, "updated_at": utcnow(),
                  "updated_by": who.actor}
        if row is None:
            session.execute(insert(Assessment).values(risk_id=risk_id, state_code=state,
                                                      **values))
            change = "create"
        else:
            session.execute(update(Assessment).where(Assessment.id == row.id).values(values))
            change = "update"
        after = _record(matrix, risk_key, state, new.likelihood, new.impact, new.rationale,
                        version)
    out.versions.append({"entity": ENTITY, "key": key, "version": version,
                         "data": after or before, "changed_by": who.actor, "change": change})
    out.audit.append({"action": f"assessment.{change}", "entity": ENTITY, "key": key,
                      "before": before, "after": after})
    return after


def write_from_batch(session: Session, matrix: Matrix, batch: Batch, who: Who) -> Written:
    """The assessments that validated risks carry and that differ from the stored ones (the
    validation checked who may set them and that they are not stale)."""
    out = Written()
    carried = [r for r in batch.risks if r.assessments]
    if not carried:
        return out
    ids = dict(session.execute(select(Risk.key, Risk.id)
                               .where(Risk.key.in_([r.key for r in carried]))).all())
    for risk in carried:
        stored = {a["state"]: a for a in
                  (batch.stored["risks"].get(risk.key) or {}).get("assessments", [])}
        for assessment in risk.assessments:
            old = stored.get(assessment.state)
            if old is None or assessment_differs(matrix, old, assessment):
                _change(session, matrix, ids[risk.key], risk.key, assessment, assessment.state,
                        who, out)
    return out


def _risk_id(session: Session, scope: Scope, key: str) -> tuple[int, str]:
    row = session.execute(select(Risk.id, Risk.key)
                          .where(Risk.key == key.strip().upper(), scope.risks)).first()
    if row is None:
        raise queries.NotFound(f"no risk {key!r}")
    return int(row[0]), str(row[1])


def _member_state(session: Session, state: str) -> str:
    code = state.strip().upper()
    if session.scalar(select(State.role).where(State.code == code)) != "member":
        raise ImportError_([Problem("<input>", 0, "state",
                                    f"{code!r} is not a member state of the grouping")])
    return code


def get(session: Session, matrix: Matrix, scope: Scope, key: str, state: str) -> dict[str, Any]:
    """One state's assessment of a risk the scope allows (queries.NotFound otherwise)."""
    risk_id, risk_key = _risk_id(session, scope, key)
    row = session.execute(select(Assessment).where(
        Assessment.risk_id == risk_id,
        Assessment.state_code == state.strip().upper())).scalar_one_or_none()
    if row is None:
        raise queries.NotFound(f"no assessment of {risk_key} by {state.upper()!r}")
    return _record(matrix, risk_key, row.state_code, row.likelihood, row.impact, row.rationale,
                   row.version)


def _guard(session: Session, risk_id: int, state: str, expected: int | None,
           must_exist: bool) -> bool:
    """Lock the assessment's row and check its version; return whether it exists."""
    current = session.scalar(select(Assessment.version).where(
        Assessment.risk_id == risk_id, Assessment.state_code == state))
    if current is None:
        if must_exist:
            raise queries.NotFound(f"no assessment by {state}")
        if expected is not None:
            raise Stale(f"there is no assessment by {state} to replace (If-Match {expected})")
        return False
    if expected is None:
        raise Stale(f"{state}'s assessment exists (version {current}): name the version you "
                    "change (If-Match at the API, --version at the command line)", missing=True)
    locked = session.execute(update(Assessment).where(
        Assessment.risk_id == risk_id, Assessment.state_code == state,
        Assessment.version == expected).values(version=Assessment.version))
    if locked.rowcount == 0:  # type: ignore[attr-defined]
        raise Stale(f"{state}'s assessment was changed by someone else "
                    f"(stored version {current}, expected {expected})")
    return True


def put(
    session: Session, matrix: Matrix, scope: Scope, principal: Principal | None, key: str,
    state: str, body: dict[str, Any], who: Who, expected: int | None,
) -> dict[str, Any]:
    """Create or replace one state's assessment; fields not given keep their stored value.
    Raises NotFound, Refused, Stale or ImportError_ (invalid body)."""
    risk_id, risk_key = _risk_id(session, scope, key)
    code = _member_state(session, state)
    reason = checks.writer_for(session, principal).may_assess(code)
    if reason is not None:
        raise Refused(reason)
    exists = _guard(session, risk_id, code, expected, must_exist=False)
    data = dict(get(session, matrix, scope, risk_key, code)) if exists else {}
    data.pop("risk", None)
    data.update({k: v for k, v in body.items() if k not in {"state", "risk", "version"}})
    if isinstance(body.get("rationale"), dict) and exists:
        data["rationale"] = {**get(session, matrix, scope, risk_key, code)["rationale"],
                             **body["rationale"]}
    data["state"] = code
    try:
        new = AssessmentIn.model_validate(data, context={"matrix": matrix})
    except ValidationError as exc:
        raise ImportError_([Problem("<input>", 0, ".".join(map(str, e["loc"])) or "body",
                                    e["msg"].removeprefix("Value error, "))
                            for e in exc.errors(include_url=False)]) from None
    if exists:
        old = get(session, matrix, scope, risk_key, code)
        if not assessment_differs(matrix, old, new):
            return old
    out = Written()
    after = _change(session, matrix, risk_id, risk_key, new, code, who, out)
    _record_written(session, who, out)
    assert after is not None
    return after


def remove(
    session: Session, matrix: Matrix, scope: Scope, principal: Principal | None, key: str,
    state: str, who: Who, expected: int | None,
) -> None:
    """Remove one state's assessment (its history stays)."""
    risk_id, risk_key = _risk_id(session, scope, key)
    code = state.strip().upper()
    reason = checks.writer_for(session, principal).may_assess(code)
    if reason is not None:
        raise Refused(reason)
    _guard(session, risk_id, code, expected, must_exist=True)
    out = Written()
    _change(session, matrix, risk_id, risk_key, None, code, who, out)
    _record_written(session, who, out)


def history(session: Session, scope: Scope, key: str, state: str) -> list[dict[str, Any]]:
    """Every version of one state's assessment of a risk the scope allows, oldest first."""
    _, risk_key = _risk_id(session, scope, key)
    return queries.history(session, ENTITY, version_key(risk_key, state), scope)


def _record_written(session: Session, who: Who, out: Written) -> None:
    if out.versions:
        session.execute(insert(Version), out.versions)
    append_many(session, who, out.audit)


def recent_changes(session: Session, scope: Scope, limit: int = 10) -> list[dict[str, Any]]:
    """The latest versions of national assessments of risks the scope allows now, newest
    first, each with its risk's key and current title and the state (the dashboard's recent
    changes, beside queries.recent_changes). An assessment is seen with its risk: its versions
    are read over the newest ones (queries.RECENT_WINDOWS), then kept for the visible risks."""
    visible: list[Any] = []
    titles: dict[str, Any] = {}
    for window in queries.RECENT_WINDOWS:
        rows = session.execute(
            select(Version.key, Version.version, Version.change, Version.changed_at,
                   Version.changed_by)
            .where(Version.entity == ENTITY).order_by(Version.id.desc()).limit(window)).all()
        keys = {row.key.partition("/")[0] for row in rows}
        titles = dict(session.execute(select(Risk.key, Risk.title).where(
            Risk.key.in_(keys), scope.risks)).all()) if keys else {}
        visible = [row for row in rows if row.key.partition("/")[0] in titles]
        if len(visible) >= limit or len(rows) < window:
            break
    out = []
    for row in visible[:limit]:
        risk_key, _, state = row.key.partition("/")
        out.append({"entity": ENTITY, "key": risk_key, "state": state, "version": row.version,
                    "change": row.change, "changed_at": row.changed_at,
                    "changed_by": row.changed_by, "title": titles[risk_key]})
    return out
