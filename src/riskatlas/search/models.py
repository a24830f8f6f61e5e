from __future__ import annotations

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from riskatlas.db import Base


class SearchDocument(Base):
    """Searchable text of one risk or measure, rebuilt on every write of that record.

    The full-text index over it is dialect-specific and created by migration 0002: an FTS5
    table on SQLite, a tsvector expression index on PostgreSQL.
    """

    __tablename__ = "search_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int]
    key: Mapped[str] = mapped_column(String(32))
    text_en: Mapped[str] = mapped_column(Text, default="")
    text_ru: Mapped[str] = mapped_column(Text, default="")
    text_other: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_search_documents_record", "entity", "record_id", unique=True),)
