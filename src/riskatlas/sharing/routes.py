"""Sharing groups over the JSON API (/api/v1/groups), for administrators only.

Any administrator may read the groups. Changing a group's members is for administrators of the
organisation that owns it, and a group created here is owned by the caller's organisation: as
a record's owner decides who reads it (sharing.policy.may_change), a group's owner decides who
is in it, so a partner's administrator cannot add its own organisation to a member state's group
and read that state's AMBER records. (The CLI acts as the operator and may change any group.)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from riskatlas.catalog.schemas import ErrorOut
from riskatlas.sharing import service
from riskatlas.sharing.policy import Principal
from riskatlas.web import openapi
from riskatlas.web.deps import SAFE_METHODS, CurrentPrincipal, SessionDep, require_writer, who
from riskatlas.web.errors import ApiError

# Every route is for administrators (401, 403); each adds the errors it may send besides.
router = APIRouter(prefix="/api/v1/groups", tags=["sharing"],
                   responses=openapi.errors(ErrorOut, 401, 403))
ONE = "/api/v1/groups/{key}"
GROUP_LINKS = {
    "GetGroup": openapi.link(ONE, "get", {"path.key": "$response.body#/key"}),
    "AddMember": openapi.link(ONE + "/members/{org}", "put", {"path.key": "$response.body#/key"}),
    "RemoveMember": openapi.link(ONE + "/members/{org}", "delete",
                                 {"path.key": "$response.body#/key"}),
}
ANSWERS = {"invalid": (422, "validation_error"), "unknown": (404, "not_found"),
           "conflict": (409, "conflict")}


async def require_admin(request: Request, principal: CurrentPrincipal) -> Principal:
    """Administrators; changes also pass the writers' checks (no read-only token, CSRF for
    browser sessions)."""
    if principal.anonymous:
        raise ApiError(401, "unauthorized", "Sign in or send a valid API token.",
                       headers={"WWW-Authenticate": "Bearer"})
    if principal.role != "admin":
        raise ApiError(403, "forbidden", "Only administrators manage sharing groups.")
    if request.method not in SAFE_METHODS:
        await require_writer(request, principal)
    return principal


Admin = Annotated[Principal, Depends(require_admin)]


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(max_length=64)
    name: str = Field(max_length=service.MAX_NAME)


class GroupOut(BaseModel):
    key: str
    name: str
    owner: str
    members: list[str]


def _refused(exc: service.SharingError) -> ApiError:
    status, code = ANSWERS[exc.kind]
    return ApiError(status, code, str(exc))


def _owned(session: Session, principal: Principal, key: str) -> None:
    try:
        owner = service.show_group(session, key)["owner"]
    except service.SharingError as exc:
        raise _refused(exc) from None
    if owner != principal.org_key:
        raise ApiError(403, "not_owner", f"Only administrators of {owner} change this group.")


@router.get("", response_model=list[GroupOut])
def list_groups(session: SessionDep, principal: Admin) -> list[dict[str, Any]]:
    """Every sharing group with its owner and members."""
    return service.list_groups(session)


@router.post("", status_code=201, response_model=GroupOut, responses={
    201: {"links": GROUP_LINKS, "headers": {"Location": {
        "description": "The new group's URL.", "required": True, "schema": {"type": "string"}}}},
    **openapi.errors(ErrorOut, 400, 409, 413, 422)})
def create_group(body: GroupIn, request: Request, session: SessionDep,
                 principal: Admin) -> JSONResponse:
    """Create an empty group owned by the caller's organisation."""
    assert principal.org_key is not None
    try:
        group = service.add_group(session, body.key, body.name, principal.org_key,
                                  who=who(request, principal))
    except service.SharingError as exc:
        raise _refused(exc) from None
    session.commit()
    return JSONResponse(group, status_code=201,
                        headers={"Location": f"/api/v1/groups/{group['key']}"})


@router.get("/{key}", response_model=GroupOut,
            responses=openapi.errors(ErrorOut, 404, 422))
def get_group(key: str, session: SessionDep, principal: Admin) -> dict[str, Any]:
    """One group with its members."""
    try:
        return service.show_group(session, key)
    except service.SharingError as exc:
        raise _refused(exc) from None


@router.put("/{key}/members/{org}", response_model=GroupOut,
            responses=openapi.errors(ErrorOut, 404, 409, 422))
def add_member(key: str, org: str, request: Request, session: SessionDep,
               principal: Admin) -> dict[str, Any]:
    """Add an organisation to the group: it reads the group's AMBER records at once."""
    _owned(session, principal, key)
    try:
        group = service.add_members(session, key, [org], who=who(request, principal))
    except service.SharingError as exc:
        raise _refused(exc) from None
    session.commit()
    return group


@router.delete("/{key}/members/{org}", response_model=GroupOut,
               responses=openapi.errors(ErrorOut, 404, 422))
def remove_member(key: str, org: str, request: Request, session: SessionDep,
                  principal: Admin) -> dict[str, Any]:
    """Remove an organisation from the group: it stops reading them at once."""
    _owned(session, principal, key)
    try:
        group = service.remove_members(session, key, [org], who=who(request, principal))
    except service.SharingError as exc:
        raise _refused(exc) from None
    session.commit()
    return group
