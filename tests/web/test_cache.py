"""Reused API answers (web.cache): never across callers, never after a change of the data
(whichever way it is made: the API, the command line, an import, seeding, reindexing, sharing
groups, standings, tokens, raw SQL), never for a revoked token or a disabled account, and only
when switched on. The read generation that keys them moves with every change of every table
the answers depend on (riskatlas.generation)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text, update

import riskatlas.models  # noqa: F401  (every table in the metadata)
from riskatlas.catalog.models import Risk
from riskatlas.config import Settings
from riskatlas.db import Base
from riskatlas.generation import UNRELATED, UNRELATED_COLUMNS, current
from riskatlas.parties import accounts
from riskatlas.parties.service import seed
from riskatlas.runtime import Runtime
from riskatlas.sharing import service as sharing
from riskatlas.web.app import create_app
from tests.helpers import SMALL, cli, export, load

PASSWORD = "correct-horse-battery"
AMBER_KEY = "CA-TST-001"


@pytest.fixture
def api(db_url: str) -> dict[str, Any]:
    load(db_url, SMALL)  # owned by C5-SEC
    rt = Runtime(Settings(database_url=db_url))
    tokens = {}
    with rt.transaction() as session:
        for name, org, role, scope in [("editor", "C5-SEC", "editor", "write"),
                                       ("partner", "AZE-GOV", "viewer", "read")]:
            accounts.add_user(session, name, org, role, PASSWORD)
            tokens[name] = accounts.create_token(session, name, scope)
        session.execute(update(Risk).where(Risk.key == AMBER_KEY).values(tlp="amber"))
    app = create_app(Settings(database_url=db_url, cookie_secure=False))
    return {"client": TestClient(app), "tokens": tokens, "rt": rt, "cache": app.state.read_cache}


def bearer(api: dict[str, Any], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api['tokens'][who]}"}


def test_a_repeated_read_is_served_from_the_cache(api: dict[str, Any]) -> None:
    client, cache = api["client"], api["cache"]
    first = client.get("/api/v1/risks?limit=5", headers=bearer(api, "editor"))
    second = client.get("/api/v1/risks?limit=5", headers=bearer(api, "editor"))
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
    assert cache.hits == 1


def test_callers_never_share_answers(api: dict[str, Any]) -> None:
    client = api["client"]
    url = f"/api/v1/risks/{AMBER_KEY}"
    assert client.get(url, headers=bearer(api, "editor")).status_code == 200
    assert client.get(url, headers=bearer(api, "partner")).status_code == 404  # AMBER: members
    listed = client.get("/api/v1/risks?limit=1000", headers=bearer(api, "editor")).json()
    seen = client.get("/api/v1/risks?limit=1000", headers=bearer(api, "partner")).json()
    assert AMBER_KEY in {r["key"] for r in listed["items"]}
    assert AMBER_KEY not in {r["key"] for r in seen["items"]}
    assert seen["total"] == listed["total"] - 1
    assert client.get(url).status_code == 404  # anonymous, public mode off


def test_a_write_changes_the_next_answer(api: dict[str, Any]) -> None:
    client = api["client"]
    url = f"/api/v1/risks/{AMBER_KEY}"
    before = client.get(url, headers=bearer(api, "editor"))
    response = client.patch(url, json={"trend": "rising"},
                            headers={**bearer(api, "editor"), "If-Match": before.headers["ETag"]})
    assert response.status_code == 200, response.text
    after = client.get(url, headers=bearer(api, "editor"))
    assert after.json()["trend"] == "rising"
    assert after.headers["ETag"] != before.headers["ETag"]


def test_a_revoked_token_is_refused_at_once(api: dict[str, Any]) -> None:
    client = api["client"]
    assert client.get("/api/v1/risks?limit=5", headers=bearer(api, "partner")).status_code == 200
    with api["rt"].transaction() as session:
        accounts.revoke_token(session, api["tokens"]["partner"])
    refused = client.get("/api/v1/risks?limit=5", headers=bearer(api, "partner"))
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"


def test_a_disabled_account_is_refused_at_once(api: dict[str, Any]) -> None:
    client = api["client"]
    assert client.get(f"/api/v1/risks/{AMBER_KEY}",
                      headers=bearer(api, "editor")).status_code == 200
    with api["rt"].transaction() as session:
        accounts.disable_user(session, "editor")
    assert client.get(f"/api/v1/risks/{AMBER_KEY}",
                      headers=bearer(api, "editor")).status_code == 401


def test_errors_are_not_kept(api: dict[str, Any]) -> None:
    client, cache = api["client"], api["cache"]
    for _ in range(2):
        assert client.get("/api/v1/risks/CA-NOPE-001",
                          headers=bearer(api, "editor")).status_code == 404
    assert cache.hits == 0


def test_switched_off_with_zero_megabytes(db_url: str) -> None:
    load(db_url, SMALL)
    app = create_app(Settings(database_url=db_url, public_mode=True, read_cache_mb=0))
    client = TestClient(app)
    for _ in range(2):
        assert client.get("/api/v1/risks?limit=5").status_code == 200
    assert app.state.read_cache.hits == 0


# --- every change moves the generation and refreshes a kept answer --------------------------

def refreshed(api: dict[str, Any], who: str, url: str,
              change: Callable[[], Any]) -> tuple[Any, Any]:
    """Read `url` as `who` twice (the second answer is the kept one), make the change, read
    again: the generation has moved and the answer was computed anew. Both answers' JSON."""
    client, cache, engine = api["client"], api["cache"], api["rt"].engine
    first = client.get(url, headers=bearer(api, who))
    hits = cache.hits
    assert client.get(url, headers=bearer(api, who)).content == first.content
    assert cache.hits == hits + 1, "not kept"
    before = current(engine)
    change()
    assert current(engine) != before, "the change did not move the generation"
    misses = cache.misses
    after = client.get(url, headers=bearer(api, who))
    assert cache.misses == misses + 1, "a kept answer outlived the change"
    return first.json(), after.json()


def keys(answer: dict[str, Any]) -> set[str]:
    return {r["key"] for r in answer["items"]}


ONE = f"/api/v1/risks/{AMBER_KEY}"
LIST = "/api/v1/risks?limit=1000"


def test_an_api_write(api: dict[str, Any]) -> None:
    etag = api["client"].get(ONE, headers=bearer(api, "editor")).headers["ETag"]
    _, after = refreshed(api, "editor", ONE, lambda: api["client"].patch(
        ONE, json={"trend": "rising"}, headers={**bearer(api, "editor"), "If-Match": etag}))
    assert after["trend"] == "rising"


def test_a_command_line_edit(api: dict[str, Any], db_url: str) -> None:
    _, after = refreshed(api, "editor", ONE, lambda: cli(
        "risks", "edit", AMBER_KEY, "--set", "trend=falling", "--db", db_url))
    assert after["trend"] == "falling"


def test_an_import(api: dict[str, Any], db_url: str, tmp_path: Path) -> None:
    doc = export(db_url)
    for risk in doc["risks"]:
        risk["trend"] = "stable"
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    _, after = refreshed(api, "editor", ONE, lambda: load(db_url, path))
    assert after["trend"] == "stable"


def test_seeding(api: dict[str, Any]) -> None:
    with api["rt"].transaction() as session:  # an organisation nobody uses, gone
        session.execute(text("DELETE FROM organisations WHERE key = 'OMN-GOV'"))

    def reseed() -> None:
        with api["rt"].transaction() as session:
            seed(session)  # puts it back, without an audit entry

    refreshed(api, "editor", LIST, reseed)


def test_a_reindex(api: dict[str, Any], db_url: str) -> None:
    url = "/api/v1/risks?q=risk"
    first, after = refreshed(api, "editor", url, lambda: cli("db", "reindex", "--db", db_url))
    assert after == first  # the same documents again, but nothing kept is trusted


def test_a_sharing_group_membership(api: dict[str, Any], db_url: str) -> None:
    with api["rt"].transaction() as session:
        sharing.add_group(session, "AMBER-READERS", "Readers", "C5-SEC")
    etag = api["client"].get(ONE, headers=bearer(api, "editor")).headers["ETag"]
    api["client"].patch(ONE, json={"sharing": {"groups": ["AMBER-READERS"]}},
                        headers={**bearer(api, "editor"), "If-Match": etag})
    before, after = refreshed(api, "partner", LIST, lambda: cli(
        "groups", "members", "add", "AMBER-READERS", "AZE-GOV", "--db", db_url))
    assert AMBER_KEY not in keys(before) and AMBER_KEY in keys(after)


def test_a_state_role(api: dict[str, Any], db_url: str) -> None:
    before, after = refreshed(api, "partner", LIST, lambda: cli(
        "states", "set", "AZE", "--role", "member", "--db", db_url))
    assert AMBER_KEY not in keys(before) and AMBER_KEY in keys(after)


def test_an_organisation_standing(api: dict[str, Any], db_url: str) -> None:
    assert cli("orgs", "add", "Gulf secretariat", "--key", "GCC-SEC", "--standing", "partner",
               "--db", db_url).exit_code == 0
    with api["rt"].transaction() as session:
        accounts.add_user(session, "gcc", "GCC-SEC", "viewer", PASSWORD)
        api["tokens"]["gcc"] = accounts.create_token(session, "gcc", "read")
    before, after = refreshed(api, "gcc", LIST, lambda: cli(
        "orgs", "set", "GCC-SEC", "--standing", "regional", "--db", db_url))
    assert AMBER_KEY not in keys(before) and AMBER_KEY in keys(after)


def test_a_token_revoked(api: dict[str, Any], db_url: str) -> None:
    client, engine = api["client"], api["rt"].engine
    assert client.get(LIST, headers=bearer(api, "partner")).status_code == 200
    before = current(engine)
    with api["rt"].transaction() as session:
        accounts.revoke_token(session, api["tokens"]["partner"])
    assert current(engine) != before
    assert client.get(LIST, headers=bearer(api, "partner")).status_code == 401


def test_raw_sql(api: dict[str, Any]) -> None:
    def behind_the_products_back() -> None:
        with api["rt"].engine.begin() as conn:
            conn.execute(text("UPDATE risks SET trend = 'unknown' WHERE key = :key"),
                         {"key": AMBER_KEY})

    _, after = refreshed(api, "editor", ONE, behind_the_products_back)
    assert after["trend"] == "unknown"


def test_using_a_token_does_not_move_the_generation(api: dict[str, Any]) -> None:
    """A token's last-used time is written as it is used: not a change of what answers say."""
    engine = api["rt"].engine
    before = current(engine)
    with api["rt"].transaction() as session:
        session.execute(text("UPDATE api_tokens SET last_used_at = NULL"))
    assert current(engine) == before
    assert api["client"].get(LIST, headers=bearer(api, "editor")).status_code == 200
    assert current(engine) == before  # the look-up wrote last_used_at again


def _triggered_tables(runtime: Runtime) -> dict[str, str]:
    """Table -> the SQL of its read-generation triggers, as the database holds them."""
    with runtime.engine.connect() as conn:
        if runtime.engine.dialect.name == "sqlite":
            rows = conn.execute(text("SELECT tbl_name, sql FROM sqlite_master WHERE type = "
                                     "'trigger' AND name LIKE 'read_generation%'")).all()
        else:
            rows = conn.execute(text(
                "SELECT c.relname, pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c "
                "ON c.oid = t.tgrelid WHERE t.tgname LIKE 'read_generation%'")).all()
    out: dict[str, str] = {}
    for table, sql in rows:
        out[table] = out.get(table, "") + sql + "\n"
    return out


def test_every_table_answers_depend_on_moves_the_generation(runtime: Runtime) -> None:
    """Every table of the models has the triggers (INSERT, UPDATE, DELETE), but UNRELATED:
    a table added without them fails here."""
    triggered = _triggered_tables(runtime)
    assert sorted(triggered) == sorted(set(Base.metadata.tables) - UNRELATED)
    in_database = set(inspect(runtime.engine).get_table_names())
    assert set(triggered) <= in_database
    for table, sql in triggered.items():
        for event in ("INSERT", "UPDATE", "DELETE"):
            assert event in sql.upper(), (table, event)
        for column in UNRELATED_COLUMNS.get(table, ()):
            assert "UPDATE OF" in sql.upper() and column not in sql, (table, column)
