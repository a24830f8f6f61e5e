from __future__ import annotations

from sqlalchemy import Index, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from riskatlas.db import Base


class SearchDocument(Base):
    """Searchable terms of one risk or measure, rebuilt on every write of that record.

    The terms are the record's words folded, lower-cased and stemmed by our code
    (riskatlas.search.terms), the same on both databases. The full-text index is
    dialect-specific and made by migrations (0002, 0007): on SQLite the terms are `text_en`,
    `text_ru` and `text_other` (separated by spaces), the content of one FTS5 table per entity;
    on PostgreSQL they are `tsv`, a tsvector written by our code, with a GIN index
    (one partial index per entity, ix_search_documents_tsv_<entity>: 0016), and the text
    columns stay empty. `tsv` is NULL on SQLite.
    """

    __tablename__ = "search_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int]
    key: Mapped[str] = mapped_column(String(32))
    text_en: Mapped[str] = mapped_column(Text, default="")
    text_ru: Mapped[str] = mapped_column(Text, default="")
    text_other: Mapped[str] = mapped_column(Text, default="")
    tsv: Mapped[str | None] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"))

    __table_args__ = (Index("ix_search_documents_record", "entity", "record_id", unique=True),)
