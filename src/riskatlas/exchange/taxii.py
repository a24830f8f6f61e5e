"""TAXII 2.1 collections: the STIX objects a reader may see, paged, filtered and described.

A collection is a source of STIX objects read through the caller's sharing scope (the catalog,
the alerts). What a page needs is kept per process as `Entry`s sorted by (date added, id), for
one reader and one state of the data (`Store`): paging 100,000 objects is then a bisection and a
slice per page, not a new export per request. The paging cursor (`next`) names the last object
of the page, not an offset, so a page is the same whatever was added since.

Written by hand rather than with medallion (the OASIS server): medallion keeps its own object
store outside our database and sharing policy, and its memory backend pages in quadratic time.
"""

from __future__ import annotations

import base64
import bisect
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from riskatlas.config import Settings
from riskatlas.sharing.policy import Scope

MEDIA_TAXII = "application/taxii+json;version=2.1"
MEDIA_STIX = "application/stix+json;version=2.1"
DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000
NAMESPACE = uuid.UUID("7a3c2b1e-5f6d-4e8a-9b0c-1d2e3f4a5b6c")  # collection ids, stable

Source = Callable[[Session, Scope, Settings], Iterable[dict[str, Any]]]


class TaxiiError(Exception):
    """A request TAXII answers with an error message resource."""

    def __init__(self, status: int, title: str, description: str = "") -> None:
        super().__init__(title)
        self.status, self.title, self.description = status, title, description

    def resource(self) -> dict[str, Any]:
        return {"title": self.title, "description": self.description,
                "http_status": str(self.status)}


@dataclass(frozen=True)
class Collection:
    key: str  # our name for it: "catalog", "alerts"
    title: str
    description: str
    source: Source
    writable: bool = False

    @property
    def id(self) -> str:
        return str(uuid.uuid5(NAMESPACE, self.key))

    def resource(self, can_write: bool) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "description": self.description,
                "can_read": True, "can_write": self.writable and can_write,
                "media_types": [MEDIA_STIX]}


def timestamp(value: str | datetime) -> str:
    """A STIX/TAXII timestamp, UTC with milliseconds: `2024-05-04T10:00:00.000Z`."""
    at = value if isinstance(value, datetime) else parse_time(value)
    at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def parse_time(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise TaxiiError(400, "Bad timestamp", f"not an RFC 3339 timestamp: {value!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Entry:
    """One object of a collection: what filters and manifests need, and its JSON."""

    added: str  # date added (the version's time: records are added when they change)
    id: str
    type: str
    version: str
    spec_version: str
    body: bytes

    @property
    def key(self) -> tuple[str, str]:
        return (self.added, self.id)


def entries(objects: Iterable[dict[str, Any]]) -> list[Entry]:
    """The objects as entries in (date added, id) order. Marking definitions and other objects
    without `modified` are versioned by `created`."""
    out = []
    for obj in objects:
        version = timestamp(obj.get("modified") or obj.get("created")
                            or "1970-01-01T00:00:00Z")
        out.append(Entry(version, obj["id"], obj["type"], version,
                         obj.get("spec_version", "2.1"), orjson.dumps(obj)))
    out.sort(key=lambda e: e.key)
    return out


@dataclass(frozen=True)
class Query:
    """The filters of an objects, manifest or versions request (TAXII 2.1, section 3.4)."""

    added_after: str | None = None
    limit: int = DEFAULT_LIMIT
    next: str | None = None
    ids: frozenset[str] | None = None
    types: frozenset[str] | None = None
    versions: frozenset[str] = frozenset({"last"})
    spec_versions: frozenset[str] | None = None

    def keeps(self, e: Entry) -> bool:
        if self.ids is not None and e.id not in self.ids:
            return False
        if self.types is not None and e.type not in self.types:
            return False
        if self.spec_versions is not None and e.spec_version not in self.spec_versions:
            return False
        # One version of each object is held (its latest): first, last and all are it.
        return bool(self.versions & {"all", "first", "last", e.version})


def _split(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(v.strip() for v in value.split(",") if v.strip())


def query(params: dict[str, str]) -> Query:
    """A Query from the request's parameters; TaxiiError 400 for a bad one."""
    limit = DEFAULT_LIMIT
    if "limit" in params:
        try:
            limit = int(params["limit"])
        except ValueError:
            raise TaxiiError(400, "Bad limit", "limit: a positive integer") from None
        if limit < 1:
            raise TaxiiError(400, "Bad limit", "limit: a positive integer")
    versions = {timestamp(v) if v not in {"all", "first", "last"} else v
                for v in _split(params.get("match[version]")) or {"last"}}
    after = params.get("added_after")
    return Query(added_after=timestamp(after) if after else None, limit=min(limit, MAX_LIMIT),
                 next=params.get("next"), ids=_split(params.get("match[id]")),
                 types=_split(params.get("match[type]")), versions=frozenset(versions),
                 spec_versions=_split(params.get("match[spec_version]")))


def _cursor(e: Entry) -> str:
    return base64.urlsafe_b64encode(f"{e.added}|{e.id}".encode()).decode().rstrip("=")


def _after(value: str) -> tuple[str, str]:
    try:
        added, _, ident = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode(
        ).partition("|")
    except (ValueError, UnicodeDecodeError):
        raise TaxiiError(400, "Bad next", "next: not a value this server gave") from None
    if not ident:
        raise TaxiiError(400, "Bad next", "next: not a value this server gave")
    return (added, ident)


@dataclass
class Page:
    items: list[Entry]
    more: bool
    next: str | None

    def headers(self) -> dict[str, str]:
        if not self.items:
            return {}
        return {"X-TAXII-Date-Added-First": self.items[0].added,
                "X-TAXII-Date-Added-Last": self.items[-1].added}


def page(found: list[Entry], q: Query) -> Page:
    """The page of `found` (sorted) that `q` asks for: after its cursor or `added_after`,
    at most `limit` matching entries, and whether more match after them."""
    start = 0
    if q.next:
        start = bisect.bisect_right(found, _after(q.next), key=lambda e: e.key)
    elif q.added_after:
        start = bisect.bisect_right(found, (q.added_after, "\uffff"), key=lambda e: e.key)
    items: list[Entry] = []
    more = False
    plain = q.ids is None and q.types is None and q.spec_versions is None and (
        q.versions & {"all", "first", "last"})
    if plain:  # no filter: a slice
        items = found[start:start + q.limit]
        more = start + q.limit < len(found)
    else:
        for e in found[start:] if start else found:
            if not q.keeps(e):
                continue
            if len(items) == q.limit:
                more = True
                break
            items.append(e)
    return Page(items, more, _cursor(items[-1]) if more and items else None)


def envelope(p: Page) -> bytes:
    """The envelope resource, its objects spliced in as they were serialised once."""
    head = b'{"more":' + (b"true" if p.more else b"false")
    if p.next:
        head += b',"next":' + orjson.dumps(p.next)
    if not p.items:
        return head + b"}"
    return head + b',"objects":[' + b",".join(e.body for e in p.items) + b"]}"


def manifest(p: Page) -> dict[str, Any]:
    out: dict[str, Any] = {"more": p.more}
    if p.next:
        out["next"] = p.next
    if p.items:
        out["objects"] = [{"id": e.id, "date_added": e.added, "version": e.version,
                           "media_type": MEDIA_STIX} for e in p.items]
    return out


def versions(p: Page) -> dict[str, Any]:
    out: dict[str, Any] = {"more": p.more}
    if p.next:
        out["next"] = p.next
    if p.items:
        out["versions"] = [e.version for e in p.items]
    return out


@dataclass
class Store:
    """The entries of recently read collections, per reader and state of the data, in
    memory (bounded: the least recently used go first)."""

    size: int = 8
    _kept: OrderedDict[Hashable, list[Entry]] = field(default_factory=OrderedDict)

    def get(self, key: Hashable, load: Callable[[], list[Entry]]) -> list[Entry]:
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
            return found
        found = load()
        if self.size > 0:
            self._kept[key] = found
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return found


def status(objects: list[dict[str, Any]], stored: Iterable[str],
           failed: dict[str, str]) -> dict[str, Any]:
    """A status resource (complete: an add is done when it answers) for the objects posted:
    those stored, and those refused with why."""
    now = timestamp(datetime.now(UTC))
    done = set(stored)
    successes, failures = [], []
    for obj in objects:
        ident = str(obj.get("id", ""))
        version = obj.get("modified") or obj.get("created")
        item = {"id": ident, **({"version": timestamp(version)} if version else {})}
        if ident in failed or ident not in done:
            failures.append({**item, "message": failed.get(ident, "not stored")})
        else:
            successes.append(item)
    return {"id": str(uuid.uuid4()), "status": "complete", "request_timestamp": now,
            "total_count": len(objects), "success_count": len(successes),
            "successes": successes, "failure_count": len(failures), "failures": failures,
            "pending_count": 0, "pendings": []}
