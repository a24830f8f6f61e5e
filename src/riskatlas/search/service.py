"""Full-text search: keep one search document per record, query it with the dialect's engine.

Search knows nothing of the catalog: the layer owning a kind of record describes what to index
(`Indexed`: its table, its text fields, what a Scope lets a caller see) and hands over the
texts it writes. Documents hold our own terms (`search.terms`); queries are parsed by
`search.query`; both engines match the same terms, so they find the same records.

The sharing Scope is part of the SQL, so hidden records are neither returned nor counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    Table,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
    table,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from riskatlas import idlist
from riskatlas.search import bm25
from riskatlas.search.models import SearchDocument
from riskatlas.search.query import fts5_query, parse, tsquery
from riskatlas.search.terms import bounded, column_terms, texts_by_column, tsvector
from riskatlas.sharing.policy import Scope

CHUNK = 500
# The title is written twice into the document: the schema has no per-field weights (one text
# column per language), so doubling the title is what makes a title match outrank a match in a
# driver or a warning sign under both bm25 (SQLite) and ts_rank (PostgreSQL).
_TITLE_REPEAT = 2
_TABLE: Table = SearchDocument.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Indexed:
    """One kind of record search indexes, as the layer that owns it describes it.

    `table` must have `id` and `key` columns (documents are joined on the id, equal ranks are
    ordered by key) and the multilingual text columns named in `fields` ({lang: text}, or
    lists of them); `title` names the field written twice. `visible` gives the condition on
    `table` of what a Scope lets its caller see.
    """

    entity: str
    table: FromClause
    fields: tuple[str, ...]
    visible: Callable[[Scope], ColumnElement[bool]]
    title: str = "title"


_INDEXED: dict[str, Indexed] = {}


def register(indexed: Indexed) -> Indexed:
    """Make a kind of record searchable by its entity name (and rebuilt by `reindex_all`)."""
    _INDEXED[indexed.entity] = indexed
    return indexed


def indexed_entities() -> tuple[str, ...]:
    """The names of the registered entities."""
    return tuple(_INDEXED)


def _indexed(entity: str | Indexed) -> Indexed:
    if isinstance(entity, Indexed):
        return entity
    if entity not in _INDEXED:
        raise ValueError(f"entity must be one of {', '.join(_INDEXED) or '(none registered)'}, "
                         f"not {entity!r}")
    return _INDEXED[entity]


# --- indexing --------------------------------------------------------------------------------


def _document(indexed: Indexed, record_id: int, key: str, values: Sequence[Any],
              postgresql: bool) -> dict[str, Any]:
    """The search_documents row of a record from its text fields (in `fields` order)."""
    title = indexed.fields.index(indexed.title)
    values = [*values[:title], *[values[title]] * _TITLE_REPEAT, *values[title + 1 :]]
    texts = texts_by_column(values)
    columns = bounded([column_terms("en", [key, *texts["en"]]), column_terms("ru", texts["ru"]),
                       column_terms("other", texts["other"])])
    if postgresql:  # the terms live in the tsvector only (the text columns are FTS5's content)
        return {"entity": indexed.entity, "record_id": record_id, "key": key, "text_en": "",
                "text_ru": "", "text_other": "", "tsv": tsvector(columns)}
    return {
        "entity": indexed.entity, "record_id": record_id, "key": key,
        "text_en": " ".join(columns[0]), "text_ru": " ".join(columns[1]),
        "text_other": " ".join(columns[2]), "tsv": None,
    }


def add_documents(session: Session, entity: str | Indexed,
                  records: Sequence[tuple[int, str, Sequence[Any]]]) -> None:
    """Index records created in this transaction, which have no documents yet, from the
    values just written: (record id, key, the values of the indexed fields in order). Same
    documents as `reindex`, without deleting or reading back."""
    indexed = _indexed(entity)
    postgresql = _postgresql(session)
    rows = [_document(indexed, rid, key, values, postgresql) for rid, key, values in records]
    if rows:
        with _bulk(session, indexed.entity, len(rows)):
            session.execute(insert(_TABLE), rows)


def reindex(session: Session, entity: str | Indexed, record_ids: Iterable[int]) -> None:
    """Rebuild the search documents of the given records from their stored fields (call after
    every write)."""
    indexed = _indexed(entity)
    ids = list(record_ids)
    if not ids:
        return
    for i in range(0, len(ids), CHUNK):
        part = ids[i : i + CHUNK]
        session.execute(delete(SearchDocument).where(
            SearchDocument.entity == indexed.entity, SearchDocument.record_id.in_(part)))
    postgresql = _postgresql(session)
    columns = indexed.table.c
    with _bulk(session, indexed.entity, len(ids)):
        for i in range(0, len(ids), CHUNK):
            rows = [_document(indexed, rid, key, values, postgresql)
                    for rid, key, *values in session.execute(
                        select(columns.id, columns.key, *[columns[f] for f in indexed.fields])
                        .where(columns.id.in_(ids[i : i + CHUNK])))]
            if rows:
                session.execute(insert(_TABLE), rows)


def reindex_all(session: Session) -> None:
    """Rebuild every search document (after a change to how documents are built)."""
    for indexed in _INDEXED.values():
        reindex(session, indexed, session.scalars(select(indexed.table.c.id)).all())


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# A batch of at least this many documents is written in bulk (SQLite: indexed by FTS5 in one
# INSERT ... SELECT, about three times faster than through the per-row trigger: 40,000
# documents in 3 s instead of 9 s), and the table's statistics are gathered afterwards.
BULK_FTS = 1000  # documents
_FTS_INSERT_TRIGGER = "search_documents_ai"


def gin_index(entity: str) -> str:
    """PostgreSQL: the partial GIN index of an entity's stored tsvectors (migration 0016)."""
    return f"ix_search_documents_tsv_{_entity_name(entity)}"


def fts_table(entity: str) -> str:
    """SQLite: the FTS5 table of an entity's documents (made by migration 0007), whose rowid is
    the record id."""
    return f"search_fts_{_entity_name(entity)}"


@contextmanager
def _bulk(session: Session, entity: str, documents: int) -> Iterator[None]:
    """Write a large batch of documents inside this block.

    SQLite: index the documents inserted inside the block in one statement instead of row by
    row. SQLite cannot switch a trigger off for a statement, so the insert trigger is dropped
    and created again from its stored SQL; DDL is part of the transaction, so a failed write
    rolls the trigger back too and readers never miss it.

    Afterwards, on both: ANALYZE the documents (nothing may depend on autovacuum), and on
    PostgreSQL move the GIN index's pending entries into the index, which every search would
    otherwise scan one by one until a VACUUM (none runs without autovacuum)."""
    if documents < BULK_FTS:
        yield
        return
    if _postgresql(session):
        yield
        session.execute(sql_text("SELECT gin_clean_pending_list(CAST(:name AS regclass))"),
                        {"name": gin_index(entity)})
        session.execute(sql_text("ANALYZE search_documents"))
        return
    trigger = session.scalar(sql_text(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"
    ), {"name": _FTS_INSERT_TRIGGER}) if _in_sqlite_transaction(session) else None
    if trigger is None:  # no transaction yet, or no full-text index (not made by migrations)
        yield
        return
    last = session.scalar(select(func.coalesce(func.max(SearchDocument.id), 0)))
    session.execute(sql_text(f"DROP TRIGGER {_FTS_INSERT_TRIGGER}"))
    try:
        yield
    finally:  # also after a failed insert, should the caller go on and commit
        # New rows get ids above the largest one before (INTEGER PRIMARY KEY, one writer).
        fts = fts_table(entity)
        session.execute(sql_text(
            f"INSERT INTO {fts}(rowid, text_en, text_ru, text_other) "
            "SELECT record_id, text_en, text_ru, text_other FROM search_documents "
            "WHERE id > :last AND entity = :entity"), {"last": last, "entity": entity})
        session.execute(sql_text(trigger))
    session.execute(sql_text("ANALYZE search_documents"))


def _in_sqlite_transaction(session: Session) -> bool:
    """True on SQLite once the transaction has begun. Python's sqlite3 (before 3.12) begins it
    only at the first INSERT, UPDATE or DELETE; DDL before that would be committed at once."""
    if session.get_bind().dialect.name != "sqlite":
        return False
    return bool(session.connection().connection.driver_connection.in_transaction)  # type: ignore[union-attr]


# --- querying --------------------------------------------------------------------------------

def search(
    session: Session, scope: Scope, q: str, entity: str | Indexed, limit: int | None = None,
    offset: int = 0, *, where: Sequence[ColumnElement[bool]] = (),
) -> tuple[int, list[tuple[int, float]]]:
    """Total matches the scope allows and one page of (record id, rank), best first.

    `entity` is a registered entity name ("risk", "measure") or its `Indexed`; `where` adds
    conditions on its table's columns (list filters). A query without any word to look for
    (empty, blank, punctuation only, or only exclusions) matches nothing: (0, []). Ranks are
    higher for better matches and comparable only within one result list (bm25 on SQLite,
    ts_rank on PostgreSQL); ties go by key.
    """
    indexed = _indexed(entity)
    groups = parse(q)
    if not groups:
        return 0, []
    allowed = and_(indexed.visible(scope), *where)
    if _postgresql(session):
        return _postgresql_search(session, indexed, tsquery(groups), allowed, limit, offset)
    return _sqlite_search(session, indexed, fts5_query(groups), allowed, limit, offset)


def all_matches(session: Session, entity: str | Indexed, q: str,
                lengths: Callable[[], bm25.Lengths] | None = None) -> list[tuple[int, float]]:
    """Every record of `entity` matching `q`, as (record id, rank), best first (equal ranks in
    no particular order), whoever asks: ranks as `search` gives them (higher is better). For an
    index that keeps the matches of a query for one read generation and applies a caller's
    scope to them itself (catalog.listing); `search` is the one-call form with the scope in the
    SQL. SQLite, given `lengths()` (fts_lengths, kept by the caller for the read generation):
    the simple queries search.bm25 handles are ranked from the index's term counts, the same
    ranks as bm25() at a fraction of its cost."""
    indexed = _indexed(entity)
    groups = parse(q)
    if not groups:
        return []
    if _postgresql(session):
        # On the driver's cursor, by hand, as on SQLite below: thousands of (id, rank) rows,
        # which psycopg gives as int and float; SQLAlchemy's result rows and the conversions
        # cost as much CPU again in the server process (py-spy, benchmarks/README.md).
        driver: Any = session.connection().connection.driver_connection
        return driver.execute(search_sql(indexed.entity), (tsquery(groups),)).fetchall()
    fts = fts_table(indexed.entity)
    connection = _sqlite(session)
    words = bm25.phrases(groups) if lengths is not None else None
    if words is not None and lengths is not None:
        return bm25.ranked(connection, fts, words, lengths())
    # On the driver's cursor, by hand: a common word has thousands of matches, and SQLAlchemy's
    # row objects cost more than FTS5's ranking of them (~14 of ~21 ms for 6,000 matches).
    cursor = connection.execute(
        f"SELECT rowid, -rank FROM {fts} WHERE {fts} MATCH ? ORDER BY rank",
        (fts5_query(groups),))
    # FTS5's rank is bm25 negated (lower is better); return higher-is-better, as search does.
    return cursor.fetchall()


def search_sql(entity: str) -> str:
    """PostgreSQL: every match of one tsquery (the one parameter) among an entity's documents,
    as (record id, ts_rank), best first (equal ranks in any order). The entity is written
    into the statement, not bound: its partial GIN index (migration 0016) serves only a
    statement that names it, and a plan psycopg has prepared with the entity as a parameter
    could not use it."""
    return ("SELECT record_id, ts_rank(tsv, query) AS rank "
            "FROM search_documents, CAST(%s AS tsquery) AS query "
            f"WHERE entity = '{_entity_name(entity)}' AND tsv @@ query ORDER BY rank DESC")


def _entity_name(entity: str) -> str:
    if not entity.isidentifier():
        raise ValueError(f"not an entity name: {entity!r}")
    return entity


def fts_lengths(session: Session, entity: str | Indexed) -> bm25.Lengths | None:
    """SQLite: the document lengths search.bm25 ranks with (None on PostgreSQL)."""
    if _postgresql(session):
        return None
    return bm25.lengths(_sqlite(session), fts_table(_indexed(entity).entity))


def _sqlite(session: Session) -> Any:
    """The session's sqlite3 connection."""
    return session.connection().connection.driver_connection


def _postgresql_search(
    session: Session, indexed: Indexed, query: str, allowed: ColumnElement[bool],
    limit: int | None, offset: int,
) -> tuple[int, list[tuple[int, float]]]:
    """PostgreSQL in one statement: the GIN index on the stored tsvector finds the entity's
    matches and ts_rank ranks them from that same column (nothing parsed or stemmed per row);
    then the records the scope (and filters) allow, and the total as a window count over them
    before the page is cut.

    The matches are a MATERIALIZED CTE so that each vector is read once, in the heap scan, and
    only (record id, rank) travels on: left to the planner, the vectors (kilobytes each) were
    carried through the join and the sort and ranked twice (27 ms instead of 9 for a word in
    3,000 risks)."""
    records = indexed.table
    doc = SearchDocument
    ts = cast(bindparam("tsq", query), TSQUERY)
    matches = (select(doc.record_id, func.ts_rank(doc.tsv, ts).label("rank"))
               # the entity written into the statement, for its partial index (search_sql)
               .where(doc.entity == bindparam("entity", _entity_name(indexed.entity),
                                              literal_execute=True), doc.tsv.op("@@")(ts))
               .cte("matches").prefix_with("MATERIALIZED"))
    visible = (records.join(matches, matches.c.record_id == records.c.id), allowed)
    stmt = (select(matches.c.record_id, matches.c.rank, func.count().over().label("total"))
            .select_from(visible[0]).where(visible[1])
            .order_by(matches.c.rank.desc(), records.c.key).offset(offset))
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = session.execute(stmt).all()
    if rows:
        return int(rows[0].total), [(int(r.record_id), float(r.rank)) for r in rows]
    if offset == 0 and limit != 0:
        return 0, []
    counted = select(func.count()).select_from(visible[0]).where(visible[1])
    return int(session.scalar(counted) or 0), []


_MAX_BATCH = 4096  # ids checked per statement (one bound parameter each)


def _sqlite_search(
    session: Session, indexed: Indexed, match: str, allowed: ColumnElement[bool],
    limit: int | None, offset: int,
) -> tuple[int, list[tuple[int, float]]]:
    """SQLite: FTS5 rowids are record ids, so no statement joins a document.

    1. The total: the records the scope (and filters) allow, counted from the covering indexes
       of the scope columns, whose id is in the entity's full-text match (evaluated once, as a
       set of ids, unranked).
    2. The page: FTS5's own ranking of the entity's matches (bm25, computed and sorted inside
       FTS5), read in rank order in batches; each batch's ids are checked against the scope
       (a few rowid look-ups), until the page and the ties at its end are complete.
    """
    records = indexed.table
    fts = fts_table(indexed.entity)
    matched: Select[Any] = select(literal_column("rowid")).select_from(table(fts)).where(
        literal_column(fts).op("MATCH")(match))
    # `id + 0`: not an index constraint. Otherwise SQLite may look every record up in the
    # match list once per record (seconds), instead of probing the list once per record.
    total = int(session.scalar(select(func.count()).select_from(records).where(
        allowed, (records.c.id + 0).in_(matched))) or 0)
    if total == 0 or (limit is not None and (limit <= 0 or offset >= total)):
        return total, []
    wanted = total if limit is None else min(total, offset + limit)
    ranked = session.execute(sql_text(
        f"SELECT rowid, rank FROM {fts} WHERE {fts} MATCH :q ORDER BY rank"), {"q": match})
    def visible(size: int) -> Select[Any]:
        return select(records.c.id, records.c.key).where(
            allowed, idlist.within(records.c.id, size))

    hits: list[tuple[float, str, int]] = []
    size = min(max(64, wanted + 16), _MAX_BATCH)
    try:
        while True:
            batch = ranked.fetchmany(size)
            if not batch:
                break
            ids = [rid for rid, _ in batch]
            found = session.execute(visible(idlist.size_class(len(ids))), idlist.values(ids))
            keys: dict[int, str] = {rid: key for rid, key in found}
            done = False
            for rid, rank in batch:
                key = keys.get(rid)
                if key is None:
                    continue
                if len(hits) >= wanted and rank != hits[-1][0]:
                    done = True  # the page is complete, and so are the ties at its end
                    break
                hits.append((rank, key, rid))
            if done:
                break
            size = min(size * 2, _MAX_BATCH)  # few visible yet (narrow filters)
    finally:
        ranked.close()
    hits.sort()  # by rank, then key
    page = hits[offset:] if limit is None else hits[offset : offset + limit]
    # FTS5's rank is bm25 negated (lower is better); return higher-is-better.
    return total, [(rid, -rank) for rank, _, rid in page]
