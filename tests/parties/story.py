"""Steps shared by the standing, states and groups stories: records owned by a member state, an
account made the way an operator makes one (the CLI), and what that account reads over the API.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from riskatlas.audit.models import AuditEntry
from riskatlas.config import Settings
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app
from tests.helpers import cli, load

PASSWORD = "correct horse battery"


def risk_key(suffix: str) -> str:
    return f"CA-STD-{suffix}"


def load_records(db_url: str, tmp_path: Path,
                 records: dict[str, tuple[str, dict[str, list[str]]]]) -> None:
    """Import one risk per entry, suffix -> (tlp, sharing), owned by KAZ-SC (a member)."""
    risks = [{
        "key": risk_key(suffix), "title": {"en": f"Risk {suffix}", "ru": f"Риск {suffix}"},
        "summary": {"en": "s", "ru": "с"}, "category": "traditional", "domain": "borders",
        "states": ["KAZ"], "likelihood": "High", "impact": "High",
        "rationale": {"en": "r", "ru": "р"}, "owner": "KAZ-SC", "tlp": tlp,
        "sharing": sharing, "status": "adopted",
        "sources": [{"title": "s", "url": "https://example.org/s", "published": "2024"}],
    } for suffix, (tlp, sharing) in records.items()]
    path = tmp_path / "records.yaml"
    path.write_text(yaml.safe_dump({"risks": risks}, allow_unicode=True), encoding="utf-8")
    load(db_url, path)


def ok(*args: str, db_url: str, input: str | None = None) -> str:
    """Run a CLI command that must succeed; its stdout."""
    result = cli(*args, "--db", db_url, input=input)
    assert result.exit_code == 0, (args, result.output, result.exception)
    return str(result.stdout)


def account(db_url: str, username: str, org: str, role: str = "viewer",
            scope: str = "read") -> str:
    """A user of `org` with a known password, and an API token for it."""
    ok("users", "add", username, "--org", org, "--role", role, "--password-stdin",
       db_url=db_url, input=PASSWORD + "\n")
    return ok("tokens", "create", username, "--scope", scope, db_url=db_url).strip()


def client(db_url: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=db_url, cookie_secure=False)))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def reads(api: TestClient, token: str) -> set[str]:
    """Suffixes of the records the token's account reads: the list (answers of which are
    cached per caller and data generation) and each record's page must agree."""
    listed = api.get("/api/v1/risks", headers=bearer(token))
    assert listed.status_code == 200, listed.text
    seen = {item["key"].removeprefix("CA-STD-") for item in listed.json()["items"]}
    for suffix in ("CLEAR", "GREEN", "AMBER", "GROUP"):
        detail = api.get(f"/api/v1/risks/{risk_key(suffix)}", headers=bearer(token))
        assert detail.status_code in (200, 404), detail.text
        assert (detail.status_code == 200) == (suffix in seen), suffix
    return seen


def actions(db_url: str) -> list[tuple[str, str | None]]:
    """(action, key) of every audit entry, in order."""
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        return [(a, k) for a, k in session.execute(
            select(AuditEntry.action, AuditEntry.key).order_by(AuditEntry.seq))]


def audit_verifies(db_url: str) -> None:
    result = cli("audit", "verify", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "intact" in result.output
