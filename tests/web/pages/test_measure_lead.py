"""A measure's lead organisation changes its status and progress, and nothing else
(catalog.checks.lead_may_change): through the API, the board and the measure page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from riskatlas.audit.service import Who
from riskatlas.catalog import edits
from riskatlas.catalog.importer import ImportError_
from riskatlas.catalog.matrix import active_matrix
from riskatlas.config import Settings
from riskatlas.parties.accounts import principal_for
from riskatlas.parties.models import User
from riskatlas.runtime import Runtime
from riskatlas.sharing.policy import scope_for
from tests.web.pages.measure_world import World, form_fields, make_world

KEY = "CA-MWB-009"  # owned by KAZ-SC, led by KGZ-SC


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    world = make_world(db_url, tmp_path)
    response = call(world, "kaz_editor", "post", "/api/v1/measures", json={
        "key": KEY, "title": {"en": "Led by Kyrgyzstan", "ru": "Под руководством"},
        "summary": {"en": "S", "ru": "С"}, "kind": "prevention", "treatment": "reduce",
        "lead": "KGZ-SC", "states": ["KGZ"], "status": "agreed", "tlp": "clear",
        "effect": {"likelihood": 1, "impact": 1}, "progress": 10, "risks": ["CA-WEB-001"]})
    assert response.status_code == 201, response.text
    return world


def call(world: World, username: str, method: str, path: str, etag: str | None = None,
         **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {world.tokens[username]}"}
    if etag is not None:
        headers["If-Match"] = etag
    return TestClient(world.app).request(method, path, headers=headers, **kwargs)


def etag(world: World) -> str:
    return str(call(world, "kaz_viewer", "get", f"/api/v1/measures/{KEY}").headers["etag"])


def test_the_lead_sets_status_and_progress_through_the_api(world: World) -> None:
    answer = call(world, "kgz_editor", "patch", f"/api/v1/measures/{KEY}", etag(world),
                  json={"status": "in_progress", "progress": 35})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["progress"]) == ("in_progress", 35)
    history = world.api("kaz_viewer", f"/api/v1/measures/{KEY}/history")
    assert [v["change"] for v in history] == ["create", "update"]
    assert history[-1]["changed_by"] == "kgz_editor"  # the audit trail names the lead's editor
    # the version check holds for the lead as for the owner
    stale = call(world, "kgz_editor", "patch", f"/api/v1/measures/{KEY}", '"1"',
                 json={"progress": 50})
    assert stale.status_code == 412
    assert call(world, "kgz_editor", "patch", f"/api/v1/measures/{KEY}",
                json={"progress": 50}).status_code == 428


@pytest.mark.parametrize("changes", [{"title": {"en": "Renamed"}},
                                     {"status": "implemented", "end": "2030"},
                                     {"status": "retired"}])
def test_the_lead_changes_nothing_else(world: World, changes: dict[str, Any]) -> None:
    before = world.api("kaz_viewer", f"/api/v1/measures/{KEY}")
    answer = call(world, "kgz_editor", "patch", f"/api/v1/measures/{KEY}", etag(world),
                  json=changes)
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "lead_fields_only"
    assert "status and progress" in answer.json()["message"].replace("progress and status",
                                                                     "status and progress")
    retire = call(world, "kgz_editor", "post", f"/api/v1/measures/{KEY}/retire", etag(world))
    assert retire.status_code == 403
    assert world.api("kaz_viewer", f"/api/v1/measures/{KEY}") == before


def test_neither_owner_nor_lead_is_refused_as_before(world: World) -> None:
    # CA-MWB-001 is owned and led by KAZ-SC: the Kyrgyz editor may not move it
    tag = call(world, "kaz_viewer", "get", "/api/v1/measures/CA-MWB-001").headers["etag"]
    answer = call(world, "kgz_editor", "patch", "/api/v1/measures/CA-MWB-001", tag,
                  json={"status": "agreed"})
    assert answer.status_code == 403 and answer.json()["code"] == "not_owner"
    # a viewer of the lead organisation is no editor of it
    answer = call(world, "kaz_viewer", "patch", "/api/v1/measures/CA-MWB-001", tag,
                  json={"progress": 20})
    assert answer.status_code == 403


def test_the_lead_moves_the_measure_on_the_board_and_its_page(world: World) -> None:
    client, csrf = world.browser("kgz_editor")
    board = client.get("/measures?view=board").text
    fields = form_fields(board, KEY)
    assert fields["csrf"] == csrf
    assert 'action="/measures/CA-MWB-001/update"' not in board  # not its measure
    # a plain form POST (no JavaScript), then without the CSRF token
    assert client.post(f"/measures/{KEY}/update",
                       data={"version": fields["version"], "status": "implemented"}
                       ).status_code == 403
    response = client.post(f"/measures/{KEY}/update", data={**fields, "status": "implemented"})
    assert response.status_code == 303
    assert world.api("kaz_viewer", f"/api/v1/measures/{KEY}")["status"] == "implemented"
    # the measure page, through htmx (the token in the header)
    page = client.get(f"/measures/{KEY}").text
    fields = form_fields(page, KEY)
    response = client.post(f"/measures/{KEY}/update", follow_redirects=True,
                           data={"version": fields["version"], "progress": "90",
                                 "next": f"/measures/{KEY}"},
                           headers={"HX-Request": "true", "X-CSRF-Token": csrf or ""})
    assert response.status_code == 200
    measure = world.api("kaz_viewer", f"/api/v1/measures/{KEY}")
    assert (measure["status"], measure["progress"], measure["version"]) == ("implemented", 90, 3)
    # the owner's editor still offered the controls
    owner, _ = world.browser("kaz_editor")
    assert form_fields(owner.get(f"/measures/{KEY}").text, KEY)["version"] == "3"


def test_the_validation_holds_the_lead_to_its_fields(world: World) -> None:
    """Every write door (an import by the lead's editor too) validates through the same rule:
    the lead's editor changing the title is a problem, its progress alone is not."""
    runtime = Runtime(Settings(database_url=world.db_url))
    matrix = active_matrix(runtime.settings)

    def edit(changes: dict[str, Any]) -> dict[str, Any]:
        with runtime.transaction() as session:
            user = session.scalars(select(User).where(User.username == "kgz_editor")).one()
            lead = principal_for(session, user)
            return edits.edit(session, matrix, scope_for(lead), "measures", KEY, changes,
                              Who("kgz_editor"), principal=lead)

    with pytest.raises(ImportError_) as refused:
        edit({"title.en": "Renamed"})
    assert [p.reason for p in refused.value.problems] == [
        "owned by KAZ-SC: as its lead organisation, KGZ-SC changes only its progress "
        "and status"]
    assert edit({"progress": 60})["progress"] == 60
    assert world.api("kaz_viewer", f"/api/v1/measures/{KEY}")["title"]["en"] == (
        "Led by Kyrgyzstan")
