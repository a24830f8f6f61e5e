"""Two nodes on loopback: node A (a member's, both engines) and node B (a partner's, SQLite).
B pulls from A over TAXII with a partner's token and holds only what a partner may read; an
update on A arrives on B as a new version, a retirement as revoked (retired here), and
syncing twice changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from riskatlas.catalog.models import Risk
from riskatlas.config import Settings
from riskatlas.migrate import upgrade
from riskatlas.parties import accounts
from riskatlas.parties.service import seed
from riskatlas.runtime import Runtime

from ..helpers import cli
from .live import AMBER_RISK_BODY, Node
from .live import node as node  # the fixture: node A

GREEN_RISK = "CA-BRD-902"
STRICT_RISK = "CA-BRD-903"


def _risk(key: str, tlp: str, title: str) -> dict[str, Any]:
    return {**AMBER_RISK_BODY, "key": key, "tlp": tlp,
            "title": {"en": title, "ru": f"{title} (ru)"}}


@pytest.fixture
def node_b(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'node-b.db'}"
    upgrade(url)
    with Runtime(Settings(database_url=url)).transaction() as session:
        seed(session)
    yield url


def _held(db: str) -> dict[str, tuple[int, str, str]]:
    with Runtime(Settings(database_url=db)).sessions() as session:
        return {r.key: (r.version, r.title["en"], r.status)
                for r in session.scalars(select(Risk))}


def _sync(db: str) -> str:
    result = cli("sync", "--db", db)
    assert result.exit_code == 0, result.output
    return str(result.stderr)


def test_a_partner_node_pulls_what_it_may_read_and_follows_changes(
        node: Node, node_b: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with node.client("kaz") as kaz:
        for key, tlp in ((GREEN_RISK, "green"), (STRICT_RISK, "amber+strict")):
            response = kaz.post("/api/v1/risks", json=_risk(key, tlp, f"{key} post"))
            assert response.status_code == 201, response.text
    with Runtime(Settings(database_url=node.db_url)).transaction() as session:
        partner_token = accounts.create_token(session, "sau", "read")
    monkeypatch.setenv("RISKATLAS_PEER_TOKEN", partner_token)
    added = cli("peers", "add", "NODE-A", f"{node.url}/taxii2/", "--db", node_b)
    assert added.exit_code == 0, added.output

    first = _sync(node_b)
    held = _held(node_b)
    assert GREEN_RISK in held and held[GREEN_RISK][2] == "adopted"
    assert STRICT_RISK not in held and "CA-BRD-901" not in held  # AMBER+STRICT, AMBER
    assert "new object(s)" in first
    with node.client("sau") as sau:  # B holds what A shows a partner, no more, no less
        shown = {r["key"] for r in sau.get("/api/v1/risks", params={"limit": 1000}).json()[
            "items"]}
    assert set(held) == shown

    with node.client("kaz") as kaz:
        etag = kaz.get(f"/api/v1/risks/{GREEN_RISK}").headers["etag"]
        changed = kaz.patch(f"/api/v1/risks/{GREEN_RISK}", headers={"If-Match": etag},
                            json={"title": {"en": "Renamed post"}})
        assert changed.status_code == 200, changed.text
    _sync(node_b)
    version, title, status = _held(node_b)[GREEN_RISK]
    assert (version, title, status) == (held[GREEN_RISK][0] + 1, "Renamed post", "adopted")

    with node.client("kaz") as kaz:
        etag = kaz.get(f"/api/v1/risks/{GREEN_RISK}").headers["etag"]
        retired = kaz.post(f"/api/v1/risks/{GREEN_RISK}/retire", headers={"If-Match": etag})
        assert retired.status_code == 200, retired.text
    _sync(node_b)
    assert _held(node_b)[GREEN_RISK][2] == "retired"

    before = _held(node_b)
    again = _sync(node_b)
    assert "NODE-A: 0 new object(s)" in again
    assert _held(node_b) == before
    listed = cli("peers", "list", "--format", "json", "--db", node_b)
    assert '"NODE-A"' in listed.stdout and partner_token not in listed.stdout


def test_peers_refuse_bad_input_and_an_unreachable_peer_fails_cleanly(
        node_b: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RISKATLAS_PEER_TOKEN", raising=False)
    missing = cli("peers", "add", "X", "http://127.0.0.1:9/taxii2/", "--db", node_b)
    assert missing.exit_code == 2 and "RISKATLAS_PEER_TOKEN" in missing.stderr
    monkeypatch.setenv("RISKATLAS_PEER_TOKEN", "t")
    bad = cli("peers", "add", "X", "ftp://example.org/", "--db", node_b)
    assert bad.exit_code == 2 and "not an http(s) address" in bad.stderr
    assert cli("peers", "add", "X", "http://127.0.0.1:9/taxii2/", "--db", node_b).exit_code == 0
    twice = cli("peers", "add", "X", "http://127.0.0.1:9/taxii2/", "--db", node_b)
    assert twice.exit_code == 2 and "exists already" in twice.stderr
    down = cli("sync", "X", "--db", node_b)
    assert down.exit_code == 1 and "X: cannot read" in down.stderr
    assert cli("peers", "remove", "X", "--db", node_b).exit_code == 0
    assert cli("peers", "remove", "X", "--db", node_b).exit_code == 1

