"""Proposals, positions and meetings over the JSON API: thin doors over governance.proposals
and governance.meetings (every read through the caller's scope; every write audited)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Request

from riskatlas.catalog import edits
from riskatlas.catalog.importer import ImportError_
from riskatlas.catalog.matrix import active_matrix
from riskatlas.catalog.schemas import ErrorOut
from riskatlas.governance import meetings as meeting_service
from riskatlas.governance import proposals as service
from riskatlas.governance.errors import GovernanceError, NotFound
from riskatlas.governance.schemas import (
    CommentIn,
    CommentOut,
    MeetingDetail,
    MeetingIn,
    MeetingList,
    PositionIn,
    PositionOut,
    ProposalDetail,
    ProposalIn,
    ProposalList,
)
from riskatlas.web import openapi
from riskatlas.web.deps import (
    Author,
    CurrentPrincipal,
    RuntimeDep,
    ScopeDep,
    SessionDep,
    read,
    who,
)
from riskatlas.web.errors import ApiError

router = APIRouter(tags=["governance"])
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
T = TypeVar("T")


def _refused(exc: Exception) -> ApiError:
    if isinstance(exc, NotFound):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, ImportError_):
        return ApiError(422, "validation_error", f"{len(exc.problems)} problem(s)",
                        problems=[{"field": p.field, "reason": p.reason}
                                  for p in exc.problems])
    if isinstance(exc, edits.Conflict):
        return ApiError(409, "conflict", str(exc))
    message = str(exc)
    forbidden = message.startswith("only ")
    return ApiError(403 if forbidden else 409 if " is stale" in message or "closed" in message
                    else 422, "forbidden" if forbidden else "refused", message)


def _write(session: Any, fn: Callable[[], T]) -> T:
    try:
        out = fn()
    except (GovernanceError, NotFound, ImportError_, edits.Conflict) as exc:
        session.rollback()
        raise _refused(exc) from None
    session.commit()
    return out


@router.get("/api/v1/proposals", response_model=ProposalList,
            responses=openapi.errors(ErrorOut, 401, 422))
async def list_proposals(
    runtime: RuntimeDep, scope: ScopeDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    meeting: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> dict[str, Any]:
    """The proposals you may see (about records you may see), newest first."""
    try:
        items = await read(runtime, lambda s: service.list_proposals(
            s, scope, status=status, meeting_id=meeting))
    except GovernanceError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None
    return {"total": len(items), "items": items}


@router.get("/api/v1/proposals/{proposal_id}", response_model=ProposalDetail,
            responses=openapi.errors(ErrorOut, 401, 404, 422))
async def get_proposal(proposal_id: Id, runtime: RuntimeDep, scope: ScopeDep) -> dict[str, Any]:
    """One proposal you may see (404 otherwise): diff, positions, history, comments and the
    rule's current verdict."""
    matrix = active_matrix(runtime.settings)
    try:
        return await read(runtime, service.get_proposal, matrix, scope, proposal_id)
    except NotFound:
        raise ApiError(404, "not_found", f"No proposal {proposal_id}.") from None


@router.post("/api/v1/proposals", status_code=201, response_model=ProposalDetail,
             responses=openapi.errors(ErrorOut, 400, 401, 403, 404, 413, 422))
def create_proposal(body: ProposalIn, request: Request, session: SessionDep,
                    runtime: RuntimeDep, scope: ScopeDep, principal: Author) -> dict[str, Any]:
    """Propose to create, change or retire a risk or a measure (editors and administrators
    of member states' and regional organisations)."""
    return _write(session, lambda: service.create_proposal(
        session, active_matrix(runtime.settings), scope, principal, who(request, principal),
        kind=body.kind, entity=body.entity, key=body.key or "", changes=body.changes,
        data=body.record, title=body.title, comment=body.comment, deadline=body.deadline))


@router.post("/api/v1/proposals/{proposal_id}/positions", status_code=201,
             response_model=PositionOut,
             responses=openapi.errors(ErrorOut, 400, 401, 403, 404, 409, 413, 422))
def record_position(proposal_id: Id, body: PositionIn, request: Request, session: SessionDep,
                    scope: ScopeDep, principal: Author) -> dict[str, Any]:
    """Record your member state's position (editors and administrators of a member state's
    organisation); it may be changed until the proposal closes."""
    return _write(session, lambda: service.record_position(
        session, scope, principal, who(request, principal), proposal_id, body.stance,
        body.comment))


@router.post("/api/v1/proposals/{proposal_id}/comments", status_code=201,
             response_model=CommentOut,
             responses=openapi.errors(ErrorOut, 400, 401, 403, 404, 413, 422))
def add_comment(proposal_id: Id, body: CommentIn, request: Request, session: SessionDep,
                scope: ScopeDep, principal: Author) -> dict[str, Any]:
    """Comment on a proposal you may see (partners too)."""
    return _write(session, lambda: service.add_comment(
        session, scope, principal, who(request, principal), proposal_id, body.text))


@router.post("/api/v1/proposals/{proposal_id}/rebase", response_model=ProposalDetail,
             responses=openapi.errors(ErrorOut, 400, 401, 403, 404, 409, 422))
def rebase(proposal_id: Id, request: Request, session: SessionDep, runtime: RuntimeDep,
           scope: ScopeDep, principal: Author) -> dict[str, Any]:
    """Recompute a stale proposal's diff against the record's current version."""
    return _write(session, lambda: service.rebase(
        session, active_matrix(runtime.settings), scope, principal, who(request, principal),
        proposal_id))


@router.post("/api/v1/proposals/{proposal_id}/decision", response_model=ProposalDetail,
             responses=openapi.errors(ErrorOut, 400, 401, 403, 404, 409, 422))
def decide(proposal_id: Id, request: Request, session: SessionDep, runtime: RuntimeDep,
           scope: ScopeDep, principal: Author) -> dict[str, Any]:
    """Apply the grouping's rule: adopted (a new catalog version), rejected, or still open
    (`outcome` says why). A stale proposal is refused (409): rebase it."""
    return _write(session, lambda: service.decide(
        session, active_matrix(runtime.settings), scope, principal, who(request, principal),
        proposal_id))


@router.post("/api/v1/proposals/{proposal_id}/withdraw", response_model=ProposalDetail,
             responses=openapi.errors(ErrorOut, 400, 401, 403, 404, 409, 422))
def withdraw(proposal_id: Id, request: Request, session: SessionDep, runtime: RuntimeDep,
             scope: ScopeDep, principal: Author) -> dict[str, Any]:
    """Withdraw an open proposal of your organisation (it is kept)."""
    matrix = active_matrix(runtime.settings)

    def step() -> dict[str, Any]:
        service.withdraw(session, scope, principal, who(request, principal), proposal_id)
        return service.get_proposal(session, matrix, scope, proposal_id)

    return _write(session, step)


def _signed_in(principal: Any) -> None:
    if principal.anonymous:
        raise ApiError(401, "unauthorized", "Sign in or send an API token to read meetings.")


@router.get("/api/v1/meetings", response_model=MeetingList,
            responses=openapi.errors(ErrorOut, 401))
async def list_meetings(runtime: RuntimeDep, scope: ScopeDep, principal: CurrentPrincipal
                        ) -> dict[str, Any]:
    """The grouping's meetings, latest first (agenda items: those you may see)."""
    _signed_in(principal)
    items = await read(runtime, meeting_service.list_meetings, scope)
    return {"total": len(items), "items": items}


@router.get("/api/v1/meetings/{meeting_id}", response_model=MeetingDetail,
            responses=openapi.errors(ErrorOut, 401, 404, 422))
async def get_meeting(meeting_id: Id, runtime: RuntimeDep, scope: ScopeDep,
                      principal: CurrentPrincipal) -> dict[str, Any]:
    """One meeting with its agenda (the proposals you may see)."""
    _signed_in(principal)
    try:
        return await read(runtime, meeting_service.get_meeting, scope, meeting_id)
    except NotFound:
        raise ApiError(404, "not_found", f"No meeting {meeting_id}.") from None


@router.post("/api/v1/meetings", status_code=201, response_model=MeetingDetail,
             responses=openapi.errors(ErrorOut, 400, 401, 403, 413, 422))
def add_meeting(body: MeetingIn, request: Request, session: SessionDep, scope: ScopeDep,
                principal: Author) -> dict[str, Any]:
    """Add a meeting (editors and administrators of member states' and regional
    organisations); the agenda names proposals you may see."""
    def step() -> dict[str, Any]:
        made = meeting_service.add_meeting(
            session, who(request, principal), kind=body.kind, date=body.date,
            place=body.place, title=body.title, participants=body.participants,
            agenda=body.agenda, principal=principal, scope=scope)
        return meeting_service.get_meeting(session, scope, made)

    return _write(session, step)
