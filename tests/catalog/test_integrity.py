"""Integrity under races and hidden records, as the adversarial pass tried it (issue 8, rows 1-7):
no write changes or reveals what its writer cannot see, and no write ends in a 5xx."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from riskatlas.config import Settings
from riskatlas.web.app import create_app
from tests.catalog.trust import RISK, Node, audit_ok, make_node, measure
from tests.helpers import cli, export, load

pytestmark = pytest.mark.audited  # issue 8: the audit chain holds after each test

HIDDEN_RISK = "CA-RED-001"  # RED, named users: nobody of the node's test users
HIDDEN_MEASURE = "CA-MSR-RED"  # RED, implemented, strong, treats the CLEAR risk RISK


def _hidden(tmp_path: Path) -> Path:
    source = [{"title": "t", "url": "https://example.org/r", "published": "2024"}]
    text = {"en": "Hidden", "ru": "Скрытый"}
    doc = {
        "risks": [{"key": HIDDEN_RISK, "title": text, "summary": text, "rationale": text,
                   "category": "traditional", "domain": "borders", "states": ["KAZ"],
                   "likelihood": "High", "impact": "High", "sources": source, "tlp": "red",
                   "owner": "KGZ-SC", "sharing": {"users": ["kgz_setup"]}}],
        "measures": [dict(measure(HIDDEN_MEASURE, [RISK, HIDDEN_RISK], effect=4,
                                  status="implemented"), tlp="red", owner="C5-SEC",
                          sharing={"users": ["kgz_setup"]}),
                     dict(measure("CA-MSR-BOTH", [RISK, HIDDEN_RISK], effect=0,
                                  status="proposed"), owner="KGZ-SC")],
    }
    path = tmp_path / "hidden.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def node(db_url: str, tmp_path: Path) -> Node:
    made = make_node(db_url)
    load(db_url, _hidden(tmp_path))  # by the local operator: every link accepted
    return made


def _links(db_url: str, key: str) -> list[dict[str, str]]:
    return {m["key"]: m for m in export(db_url)["measures"]}[key]["links"]


def test_racing_creates_of_one_key_give_one_201_and_409s(node: Node) -> None:
    body = {"key": "CA-RACE-000", "title": {"en": "Race", "ru": "Гонка"},
            "summary": {"en": "s", "ru": "с"}, "category": "emerging", "domain": "cyber",
            "states": ["KGZ"], "likelihood": "Low", "impact": "Low",
            "rationale": {"en": "r", "ru": "р"},
            "sources": [{"title": "t", "url": "https://example.org/x", "published": "2025"}]}
    app = node.client.app
    for attempt, users in enumerate([("kgz_editor", "sec_editor")] * 4
                                    + [("kgz_editor",) * 4] * 2):
        key = f"CA-RACE-{attempt:03d}"
        barrier = threading.Barrier(len(users))
        statuses: list[int] = []

        def post(user: str, barrier: threading.Barrier = barrier,
                 statuses: list[int] = statuses, key: str = key) -> None:
            client = TestClient(app)
            barrier.wait()
            statuses.append(client.post("/api/v1/risks", json=dict(body, key=key),
                                        headers=node.headers(user)).status_code)

        threads = [threading.Thread(target=post, args=(u,)) for u in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [201] + [409] * (len(users) - 1), (attempt, statuses)
        history = cli("risks", "history", key, "-f", "json", "--db", node.db_url)
        assert [v["change"] for v in yaml.safe_load(history.stdout)] == ["create"]
    audit_ok(node.db_url)


def test_editing_a_measure_keeps_its_links_to_risks_the_editor_cannot_see(node: Node) -> None:
    path = "/api/v1/measures/CA-MSR-BOTH"
    shown = node.client.get(path, headers=node.headers("kgz_editor")).json()
    assert shown["risks"] == [RISK]  # the hidden risk is not shown
    patched = node.client.patch(path, json={"summary": {"en": "Changed"}},
                                headers=node.headers("kgz_editor", **{"If-Match": '"1"'}))
    assert patched.status_code == 200, patched.text
    assert HIDDEN_RISK in [link["risk"] for link in _links(node.db_url, "CA-MSR-BOTH")]
    retired = node.client.post(f"{path}/retire",
                               headers=node.headers("kgz_editor", **{"If-Match": '"2"'}))
    assert retired.status_code == 200
    assert HIDDEN_RISK in [link["risk"] for link in _links(node.db_url, "CA-MSR-BOTH")]
    audit_ok(node.db_url)


def test_a_hidden_record_named_in_a_write_is_as_unknown_as_a_missing_one(node: Node) -> None:
    before = export(node.db_url)
    answers = []
    for risks in ([HIDDEN_RISK], ["CA-NOPE-001"]):
        answers.append(node.client.post(
            "/api/v1/measures", json=dict(measure("CA-MSR-SAU", risks), lead="SAU-GOV"),
            headers=node.headers("sau_editor")))
    for measures in ([HIDDEN_MEASURE], ["CA-MSR-NOPE"]):
        etag = node.etag(f"/api/v1/risks/{RISK}")
        answers.append(node.client.patch(f"/api/v1/risks/{RISK}", json={"measures": measures},
                                         headers=node.headers("sec_editor",
                                                              **{"If-Match": etag})))
    codes = [(a.status_code, a.json()["problems"][0]["reason"].split("'")[0]) for a in answers]
    assert codes == [(422, "unknown risk "), (422, "unknown risk "),
                     (422, "unknown measure "), (422, "unknown measure ")]
    assert export(node.db_url) == before
    audit_ok(node.db_url)


def test_derived_values_follow_only_from_what_the_caller_may_see(node: Node) -> None:
    public = TestClient(create_app(Settings(database_url=node.db_url, public_mode=True,
                                            cookie_secure=False)))
    operator = node.risk()
    assert operator["residual_level"] == "Very Low"  # the RED measure counts for its readers
    seen = public.get(f"/api/v1/risks/{RISK}").json()
    assert HIDDEN_MEASURE not in seen["measures"]
    # Only the measures the caller sees: CA-MSR-900 (implemented, 2/1) of small.yaml.
    assert seen["residual_level"] == "Low" != operator["residual_level"]
    for who in (None, "kgz_editor"):
        page = (public if who is None else node.client).get(
            "/api/v1/risks?sort=residual_level&limit=1000", headers=node.headers(who)).json()
        order = {"Very Low": 1, "Low": 2, "Moderate": 3, "High": 4, "Very High": 5}
        levels = [order[item["residual_level"]] for item in page["items"]]
        assert levels == sorted(levels)
        filtered = (public if who is None else node.client).get(
            "/api/v1/risks?residual_level=Very Low", headers=node.headers(who)).json()
        assert RISK not in [item["key"] for item in filtered["items"]]
    # A change of the hidden measure shows nowhere in what the others read.
    before = public.get(f"/api/v1/risks/{RISK}").json()
    assert cli("measures", "edit", HIDDEN_MEASURE, "--set", "status=evaluated",
               "--db", node.db_url).exit_code == 0
    assert public.get(f"/api/v1/risks/{RISK}").json() == before
    audit_ok(node.db_url)


@pytest.mark.parametrize("tlp", ["red ", "Red\t", " RED"])
def test_a_red_marking_is_normalised_before_any_rule(node: Node, tlp: str) -> None:
    body = dict(measure("CA-MSR-TLP", [RISK], lead="KGZ-SC"), tlp=tlp)
    created = node.client.post("/api/v1/measures", json=body,
                               headers=node.headers("kgz_editor"))
    assert created.status_code == 201, created.text
    assert (created.json()["tlp"], created.json()["sharing"]["users"]) == ("red",
                                                                          ["kgz_editor"])
    assert node.client.get("/api/v1/measures/CA-MSR-TLP",
                           headers=node.headers("kgz_editor")).status_code == 200
    audit_ok(node.db_url)


def test_writes_that_change_nothing_answer_200_with_no_new_version(
    node: Node, tmp_path: Path
) -> None:
    path = f"/api/v1/risks/{RISK}"
    for body in ({}, {"status": "adopted"}, {"title": {"en": "Test risk"}}):
        answer = node.client.patch(path, json=body,
                                   headers=node.headers("sec_editor", **{"If-Match": '"1"'}))
        assert (answer.status_code, answer.json()["version"]) == (200, 1), answer.text
    for _ in range(2):
        retired = node.client.post("/api/v1/measures/CA-MSR-901/retire", headers=node.headers(
            "sec_editor", **{"If-Match": node.etag("/api/v1/measures/CA-MSR-901")}))
        assert (retired.status_code, retired.json()["version"]) == (200, 2)
    same = cli("risks", "edit", RISK, "--set", "status=adopted", "--db", node.db_url)
    assert same.exit_code == 0, same.output
    one = tmp_path / "one.yaml"
    one.write_text(yaml.safe_dump({"risks": [node.risk()]}, allow_unicode=True),
                   encoding="utf-8")
    imported = cli("import", str(one), "--db", node.db_url)
    assert imported.exit_code == 0 and "0 created, 0 updated, 1 unchanged" in imported.stderr
    assert node.risk()["version"] == 1
    audit_ok(node.db_url)


def test_a_write_that_would_hide_the_record_from_its_writer_is_refused(node: Node) -> None:
    path = f"/api/v1/risks/{RISK}"
    red = node.client.patch(path, json={"tlp": "red"},
                            headers=node.headers("sec_editor", **{"If-Match": '"1"'}))
    assert (red.status_code, red.json()["problems"][0]["field"]) == (422, "sharing.users")
    named = node.client.patch(path, json={"tlp": "red", "sharing": {"users": ["sec_editor"]}},
                              headers=node.headers("sec_editor", **{"If-Match": '"1"'}))
    assert named.status_code == 200, named.text
    leave: dict[str, Any] = {"sharing": {"users": ["kgz_editor"]}}
    left = node.client.patch(path, json=leave,
                             headers=node.headers("sec_editor", **{"If-Match": '"2"'}))
    assert left.status_code == 422
    assert node.client.get(path, headers=node.headers("sec_editor")).json()["version"] == 2
    audit_ok(node.db_url)
