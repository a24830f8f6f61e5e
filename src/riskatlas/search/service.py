"""Full-text search: keep one search document per record, query it with the dialect's engine.

User text is never handed to a query parser as is. `parse` reads it into a small query
(words, "phrases", OR, -exclusions; see docs/search.md) built only from letters and digits, and
that query is rendered for FTS5 (SQLite) or for `websearch_to_tsquery` (PostgreSQL). The sharing
Scope is part of the SQL, so hidden records are neither returned nor counted.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.orm import Session

from riskatlas.catalog.models import Measure, Risk
from riskatlas.search.models import SearchDocument
from riskatlas.sharing.policy import Scope

CHUNK = 500
ENTITIES = ("risk", "measure")
_TEXT_COLUMNS = {
    "risk": ("title", "summary", "rationale", "drivers", "warning_signs"),
    "measure": ("title", "summary"),
}
# The title is written twice into the document: the schema has no per-field weights (one text
# column per language), so doubling the title is what makes a title match outrank a match in a
# driver or a warning sign under both bm25 (SQLite) and ts_rank (PostgreSQL).
_TITLE_REPEAT = 2

MAX_WORDS = 32  # words of a query beyond this are ignored
PREFIX_MIN = 3  # SQLite: words of at least this many characters match as prefixes
_WORD = re.compile(r"[^\W_]+")  # letters and digits: the only text a query carries
_CHUNK_RE = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")

# PostgreSQL: the configurations of the three text columns, in the order of the index
# ix_search_documents_tsv (migration 0002). The expression below must stay identical to it.
_PG_CONFIGS = ("english", "russian", "simple")
_TABLE = cast(Table, SearchDocument.__table__)


# --- indexing --------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Normalise searchable text: NFC, and ё→е (PostgreSQL's Russian stemmer folds ё; FTS5 not)."""
    if not unicodedata.is_normalized("NFC", text):  # the check is far cheaper than the fix
        text = unicodedata.normalize("NFC", text)
    return text.replace("ё", "е").replace("Ё", "Е")


def _texts(values: Iterable[Any]) -> dict[str, list[str]]:
    """Collect multilingual texts ({lang: text}, or lists of them) by language."""
    out: dict[str, list[str]] = {}
    for value in values:
        items = value if isinstance(value, list) else [value]
        for item in items:
            for lang, text in (item or {}).items():
                if text:
                    out.setdefault(lang, []).append(_fold(str(text)))
    return out


def reindex(session: Session, entity: str, record_ids: Iterable[int]) -> None:
    """Rebuild the search documents of the given records (call after every write)."""
    ids = list(record_ids)
    for i in range(0, len(ids), CHUNK):
        part = ids[i : i + CHUNK]
        session.execute(delete(SearchDocument).where(
            SearchDocument.entity == entity, SearchDocument.record_id.in_(part)))
    with _bulk_fts(session, len(ids)):
        for i in range(0, len(ids), CHUNK):
            rows = _stored_documents(session, entity, ids[i : i + CHUNK])
            if rows:
                session.execute(insert(_TABLE), rows)


def add_documents(session: Session, entity: str, records: Sequence[tuple[int, Any]]) -> None:
    """Index records created in this transaction, which have no documents yet, from the
    values just written: (record id, an object with the record's key and text fields, such as
    the validated input). Same documents as `reindex`, without deleting or reading back."""
    names = _TEXT_COLUMNS[entity]
    rows = [_document(entity, rid, record.key, [getattr(record, name) for name in names])
            for rid, record in records]
    if rows:
        with _bulk_fts(session, len(rows)):
            session.execute(insert(_TABLE), rows)


def _stored_documents(session: Session, entity: str, ids: list[int]) -> list[dict[str, Any]]:
    model: Any = Risk if entity == "risk" else Measure
    columns = [getattr(model, name) for name in _TEXT_COLUMNS[entity]]
    return [_document(entity, rid, key, values) for rid, key, *values in session.execute(
        select(model.id, model.key, *columns).where(model.id.in_(ids)))]


def _document(entity: str, record_id: int, key: str, values: list[Any]) -> dict[str, Any]:
    """The search_documents row of a record from its text fields (in `_TEXT_COLUMNS` order)."""
    title = _TEXT_COLUMNS[entity].index("title")
    values = [*values[:title], *[values[title]] * _TITLE_REPEAT, *values[title + 1 :]]
    texts = _texts(values)
    return {
        "entity": entity, "record_id": record_id, "key": key,
        "text_en": " ".join([key, *texts.pop("en", [])]),
        "text_ru": " ".join(texts.pop("ru", [])),
        "text_other": " ".join(t for lang in sorted(texts) for t in texts[lang]),
    }


# SQLite: FTS5 indexes a large batch of new documents in one INSERT ... SELECT about three
# times faster than through the per-row trigger (40,000 documents: 3 s instead of 9 s).
BULK_FTS = 1000  # documents
_FTS_INSERT_TRIGGER = "search_documents_ai"


@contextmanager
def _bulk_fts(session: Session, documents: int) -> Iterator[None]:
    """On SQLite, for a large batch: index the documents inserted inside this block in one
    statement instead of row by row. SQLite cannot switch a trigger off for a statement, so
    the insert trigger is dropped and created again from its stored SQL; DDL is part of the
    transaction, so a failed write rolls the trigger back too and readers never miss it."""
    if documents < BULK_FTS or not _in_sqlite_transaction(session):
        yield
        return
    trigger = session.scalar(sql_text(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"
    ), {"name": _FTS_INSERT_TRIGGER})
    if trigger is None:  # no full-text index on this database (not created by migrations)
        yield
        return
    last = session.scalar(select(func.coalesce(func.max(SearchDocument.id), 0)))
    session.execute(sql_text(f"DROP TRIGGER {_FTS_INSERT_TRIGGER}"))
    try:
        yield
    finally:  # also after a failed insert, should the caller go on and commit
        # New rows get ids above the largest one before (INTEGER PRIMARY KEY, one writer).
        session.execute(sql_text(
            "INSERT INTO search_fts(rowid, text_en, text_ru, text_other) "
            "SELECT id, text_en, text_ru, text_other FROM search_documents WHERE id > :last"
        ), {"last": last})
        session.execute(sql_text(trigger))


def _in_sqlite_transaction(session: Session) -> bool:
    """True on SQLite once the transaction has begun. Python's sqlite3 (before 3.12) begins it
    only at the first INSERT, UPDATE or DELETE; DDL before that would be committed at once."""
    if session.get_bind().dialect.name != "sqlite":
        return False
    return bool(session.connection().connection.driver_connection.in_transaction)  # type: ignore[union-attr]


def reindex_all(session: Session) -> None:
    """Rebuild every search document (after a change to how documents are built)."""
    for entity, model in (("risk", Risk), ("measure", Measure)):
        reindex(session, entity, session.scalars(select(model.id)).all())


# --- query parsing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One word, or a phrase of words that must appear next to each other, in order."""

    words: tuple[str, ...]

    def websearch(self) -> str:
        # Always quoted, so that a word such as "or" is never read as an operator.
        return '"' + " ".join(self.words) + '"'


@dataclass
class Group:
    """Terms that must all match (`include`) and terms that must not (`exclude`)."""

    include: list[Term] = field(default_factory=list)
    exclude: list[Term] = field(default_factory=list)


def parse(q: str) -> list[Group]:
    """Read free text as a query: groups separated by OR, each an AND of its terms.

    Accepted: words; "quoted phrases" (an unclosed quote runs to the end); OR (any case) between
    terms; a leading minus to exclude a word or phrase. All other punctuation separates words.
    Groups with nothing to include are dropped, so the result may be empty: then nothing matches.
    """
    text = _fold(q)
    groups = [Group()]
    budget = MAX_WORDS
    for m in _CHUNK_RE.finditer(text):
        if m.group(2) is not None:
            negated, chunk, quoted = bool(m.group(1)), m.group(2), True
        else:
            negated, chunk, quoted = bool(m.group(3)), m.group(4), False
        if not quoted and not negated and chunk.lower() == "or":
            if groups[-1].include or groups[-1].exclude:
                groups.append(Group())
            continue
        words = tuple(_WORD.findall(chunk))[:budget]
        if not words:
            continue
        budget -= len(words)
        (groups[-1].exclude if negated else groups[-1].include).append(Term(words))
        if budget <= 0:
            break
    return [g for g in groups if g.include]


# A light Russian stemmer for SQLite, whose porter tokenizer stems English only: the longest
# inflectional ending is removed (keeping at least three letters) and the rest matches as a
# prefix, so "граница" finds "границе" and "пограничные" finds "пограничный".
_RU_REFLEXIVE = ("ся", "сь")
_RU_ENDINGS = tuple(sorted({
    # adjectives and participles
    "ее", "ие", "ые", "ое", "ими", "ыми", "ей", "ий", "ый", "ой", "ем", "им", "ым", "ом",
    "его", "ого", "ему", "ому", "их", "ых", "ую", "юю", "ая", "яя", "ою", "ею",
    # nouns
    "а", "ев", "ов", "ье", "е", "иями", "ями", "ами", "еи", "ии", "и", "ией", "й", "иям",
    "ям", "ием", "ам", "о", "у", "ах", "иях", "ях", "ы", "ь", "ию", "ью", "ю", "ия", "ья", "я",
    # verbs
    "ла", "на", "ете", "йте", "ли", "ло", "но", "ет", "ют", "ны", "ть", "ешь", "ила", "ыла",
    "ена", "ейте", "уйте", "ите", "или", "ыли", "уй", "ил", "ыл", "ен", "ило", "ыло", "ено",
    "ят", "ует", "уют", "ит", "ыт", "ены", "ить", "ыть", "ишь", "ать", "ять",
}, key=len, reverse=True))
_RU_MIN_STEM = 3


def ru_stem(word: str) -> str:
    """Strip one Russian inflectional ending (after a reflexive -ся/-сь) from a lower-case word."""
    for ending in _RU_REFLEXIVE:
        if word.endswith(ending) and len(word) - len(ending) >= _RU_MIN_STEM:
            word = word[: -len(ending)]
            break
    for ending in _RU_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _RU_MIN_STEM:
            return word[: -len(ending)]
    return word


def _fts5_word(word: str) -> str:
    word = word.lower()
    if _CYRILLIC.search(word):
        word = ru_stem(word)
    quoted = '"' + word.replace('"', '""') + '"'
    return quoted + " *" if len(word) >= PREFIX_MIN else quoted


def _fts5_term(term: Term) -> str:
    return " + ".join(_fts5_word(w) for w in term.words)


def fts5_query(groups: Sequence[Group]) -> str:
    """The FTS5 MATCH expression of a parsed query: every token quoted, operators ours only."""
    parts = []
    for group in groups:
        expr = "(" + " AND ".join(_fts5_term(t) for t in group.include) + ")"
        if group.exclude:
            expr = f"({expr} NOT ({' OR '.join(_fts5_term(t) for t in group.exclude)}))"
        parts.append(expr)
    return " OR ".join(parts)


# --- querying --------------------------------------------------------------------------------


def _model(entity: str) -> Any:
    if entity not in ENTITIES:
        raise ValueError(f"entity must be one of {', '.join(ENTITIES)}, not {entity!r}")
    return Risk if entity == "risk" else Measure


def _regconfig(name: str) -> ColumnElement[Any]:
    # A constant, not a bound parameter: the expression must equal the index expression.
    return literal_column(f"'{name}'::regconfig")


def pg_document() -> ColumnElement[Any]:
    """The tsvector of a search document, exactly as the GIN index ix_search_documents_tsv."""
    columns = (SearchDocument.text_en, SearchDocument.text_ru, SearchDocument.text_other)
    vectors = [func.to_tsvector(_regconfig(cfg), col, type_=TSVECTOR)
               for cfg, col in zip(_PG_CONFIGS, columns, strict=True)]
    return reduce(lambda a, b: a.op("||", return_type=TSVECTOR)(b), vectors)


def _pg_any_config(text: str) -> ColumnElement[Any]:
    queries = [func.websearch_to_tsquery(_regconfig(cfg), literal(text), type_=TSQUERY)
               for cfg in _PG_CONFIGS]
    return reduce(lambda a, b: func.tsquery_or(a, b, type_=TSQUERY), queries)


def pg_query(groups: Sequence[Group]) -> ColumnElement[Any]:
    """The tsquery of a parsed query: per group, the included terms in any of the three
    configurations, and none of the excluded terms in any configuration."""
    alternatives = []
    for group in groups:
        expr = _pg_any_config(" ".join(t.websearch() for t in group.include))
        for term in group.exclude:
            expr = func.tsquery_and(
                expr, func.tsquery_not(_pg_any_config(term.websearch()), type_=TSQUERY),
                type_=TSQUERY)
        alternatives.append(expr)
    return reduce(lambda a, b: func.tsquery_or(a, b, type_=TSQUERY), alternatives)


_FTS = table("search_fts")
_FTS_REF: ColumnElement[Any] = literal_column("search_fts")
_FTS_ROWID: ColumnElement[Any] = literal_column("search_fts.rowid")


def _matches(
    session: Session, scope: Scope, groups: Sequence[Group], entity: str,
    where: Sequence[ColumnElement[bool]],
) -> tuple[Select[Any], ColumnElement[Any]]:
    """Ids of the records of `entity` matching the query that the scope allows (unordered),
    and the rank expression to add to it (higher is better)."""
    model = _model(entity)
    allowed = scope.risks if entity == "risk" else scope.measures
    doc = SearchDocument
    if session.get_bind().dialect.name == "postgresql":
        tsquery = pg_query(groups)
        vector = pg_document()
        rank: ColumnElement[Any] = func.ts_rank(vector, tsquery)
        stmt = (select(doc.record_id)
                .join(model, model.id == doc.record_id)
                .where(vector.op("@@")(tsquery)))
    else:
        rank = -func.bm25(_FTS_REF)  # equal weights for text_en, text_ru, text_other
        stmt = (select(doc.record_id).select_from(_FTS)
                .join(doc, doc.id == _FTS_ROWID)
                .join(model, model.id == doc.record_id)
                .where(_FTS_REF.op("MATCH")(fts5_query(groups))))
    return stmt.where(doc.entity == entity, allowed, *where), rank


def search(
    session: Session, scope: Scope, q: str, entity: str, limit: int | None = None,
    offset: int = 0, *, where: Sequence[ColumnElement[bool]] = (),
) -> tuple[int, list[tuple[int, float]]]:
    """Total matches the scope allows and one page of (record id, rank), best first.

    `entity` is "risk" or "measure"; `where` adds conditions on Risk or Measure columns (list
    filters). A query without any word to look for (empty, blank, punctuation only, or only
    exclusions) matches nothing: (0, []). Ranks are higher for better matches and comparable
    only within one result list (bm25 on SQLite, ts_rank on PostgreSQL); ties go by key.
    """
    model = _model(entity)
    groups = parse(q)
    if not groups:
        return 0, []
    stmt, rank = _matches(session, scope, groups, entity, where)
    if session.get_bind().dialect.name == "sqlite":
        # Count with the full-text match as a rowid set evaluated once: joined, SQLite's
        # planner may run MATCH once per allowed record when its statistics are missing or
        # stale (3.5 s instead of 13 ms for a common word on 10,000 risks).
        allowed = scope.risks if entity == "risk" else scope.measures
        matched = select(_FTS_ROWID).select_from(_FTS).where(
            _FTS_REF.op("MATCH")(fts5_query(groups)))
        counted = (select(func.count()).select_from(SearchDocument)
                   .join(model, model.id == SearchDocument.record_id)
                   .where(SearchDocument.id.in_(matched), SearchDocument.entity == entity,
                          allowed, *where))
        total = session.scalar(counted)
    else:
        total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = stmt.add_columns(rank).order_by(rank.desc(), model.key).offset(offset)
    if limit is not None:
        page = page.limit(limit)
    return int(total or 0), [(int(rid), float(r)) for rid, r in session.execute(page)]
