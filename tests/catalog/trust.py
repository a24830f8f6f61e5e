"""A node shared by several organisations, for the write-model tests (tests/catalog/test_trust*).

small.yaml is loaded by the local operator: every record is owned by the secretariat (C5-SEC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.parties.models import Organisation, State
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app
from tests.helpers import SMALL, cli, export, load

PASSWORD = "correct-horse-battery"
# principal kind -> (username, organisation, role); None for anonymous
PRINCIPALS: dict[str, tuple[str, str, str] | None] = {
    "owner_editor": ("sec_editor", "C5-SEC", "editor"),
    "owner_viewer": ("sec_viewer", "C5-SEC", "viewer"),
    "member_editor": ("kgz_editor", "KGZ-SC", "editor"),
    "partner_editor": ("sau_editor", "SAU-GOV", "editor"),
    "observer_editor": ("tur_editor", "TUR-GOV", "editor"),
    "anonymous": None,
}
EXTRA_USERS = [("kgz_analyst", "KGZ-SC", "analyst"), ("kgz_setup", "KGZ-SC", "editor")]
RISK = "CA-TST-001"
PENDING = "CA-MSR-KGZ"  # a Kyrgyz measure linked to RISK, not yet accepted by C5-SEC


def measure(key: str, risks: list[str], effect: int = 3, status: str = "evaluated",
            lead: str = "KGZ-SC") -> dict[str, Any]:
    return {"key": key, "title": {"en": "Strong measure", "ru": "Сильная мера"},
            "summary": {"en": "s", "ru": "с"}, "kind": "prevention", "treatment": "reduce",
            "lead": lead, "states": ["KGZ"], "status": status,
            "effect": {"likelihood": effect, "impact": effect}, "risks": risks,
            "sources": [{"title": "t", "url": "https://example.org/m", "published": "2025"}]}


@dataclass
class Node:
    db_url: str
    client: TestClient
    tokens: dict[str, str]

    def headers(self, username: str | None, **extra: str) -> dict[str, str]:
        if username is None:
            return dict(extra)
        return {"Authorization": f"Bearer {self.tokens[username]}", **extra}

    def risk(self, key: str = RISK) -> dict[str, Any]:
        return {r["key"]: r for r in export(self.db_url)["risks"]}[key]

    def etag(self, path: str, username: str = "sec_editor") -> str:
        response = self.client.get(path, headers=self.headers(username))
        assert response.status_code == 200, response.text
        return response.headers["ETag"]


def make_node(db_url: str) -> Node:
    load(db_url, SMALL)
    tokens: dict[str, str] = {}
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        session.add(State(code="TUR", name={"en": "Türkiye", "ru": "Турция"}, role="observer",
                          grouping_code="c5"))
        session.flush()
        session.add(Organisation(key="TUR-GOV", name={"en": "Government of Türkiye",
                                                      "ru": "Правительство Турции"},
                                 state_code="TUR"))
        session.flush()
        users = [p for p in PRINCIPALS.values() if p is not None] + EXTRA_USERS
        for username, org, role in users:
            accounts.add_user(session, username, org, role, PASSWORD)
            tokens[username] = accounts.create_token(session, username, "write")
    client = TestClient(create_app(Settings(database_url=db_url, cookie_secure=False)))
    node = Node(db_url, client, tokens)
    response = client.post("/api/v1/measures", json=measure(PENDING, [RISK]),
                           headers=node.headers("kgz_setup"))
    assert response.status_code == 201, response.text
    return node


def audit_ok(db_url: str) -> None:
    result = cli("audit", "verify", "--db", db_url)
    assert result.exit_code == 0, result.output
