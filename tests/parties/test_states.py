"""States of the grouping: added from ISO 3166 (pycountry), listed, and their roles changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from riskatlas.parties.models import State
from riskatlas.runtime import Runtime

from ..helpers import cli
from .story import (
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

RECORDS: dict[str, tuple[str, dict[str, list[str]]]] = {
    "CLEAR": ("clear", {}), "GREEN": ("green", {}), "AMBER": ("amber", {})}


def _states(db_url: str) -> dict[str, dict[str, str]]:
    return {s["code"]: s for s in json.loads(ok("states", "list", "--format", "json",
                                                    db_url=db_url))}


def test_an_organisation_of_turkiye_as_observer_reads_only_clear(
    db_url: str, tmp_path: Path,
) -> None:
    load_records(db_url, tmp_path, RECORDS)
    # As tried: --state TUR was refused, as TUR was not among the default states.
    refused = cli("orgs", "add", "AFAD", "--state", "TUR", "--db", db_url)
    assert refused.exit_code == 1 and "states add TUR" in refused.stderr
    ok("states", "add", "TUR", "--role", "observer", db_url=db_url)
    ok("orgs", "add", "AFAD", "--state", "TUR", db_url=db_url)
    token = account(db_url, "afad", "AFAD")
    with client(db_url) as api:
        assert reads(api, token) == {"CLEAR"}
    assert _states(db_url)["TUR"] == {"code": "TUR", "name_en": "Türkiye",
                                      "name_ru": "Турция", "role": "observer"}
    assert ("state.create", "TUR") in actions(db_url)


def test_states_list_shows_the_defaults_in_both_languages(db_url: str) -> None:
    states = _states(db_url)
    assert states["KGZ"] == {"code": "KGZ", "name_en": "Kyrgyzstan", "name_ru": "Кыргызстан",
                             "role": "member"}
    assert states["AZE"]["role"] == "partner"
    assert "Azerbaijan" in cli("states", "list", "--db", db_url).stdout


@pytest.mark.parametrize(("code", "message"), [
    ("ZZZ", "unknown country"), ("TR", "unknown country"), ("TURK", "unknown country"),
    ("KAZ", "already in the grouping"),
])
def test_states_add_refuses_unknown_codes_and_duplicates(db_url: str, rt: Runtime, code: str,
                                                         message: str) -> None:
    with rt.transaction() as session:
        before = session.scalar(select(func.count()).select_from(State))
    result = cli("states", "add", code, "--role", "observer", "--db", db_url)
    assert result.exit_code == 1 and message in result.stderr, result.output
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(State)) == before


def test_states_add_takes_lower_case_and_a_known_role_only(db_url: str) -> None:
    assert cli("states", "add", "TUR", "--role", "regional", "--db", db_url).exit_code == 2
    ok("states", "add", "irn", "--role", "observer", db_url=db_url)
    assert _states(db_url)["IRN"]["name_en"] == "Iran"  # the common name, not the official one


def _session(api: TestClient, username: str) -> None:
    signed_in = api.post("/api/v1/auth/login", json={"username": username,
                                                      "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text


def _session_reads(api: TestClient) -> set[str]:
    listed = api.get("/api/v1/risks").json()["items"]
    return {item["key"].removeprefix("CA-STD-") for item in listed}


def test_a_partners_reading_follows_its_states_role_at_once(
    db_url: str, tmp_path: Path,
) -> None:
    load_records(db_url, tmp_path, RECORDS)
    token = account(db_url, "sau", "SAU-GOV")
    with client(db_url) as api, client(db_url) as browser:
        _session(browser, "sau")
        assert reads(api, token) == _session_reads(browser) == {"CLEAR", "GREEN"}
        ok("states", "set", "SAU", "--role", "member", db_url=db_url)
        assert reads(api, token) == _session_reads(browser) == {"CLEAR", "GREEN", "AMBER"}
        assert api.get("/api/v1/auth/me", headers=bearer(token)).json()["standing"] == "member"
        ok("states", "set", "sau", "--role", "observer", db_url=db_url)
        assert reads(api, token) == _session_reads(browser) == {"CLEAR"}
    assert [a for a in actions(db_url) if a[0] == "state.role"] == [("state.role", "SAU")] * 2
    audit_verifies(db_url)


def test_states_set_refuses_unknown_states_and_no_change(db_url: str) -> None:
    unknown = cli("states", "set", "TUR", "--role", "member", "--db", db_url)
    assert unknown.exit_code == 1 and "no state" in unknown.stderr
    same = cli("states", "set", "KAZ", "--role", "member", "--db", db_url)
    assert same.exit_code == 1 and "already member" in same.stderr
