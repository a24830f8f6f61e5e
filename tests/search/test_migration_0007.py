"""Migration 0007 on a database that already has search documents (texts, as 0002-0006 wrote
them): they become terms (and a tsvector on PostgreSQL), searchable as a reindex would make
them; downgrading restores the previous full-text index."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from riskatlas.migrate import alembic_config
from riskatlas.search.query import fts5_query, parse, tsquery
from tests.conftest import PG_URL

OLD_DOCUMENTS = [  # as the code before 0007 wrote them: key and texts, NFC, ё folded
    (1, "risk", 7, "CA-BRD-001", "CA-BRD-001 Border clashes Border clashes Armed incidents",
     "Пограничные столкновения Пограничные столкновения на границе", ""),
    (2, "measure", 7, "CA-MSR-001", "CA-MSR-001 Joint commission Joint commission", "",
     "Шекара комиссиясы Шекара комиссиясы"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/m.db"
        return
    name = f"riskatlas_m0007_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: skipped, as the other PostgreSQL tests are
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _found(conn: object, dialect: str, entity: str, q: str) -> list[int]:
    if dialect == "sqlite":
        return sorted(conn.execute(text(  # type: ignore[attr-defined]
            f"SELECT rowid FROM search_fts_{entity} WHERE search_fts_{entity} MATCH :q"),
            {"q": fts5_query(parse(q))}).scalars())
    return sorted(conn.execute(text(  # type: ignore[attr-defined]
        "SELECT record_id FROM search_documents WHERE entity = :e AND "
        "tsv @@ CAST(:q AS tsquery)"), {"e": entity, "q": tsquery(parse(q))}).scalars())


def test_existing_documents_are_rewritten_as_terms(empty_url: str) -> None:
    cfg = alembic_config(empty_url)
    command.upgrade(cfg, "0006")
    engine = create_engine(empty_url)
    dialect = engine.dialect.name
    with engine.begin() as conn:
        for row in OLD_DOCUMENTS:
            conn.execute(text("INSERT INTO search_documents (id, entity, record_id, key, "
                              "text_en, text_ru, text_other) VALUES (:id, :e, :r, :k, :en, "
                              ":ru, :other)"), dict(zip(("id", "e", "r", "k", "en", "ru", "other"),
                                                       row, strict=True)))
    command.upgrade(cfg, "0007")
    with engine.connect() as conn:
        en, tsv = conn.execute(text(
            "SELECT text_en, tsv FROM search_documents WHERE id = 1")).one()
        if dialect == "sqlite":
            assert en == "ca brd 001 border clash border clash arm incid"
            assert tsv is None
        else:  # the terms live in the tsvector only
            assert en == "" and "'border':4,6" in tsv
        for q in ("borders", "граница", "границы", '"пограничные столкновения"', "CA-BRD-001",
                  "clash*"):
            assert _found(conn, dialect, "risk", q) == [7], q
        assert _found(conn, dialect, "measure", "шекара") == [7]
        assert _found(conn, dialect, "measure", "border") == []
    command.downgrade(cfg, "0006")
    with engine.connect() as conn:
        if dialect == "sqlite":
            assert conn.execute(text("SELECT count(*) FROM search_fts")).scalar() == 2
            names = set(conn.execute(text("SELECT name FROM sqlite_master")).scalars())
            assert not {"search_fts_risk", "search_fts_measure"} & names
        else:
            indexdef = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = "
                                         "'ix_search_documents_tsv'")).scalar()
            assert "to_tsvector" in str(indexdef)
    command.upgrade(cfg, "head")
    engine.dispose()
