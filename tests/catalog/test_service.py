"""`save` finds the ids of the rows it creates, also when the database gives out ids below the
largest one already stored (a sequence reset by hand on PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from riskatlas.catalog import service
from riskatlas.catalog.models import Risk
from riskatlas.cli_options import operator_scope
from riskatlas.parties.models import Organisation
from riskatlas.runtime import Runtime
from riskatlas.search.service import search
from tests.helpers import SMALL, export, load


def test_new_rows_are_linked_whatever_ids_they_get(
    runtime: Runtime, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_by_key: list[set[str]] = []
    real_ids = service._ids

    def spy(session: Any, model: Any, keys: Any) -> dict[str, int]:
        keys = set(keys)
        if model is Risk and keys:
            read_by_key.append(keys)
        return real_ids(session, model, keys)

    monkeypatch.setattr(service, "_ids", spy)
    text = {"en": "Old", "ru": "Старый"}
    with runtime.transaction() as session:  # an id far above what the sequence gives next
        org = session.scalar(select(Organisation.id).where(Organisation.key == "C5-SEC"))
        session.add(Risk(id=5000, key="CA-OLD-001", title=text, summary=text, rationale=text,
                         status="draft", owner_org_id=org, category="traditional",
                         domain="borders", likelihood=1, impact=1, level=1, residual_level=1))
    load(db_url, SMALL)
    # SQLite numbers new rows above the largest id; PostgreSQL's sequence starts at 1 here,
    # below it, so there the new rows are read back by key.
    assert ({"CA-TST-001", "CA-TST-002"} in read_by_key) == db_url.startswith("postgresql")
    doc = export(db_url)
    risks = {r["key"]: r for r in doc["risks"]}
    assert risks["CA-TST-001"]["measures"] == ["CA-MSR-900", "CA-MSR-901"]
    assert risks["CA-TST-002"]["measures"] == ["CA-MSR-901"]
    assert risks["CA-TST-001"]["states"] == ["KGZ", "TJK"]
    assert risks["CA-OLD-001"]["measures"] == []
    assert {m["key"]: m["risks"] for m in doc["measures"]} == {
        "CA-MSR-900": ["CA-TST-001"], "CA-MSR-901": ["CA-TST-001", "CA-TST-002"]}
    with runtime.transaction() as session:
        total, hits = search(session, operator_scope(), "second", "risk")
        key = session.scalar(select(Risk.key).where(Risk.id == hits[0][0]))
    assert (total, key) == (1, "CA-TST-002")
