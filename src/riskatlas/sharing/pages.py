"""Sharing groups on the admin page (/admin, parties.pages): create, add and remove members,
through sharing.service as the JSON API and the CLI do, audited with the administrator's name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from riskatlas.parties.pages import admin_write, gate
from riskatlas.sharing import service
from riskatlas.web.deps import CurrentPrincipal, RuntimeDep, who

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=256)]
Key = Annotated[str, Form(max_length=64)]


@router.post("/admin/groups")
def group_add(request: Request, principal: CurrentPrincipal, runtime: RuntimeDep,
              csrf: Csrf = "", key: Key = "", name: Annotated[str, Form(max_length=255)] = "",
              owner: Key = "") -> Response:
    if (answer := gate(request, principal, csrf, admin=True)) is not None:
        return answer

    def write(session: Session) -> None:
        service.add_group(session, key, name, owner, who=who(request, principal))
    return admin_write(request, runtime, "groups", "group", write, (service.SharingError,))


@router.post("/admin/groups/{key}/members")
def group_member_add(request: Request, key: str, principal: CurrentPrincipal,
                     runtime: RuntimeDep, csrf: Csrf = "", org: Key = "") -> Response:
    if (answer := gate(request, principal, csrf, admin=True)) is not None:
        return answer

    def write(session: Session) -> None:
        service.add_members(session, key, [org], who=who(request, principal))
    return admin_write(request, runtime, "groups", "member", write, (service.SharingError,))


@router.post("/admin/groups/{key}/members/remove")
def group_member_remove(request: Request, key: str, principal: CurrentPrincipal,
                        runtime: RuntimeDep, csrf: Csrf = "", org: Key = "") -> Response:
    if (answer := gate(request, principal, csrf, admin=True)) is not None:
        return answer

    def write(session: Session) -> None:
        service.remove_members(session, key, [org], who=who(request, principal))
    return admin_write(request, runtime, "groups", "removed", write, (service.SharingError,))
