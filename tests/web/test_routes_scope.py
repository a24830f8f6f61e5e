"""Every read route carries the sharing scope, and the caller comes from one place.

A GET route that does not depend on web.deps.get_scope could read records without the policy;
this walks the routes of the real app and fails for any such route that is not in ALLOWED with
its reason. The other tests: a Scope cannot be built by hand, the full scope belongs to its two
holders, history checks visibility itself, and nothing a request carries (such as
`request.state.principal`) is believed about who sends it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import true, update

from riskatlas.catalog import queries
from riskatlas.catalog.models import Risk
from riskatlas.cli_options import operator_scope
from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.runtime import Runtime
from riskatlas.sharing.policy import ANONYMOUS, FullAccess, Principal, Scope, scope_for
from riskatlas.web.app import create_app
from riskatlas.web.deps import get_scope
from tests.helpers import SMALL, load

# GET routes (and mounts) that read no catalog record, each with the reason.
ALLOWED = {
    "/api/openapi.json": "the API's description, the same for everyone",
    "/api/docs": "the Swagger UI page (static; it reads the description)",
    "/static": "static files",
    "/static/swagger-ui": "static files of the Swagger UI",
    "/login": "the sign-in page",
    "/api/v1/auth/me": "the caller's own account",
    "/api/v1/matrix": "the risk matrix: reference data, not a record",
    "/catalog/levels.css": "the level colours of the risk matrix, as a stylesheet",
    "/api/v1/organisations": "the directory of organisations, for signed-in users",
    "/api/v1/groups": "sharing groups (names and members), for administrators",
    "/api/v1/groups/{key}": "one sharing group, for administrators",
    "/healthz": "process health check: reads nothing, needs no principal",
    "/readyz": "readiness check: the schema revision only, needs no principal",
    "/metrics": "aggregate counts (no record content), for administrators",
    "/reports/new": "the empty field report form (a record it files is read back by /alerts)",
}


def _routes(app: Any) -> Iterator[Any]:
    """Every route of the app with its path, methods and dependency tree, included routers
    flattened (FastAPI's own walk when it has one)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # an older FastAPI: included routes are plain APIRoutes
        yield from app.routes
        return
    yield from iter_route_contexts(app.routes)


def _calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def test_every_get_route_depends_on_the_scope() -> None:
    app = create_app(Settings(database_url="sqlite://"))
    unscoped, scoped = set(), set()
    for route in _routes(app):
        dependant = getattr(route, "dependant", None)
        methods = getattr(route, "methods", None) or set()
        if dependant is None or not isinstance(getattr(route, "original_route", route),
                                               APIRoute):
            unscoped.add(route.path)  # a mount, or a plain Starlette route (the OpenAPI JSON)
        elif "GET" in methods:
            (scoped if get_scope in set(_calls(dependant)) else unscoped).add(route.path)
    assert scoped, "no route depends on get_scope: the walk found nothing"
    assert sorted(unscoped - set(ALLOWED)) == [], "GET routes reading without the sharing scope"
    # The list stays honest: every exception names a route that exists and needs it.
    assert sorted(set(ALLOWED) - unscoped) == []


def test_a_scope_cannot_be_built_by_hand() -> None:
    with pytest.raises(TypeError):
        Scope(true(), true(), true(), complete=True)
    with pytest.raises(TypeError):
        Scope(true(), true(), true())


def test_full_access_is_held_once_by_each_holder() -> None:
    assert operator_scope().complete  # the command line's, made when cli_options was imported
    for holder in ("operator", "validation", "web"):
        with pytest.raises(PermissionError):
            FullAccess(holder)
    assert not scope_for(ANONYMOUS).complete


@pytest.fixture
def amber(db_url: str) -> Runtime:
    load(db_url, SMALL)  # owned by C5-SEC
    rt = Runtime(Settings(database_url=db_url))
    with rt.transaction() as session:
        session.execute(update(Risk).where(Risk.key == "CA-TST-001").values(tlp="amber"))
        accounts.add_user(session, "guest", "AZE-GOV", "viewer", "correct-horse-battery")
    return rt


def test_history_checks_visibility_itself(amber: Runtime) -> None:
    partner = Principal(user_id=999, username="guest", org_id=None, org_key="AZE-GOV",
                        role="viewer", standing="partner")
    with amber.transaction() as session:
        assert queries.history(session, "risk", "CA-TST-001", operator_scope())
        for entity, key in (("risk", "CA-TST-001"), ("assessment", "CA-TST-001/TJK"),
                            ("risk", "CA-NOPE-001")):
            with pytest.raises(queries.NotFound):
                queries.history(session, entity, key, scope_for(partner))
        # A measure's old versions list only the risks the caller may read.
        versions = queries.history(session, "measure", "CA-MSR-901", scope_for(partner))
        assert versions and all("CA-TST-001" not in v["data"]["risks"] for v in versions)
        assert queries.history(session, "assessment", "CA-TST-001/TJK", operator_scope())


def test_a_principal_put_on_the_request_is_not_believed(amber: Runtime, db_url: str) -> None:
    """Only web.deps.Principals says who asks: a principal some other code left on the
    request (request.state.principal) changes nothing, for the cache or the route."""
    admin = Principal(user_id=1, username="admin", org_id=1, org_key="C5-SEC", role="admin",
                      standing="regional", token_scope="write")
    app = create_app(Settings(database_url=db_url, cookie_secure=False))

    @app.middleware("http")
    async def claim(request: Any, call_next: Any) -> Any:
        request.state.principal = admin
        request.scope["principal"] = admin
        return await call_next(request)

    client = TestClient(app)
    assert client.get("/api/v1/risks/CA-TST-001").status_code == 404  # anonymous
    assert "CA-TST-001" not in {r["key"] for r in client.get("/api/v1/risks").json()["items"]}
    assert client.get("/api/v1/auth/me").status_code == 401
