"""search index per entity: one partial GIN index of the stored tsvector per indexed entity

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 18:50:00

PostgreSQL only. A search reads one entity's documents, but the single GIN index of 0007 holds
every entity's: a word in 3,700 of 10,000 risks found 11,756 entries (the measures' too), and
the planner ANDed that bitmap with the entity's btree (5.4 of 17 ms). One partial index per
entity (`WHERE entity = 'risk'`) gives the entity's matches alone: 17 -> 10 ms for that word,
ranking included, measured on a 10,000-risk, 30,000-measure catalog (benchmarks/README.md).
An entity made searchable later needs its own index here (tests/search/test_index_per_entity.py
fails for an entity without one). SQLite: nothing (one FTS5 table per entity already).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENTITIES = ("risk", "measure")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for entity in ENTITIES:
        # the pending-list size of 0007's index (a writer merges it soon; see there)
        op.execute(f"CREATE INDEX ix_search_documents_tsv_{entity} ON search_documents "
                   f"USING gin (tsv) WITH (gin_pending_list_limit = 256) "
                   f"WHERE entity = '{entity}'")
    op.execute("DROP INDEX IF EXISTS ix_search_documents_tsv")
    op.execute("ANALYZE search_documents")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv) "
               "WITH (gin_pending_list_limit = 256)")
    for entity in ENTITIES:
        op.execute(f"DROP INDEX IF EXISTS ix_search_documents_tsv_{entity}")
