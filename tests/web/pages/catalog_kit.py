"""Shared by the dashboard, catalog and risk page tests: the trust node (tests/catalog/trust.py:
small.yaml owned by the secretariat, member, partner and observer editors with tokens) with an
AMBER risk and measures due soon and overdue, and browser sessions through the login form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from riskatlas.parties import accounts
from tests.catalog.trust import PASSWORD, Node, make_node, measure
from tests.helpers import load
from tests.web.pages.frame_kit import sign_in

AMBER = "CA-AMB-001"
AMBER_MEASURE = "CA-MSR-AMB"
DUE = "CA-MSR-DUE"
OVERDUE = "CA-MSR-LATE"


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Argon2 at its cheapest: these tests are about the pages (tests/parties covers it)."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8,
                                                            parallelism=1))
    yield


def amber_risk() -> dict[str, Any]:
    return {"key": AMBER, "title": {"en": "Hidden zebra border risk", "ru": "Скрытый риск зебра"},
            "summary": {"en": "Only members read this", "ru": "Только для членов"},
            "category": "hybrid", "domain": "borders", "states": ["KAZ"],
            "likelihood": "Very High", "impact": "Very High", "rationale": {"en": "r", "ru": "р"},
            "tlp": "amber", "status": "adopted",
            "sources": [{"title": "s", "url": "https://example.org/amber", "published": "2024"}]}


def catalog_node(db_url: str) -> Node:
    node = make_node(db_url)
    answer = node.client.post("/api/v1/risks", json=amber_risk(),
                              headers=node.headers("sec_editor"))
    assert answer.status_code == 201, answer.text
    today = date.today()
    for key, end, tlp in ((DUE, today + timedelta(days=30), "clear"),
                          (OVERDUE, today - timedelta(days=10), "clear"),
                          (AMBER_MEASURE, today + timedelta(days=5), "amber")):
        body = {**measure(key, ["CA-TST-002"], status="in_progress"), "end": end.isoformat(),
                "tlp": tlp, "title": {"en": f"Measure {key}", "ru": f"Мера {key}"}}
        answer = node.client.post("/api/v1/measures", json=body,
                                  headers=node.headers("kgz_setup"))
        assert answer.status_code == 201, answer.text
    return node


def more_risks(node: Node, prefix: str, count: int, tmp_dir: Path, **fields: Any) -> None:
    """`count` more CLEAR risks owned by the secretariat, in one import (faster than the API)."""
    risks = [{"key": f"{prefix}-{i:03d}", "title": {"en": f"More {i}", "ru": f"Ещё {i}"},
              "summary": {"en": "s", "ru": "с"}, "category": "traditional", "domain": "cyber",
              "states": ["KAZ"], "likelihood": 1 + i % 5, "impact": 1 + i % 3,
              "rationale": {"en": "r", "ru": "р"}, "owner": "C5-SEC", "status": "adopted",
              "sources": [{"title": "s", "url": "https://example.org/x", "published": "2024"}],
              **fields} for i in range(count)]
    path = tmp_dir / f"{prefix}.yaml"
    path.write_text(yaml.safe_dump({"risks": risks}, allow_unicode=True), encoding="utf-8")
    load(node.db_url, path)


def browser(node: Node, username: str) -> tuple[TestClient, str]:
    """A client of its own with a signed-in session; returns it and the session's CSRF token."""
    client = TestClient(node.client.app)
    return client, sign_in(client, username, PASSWORD)


def api_keys(node: Node, username: str, query: str = "") -> list[str]:
    answer = node.client.get(f"/api/v1/risks?limit=1000{'&' if query else ''}{query}",
                             headers=node.headers(username))
    assert answer.status_code == 200, answer.text
    return [item["key"] for item in answer.json()["items"]]


def page_keys(html: str) -> list[str]:
    """Keys of the risks listed in a catalog results table."""
    body = html[html.index('id="results"'):]
    return re.findall(r'<td><a href="/risks/([A-Z0-9\-_.]+)', body)
