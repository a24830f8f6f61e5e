"""JSON API for national assessments: thin handlers over catalog.assessments.

Each state's assessment of a risk is its own record with its own ETag: `PUT` creates one
(without If-Match) or replaces it (If-Match: its ETag); `DELETE` needs If-Match too.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from pydantic import WithJsonSchema
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskatlas.catalog import assessments, queries
from riskatlas.catalog.importer import ImportError_
from riskatlas.catalog.matrix import active_matrix
from riskatlas.catalog.routes import (
    ERRORS,
    IF_MATCH,
    RATING,
    IfMatch,
    errors,
    etag_version,
    invalid,
)
from riskatlas.catalog.schemas import AssessmentIn, AssessmentOut, VersionOut
from riskatlas.runtime import Runtime
from riskatlas.sharing.policy import Scope
from riskatlas.web import openapi
from riskatlas.web.deps import Author, RuntimeDep, ScopeDep, SessionDep, read, who
from riskatlas.web.errors import ApiError
from riskatlas.web.responses import OrjsonResponse

router = APIRouter(prefix="/api/v1/risks/{key}/assessments", tags=["assessments"],
                   responses=ERRORS)
# The raw object (catalog.assessments validates it); its schema is declared by BODY.
AssessmentBody = Annotated[dict[str, Any], Body(), WithJsonSchema({})]
BODY = openapi.json_body(
    openapi.partial("AssessmentChange", AssessmentIn, drop=("state", "version"),
                    overrides={"likelihood": RATING, "impact": RATING}),
    "likelihood, impact (labels or 1-based positions of the matrix) and rationale "
    "({en: ..., ru: ...}): all three for a new assessment; fields not sent keep their "
    "stored value.")
IF_MATCH_TO_REPLACE = openapi.if_match(False, "The assessment's ETag, to replace it (428 "
                                       "without it when one exists); none to create it.")


class AssessmentRecordOut(AssessmentOut):
    """One assessment on its own names its risk (inside a risk it does not)."""

    risk: str


ANSWER = {"model": AssessmentRecordOut, "headers": openapi.ETAG}


def _response(record: dict[str, Any], status: int = 200) -> OrjsonResponse:
    return OrjsonResponse(record, status_code=status, headers={"ETag": f'"{record["version"]}"'})


def _one(session: Session, runtime: Runtime, scope: Scope, key: str,
         state: str) -> dict[str, Any]:
    try:
        return assessments.get(session, active_matrix(runtime.settings), scope, key, state)
    except queries.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None


def _optional_version(if_match: str | None) -> int | None:
    return None if not if_match else etag_version(if_match)


@router.get("/{state}", name="get_assessment", responses={200: ANSWER, **errors(404, 422)})
async def get_assessment(key: str, state: str, runtime: RuntimeDep,
                         scope: ScopeDep) -> Response:
    """One member state's national assessment of a risk you may see."""
    return _response(await read(runtime, _one, runtime, scope, key, state))


@router.put("/{state}", name="put_assessment", responses={
    200: ANSWER, 201: ANSWER, **errors(400, 403, 404, 412, 413, 422, 428)},
    openapi_extra=openapi.extra(IF_MATCH_TO_REPLACE, BODY))
def put_assessment(
    key: str, state: str, body: AssessmentBody, request: Request, session: SessionDep,
    runtime: RuntimeDep, scope: ScopeDep, principal: Author, if_match: IfMatch = None,
) -> Response:
    """Set your state's national assessment (editors and analysts of its organisations)."""
    expected = _optional_version(if_match)
    try:
        record = assessments.put(session, active_matrix(runtime.settings), scope, principal, key,
                                 state, body, who(request, principal), expected)
        session.commit()
    except queries.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except assessments.Refused as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    except assessments.Stale as exc:
        if exc.missing:
            raise ApiError(428, "precondition_required", str(exc)) from None
        raise ApiError(412, "precondition_failed", str(exc)) from None
    except ImportError_ as exc:
        raise invalid(exc) from None
    except IntegrityError:  # another request created it meanwhile
        session.rollback()
        raise ApiError(412, "precondition_failed",
                       f"{state.upper()}'s assessment was just created by someone else") from None
    return _response(record, 201 if record["version"] == 1 and expected is None else 200)


@router.delete("/{state}", name="remove_assessment", status_code=204,
               responses=errors(403, 404, 412, 422, 428), openapi_extra=IF_MATCH)
def remove_assessment(
    key: str, state: str, request: Request, session: SessionDep, runtime: RuntimeDep,
    scope: ScopeDep, principal: Author, if_match: IfMatch = None,
) -> Response:
    """Remove your state's national assessment (its history stays)."""
    expected = etag_version(if_match)
    try:
        assessments.remove(session, active_matrix(runtime.settings), scope, principal, key, state,
                           who(request, principal), expected)
        session.commit()
    except queries.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except assessments.Refused as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    except assessments.Stale as exc:
        raise ApiError(412, "precondition_failed", str(exc)) from None
    return Response(status_code=204)


@router.get("/{state}/history", name="assessment_history", response_model=list[VersionOut],
            responses=errors(404, 422))
async def assessment_history(key: str, state: str, runtime: RuntimeDep,
                             scope: ScopeDep) -> list[dict[str, Any]]:
    """Every version of one state's assessment of a risk, oldest first."""
    return await read(runtime, _history, scope, key, state)


def _history(session: Session, scope: Scope, key: str, state: str) -> list[dict[str, Any]]:
    try:
        return assessments.history(session, scope, key, state)
    except queries.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
