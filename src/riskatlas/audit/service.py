"""The audit trail: append entries to a SHA-256 hash chain, and verify the chain.

Each entry's hash covers its own fields and the previous entry's hash, so changing or deleting
any row breaks every hash after it; the head row (last seq and hash) also catches a deleted tail.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from riskatlas.audit.models import AuditEntry, AuditHead
from riskatlas.db import utcnow

GENESIS = "0" * 64
CHUNK = 1000
_LOG = cast(Table, AuditEntry.__table__)
log = logging.getLogger("riskatlas.audit")  # operations.logs renders it (JSON) in the server


@dataclass(frozen=True)
class Who:
    """The author of a write: a username (or cli, import, library), their org and address."""

    actor: str | None
    org: str | None = None
    address: str | None = None


SYSTEM = Who("system")


def _stamp(at: datetime) -> str:
    if at.tzinfo is None:  # SQLite hands back naive datetimes; they were written as UTC
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    body = {k: fields.get(k) for k in (
        "seq", "actor", "org", "address", "action", "entity", "key", "before", "after", "detail")}
    body["at"] = _stamp(fields["at"])
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


def ensure_head(session: Session) -> None:
    if session.get(AuditHead, 1) is None:
        session.add(AuditHead(id=1, seq=0, hash=GENESIS))
        session.flush()


def append_many(session: Session, who: Who, entries: list[dict[str, Any]]) -> None:
    """Append entries (action, entity, key, before, after, detail) in one locked step."""
    if not entries:
        return
    # Touch the head first: this takes SQLite's write lock or PostgreSQL's row lock, so two
    # writers never read the same previous hash.
    locked = session.execute(update(AuditHead).where(AuditHead.id == 1)
                             .values(seq=AuditHead.seq)).rowcount  # type: ignore[attr-defined]
    if not locked:
        ensure_head(session)
    seq, prev = session.execute(select(AuditHead.seq, AuditHead.hash)
                                .where(AuditHead.id == 1)).one()
    rows = []
    now = utcnow()
    for entry in entries:
        seq += 1
        fields = {"seq": seq, "at": now, "actor": who.actor, "org": who.org,
                  "address": who.address, "entity": None, "key": None, "before": None,
                  "after": None, "detail": None, **entry}
        fields["hash"] = entry_hash(prev, fields)
        fields["prev_hash"] = prev
        prev = fields["hash"]
        rows.append(fields)
    for i in range(0, len(rows), CHUNK):  # the table, not the entity: no ORM bulk overhead
        session.execute(insert(_LOG), rows[i : i + CHUNK])
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))
    if log.isEnabledFor(logging.INFO):  # one line per append, in the writer's transaction
        actions: dict[str, int] = {}
        for entry in entries:
            actions[entry["action"]] = actions.get(entry["action"], 0) + 1
        log.info("audit.append", extra={"actor": who.actor, "org": who.org,
                                        "seq": [seq - len(entries) + 1, seq],
                                        "actions": actions})


def append(
    session: Session, *, actor: str | None, org: str | None = None, address: str | None = None,
    action: str, entity: str | None = None, key: str | None = None,
    before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
    detail: str | None = None,
) -> None:
    """Append one entry (logins, account changes)."""
    append_many(session, Who(actor, org, address), [{
        "action": action, "entity": entity, "key": key, "before": before, "after": after,
        "detail": detail}])


def _in_order(session: Session) -> Iterator[AuditEntry]:
    """Every entry by seq, a page at a time (keyset paging: no open server-side cursor)."""
    last = -1
    while True:
        page = session.scalars(select(AuditEntry).where(AuditEntry.seq > last)
                               .order_by(AuditEntry.seq).limit(CHUNK)).all()
        yield from page
        if len(page) < CHUNK:
            return
        last = page[-1].seq
        session.expunge_all()


@dataclass
class Verdict:
    ok: bool
    entries: int
    broken_seq: int | None = None
    reason: str = ""


def verify(session: Session) -> Verdict:
    """Walk the chain from the start; name the first entry that does not hold."""
    prev, expected, count = GENESIS, 1, 0
    for row in _in_order(session):
        count += 1
        if row.seq != expected:
            return Verdict(False, count, expected, f"entry {expected} is missing "
                           f"(next entry found is {row.seq})")
        if row.prev_hash != prev:
            return Verdict(False, count, row.seq, "previous-hash link does not match")
        fields = {c: getattr(row, c) for c in (
            "seq", "at", "actor", "org", "address", "action", "entity", "key", "before",
            "after", "detail")}
        if entry_hash(prev, fields) != row.hash:
            return Verdict(False, count, row.seq, "contents do not match the entry's hash")
        prev, expected = row.hash, expected + 1
    head = session.get(AuditHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if (head_seq, head_hash) != (expected - 1, prev):
        return Verdict(False, count, expected, f"the log ends at entry {expected - 1} but "
                       f"the head records entry {head_seq}: entries were removed from the end")
    return Verdict(True, count)


def latest(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit))
    return [{"seq": r.seq, "at": _stamp(r.at), "actor": r.actor, "org": r.org,
             "address": r.address, "action": r.action, "entity": r.entity, "key": r.key,
             "detail": r.detail, "hash": r.hash} for r in rows]
