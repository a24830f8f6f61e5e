"""stored search vectors: our own terms in search documents, a stored tsvector on PostgreSQL

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 11:00:00

Search documents now hold indexed terms (folded, lower-cased, Snowball-stemmed by
riskatlas.search.terms) instead of the texts, so that SQLite and PostgreSQL match the same
words. Existing documents are rewritten from the texts they hold (the same terms a reindex of
the records gives). PostgreSQL: a `tsv` tsvector column written from those terms, with a GIN
index, replaces the GIN expression index over three `to_tsvector`s. SQLite: the FTS5 table is
rebuilt with the `ascii` tokenizer, which keeps our terms whole (no Porter stemming of its own);
`tsv` is added too (the models are the same on both) and stays NULL.

Downgrade restores the previous indexes; the documents then still hold terms: run
`riskatlas db reindex` with the older code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from riskatlas.search.terms import bounded, column_terms, tsvector

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
ENTITIES = ("risk", "measure")  # one FTS5 table each, keyed by the record id

# SQLite: one FTS5 table per entity, whose rowid is the record id (so a match set is a set of
# record ids, counted against the records' own covering indexes), over a view of that entity's
# documents as external content; the triggers keep every table in step with search_documents.
FTS_TRIGGERS = [
    "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
    + " ".join(f"INSERT INTO search_fts_{e}(rowid, text_en, text_ru, text_other) "
               f"SELECT new.record_id, new.text_en, new.text_ru, new.text_other "
               f"WHERE new.entity = '{e}';" for e in ENTITIES) + " END",
    "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
    + " ".join(f"INSERT INTO search_fts_{e}(search_fts_{e}, rowid, text_en, text_ru, text_other) "
               f"SELECT 'delete', old.record_id, old.text_en, old.text_ru, old.text_other "
               f"WHERE old.entity = '{e}';" for e in ENTITIES) + " END",
    "CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN "
    + " ".join(f"INSERT INTO search_fts_{e}(search_fts_{e}, rowid, text_en, text_ru, text_other) "
               f"SELECT 'delete', old.record_id, old.text_en, old.text_ru, old.text_other "
               f"WHERE old.entity = '{e}'; "
               f"INSERT INTO search_fts_{e}(rowid, text_en, text_ru, text_other) "
               f"SELECT new.record_id, new.text_en, new.text_ru, new.text_other "
               f"WHERE new.entity = '{e}';" for e in ENTITIES) + " END",
]
# As in 0002, to downgrade to.
OLD_FTS = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(text_en, text_ru, text_other, "
    "content='search_documents', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
    "INSERT INTO search_fts(rowid, text_en, text_ru, text_other) "
    "VALUES (new.id, new.text_en, new.text_ru, new.text_other); END",
    "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, text_en, text_ru, text_other) "
    "VALUES ('delete', old.id, old.text_en, old.text_ru, old.text_other); END",
    "CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, text_en, text_ru, text_other) "
    "VALUES ('delete', old.id, old.text_en, old.text_ru, old.text_other); "
    "INSERT INTO search_fts(rowid, text_en, text_ru, text_other) "
    "VALUES (new.id, new.text_en, new.text_ru, new.text_other); END",
    "INSERT INTO search_fts(search_fts) VALUES ('rebuild')",
]


def _drop_triggers() -> None:
    for name in ("search_documents_ai", "search_documents_ad", "search_documents_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


def _create_fts() -> None:
    for e in ENTITIES:
        op.execute(f"CREATE VIEW search_fts_{e}_content AS SELECT record_id, text_en, text_ru, "
                   f"text_other FROM search_documents WHERE entity = '{e}'")
        # `ascii`: our terms are letters and digits, separated by spaces, already folded; this
        # tokenizer splits at ASCII punctuation and spaces only, so it keeps every term whole.
        op.execute(f"CREATE VIRTUAL TABLE search_fts_{e} USING fts5(text_en, text_ru, "
                   f"text_other, content='search_fts_{e}_content', content_rowid='record_id', "
                   "tokenize='ascii')")
        op.execute(f"INSERT INTO search_fts_{e}(search_fts_{e}) VALUES ('rebuild')")
    for statement in FTS_TRIGGERS:
        op.execute(statement)


def _drop_fts() -> None:
    _drop_triggers()
    for e in ENTITIES:
        op.execute(f"DROP TABLE IF EXISTS search_fts_{e}")
        op.execute(f"DROP VIEW IF EXISTS search_fts_{e}_content")


def _rewrite_documents(postgresql_: bool) -> None:
    """Turn each document's texts into terms (and, on PostgreSQL, its tsvector)."""
    conn = op.get_bind()
    last = 0
    update = sa.text("UPDATE search_documents SET text_en = :en, text_ru = :ru, "
                     "text_other = :other, tsv = " + ("CAST(:tsv AS tsvector)" if postgresql_
                                                       else ":tsv") + " WHERE id = :id")
    while True:
        rows = conn.execute(sa.text(
            "SELECT id, text_en, text_ru, text_other FROM search_documents WHERE id > :last "
            "ORDER BY id LIMIT :n"), {"last": last, "n": BATCH}).all()
        if not rows:
            return
        values = []
        for doc_id, en, ru, other in rows:
            columns = bounded([column_terms("en", [en]), column_terms("ru", [ru]),
                               column_terms("other", [other])])
            if postgresql_:  # the terms in the tsvector only (the texts are FTS5's content)
                values.append({"id": doc_id, "en": "", "ru": "", "other": "",
                               "tsv": tsvector(columns)})
            else:
                values.append({"id": doc_id, "en": " ".join(columns[0]),
                               "ru": " ".join(columns[1]), "other": " ".join(columns[2]),
                               "tsv": None})
        conn.execute(update, values)
        last = rows[-1][0]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_documents_tsv")
        op.add_column("search_documents", sa.Column("tsv", postgresql.TSVECTOR(), nullable=True))
        # ts_rank reads the vector of every match: keep it in the row, uncompressed up to a
        # page (toast_tuple_target), compressed in the row beyond (MAIN, lz4 where the server
        # has it), out of line only as a last resort, instead of TOASTed at 2 kB.
        op.execute("ALTER TABLE search_documents ALTER COLUMN tsv SET STORAGE MAIN")
        op.execute("ALTER TABLE search_documents SET (toast_tuple_target = 8160)")
        lz4 = op.get_bind().scalar(sa.text(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"))
        if lz4:
            op.execute("ALTER TABLE search_documents ALTER COLUMN tsv SET COMPRESSION lz4")
        _rewrite_documents(True)
        # New entries wait in the index's pending list, which every search reads through,
        # until a VACUUM (none without autovacuum) or the list is full: at 256 kB instead of
        # 4 MB a writer merges it soon (8,000 documents: 0.52 s against 0.47 s to insert; with
        # fastupdate off 5.1 s).
        op.execute("CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv) "
                   "WITH (gin_pending_list_limit = 256)")
        op.execute("ANALYZE search_documents")
        return
    if dialect == "sqlite":
        _drop_triggers()
        op.execute("DROP TABLE IF EXISTS search_fts")
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tsv", sa.Text(), nullable=True))
    _rewrite_documents(False)
    if dialect == "sqlite":
        _create_fts()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_documents_tsv")
        op.drop_column("search_documents", "tsv")
        op.execute("ALTER TABLE search_documents RESET (toast_tuple_target)")
        op.execute(
            "CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (("
            "to_tsvector('english', text_en) || to_tsvector('russian', text_ru) || "
            "to_tsvector('simple', text_other)))")
        return
    if dialect == "sqlite":
        _drop_fts()
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.drop_column("tsv")
    if dialect == "sqlite":
        for statement in OLD_FTS:
            op.execute(statement)
