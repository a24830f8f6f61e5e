"""The TAXII 2.1 server against the real OASIS client (taxii2-client) on a live node on
loopback: discovery, collections, paging through every object, added_after, match[type],
POST then status, Basic and bearer credentials, and a partner who never receives AMBER."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from riskatlas.config import Settings
from riskatlas.exchange import collections as known
from riskatlas.exchange.peers import Bearer
from riskatlas.exchange.stix_common import stix_id
from riskatlas.parties import accounts
from riskatlas.runtime import Runtime
from riskatlas.sharing.policy import scope_for

from .live import AMBER_MEASURE, AMBER_RISK, AMBER_WORD, PASSWORD, Node
from .live import node as node  # the fixture

MEDIA = "application/taxii+json;version=2.1"


def _root(node: Node, user: str, bearer: bool = False) -> ApiRoot:
    auth: dict[str, Any] = ({"auth": Bearer(node.tokens[user])} if bearer
                            else {"user": user, "password": PASSWORD})
    server = Server(f"{node.url}/taxii2/", **auth)
    assert len(server.api_roots) == 1
    return server.api_roots[0]


def _collection(root: ApiRoot, title: str) -> Collection:
    found = [c for c in root.collections if c.title == title]
    assert len(found) == 1, [c.title for c in root.collections]
    return found[0]


def _expected(node: Node, user: str) -> list[str]:
    """The ids of the catalog collection as the export computes them for this reader."""
    runtime = Runtime(Settings(database_url=node.db_url))
    with runtime.sessions() as session:
        principal = accounts.principal_for(session, accounts._user(session, user))
        objects = known.catalog_objects(session, scope_for(principal), runtime.settings)
        return sorted(o["id"] for o in objects)


def _everything(collection: Collection, per_request: int, **filters: Any,
                ) -> Iterator[dict[str, Any]]:
    for envelope in as_pages(collection.get_objects, per_request=per_request, **filters):
        yield from envelope.get("objects", [])


def test_discovery_collections_and_paging_every_object(node: Node) -> None:
    root = _root(node, "kaz", bearer=True)
    assert MEDIA in root.versions
    catalog = _collection(root, "Catalog")
    assert catalog.can_read and catalog.can_write
    assert not _collection(root, "Alerts").can_write
    seen = [o["id"] for o in _everything(catalog, 25)]
    assert len(seen) == len(set(seen)) > 100  # every object once
    assert sorted(seen) == _expected(node, "kaz")
    assert stix_id("x-riskatlas-risk", AMBER_RISK) in seen


def test_added_after_and_match_type(node: Node) -> None:
    catalog = _collection(_root(node, "kaz"), "Catalog")
    manifest = catalog.get_manifest()["objects"]
    added = sorted(m["date_added"] for m in manifest)
    middle = added[len(added) // 2]
    later = list(_everything(catalog, 40, added_after=middle))
    assert later and len(later) == sum(1 for a in added if a > middle)
    measures = list(_everything(catalog, 30, type="course-of-action"))
    assert measures and {o["type"] for o in measures} == {"course-of-action"}
    one = measures[0]
    got = catalog.get_object(one["id"])["objects"]
    assert [o["id"] for o in got] == [one["id"]]
    assert catalog.object_versions(one["id"])["versions"] == [one["modified"]]


def test_headers_media_type_and_refusals(node: Node) -> None:
    with node.client("kaz") as kaz:
        root = kaz.get("/taxii2/").json()["api_roots"][0]
        cols = kaz.get(f"{root}collections/", headers={"Accept": MEDIA})
        assert cols.headers["content-type"] == MEDIA
        cid = cols.json()["collections"][0]["id"]
        page = kaz.get(f"{root}collections/{cid}/objects/", params={"limit": 3})
        assert page.headers["content-type"] == MEDIA and page.json()["more"] is True
        objects = page.json()["objects"]
        assert page.headers["X-TAXII-Date-Added-First"] <= page.headers[
            "X-TAXII-Date-Added-Last"]
        assert len(objects) == 3
        assert kaz.get(f"{root}collections/{cid}/objects/",
                       headers={"Accept": "text/html"}).status_code == 406
        missing = kaz.get(f"{root}collections/not-a-collection/objects/")
        assert missing.status_code == 404 and missing.json()["http_status"] == "404"
        assert kaz.get(f"{root}collections/{cid}/objects/",
                       params={"limit": "x"}).status_code == 400
    wrong = httpx.get(f"{node.url}/taxii2/", auth=("kaz", "not-the-password"))
    assert wrong.status_code == 401 and "Basic" in wrong.headers["www-authenticate"]
    # Basic is taken by the TAXII server only
    assert httpx.get(f"{node.url}/api/v1/risks", auth=("kaz", PASSWORD)).status_code == 401


def test_a_partner_does_not_receive_amber_records(node: Node) -> None:
    for bearer in (False, True):
        catalog = _collection(_root(node, "sau", bearer), "Catalog")
        assert not catalog.can_write  # a viewer
        objects = list(_everything(catalog, 50))
        ids = {o["id"] for o in objects}
        assert stix_id("x-riskatlas-risk", AMBER_RISK) not in ids
        assert stix_id("course-of-action", AMBER_MEASURE) not in ids
        assert sorted(ids) == _expected(node, "sau")
        assert AMBER_WORD not in str(objects)
        with pytest.raises(requests.HTTPError) as caught:
            catalog.get_object(stix_id("x-riskatlas-risk", AMBER_RISK))
        assert caught.value.response.status_code == 404


GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
FOREIGN_COA = {"type": "course-of-action", "spec_version": "2.1",
               "id": "course-of-action--4d7c7a86-6d7e-4d4c-9a2e-2c6f4a0b9a11",
               "created": "2025-03-01T10:00:00.000Z", "modified": "2025-03-01T10:00:00.000Z",
               "name": "Joint water-sharing hotline", "description": "A standing channel.",
               "object_marking_refs": [GREEN],
               "external_references": [{"source_name": "osce", "url": "https://osce.org/x"}]}
ODD = {"type": "x-unknown-thing", "spec_version": "2.1",
       "id": "x-unknown-thing--0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9",
       "created": "2025-03-01T10:00:00.000Z", "modified": "2025-03-01T10:00:00.000Z"}


def test_post_then_status_and_the_object_is_served(node: Node) -> None:
    catalog = _collection(_root(node, "kaz"), "Catalog")
    status = catalog.add_objects({"objects": [FOREIGN_COA, ODD]})
    assert status.status == "complete"
    assert (status.total_count, status.success_count, status.failure_count) == (2, 1, 1)
    assert [s["id"] for s in status.successes] == [FOREIGN_COA["id"]]
    assert status.failures[0]["id"] == ODD["id"]
    status.refresh()  # GET .../status/{id}/ from the audit trail
    assert status.success_count == 1
    names = {o.get("name") for o in _everything(catalog, 100, type="course-of-action")}
    assert FOREIGN_COA["name"] in names
    # a viewer may not add, and an unsigned request may not either
    assert not _collection(_root(node, "sau"), "Catalog").can_write
    with node.client("sau") as sau:  # the server refuses it too, not only the client
        refused = sau.post(f"{catalog.url}objects/", content=b'{"objects": []}',
                           headers={"Content-Type": MEDIA})
        assert refused.status_code == 403, refused.text
    anonymous = httpx.post(f"{catalog.url}objects/", content=b'{"objects": []}',
                           headers={"Content-Type": MEDIA})
    assert anonymous.status_code == 401
    with node.client("kaz") as kaz:
        form = kaz.post(f"{catalog.url}objects/", content=b"objects=1",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert form.status_code == 415
        other = kaz.get(f"{node.url}/taxii2/riskatlas/status/{status.id}/")
        assert other.status_code == 200
    with node.client("sec") as sec:  # a status is its poster's
        assert sec.get(f"{node.url}/taxii2/riskatlas/status/{status.id}/").status_code == 404
