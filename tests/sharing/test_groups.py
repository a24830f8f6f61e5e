"""Sharing groups managed from the CLI and the admin API, and what membership lets one read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from riskatlas.config import Settings
from riskatlas.runtime import Runtime
from riskatlas.sharing.models import SharingGroup, SharingGroupMember
from tests.helpers import cli
from tests.parties.story import (
    PASSWORD,
    account,
    actions,
    audit_verifies,
    bearer,
    client,
    load_records,
    ok,
    reads,
)

GROUPS = "/api/v1/groups"
RECORDS: dict[str, tuple[str, dict[str, list[str]]]] = {
    "CLEAR": ("clear", {}), "GREEN": ("green", {}), "AMBER": ("amber", {}),
    "GROUP": ("amber", {"groups": ["WATER"]})}


def _counts(db_url: str) -> tuple[int, int]:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        return (session.scalar(select(func.count()).select_from(SharingGroup)) or 0,
                session.scalar(select(func.count()).select_from(SharingGroupMember)) or 0)


def _show(db_url: str, key: str) -> dict[str, object]:
    shown: dict[str, object] = json.loads(ok("groups", "show", key, "--format", "json",
                                             db_url=db_url))
    return shown


def test_a_group_member_reads_its_amber_records_until_removed(
    db_url: str, tmp_path: Path,
) -> None:
    ok("groups", "add", "water", "--name", "Water partners", "--owner", "KAZ-SC",
       db_url=db_url)
    load_records(db_url, tmp_path, RECORDS)
    token = account(db_url, "are", "ARE-GOV")  # a partner: GREEN, and AMBER only by grant
    with client(db_url) as api:
        assert reads(api, token) == {"CLEAR", "GREEN"}
        ok("groups", "members", "add", "WATER", "are-gov", "OMN-GOV", db_url=db_url)
        assert reads(api, token) == {"CLEAR", "GREEN", "GROUP"}
        ok("groups", "members", "remove", "WATER", "ARE-GOV", db_url=db_url)
        assert reads(api, token) == {"CLEAR", "GREEN"}
    assert _show(db_url, "WATER") == {"key": "WATER", "name": "Water partners",
                                      "owner": "KAZ-SC", "members": ["OMN-GOV"]}
    assert [a for a in actions(db_url) if a[0].startswith("group.")] == [
        ("group.create", "WATER"), ("group.member.add", "WATER"),
        ("group.member.add", "WATER"), ("group.member.remove", "WATER")]
    audit_verifies(db_url)


def test_groups_list_and_show(db_url: str) -> None:
    ok("groups", "add", "WATER", "--name", "Water partners", db_url=db_url)
    ok("groups", "add", "BORDERS", "--name", "Border services", "--owner", "KGZ-SC",
       db_url=db_url)
    ok("groups", "members", "add", "BORDERS", "TJK-SC", "KAZ-SC", db_url=db_url)
    listed = json.loads(ok("groups", "list", "--format", "json", db_url=db_url))
    assert listed == [
        {"key": "BORDERS", "name": "Border services", "owner": "KGZ-SC",
         "members": ["KAZ-SC", "TJK-SC"]},
        {"key": "WATER", "name": "Water partners", "owner": "C5-SEC", "members": []},
    ]
    table = ok("groups", "show", "borders", db_url=db_url)
    assert "Border services" in table and "TJK-SC" in table


@pytest.mark.parametrize(("args", "message"), [
    (("add", "WATER", "--name", "Again"), "already exists"),
    (("add", "DAMS", "--name", "Dams", "--owner", "NOPE"), "no organisation NOPE"),
    (("add", "A B", "--name", "Spaced"), "invalid sharing group key"),
    (("add", "DAMS", "--name", " "), "needs a name"),
    (("show", "NOPE"), "no sharing group"),
    (("members", "add", "NOPE", "KAZ-SC"), "no sharing group"),
    (("members", "add", "WATER", "KGZ-SC", "NOPE"), "no organisation NOPE"),
    (("members", "add", "WATER", "KGZ-SC", "SAU-GOV"), "SAU-GOV already in sharing group"),
    (("members", "remove", "WATER", "SAU-GOV", "KGZ-SC"), "KGZ-SC not in sharing group"),
])
def test_groups_cli_refusals_name_the_problem_and_change_nothing(
    db_url: str, args: tuple[str, ...], message: str,
) -> None:
    ok("groups", "add", "WATER", "--name", "Water partners", db_url=db_url)
    ok("groups", "members", "add", "WATER", "SAU-GOV", db_url=db_url)
    before, entries = _counts(db_url), len(actions(db_url))
    result = cli("groups", *args, "--db", db_url)
    assert result.exit_code == 1 and message in result.stderr, result.output
    assert _counts(db_url) == before and len(actions(db_url)) == entries
    assert _show(db_url, "WATER")["members"] == ["SAU-GOV"]  # all or nothing


# --- the admin API -----------------------------------------------------------------------------

@pytest.fixture
def tokens(db_url: str) -> dict[str, str]:
    made = {name: account(db_url, name, org, role, "write") for name, org, role in (
        ("kaz_admin", "KAZ-SC", "admin"), ("sec_admin", "C5-SEC", "admin"),
        ("kaz_editor", "KAZ-SC", "editor"), ("kaz_viewer", "KAZ-SC", "viewer"))}
    made["kaz_admin_read"] = ok("tokens", "create", "kaz_admin", "--scope", "read",
                                db_url=db_url).strip()
    return made


@pytest.fixture
def api(db_url: str) -> Iterator[TestClient]:
    with client(db_url) as made:
        yield made


ENDPOINTS = [("GET", GROUPS, None), ("POST", GROUPS, {"key": "DAMS", "name": "Dams"}),
             ("GET", f"{GROUPS}/WATER", None), ("PUT", f"{GROUPS}/WATER/members/KGZ-SC", None),
             ("DELETE", f"{GROUPS}/WATER/members/SAU-GOV", None)]


def test_groups_api_is_for_administrators(db_url: str, api: TestClient,
                                          tokens: dict[str, str]) -> None:
    ok("groups", "add", "WATER", "--name", "Water partners", "--owner", "KAZ-SC",
       db_url=db_url)
    ok("groups", "members", "add", "WATER", "SAU-GOV", db_url=db_url)
    before = _counts(db_url)
    for method, url, body in ENDPOINTS:
        assert api.request(method, url, json=body).status_code == 401, (method, url)
        for who in ("kaz_editor", "kaz_viewer"):
            refused = api.request(method, url, json=body, headers=bearer(tokens[who]))
            assert refused.status_code == 403, (method, url, who)
            assert refused.json()["code"] == "forbidden"
    for method, url, body in ENDPOINTS:
        answer = api.request(method, url, json=body, headers=bearer(tokens["kaz_admin_read"]))
        if method == "GET":  # an administrator's read-only token reads, and only reads
            assert answer.status_code == 200, (method, url)
        else:
            assert (answer.status_code, answer.json()["code"]) == (403, "read_only_token")
    assert _counts(db_url) == before


def test_an_administrator_manages_its_organisations_group(
    db_url: str, tmp_path: Path, api: TestClient, tokens: dict[str, str],
) -> None:
    admin = bearer(tokens["kaz_admin"])
    created = api.post(GROUPS, json={"key": "water", "name": "Water partners"}, headers=admin)
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"{GROUPS}/WATER"
    assert created.json() == {"key": "WATER", "name": "Water partners", "owner": "KAZ-SC",
                              "members": []}
    load_records(db_url, tmp_path, RECORDS)
    partner = account(db_url, "are", "ARE-GOV")
    assert reads(api, partner) == {"CLEAR", "GREEN"}
    added = api.put(f"{GROUPS}/WATER/members/are-gov", headers=admin)
    assert added.status_code == 200, added.text
    assert added.json()["members"] == ["ARE-GOV"]
    assert reads(api, partner) == {"CLEAR", "GREEN", "GROUP"}
    assert api.get(f"{GROUPS}/WATER", headers=admin).json()["members"] == ["ARE-GOV"]
    assert [g["key"] for g in api.get(GROUPS, headers=admin).json()] == ["WATER"]
    removed = api.delete(f"{GROUPS}/WATER/members/ARE-GOV", headers=admin)
    assert removed.status_code == 200 and removed.json()["members"] == []
    assert reads(api, partner) == {"CLEAR", "GREEN"}
    assert [a for a in actions(db_url) if a[0].startswith("group.")] == [
        ("group.create", "WATER"), ("group.member.add", "WATER"),
        ("group.member.remove", "WATER")]
    audit_verifies(db_url)


def test_groups_api_refusals(db_url: str, api: TestClient, tokens: dict[str, str]) -> None:
    admin = bearer(tokens["kaz_admin"])
    assert api.post(GROUPS, json={"key": "WATER", "name": "Water"}, headers=admin
                    ).status_code == 201
    assert api.put(f"{GROUPS}/WATER/members/SAU-GOV", headers=admin).status_code == 200
    before = _counts(db_url)
    for method, url, body, status, code in [
        ("POST", GROUPS, {"key": "Water", "name": "Again"}, 409, "conflict"),
        ("POST", GROUPS, {"key": "A/B", "name": "Slashed"}, 422, "validation_error"),
        ("POST", GROUPS, {"key": "DAMS"}, 422, "validation_error"),
        ("POST", GROUPS, {"key": "DAMS", "name": "Dams", "owner": "C5-SEC"}, 422,
         "validation_error"),
        ("GET", f"{GROUPS}/NOPE", None, 404, "not_found"),
        ("PUT", f"{GROUPS}/NOPE/members/SAU-GOV", None, 404, "not_found"),
        ("PUT", f"{GROUPS}/WATER/members/NOPE", None, 404, "not_found"),
        ("PUT", f"{GROUPS}/WATER/members/SAU-GOV", None, 409, "conflict"),
        ("DELETE", f"{GROUPS}/WATER/members/KGZ-SC", None, 404, "not_found"),
    ]:
        answer = api.request(method, url, json=body, headers=admin)
        assert (answer.status_code, answer.json()["code"]) == (status, code), (method, url)
    # Another organisation's administrator reads the group but does not change its members.
    other = bearer(tokens["sec_admin"])
    assert api.get(f"{GROUPS}/WATER", headers=other).status_code == 200
    for method in ("PUT", "DELETE"):
        answer = api.request(method, f"{GROUPS}/WATER/members/SAU-GOV", headers=other)
        assert (answer.status_code, answer.json()["code"]) == (403, "not_owner")
    assert _counts(db_url) == before


def test_groups_api_with_a_browser_session_needs_the_csrf_token(
    db_url: str, api: TestClient, tokens: dict[str, str],
) -> None:
    ok("groups", "add", "WATER", "--name", "Water partners", "--owner", "KAZ-SC",
       db_url=db_url)
    login = api.post("/api/v1/auth/login", json={"username": "kaz_admin", "password": PASSWORD})
    csrf = login.json()["csrf_token"]
    url = f"{GROUPS}/WATER/members/KGZ-SC"
    assert api.get(GROUPS).status_code == 200
    forged = api.put(url)
    assert (forged.status_code, forged.json()["code"]) == (403, "csrf_failed")
    assert api.put(url, headers={"X-CSRF-Token": csrf}).status_code == 200
    assert api.delete(url, headers={"X-CSRF-Token": csrf}).status_code == 200
