"""Reused API answers (web.cache): never across callers, never after a write, never for a
revoked token or a disabled account, and only when switched on."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from riskatlas.catalog.models import Risk
from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app
from tests.helpers import SMALL, load

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
