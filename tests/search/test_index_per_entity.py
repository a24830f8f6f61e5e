"""PostgreSQL: every searchable entity has its own partial GIN index (migration 0016), and a
search of that entity reads it, not another entity's entries."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

import riskatlas.catalog.queries  # noqa: F401  (registers the catalog's entities)
from riskatlas.search.query import parse, tsquery
from riskatlas.search.service import gin_index, indexed_entities, search_sql

pytestmark = pytest.mark.postgres


def test_each_entity_has_its_partial_index(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'search_documents'"))
        definitions = {name: definition for name, definition in rows}
        assert indexed_entities(), "no entity registered"
        for entity in indexed_entities():
            definition = definitions.get(gin_index(entity), "")
            assert "USING gin (tsv)" in definition, (entity, definitions)
            assert f"(entity)::text = '{entity}'::text" in definition, definition
        assert "ix_search_documents_tsv" not in definitions  # the all-entity index is gone
    engine.dispose()


def test_a_search_reads_its_entitys_index(postgres_url: str) -> None:
    """With documents of every entity (in a transaction rolled back at the end), the search
    statements take the entity's own index, also once psycopg has prepared them (a generic
    plan with the entity as a parameter could not use a partial index)."""
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        entities = indexed_entities()
        conn.execute(text(
            "INSERT INTO search_documents (entity, record_id, key, text_en, text_ru, text_other,"
            " tsv) SELECT e.entity, n, 'K' || n, '', '', '', CAST(CASE WHEN n % 500 = 0 "
            "THEN 'border' ELSE 'word' || (n % 97) END AS tsvector) "
            "FROM unnest(CAST(:entities AS text[])) AS e(entity), generate_series(1, 3000) n"),
            {"entities": list(entities)})
        conn.execute(text("ANALYZE search_documents"))
        driver = conn.connection.driver_connection
        for entity in entities:
            for _ in range(8):  # past psycopg's prepare threshold (5) and PostgreSQL's (5)
                plan = "\n".join(row[0] for row in driver.execute(
                    "EXPLAIN " + search_sql(entity), (tsquery(parse("border")),)))
                assert gin_index(entity) in plan, plan
        conn.rollback()
    engine.dispose()
