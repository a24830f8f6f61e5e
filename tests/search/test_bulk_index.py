"""Large batches are indexed in bulk (SQLite: one INSERT ... SELECT into FTS5 instead of the
per-row trigger; both: documents built from the records in memory). The bulk path must give
exactly the documents and search results of the row-by-row path."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from riskatlas.catalog.models import Measure, Risk
from riskatlas.cli_options import operator_scope
from riskatlas.runtime import Runtime
from riskatlas.search import service
from riskatlas.search.models import SearchDocument
from riskatlas.search.service import reindex_all, search
from tests.helpers import cli, load

EN = ["border", "water", "dam", "drought", "smuggling", "clashes", "cyber", "bank", "pressure",
      "ransomware", "pipeline", "militants", "refugees", "harvest", "flood"]
RU = ["граница", "вода", "плотина", "засуха", "контрабанда", "столкновения", "банк",
      "давление", "ёлка", "беженцы", "урожай", "наводнение", "пограничные", "границе"]
KK = ["шекара", "су", "банк"]
QUERIES = ["border", "borders", "dam OR flood", "bank -water", "граница", "границе",
           "пограничные", "елка", "ёлка", "шекара", "CA-GEN-007", '"water dam"', "pressure",
           "smuggl", "беженцев"]


def _words(rng: random.Random, vocabulary: list[str], n: int) -> str:
    return " ".join(rng.choice(vocabulary) for _ in range(n))


def _text(rng: random.Random, n: int, other: bool = False) -> dict[str, str]:
    out = {"en": _words(rng, EN, n), "ru": _words(rng, RU, n)}
    if other:
        out["kk"] = _words(rng, KK, 3)
    return out


def _catalog(risks: int, measures: int) -> dict[str, Any]:
    rng = random.Random(7)
    return {
        "risks": [{
            "key": f"CA-GEN-{i:03d}", "title": _text(rng, 4), "summary": _text(rng, 20),
            "category": "traditional", "domain": "borders", "states": ["KGZ"],
            "likelihood": "M", "impact": "H", "rationale": _text(rng, 8),
            "drivers": [_text(rng, 3) for _ in range(i % 3)],
            "warning_signs": [_text(rng, 3, other=i % 4 == 0)],
            "sources": [{"title": "S", "url": "https://example.org/s", "published": 2024}],
        } for i in range(risks)],
        "measures": [{
            "key": f"CA-GMS-{i:03d}", "title": _text(rng, 4, other=i % 5 == 0),
            "summary": _text(rng, 12), "kind": "prevention", "treatment": "reduce",
            "lead": "C5-SEC", "states": ["KGZ"], "status": "implemented",
            "effect": {"likelihood": 1, "impact": 0},
            "risks": [f"CA-GEN-{(i * 7) % risks:03d}"],
        } for i in range(measures)],
    }


def _documents(session: Session) -> list[tuple[Any, ...]]:
    rows = session.execute(select(
        SearchDocument.entity, SearchDocument.record_id, SearchDocument.key,
        SearchDocument.text_en, SearchDocument.text_ru, SearchDocument.text_other))
    return sorted(tuple(r) for r in rows)


def _results(runtime: Runtime) -> dict[tuple[str, str], tuple[int, list[str]]]:
    out = {}
    with runtime.transaction() as session:
        keys = {**{("risk", i): k for i, k in session.execute(select(Risk.id, Risk.key))},
                **{("measure", i): k for i, k in session.execute(select(Measure.id, Measure.key))}}
        for q in QUERIES:
            for entity in ("risk", "measure"):
                total, hits = search(session, operator_scope(), q, entity)
                out[(q, entity)] = (total, [keys[(entity, rid)] for rid, _ in hits])
    return out


def _fts_intact(session: Session) -> None:
    if session.get_bind().dialect.name == "sqlite":  # compares each index with its content
        for fts in ("search_fts_risk", "search_fts_measure"):
            session.execute(text(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)"))


@pytest.fixture
def catalog_file(tmp_path: Path) -> Path:
    path = tmp_path / "generated.yaml"
    path.write_text(yaml.safe_dump(_catalog(40, 30), allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


def test_bulk_import_indexes_like_row_by_row(
    runtime: Runtime, db_url: str, catalog_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BULK_FTS", 10)  # 70 documents: the bulk path
    load(db_url, catalog_file)
    bulk = _results(runtime)
    with runtime.transaction() as session:
        _fts_intact(session)
        bulk_documents = _documents(session)
    assert bulk[("border", "risk")][0] > 0 and bulk[("граница", "measure")][0] > 0

    monkeypatch.setattr(service, "BULK_FTS", 10_000)  # rebuild everything row by row
    with runtime.transaction() as session:
        reindex_all(session)
    with runtime.transaction() as session:
        _fts_intact(session)
        assert _documents(session) == bulk_documents
    assert _results(runtime) == bulk


def test_bulk_index_keeps_the_trigger_and_later_writes_are_indexed(
    runtime: Runtime, db_url: str, catalog_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BULK_FTS", 10)
    sqlite = db_url.startswith("sqlite")
    trigger_sql = "SELECT sql FROM sqlite_master WHERE name = 'search_documents_ai'"
    if sqlite:
        with runtime.transaction() as session:
            before = session.scalar(text(trigger_sql))
    load(db_url, catalog_file)
    with runtime.transaction() as session:
        reindex_all(session)  # the bulk path for existing records: delete, then insert
        _fts_intact(session)
        if sqlite:
            assert session.scalar(text(trigger_sql)) == before
    result = cli("risks", "edit", "CA-GEN-003", "--set", "title.en=Unique okapi",
                 "--db", db_url)
    assert result.exit_code == 0, result.output
    assert _results_for(runtime, "okapi") == (1, ["CA-GEN-003"])


def test_a_failed_bulk_write_restores_the_trigger(
    runtime: Runtime, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the trigger exists on SQLite only")
    monkeypatch.setattr(service, "BULK_FTS", 1)
    count = "SELECT count(*) FROM sqlite_master WHERE name = 'search_documents_ai'"
    # Before any write there is no transaction yet: no bulk path (DDL would commit at once).
    with runtime.transaction() as session, service._bulk(session, "risk", 5):
        assert session.scalar(text(count)) == 1
    with pytest.raises(RuntimeError), runtime.transaction() as session:
        session.execute(text("UPDATE audit_head SET seq = seq"))  # as save does first
        with service._bulk(session, "risk", 5):
            assert session.scalar(text(count)) == 0
            raise RuntimeError("write failed")
    with runtime.transaction() as session:
        assert session.scalar(text(count)) == 1
        _fts_intact(session)


def _results_for(runtime: Runtime, q: str) -> tuple[int, list[str]]:
    with runtime.transaction() as session:
        keys = dict(session.execute(select(Risk.id, Risk.key)).all())
        total, hits = search(session, operator_scope(), q, "risk")
    return total, [keys[rid] for rid, _ in hits]
