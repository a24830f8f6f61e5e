"""Every write is in the audit trail, and tampering with the trail is detected and located."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from riskatlas.db import get_engine
from tests.helpers import SMALL, cli, load


def _verify(db_url: str):  # type: ignore[no-untyped-def]
    return cli("audit", "verify", "--db", db_url)


def _entries(db_url: str) -> list[dict]:  # type: ignore[type-arg]
    result = cli("audit", "list", "--format", "json", "--limit", "1000", "--db", db_url)
    return list(reversed(json.loads(result.stdout)))


def test_writes_are_audited_with_before_and_after(db_url: str) -> None:
    load(db_url, SMALL)
    cli("risks", "edit", "CA-TST-001", "--set", "impact=Low", "--db", db_url)
    entries = _entries(db_url)
    assert [e["action"] for e in entries].count("risk.create") == 2
    assert entries[-1]["action"] == "risk.update"
    assert entries[-1]["actor"] == "cli"
    with get_engine(db_url).connect() as conn:
        before, after = conn.execute(text(
            "SELECT before, after FROM audit_log ORDER BY seq DESC LIMIT 1")).one()
    before = json.loads(before) if isinstance(before, str) else before
    after = json.loads(after) if isinstance(after, str) else after
    assert (before["impact"], after["impact"]) == ("Very High", "Low")
    result = _verify(db_url)
    assert result.exit_code == 0, result.output
    # 2 risks, 2 measures, TJK's assessment of CA-TST-001 (its own record), 1 edit
    assert "intact: 6 entries" in result.stderr


@pytest.mark.parametrize("tamper, seq", [
    ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", 2),
    ("UPDATE audit_log SET after = before WHERE seq = 5", 5),
    ("DELETE FROM audit_log WHERE seq = 3", 3),
    ("DELETE FROM audit_log WHERE seq = 5", 5),
])
def test_tampering_is_detected_and_named(db_url: str, tamper: str, seq: int) -> None:
    load(db_url, SMALL)
    cli("risks", "edit", "CA-TST-001", "--set", "impact=Low", "--db", db_url)
    assert _verify(db_url).exit_code == 0
    with get_engine(db_url).begin() as conn:
        conn.execute(text(tamper))
    result = _verify(db_url)
    assert result.exit_code == 1
    assert f"audit chain broken at entry {seq}" in result.stderr
