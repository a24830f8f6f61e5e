"""Standing is explicit: a body without a state says how it stands, keys work everywhere."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from riskatlas.parties import accounts
from riskatlas.parties.models import Organisation, User
from riskatlas.runtime import Runtime
from tests.catalog.test_api import NEW_RISK

from ..helpers import cli
from .story import account, actions, audit_verifies, bearer, client, load_records, ok, reads

README = Path(__file__).resolve().parents[2] / "README.md"
RECORDS: dict[str, tuple[str, dict[str, list[str]]]] = {
    "CLEAR": ("clear", {}), "GREEN": ("green", {}), "AMBER": ("amber", {})}
GCC = "GCC Secretariat General"


def _orgs(rt: Runtime) -> int:
    with rt.transaction() as session:
        return session.scalar(select(func.count()).select_from(Organisation)) or 0


def _listed(db_url: str) -> dict[str, dict[str, Any]]:
    return {o["key"]: o for o in json.loads(ok("orgs", "list", "--format", "json",
                                                   db_url=db_url))}


def test_a_body_without_a_state_must_say_its_standing(db_url: str, rt: Runtime) -> None:
    before = _orgs(rt)
    refused = cli("orgs", "add", GCC, "--db", db_url)  # as tried: it became "regional"
    assert refused.exit_code == 2, refused.output
    assert "--standing" in refused.stderr and "--state" in refused.stderr
    both = cli("orgs", "add", GCC, "--state", "SAU", "--standing", "partner", "--db", db_url)
    assert both.exit_code == 2, both.output
    member = cli("orgs", "add", GCC, "--standing", "member", "--db", db_url)
    assert member.exit_code == 2  # a body without a state is never a member
    assert _orgs(rt) == before


def test_gcc_body_as_a_partner_reads_green_but_not_member_only_amber(
    db_url: str, tmp_path: Path,
) -> None:
    load_records(db_url, tmp_path, RECORDS)
    ok("orgs", "add", GCC, "--standing", "partner", db_url=db_url)
    assert _listed(db_url)["GCC-SECRETARIAT-GENERAL"]["standing"] == "partner"
    token = account(db_url, "gcc", "GCC-SECRETARIAT-GENERAL")
    with client(db_url) as api:
        assert reads(api, token) == {"CLEAR", "GREEN"}
        assert api.get("/api/v1/auth/me", headers=bearer(token)).json()["standing"] == "partner"


def test_changing_a_bodys_standing_counts_at_once_and_is_audited(
    db_url: str, tmp_path: Path,
) -> None:
    load_records(db_url, tmp_path, RECORDS)
    ok("orgs", "add", GCC, "--standing", "partner", db_url=db_url)
    token = account(db_url, "gcc", "GCC-SECRETARIAT-GENERAL")
    with client(db_url) as api:
        assert reads(api, token) == {"CLEAR", "GREEN"}  # now also kept in the read cache
        ok("orgs", "set", "gcc-secretariat-general", "--standing", "observer", db_url=db_url)
        assert reads(api, token) == {"CLEAR"}
        ok("orgs", "set", "GCC-SECRETARIAT-GENERAL", "--standing", "regional", db_url=db_url)
        assert reads(api, token) == {"CLEAR", "GREEN", "AMBER"}
    assert [a for a in actions(db_url) if a[0] == "org.standing"] == [
        ("org.standing", "GCC-SECRETARIAT-GENERAL")] * 2
    audit_verifies(db_url)


def test_standing_of_a_states_organisation_is_set_on_its_state(db_url: str) -> None:
    refused = cli("orgs", "set", "SAU-GOV", "--standing", "regional", "--db", db_url)
    assert refused.exit_code == 1 and "states set SAU" in refused.stderr
    same = cli("orgs", "set", "C5-SEC", "--standing", "regional", "--db", db_url)
    assert same.exit_code == 1 and "already" in same.stderr
    unknown = cli("orgs", "set", "NOPE", "--standing", "partner", "--db", db_url)
    assert unknown.exit_code == 1 and "no organisation" in unknown.stderr
    assert _listed(db_url)["SAU-GOV"]["standing"] == "partner"


def test_a_stateless_body_without_a_recorded_standing_reads_as_an_observer(
    rt: Runtime,
) -> None:
    # A row left by an older version, which assumed "regional" for every such body.
    with rt.transaction() as session:
        session.add(Organisation(key="OLD-BODY", name={"en": "Old", "ru": "Old"}))
        session.flush()
        accounts.add_user(session, "old", "OLD-BODY", "viewer", "correct horse battery")
    with rt.transaction() as session:
        user = session.scalars(select(User).where(User.username == "old")).one()
        assert accounts.principal_for(session, user).standing == "observer"


def test_users_still_join_an_organisation_keyed_before_keys_were_upper_case(
    db_url: str, rt: Runtime,
) -> None:
    with rt.transaction() as session:
        session.add(Organisation(key="Ministry of Emergencies", name={"en": "M", "ru": "M"},
                                 state_code="KGZ"))
    ok("users", "add", "aida", "--org", "Ministry of Emergencies", "--role", "viewer",
       db_url=db_url)
    ok("users", "add", "bek", "--org", "kgz-sc", "--role", "viewer", db_url=db_url)


def test_the_secretariat_is_regional_from_the_library(db_url: str) -> None:
    secretariat = _listed(db_url)["C5-SEC"]
    assert (secretariat["state"], secretariat["standing"]) == (None, "regional")


def test_keys_default_to_a_readable_upper_case_slug(db_url: str) -> None:
    ok("orgs", "add", "Türkiye — Afet ve Acil Durum", "--standing", "observer", db_url=db_url)
    ok("orgs", "add", "Министерство по чрезвычайным ситуациям", "--state", "KGZ",
       db_url=db_url)
    ok("orgs", "add", "Ministry of Emergencies", "--key", " kaz-moe ", "--state", "KAZ",
       db_url=db_url)
    listed = _listed(db_url)
    assert listed["TURKIYE-AFET-VE-ACIL-DURUM"]["standing"] == "observer"
    assert listed["MINISTERSTVO-PO-CHREZVYCHAYNYM-SITUATSIYAM"]["standing"] == "member"
    assert listed["KAZ-MOE"]["name"] == {"en": "Ministry of Emergencies",
                                         "ru": "Ministry of Emergencies"}
    ok("users", "add", "moe", "--org", "kaz-moe", "--role", "viewer", db_url=db_url)


@pytest.mark.parametrize("key", ["Ministry of Emergencies", "KGZ/MOE", "X;Y", "-MOE", "A" * 65])
def test_keys_that_would_not_work_everywhere_are_refused(db_url: str, rt: Runtime,
                                                         key: str) -> None:
    before = _orgs(rt)
    result = cli("orgs", "add", "Ministry", "--key", key, "--state", "KGZ", "--db", db_url)
    assert result.exit_code == 1 and "invalid organisation key" in result.stderr
    assert _orgs(rt) == before


def test_a_name_with_nothing_to_make_a_key_from_needs_one(db_url: str) -> None:
    result = cli("orgs", "add", "中国", "--standing", "observer", "--db", db_url)
    assert result.exit_code == 1 and "--key" in result.stderr
    ok("orgs", "add", "中国", "--key", "CHN-OBS", "--standing", "observer", db_url=db_url)


def test_duplicate_keys_are_refused_whatever_their_case(db_url: str) -> None:
    ok("orgs", "add", "Ministry of Emergencies", "--state", "KGZ", db_url=db_url)
    again = cli("orgs", "add", "ministry of emergencies", "--state", "KAZ", "--db", db_url)
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_readme_example_organisation_can_create_a_risk(db_url: str) -> None:
    # As tried: the organisation of the README, a user added to the key it got, a write token.
    ok("orgs", "add", "Ministry of Emergencies", "--state", "KGZ", db_url=db_url)
    key = next(k for k, o in _listed(db_url).items()
               if o["name"]["en"] == "Ministry of Emergencies")
    token = account(db_url, "aida", key, "editor", "write")
    with client(db_url) as api:
        created = api.post("/api/v1/risks", json=NEW_RISK, headers=bearer(token))
    assert created.status_code == 201, created.text  # was 422: unknown organisation
    assert created.json()["owner"] == key == "MINISTRY-OF-EMERGENCIES"


def test_readme_commands_work_as_written(db_url: str) -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Accounts, sharing and the API", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    token = None
    commands = [line.split("#", 1)[0] for line in block.group(1).splitlines()
                if line.startswith(".venv/bin/riskatlas ")]
    assert any(" orgs add " in c for c in commands) and any(" users add " in c for c in commands)
    for command in commands:
        out = ok(*shlex.split(command)[1:], db_url=db_url)
        if " tokens create " in command:
            token = out.strip()
    assert token is not None
    with client(db_url) as api:
        created = api.post("/api/v1/risks", json=NEW_RISK, headers=bearer(token))
    assert created.status_code == 201, created.text
