"""Proposals through the service, the CLI and the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from riskatlas.audit.service import Who
from riskatlas.catalog import edits, queries
from riskatlas.catalog.matrix import active_matrix
from riskatlas.catalog.models import Version
from riskatlas.cli_options import operator_scope
from riskatlas.config import Settings
from riskatlas.governance import meetings, proposals
from riskatlas.governance.errors import GovernanceError, NotFound
from riskatlas.governance.models import Position
from riskatlas.parties import accounts
from riskatlas.parties.models import User
from riskatlas.runtime import Runtime
from riskatlas.sharing.policy import Principal, scope_for
from riskatlas.web.app import create_app
from tests.helpers import SMALL, cli, load

USERS = {"kaz": ("KAZ-SC", "editor"), "kgz": ("KGZ-SC", "editor"), "tjk": ("TJK-SC", "editor"),
         "tkm": ("TKM-SC", "editor"), "uzb": ("UZB-SC", "editor"), "sau": ("SAU-GOV", "editor"),
         "sec": ("C5-SEC", "editor")}
WHO = Who("test")


@pytest.fixture
def rt(db_url: str) -> Runtime:
    load(db_url, SMALL)
    runtime = Runtime(Settings(database_url=db_url))
    with runtime.transaction() as session:
        for name, (org, role) in USERS.items():
            accounts.add_user(session, name, org, role, f"pw-{name}-0123456789")
    return runtime


def who(runtime: Runtime, name: str) -> Principal:
    with runtime.transaction() as session:
        user = session.scalar(select(User).where(User.username == name))
        assert user is not None
        return accounts.principal_for(session, user)


def propose(runtime: Runtime, name: str = "kaz", key: str = "CA-TST-001",
            changes: dict[str, Any] | None = None) -> int:
    principal = who(runtime, name)
    with runtime.transaction() as session:
        made = proposals.create_proposal(
            session, active_matrix(runtime.settings), scope_for(principal), principal,
            WHO, kind="change", entity="risks", key=key,
            changes=changes or {"likelihood": "Moderate"}, title="Lower the likelihood")
    return int(made["id"])


def position(runtime: Runtime, name: str, pid: int, stance: str,
             comment: str | None = None) -> None:
    principal = who(runtime, name)
    with runtime.transaction() as session:
        proposals.record_position(session, scope_for(principal), principal, WHO, pid, stance,
                                  comment)


def show(runtime: Runtime, pid: int, name: str | None = None) -> dict[str, Any]:
    scope = operator_scope() if name is None else scope_for(who(runtime, name))
    with runtime.transaction() as session:
        return proposals.get_proposal(session, active_matrix(runtime.settings), scope, pid)


def decide(runtime: Runtime, pid: int, name: str | None = None) -> dict[str, Any]:
    principal = None if name is None else who(runtime, name)
    scope = operator_scope() if principal is None else scope_for(principal)
    with runtime.transaction() as session:
        return proposals.decide(session, active_matrix(runtime.settings), scope, principal,
                                WHO, pid)


def risk(runtime: Runtime, key: str = "CA-TST-001") -> dict[str, Any]:
    with runtime.transaction() as session:
        return queries.get_risk(session, active_matrix(runtime.settings), operator_scope(),
                                key)


@pytest.mark.audited
def test_adoption_applies_the_change_as_a_new_version_with_reservations(rt: Runtime) -> None:
    pid = propose(rt)
    assert show(rt, pid)["positions"][0]["state"] == "KAZ"  # the proposer endorses
    for name in ("kgz", "tjk"):
        position(rt, name, pid, "endorse")
    position(rt, "tkm", pid, "reserve", "on the figures")
    assert decide(rt, pid, "sec")["status"] == "open"  # UZB has not spoken
    assert risk(rt)["version"] == 1
    position(rt, "uzb", pid, "abstain")
    done = decide(rt, pid, "sec")
    assert (done["status"], done["result_version"]) == ("adopted", 2)
    assert done["reservations"] == [{"state": "TKM", "comment": "on the figures",
                                     "version": 2}]
    record = risk(rt)
    assert (record["version"], record["likelihood"]) == (2, "Moderate")
    with rt.transaction() as session:
        assert proposals.reservations_of(session, operator_scope(), "risks", "CA-TST-001")[0][
            "state"] == "TKM"
        changed_by = session.scalar(select(Version.changed_by).where(
            Version.key == "CA-TST-001", Version.version == 2))
    assert changed_by == f"c5 proposal {pid}"
    with pytest.raises(GovernanceError, match="closed"):
        position(rt, "uzb", pid, "object")


def test_a_stale_proposal_is_rebased_before_a_decision(rt: Runtime) -> None:
    pid = propose(rt)
    for name in ("kgz", "tjk", "tkm", "uzb"):
        position(rt, name, pid, "endorse")
    with rt.transaction() as session:  # the owner edits its record directly meanwhile
        edits.edit(session, active_matrix(rt.settings), operator_scope(), "risks",
                   "CA-TST-001", {"trend": "rising"}, WHO)
    assert show(rt, pid)["stale"] is True
    with pytest.raises(GovernanceError, match="stale.*rebase"):
        decide(rt, pid)
    with rt.transaction() as session:
        rebased = proposals.rebase(session, active_matrix(rt.settings), operator_scope(),
                                   None, WHO, pid)
    assert (rebased["stale"], rebased["base_version"]) == (False, 2)
    assert len(rebased["positions"]) == 5  # kept
    done = decide(rt, pid)
    assert (done["status"], done["result_version"]) == ("adopted", 3)
    record = risk(rt)
    assert (record["trend"], record["likelihood"]) == ("rising", "Moderate")


def test_rejected_and_withdrawn_proposals_are_kept(rt: Runtime) -> None:
    rejected, withdrawn = propose(rt), propose(rt, "kgz", changes={"trend": "falling"})
    position(rt, "tjk", rejected, "object", "no")
    assert decide(rt, rejected)["status"] == "rejected"
    kgz, kaz = who(rt, "kgz"), who(rt, "kaz")
    with pytest.raises(GovernanceError, match="proposer's organisation"), \
            rt.transaction() as session:
        proposals.withdraw(session, scope_for(kaz), kaz, WHO, withdrawn)
    with rt.transaction() as session:
        proposals.withdraw(session, scope_for(kgz), kgz, WHO, withdrawn)
    with rt.transaction() as session:
        listed = {p["id"]: p["status"] for p in proposals.list_proposals(session,
                                                                         operator_scope())}
    assert listed == {rejected: "rejected", withdrawn: "withdrawn"}
    assert risk(rt)["version"] == 1


def test_a_partner_comments_but_takes_no_position(rt: Runtime) -> None:
    pid = propose(rt)
    for name in ("sau", "sec"):
        with pytest.raises(GovernanceError, match="take positions"):
            position(rt, name, pid, "endorse")
    sau = who(rt, "sau")
    with rt.transaction() as session:
        proposals.add_comment(session, scope_for(sau), sau, WHO, pid, "We support it")
    found = show(rt, pid)
    assert [c["org"] for c in found["comments"]] == ["SAU-GOV"]
    assert [p["state"] for p in found["positions"]] == ["KAZ"]


def test_two_positions_at_the_same_moment_are_both_kept(rt: Runtime,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    pid = propose(rt)
    moment = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    monkeypatch.setattr(proposals, "now", lambda: moment)
    principals = {name: who(rt, name) for name in ("kgz", "tjk")}
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def record(name: str) -> None:
        try:
            barrier.wait()
            with rt.transaction() as session:
                p = principals[name]
                proposals.record_position(session, scope_for(p), p, WHO, pid, "endorse")
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=record, args=(n,)) for n in principals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    position(rt, "kgz", pid, "reserve")  # same moment again: a second row, the latest
    with rt.transaction() as session:
        rows = session.scalars(select(Position).where(Position.proposal_id == pid,
                                                      Position.state_code != "KAZ")).all()
    assert sorted((r.state_code, r.stance) for r in rows) == [
        ("KGZ", "endorse"), ("KGZ", "reserve"), ("TJK", "endorse")]
    current = {p["state"]: p["stance"] for p in show(rt, pid)["positions"]}
    assert current == {"KAZ": "endorse", "KGZ": "reserve", "TJK": "endorse"}
    assert len(show(rt, pid)["history"]) == 4


def test_proposals_about_records_one_cannot_see_are_invisible(rt: Runtime) -> None:
    with rt.transaction() as session:
        edits.edit(session, active_matrix(rt.settings), operator_scope(), "risks",
                   "CA-TST-001", {"tlp": "amber"}, WHO)
        edits.edit(session, active_matrix(rt.settings), operator_scope(), "risks",
                   "CA-TST-002", {"tlp": "amber+strict", "sharing.orgs": ["KAZ-SC"]}, WHO)
    amber = propose(rt, "kaz")
    strict = propose(rt, "kaz", "CA-TST-002", {"trend": "falling"})
    for name, expected in (("sau", set()), ("kgz", {amber}), ("kaz", {amber, strict})):
        scope = scope_for(who(rt, name))
        with rt.transaction() as session:
            assert {p["id"] for p in proposals.list_proposals(session, scope)} == expected
            for pid in {amber, strict} - expected:
                with pytest.raises(NotFound):
                    proposals.get_proposal(session, active_matrix(rt.settings), scope, pid)
    with rt.transaction() as session:
        mid = meetings.add_meeting(session, WHO, kind="summit", date=date(2026, 12, 10),
                                   place="Astana", title="Summit", agenda=[amber, strict])
        agenda = meetings.get_meeting(session, scope_for(who(rt, "sau")), mid)["agenda"]
    assert agenda == []


def test_a_create_proposal_is_seen_as_proposed_then_as_the_record(rt: Runtime) -> None:
    kaz = who(rt, "kaz")
    record = {"title": {"en": "New", "ru": "Новый"}, "summary": {"en": "s", "ru": "с"},
              "category": "emerging", "domain": "cyber", "states": ["KAZ"],
              "likelihood": "High", "impact": "High", "rationale": {"en": "r", "ru": "р"},
              "tlp": "amber", "sources": [{"title": "S", "url": "https://example.org/n",
                                           "published": "2024"}]}
    with rt.transaction() as session:
        made = proposals.create_proposal(session, active_matrix(rt.settings), scope_for(kaz),
                                         kaz, WHO, kind="create", entity="risks",
                                         key="CA-NEW-001", data=record, title="A new risk")
    pid = made["id"]
    with rt.transaction() as session:
        assert proposals.list_proposals(session, scope_for(who(rt, "sau"))) == []
        assert [p["id"] for p in proposals.list_proposals(session,
                                                          scope_for(who(rt, "kgz")))] == [pid]
    for name in ("kgz", "tjk", "tkm", "uzb"):
        position(rt, name, pid, "endorse")
    assert decide(rt, pid, "sec")["result_version"] == 1
    assert risk(rt, "CA-NEW-001")["owner"] == "KAZ-SC"


def test_bad_input_names_the_field_and_writes_nothing(rt: Runtime) -> None:
    kaz = who(rt, "kaz")
    for kwargs, field in (({"kind": "change", "changes": {"likelihood": "Extreme"}}, None),
                          ({"kind": "change", "changes": {"version": 3}}, "version"),
                          ({"kind": "merge", "changes": {"trend": "x"}}, "kind"),
                          ({"kind": "change", "changes": {}}, "changes")):
        with pytest.raises(Exception) as caught, rt.transaction() as session:
            proposals.create_proposal(session, active_matrix(rt.settings), scope_for(kaz),
                                      kaz, WHO, entity="risks", key="CA-TST-001",
                                      title="t", **kwargs)
        if field is not None:
            assert field in str(caught.value)
    with pytest.raises(GovernanceError, match="may propose"), rt.transaction() as session:
        sau = who(rt, "sau")
        proposals.create_proposal(session, active_matrix(rt.settings), scope_for(sau), sau,
                                  WHO, kind="change", entity="risks", key="CA-TST-001",
                                  changes={"trend": "rising"}, title="t")
    with rt.transaction() as session:
        assert proposals.list_proposals(session, operator_scope()) == []


def test_cli_contract(rt: Runtime, db_url: str) -> None:
    made = cli("proposals", "create", "--entity", "risks", "--kind", "change", "--key",
               "CA-TST-001", "--set", "trend=falling", "--title", "Trend", "--as", "kaz",
               "--db", db_url)
    assert made.exit_code == 0, made.output
    pid = made.stdout.strip().splitlines()[-1]
    assert pid.isdigit()
    added = cli("meetings", "add", "--kind", "summit", "--date", "2026-12-10", "--place",
                "Astana", "--title", "C5 summit", "--participant", "KAZ-SC", "--agenda", pid,
                "--db", db_url)
    assert added.exit_code == 0, added.output
    mid = added.stdout.strip().splitlines()[-1]
    assert mid.isdigit()
    shown = cli("meetings", "show", mid, "--format", "json", "--db", db_url)
    assert shown.exit_code == 0 and f'"id": {pid}' in shown.stdout
    bad = cli("meetings", "add", "--kind", "summit", "--date", "10/12/2026", "--place", "A",
              "--title", "T", "--db", db_url)
    assert bad.exit_code == 2 and "--date" in bad.stderr
    partner = cli("proposals", "position", pid, "endorse", "--as", "sau", "--db", db_url)
    assert partner.exit_code == 2 and "take positions" in partner.stderr
    for name in ("kgz", "tjk", "tkm", "uzb"):
        assert cli("proposals", "position", pid, "endorse", "--as", name,
                   "--db", db_url).exit_code == 0
    decided = cli("proposals", "decide", pid, "--format", "json", "--db", db_url)
    assert decided.exit_code == 0 and '"status": "adopted"' in decided.stdout
    assert cli("proposals", "rule", "qualified-majority:9", "--db", db_url).exit_code == 2
    assert cli("proposals", "rule", "consensus-minus-one", "--db", db_url).exit_code == 0
    assert cli("proposals", "rule", "--db", db_url).stdout.strip() == "consensus-minus-one"


def test_api(rt: Runtime, db_url: str) -> None:
    client = TestClient(create_app(Settings(database_url=db_url, cookie_secure=False)))
    headers = {}
    with rt.transaction() as session:
        for name in USERS:
            headers[name] = {"Authorization": "Bearer "
                             + accounts.create_token(session, name, "write")}
        edits.edit(session, active_matrix(rt.settings), operator_scope(), "risks",
                   "CA-TST-001", {"tlp": "amber"}, WHO)
    made = client.post("/api/v1/proposals", headers=headers["kaz"], json={
        "kind": "change", "entity": "risks", "key": "CA-TST-001", "title": "Lower",
        "changes": {"likelihood": "Moderate"}})
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    assert client.get("/api/v1/proposals", headers=headers["sau"]).json()["items"] == []
    assert client.get(f"/api/v1/proposals/{pid}", headers=headers["sau"]).status_code == 404
    assert client.get(f"/api/v1/proposals/{pid}", headers=headers["kgz"]).status_code == 200
    assert client.post(f"/api/v1/proposals/{pid}/positions", headers=headers["sau"],
                       json={"stance": "endorse"}).status_code == 403
    assert client.post(f"/api/v1/proposals/{pid}/positions", headers=headers["kgz"],
                       json={"stance": "maybe"}).status_code == 422
    for name in ("kgz", "tjk", "tkm"):
        assert client.post(f"/api/v1/proposals/{pid}/positions", headers=headers[name],
                           json={"stance": "endorse"}).status_code == 201
    assert client.post(f"/api/v1/proposals/{pid}/positions", headers=headers["uzb"],
                       json={"stance": "reserve", "comment": "wording"}).status_code == 201
    assert client.post(f"/api/v1/proposals/{pid}/comments", headers=headers["kgz"],
                       json={"text": "fine"}).status_code == 201
    assert client.post(f"/api/v1/proposals/{pid}/decision",
                       headers=headers["kgz"]).status_code == 403
    decided = client.post(f"/api/v1/proposals/{pid}/decision", headers=headers["sec"])
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert (body["status"], body["result_version"]) == ("adopted", 3)  # v2: the marking
    assert body["reservations"][0]["state"] == "UZB"
    meeting = client.post("/api/v1/meetings", headers=headers["sec"], json={
        "kind": "ministerial", "date": "2026-12-11", "place": "Tashkent", "title": "M",
        "agenda": [pid]})
    assert meeting.status_code == 201, meeting.text
    mid = meeting.json()["id"]
    assert client.get(f"/api/v1/meetings/{mid}", headers=headers["sau"]).json()["agenda"] == []
    assert client.get("/api/v1/meetings").status_code == 401
    assert client.get("/api/v1/meetings", headers=headers["kgz"]).json()["total"] == 1
