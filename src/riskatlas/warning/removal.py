"""Removing the events a source has withdrawn: ACLED deletes and merges events between
releases and publishes their ids (its API's `deleted` answer: `event_id_cnty`,
`deleted_timestamp`); a re-import cannot tell a withdrawn event from one the file leaves out.

Two phases, as an import: the whole list is read and checked first (`file:line: column:
reason` for each problem, nothing removed), then every listed event of that source goes in one
transaction, with the record shares that named them. Ids not stored are counted, not refused:
a list of deletions covers events this node may never have imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from riskatlas.sharing.models import RecordShare
from riskatlas.warning import batches, inputs
from riskatlas.warning.ingest import MAX_FIELD, EventImportError, is_hxl
from riskatlas.warning.models import Event, WarningMark

# The column that names an event, by source's own name first (ACLED's deleted events, UCDP
# GED's and GDELT's ids), then ours.
ID_COLUMNS = ("event_id_cnty", "id", "globaleventid", "source_id")
CHUNK = 500  # ids per statement


@dataclass
class Removed:
    listed: int
    deleted: int

    @property
    def absent(self) -> int:
        return self.listed - self.deleted

    def summary(self) -> str:
        return (f"{self.listed} id(s) listed: {self.deleted} event(s) deleted, "
                f"{self.absent} not stored")


def read_ids(path: Path) -> list[str]:
    """The ids the file lists, each once, in its order; EventImportError names every
    problem."""
    problems: list[str] = []
    ids: dict[str, int] = {}
    try:
        rows = iter(inputs.rows(path, ",", True, MAX_FIELD, None, 10_000))
        header: list[str] | None = None
        for line, raw, problem in rows:
            if problem is not None:
                raise EventImportError([f"{path}:{line}: header: {problem}"])
            if raw and raw != [""]:
                header = [h.strip().lower() for h in raw]
                break
        if header is None:
            raise EventImportError([f"{path}:1: header: the file is empty"])
        column = next((c for c in ID_COLUMNS if c in header), None)
        if column is None:
            raise EventImportError([f"{path}:1: header: no id column (one of "
                                    f"{', '.join(ID_COLUMNS)})"])
        at = header.index(column)
        first = True
        for line, raw, problem in rows:
            if raw is None:
                problems.append(f"{path}:{line}: {problem}")
                continue
            if not raw or raw == [""] or (first and is_hxl(raw)):
                continue
            first = False
            value = raw[at].strip() if at < len(raw) else ""
            if not value:
                problems.append(f"{path}:{line}: {column}: required, but empty")
            elif len(value) > 200:
                problems.append(f"{path}:{line}: {column}: longer than 200 characters")
            else:
                ids.setdefault(value, line)
    except inputs.InputError as exc:
        raise EventImportError([f"{path}:1: file: {exc}"]) from None
    if problems:
        raise EventImportError(problems)
    return list(ids)


def remove(session: Session, source: str, ids: Sequence[str]) -> Removed:
    """Delete the listed events of `source` in the caller's transaction. The next
    `warning run --changed` then evaluates everything again: its watermark cannot see where
    an event was taken from (warning.changes)."""
    deleted = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        found = list(session.scalars(select(Event.id).where(Event.source == source,
                                                            Event.source_id.in_(chunk))))
        if not found:
            continue
        session.execute(delete(RecordShare).where(RecordShare.entity == "event",
                                                  RecordShare.record_id.in_(found)))
        session.execute(delete(Event).where(Event.id.in_(found)))
        deleted += len(found)
    # the events a batch holds (warning.batches) are listed as dead there
    in_batches = batches.live_ids(session, source, ids)
    batches.retire(session, batches.by_batch(in_batches, in_batches))
    deleted += len(in_batches)
    if deleted:
        session.execute(delete(WarningMark))
    return Removed(len(ids), deleted)
