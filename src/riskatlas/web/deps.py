"""Dependency aliases shared by every route: handlers read like prose."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from riskatlas.runtime import Runtime
from riskatlas.sharing.policy import Scope


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with runtime.transaction() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_scope() -> Scope:
    return Scope.everything()


ScopeDep = Annotated[Scope, Depends(get_scope)]
