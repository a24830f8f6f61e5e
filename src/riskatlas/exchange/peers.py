"""Federation: other nodes this node pulls records from over TAXII 2.1.

Each member state runs its own node; a node shows another only what its owners allow (the
peer's account for us decides, through the peer's own sharing policy). `sync` pulls each
readable collection of a peer incrementally (a cursor on `added_after`: the newest date added
already pulled, per collection), with the OASIS client `taxii2-client`, and imports the objects
as a STIX bundle (exchange.stix_import: all of a peer's new objects or none; only the creator's
newer version replaces a record; a record retired at its origin arrives revoked and is retired
here). Provenance: the import's versions and audit entries name the peer (`sync:<name>`) and
the time. A received record keeps its origin's owner organisation and TLP marking, so this
node's sharing policy never shows it beyond that marking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session
from taxii2client.exceptions import TAXIIServiceException
from taxii2client.v21 import ApiRoot, Server, as_pages

from riskatlas.audit.service import Who, append_many
from riskatlas.catalog.matrix import Matrix
from riskatlas.exchange import stix_import
from riskatlas.exchange.models import Peer

PAGE = 1000  # objects per TAXII request
Progress = Callable[[str], None]


class PeerError(ValueError):
    """A peer that cannot be added, found or read (the message says why)."""


class Bearer(requests.auth.AuthBase):
    """requests' auth for an API token (taxii2-client takes any requests auth)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def add_peer(session: Session, name: str, url: str, token: str | None,
             username: str | None = None) -> Peer:
    name = name.strip()
    if not name or len(name) > 64:
        raise PeerError("NAME: 1 to 64 characters")
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise PeerError(f"URL: not an http(s) address: {url!r}")
    if session.scalar(select(Peer.id).where(Peer.name == name)) is not None:
        raise PeerError(f"NAME: a peer {name!r} exists already")
    peer = Peer(name=name, url=url if url.endswith("/") else url + "/", username=username,
                token=token, cursors={})
    session.add(peer)
    append_many(session, Who("cli"), [{"action": "peer.add", "entity": "peer", "key": name,
                                       "detail": f"{peer.url} as {username or 'token'}"}])
    session.flush()
    return peer


def list_peers(session: Session) -> list[dict[str, Any]]:
    return [{"name": p.name, "url": p.url, "auth": "basic" if p.username else "bearer",
             "username": p.username, "synced_at": p.synced_at.isoformat() if p.synced_at
             else None, "collections": len(p.cursors or {})}
            for p in session.scalars(select(Peer).order_by(Peer.name))]


def remove_peer(session: Session, name: str) -> None:
    peer = _peer(session, name)
    session.delete(peer)
    append_many(session, Who("cli"), [{"action": "peer.remove", "entity": "peer",
                                       "key": name}])


def _peer(session: Session, name: str) -> Peer:
    peer = session.scalar(select(Peer).where(Peer.name == name))
    if peer is None:
        raise PeerError(f"no peer {name!r} (riskatlas peers list)")
    return peer


def _roots(peer: Peer) -> list[ApiRoot]:
    auth: dict[str, Any] = ({"user": peer.username, "password": peer.token} if peer.username
                            else {"auth": Bearer(peer.token or "")})
    if urlparse(peer.url).path.rstrip("/").endswith("/taxii2") or not urlparse(
            peer.url).path.strip("/"):
        return list(Server(peer.url, **auth).api_roots)
    return [ApiRoot(peer.url, **auth)]


@dataclass
class Pulled:
    peer: str
    collections: int = 0
    objects: int = 0
    lines: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.peer}: {self.objects} new object(s) from {self.collections} collection(s)"


def pull(peer: Peer, progress: Progress | None = None,
         ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every object the peer added after its cursors, over all its readable collections, and
    the new cursors. Reads only: nothing is written here."""
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    cursors = dict(peer.cursors or {})
    try:
        for root in _roots(peer):
            for collection in root.collections:
                if not collection.can_read:
                    continue
                after = cursors.get(collection.id)
                filters = {"added_after": after} if after else {}
                latest = after
                # The manifest first: its dates added make the next cursor. An object added
                # between the two reads is pulled again next time (an import is idempotent).
                for envelope in as_pages(collection.get_manifest, per_request=PAGE, **filters):
                    for item in envelope.get("objects", []):
                        if latest is None or item["date_added"] > latest:
                            latest = item["date_added"]
                for envelope in as_pages(collection.get_objects, per_request=PAGE, **filters):
                    for obj in envelope.get("objects", []):
                        objects[(obj["id"], str(obj.get("modified", "")))] = obj
                if latest is not None:
                    cursors[collection.id] = latest
                if progress:
                    progress(f"{peer.name}: {collection.title}: {len(objects)} object(s)")
    except (requests.RequestException, TAXIIServiceException, KeyError, ValueError) as exc:
        raise PeerError(f"{peer.name}: cannot read {peer.url}: {exc}") from None
    return list(objects.values()), cursors


def sync(session: Session, matrix: Matrix, name: str, progress: Progress | None = None,
         ) -> Pulled:
    """Pull one peer and import what is new, in the caller's transaction (all or nothing);
    stix_import.StixError when the peer's objects do not import (nothing is written)."""
    peer = _peer(session, name)
    objects, cursors = pull(peer, progress)
    result = Pulled(peer.name, collections=len(cursors), objects=len(objects))
    who = Who(f"sync:{peer.name}"[:64])
    if objects:
        plan = stix_import.plan_import(session, matrix, Path(f"{peer.name}"), objects, None)
        report = stix_import.write_import(session, matrix, plan, who)
        result.lines = report.lines()
    peer.cursors = cursors
    peer.synced_at = datetime.now(UTC)
    append_many(session, who, [{"action": "peer.sync", "entity": "peer", "key": peer.name,
                                "detail": result.summary()}])
    return result


def names(session: Session) -> list[str]:
    return list(session.scalars(select(Peer.name).order_by(Peer.name)))
