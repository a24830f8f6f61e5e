"""Full-text search: keep one search document per record, query it with the dialect's engine."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from riskatlas.catalog.models import Measure, Risk
from riskatlas.search.models import SearchDocument

CHUNK = 500
_TEXT_COLUMNS = {
    "risk": ("title", "summary", "rationale", "drivers", "warning_signs"),
    "measure": ("title", "summary"),
}


def _texts(values: Iterable[Any]) -> dict[str, list[str]]:
    """Collect multilingual texts ({lang: text}, or lists of them) by language."""
    out: dict[str, list[str]] = {}
    for value in values:
        items = value if isinstance(value, list) else [value]
        for item in items:
            for lang, text in (item or {}).items():
                out.setdefault(lang, []).append(text)
    return out


def reindex(session: Session, entity: str, record_ids: Iterable[int]) -> None:
    """Rebuild the search documents of the given records (call after every write)."""
    model: Any = Risk if entity == "risk" else Measure
    ids = list(record_ids)
    columns = [getattr(model, name) for name in _TEXT_COLUMNS[entity]]
    for i in range(0, len(ids), CHUNK):
        part = ids[i : i + CHUNK]
        session.execute(delete(SearchDocument).where(
            SearchDocument.entity == entity, SearchDocument.record_id.in_(part)))
        rows = []
        for rid, key, *values in session.execute(
            select(model.id, model.key, *columns).where(model.id.in_(part))
        ):
            texts = _texts(values)
            rows.append({
                "entity": entity, "record_id": rid, "key": key,
                "text_en": " ".join([key, *texts.pop("en", [])]),
                "text_ru": " ".join(texts.pop("ru", [])),
                "text_other": " ".join(t for lang in sorted(texts) for t in texts[lang]),
            })
        if rows:
            session.execute(insert(SearchDocument.__table__), rows)
