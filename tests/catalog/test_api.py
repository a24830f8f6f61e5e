"""The JSON API: create, update with optimistic concurrency, retire, roles, errors."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app
from tests.helpers import SMALL, load

PASSWORD = "correct-horse-battery"


@pytest.fixture
def api(db_url: str) -> dict[str, Any]:
    load(db_url, SMALL)  # owned by C5-SEC
    tokens = {}
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        for name, org, role, scope in [
            ("ed1", "C5-SEC", "editor", "write"),
            ("ed2", "C5-SEC", "editor", "write"),
            ("reader", "C5-SEC", "editor", "read"),
            ("viewer", "C5-SEC", "viewer", "write"),
            ("kgz", "KGZ-SC", "editor", "write"),
        ]:
            accounts.add_user(session, name, org, role, PASSWORD)
            tokens[name] = accounts.create_token(session, name, scope)
    client = TestClient(create_app(Settings(database_url=db_url, cookie_secure=False)))
    return {"client": client, "tokens": tokens}


def auth(api: dict[str, Any], who: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api['tokens'][who]}", **extra}


NEW_RISK = {
    "key": "CA-NEW-001",
    "title": {"en": "New", "ru": "Новый"},
    "summary": {"en": "s", "ru": "с"},
    "category": "emerging",
    "domain": "cyber",
    "states": ["KGZ"],
    "likelihood": "Low",
    "impact": "High",
    "rationale": {"en": "r", "ru": "р"},
    "sources": [{"title": "t", "url": "https://example.org/n", "published": "2025-01-02"}],
    "tlp": "green",
}


def test_create_returns_201_with_etag_and_owner(api: dict[str, Any]) -> None:
    client = api["client"]
    response = client.post("/api/v1/risks", json=NEW_RISK, headers=auth(api, "kgz"))
    assert response.status_code == 201, response.text
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == "/api/v1/risks/CA-NEW-001"
    body = response.json()
    assert body["owner"] == "KGZ-SC"
    assert body["level"] == "Low"
    again = client.post("/api/v1/risks", json=NEW_RISK, headers=auth(api, "kgz"))
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"


def test_create_with_bad_fields_lists_every_problem(api: dict[str, Any]) -> None:
    bad = dict(NEW_RISK, domain="space", likelihood="Extreme", sources=[])
    response = api["client"].post("/api/v1/risks", json=bad, headers=auth(api, "ed1"))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert {p["field"] for p in body["problems"]} == {"domain", "likelihood", "sources"}


def test_update_needs_if_match_and_refuses_stale_versions(api: dict[str, Any]) -> None:
    client = api["client"]
    url = "/api/v1/risks/CA-TST-001"
    assert client.patch(url, json={"impact": "Low"}, headers=auth(api, "ed1")).status_code == 428
    stale = client.patch(
        url, json={"impact": "Low"}, headers=auth(api, "ed1", **{"If-Match": '"7"'})
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "precondition_failed"
    ok = client.patch(
        url,
        json={"impact": "Low", "title": {"ru": "Изменено"}},
        headers=auth(api, "ed1", **{"If-Match": '"1"'}),
    )
    assert ok.status_code == 200, ok.text
    assert ok.headers["ETag"] == '"2"'
    assert ok.json()["title"] == {"en": "Test risk", "ru": "Изменено"}


def test_two_editors_one_wins_the_other_gets_412_and_nothing_is_lost(api: dict[str, Any]) -> None:
    client = api["client"]
    url = "/api/v1/risks/CA-TST-001"
    etag = client.get(url, headers=auth(api, "ed1")).headers["ETag"]
    assert client.get(url, headers=auth(api, "ed2")).headers["ETag"] == etag
    first = client.patch(
        url, json={"likelihood": "Low"}, headers=auth(api, "ed1", **{"If-Match": etag})
    )
    second = client.patch(
        url, json={"impact": "Low"}, headers=auth(api, "ed2", **{"If-Match": etag})
    )
    assert (first.status_code, second.status_code) == (200, 412)
    # The loser reloads and re-applies; the winner's change stays.
    fresh = client.get(url, headers=auth(api, "ed2"))
    retry = client.patch(
        url, json={"impact": "Low"}, headers=auth(api, "ed2", **{"If-Match": fresh.headers["ETag"]})
    )
    assert retry.status_code == 200
    assert (retry.json()["likelihood"], retry.json()["impact"]) == ("Low", "Low")
    history = client.get(f"{url}/history", headers=auth(api, "ed1")).json()
    assert [(v["version"], v["data"]["likelihood"], v["data"]["impact"]) for v in history] == [
        (1, "High", "Very High"),
        (2, "Low", "Very High"),
        (3, "Low", "Low"),
    ]
    assert [v["changed_by"] for v in history] == ["import", "ed1", "ed2"]


def test_simultaneous_updates_with_the_same_etag_let_exactly_one_through(
    api: dict[str, Any],
) -> None:
    client = api["client"]
    url = "/api/v1/risks/CA-TST-002"
    barrier = threading.Barrier(2)
    results: dict[str, int] = {}

    def edit(who: str, change: dict[str, str]) -> None:
        barrier.wait()
        response = client.patch(url, json=change, headers=auth(api, who, **{"If-Match": '"1"'}))
        results[who] = response.status_code

    threads = [
        threading.Thread(target=edit, args=("ed1", {"impact": "Low"})),
        threading.Thread(target=edit, args=("ed2", {"likelihood": "Low"})),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [200, 412], results
    history = client.get(f"{url}/history", headers=auth(api, "ed1")).json()
    assert [v["version"] for v in history] == [1, 2]


@pytest.mark.parametrize(
    "who, status, code",
    [
        ("reader", 403, "read_only_token"),
        ("viewer", 403, "forbidden"),
        ("kgz", 403, "not_owner"),
    ],
)
def test_only_owner_editors_with_write_access_change_records(
    api: dict[str, Any], who: str, status: int, code: str
) -> None:
    response = api["client"].patch(
        "/api/v1/risks/CA-TST-001",
        json={"impact": "Low"},
        headers=auth(api, who, **{"If-Match": '"1"'}),
    )
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_anonymous_cannot_write(api: dict[str, Any]) -> None:
    response = api["client"].post("/api/v1/risks", json=NEW_RISK)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_retire_keeps_the_record_and_versions_it(api: dict[str, Any]) -> None:
    client = api["client"]
    response = client.post(
        "/api/v1/measures/CA-MSR-900/retire", headers=auth(api, "ed1", **{"If-Match": '"1"'})
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "retired"
    assert response.headers["ETag"] == '"2"'
    # A retired measure no longer lowers the residual level of its risk.
    risk = client.get("/api/v1/risks/CA-TST-001", headers=auth(api, "ed1")).json()
    assert risk["residual_level"] == risk["level"]


def test_browser_session_writes_need_the_csrf_header(api: dict[str, Any]) -> None:
    client = api["client"]
    login = client.post("/api/v1/auth/login", json={"username": "ed1", "password": PASSWORD})
    assert login.status_code == 200, login.text
    csrf = login.json()["csrf_token"]
    url = "/api/v1/risks/CA-TST-001"
    refused = client.patch(url, json={"impact": "Low"}, headers={"If-Match": '"1"'})
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    ok = client.patch(
        url, json={"impact": "Low"}, headers={"If-Match": '"1"', "X-CSRF-Token": csrf}
    )
    assert ok.status_code == 200, ok.text


def test_errors_are_json_with_a_stable_code(api: dict[str, Any]) -> None:
    client = api["client"]
    missing = client.get("/api/v1/risks/CA-NOPE-001", headers=auth(api, "ed1"))
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    invalid = client.get("/api/v1/risks?limit=0", headers=auth(api, "ed1"))
    assert (invalid.status_code, invalid.json()["code"]) == (422, "validation_error")
    level = client.get("/api/v1/risks?level=Extreme", headers=auth(api, "ed1"))
    assert (level.status_code, level.json()["code"]) == (422, "validation_error")
    bad_token = client.get("/api/v1/risks", headers={"Authorization": "Bearer ra_nope"})
    assert (bad_token.status_code, bad_token.json()["code"]) == (401, "invalid_token")


def test_lists_sort_and_paginate(api: dict[str, Any]) -> None:
    client = api["client"]
    headers = auth(api, "ed1")
    by_level = client.get("/api/v1/risks?sort=-level", headers=headers).json()
    assert [r["key"] for r in by_level["items"]] == ["CA-TST-001", "CA-TST-002"]
    by_level = client.get("/api/v1/risks?sort=level", headers=headers).json()
    assert [r["key"] for r in by_level["items"]] == ["CA-TST-002", "CA-TST-001"]
    page = client.get("/api/v1/risks?sort=level&limit=1&offset=1", headers=headers).json()
    assert (page["total"], [r["key"] for r in page["items"]]) == (2, ["CA-TST-001"])
    measures = client.get("/api/v1/measures?sort=-status", headers=headers).json()
    assert [m["status"] for m in measures["items"]] == ["proposed", "implemented"]
    bad = client.get("/api/v1/risks?sort=secret", headers=headers)
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")


def test_nul_characters_never_reach_the_database(api: dict[str, Any]) -> None:
    client = api["client"]
    login = client.post("/api/v1/auth/login", json={"username": "ed1\u0000", "password": "x"})
    # refused at the door (web.errors: no NUL in a body)
    assert (login.status_code, login.json()["code"]) == (422, "validation_error")
    query = client.get("/api/v1/risks?domain=%00", headers=auth(api, "ed1"))
    assert (query.status_code, query.json()["code"]) == (422, "validation_error")
    body = dict(NEW_RISK, summary={"en": "a\u0000b", "ru": "б"})
    created = client.post("/api/v1/risks", json=body, headers=auth(api, "ed1"))
    assert created.status_code == 422
