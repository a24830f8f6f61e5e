"""The API benchmark's baseline: a tiny FastAPI app that answers the same varied URLs as the real
server from an in-memory copy of the catalog: no database, no record building, no sharing SQL.

    BENCH_SNAPSHOT=snapshot.pickle uvicorn baseline_app:create_app --factory --app-dir benchmarks

BENCH_SNAPSHOT names a pickle written by api_load.py (`snapshot`): every risk's JSON exactly
as the real server renders it (bytes), the fields the list filters and sorts read, which risks
each organisation may see, which token belongs to which organisation, and which risks hold each
word. `Catalog` answers from that with set intersections and presorted orders, so the baseline
answers every URL the load draws, with the real records, in pages of the real size:

- a list: the intersection of the filters' sets and the caller's visible set, in the requested
  order (presorted per sort field), the page sliced out and its records' bytes joined;
- a search: the risks holding the word as a whole word (the real search also matches other forms
  of the word, so its totals are at least as large), visible ones, in key order (no ranking);
- a detail: the record's bytes, or a 404 for a key the caller may not see.

The load generator uses the same `Catalog` to know how many pages a list or search has, so that
it can ask for any of them. Run as a script, this module checks a snapshot: `python
baseline_app.py snapshot.pickle`.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response

FILTERS = ("domain", "state", "level", "residual_level", "status", "category")
SORTS = ("key", "level", "residual_level", "likelihood", "impact", "domain", "status",
         "updated_at")
RANKED = ("level", "residual_level", "likelihood", "impact")  # levels: compared as numbers


class Catalog:
    """The snapshot, indexed: per filter field and value the set of risk indices, the visible
    set of each organisation, an order (and a rank) per sort, the word postings."""

    def __init__(self, snap: dict[str, Any]) -> None:
        self.keys: list[str] = snap["keys"]
        self.records: list[bytes] = snap["records"]
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.levels: dict[str, int] = {k.lower(): v for k, v in snap["levels"].items()}
        fields: dict[str, list[Any]] = snap["fields"]
        self.sets: dict[str, dict[Any, frozenset[int]]] = {}
        for name in ("domain", "status", "category", "level", "residual_level"):
            groups: dict[Any, list[int]] = {}
            for i, value in enumerate(fields[name]):
                groups.setdefault(value, []).append(i)
            self.sets[name] = {v: frozenset(ids) for v, ids in groups.items()}
        states: dict[str, list[int]] = {}
        for i, codes in enumerate(snap["states"]):
            for code in codes:
                states.setdefault(code, []).append(i)
        self.sets["state"] = {c: frozenset(ids) for c, ids in states.items()}
        self.visible = {org: frozenset(ids) for org, ids in snap["visible"].items()}
        self.visible_sorted = {org: sorted(ids) for org, ids in snap["visible"].items()}
        self.tokens: dict[str, str] = snap["tokens"]
        self.postings = {w: frozenset(ids) for w, ids in snap["postings"].items()}
        n = len(self.keys)
        self.orders: dict[str, list[int]] = {}
        self.ranks: dict[str, list[int]] = {}
        for name in SORTS:
            column = fields.get(name) if name not in ("key", "updated_at") else None
            for descending in (False, True):
                if column is None:  # by key (updated_at: all records were imported at once)
                    order = list(range(n))[:: -1 if descending else 1]
                else:  # the key breaks ties, ascending, whichever way the field goes
                    order = sorted(range(n), key=column.__getitem__)
                    if descending:
                        order = sorted(order, key=column.__getitem__, reverse=True)
                self.orders[("-" if descending else "") + name] = order
                rank = [0] * n
                for position, i in enumerate(order):
                    rank[i] = position
                self.ranks[("-" if descending else "") + name] = rank

    @classmethod
    def load(cls, path: str | Path) -> Catalog:
        with open(path, "rb") as f:
            return cls(pickle.load(f))

    # --- what a caller asks ---

    def _values(self, name: str, values: Iterable[str]) -> Iterable[Any]:
        if name in ("level", "residual_level"):
            return [self.levels.get(v.strip().lower()) for v in values]
        if name == "state":
            return [v.strip().upper() for v in values]
        return [v.strip().lower() for v in values]

    def select(self, org: str, filters: dict[str, list[str]]) -> frozenset[int] | set[int]:
        """The risks `org` may see that pass every filter (values of one filter: any of them)."""
        groups: list[frozenset[int] | set[int]] = [self.visible[org]]
        for name, values in filters.items():
            sets = self.sets[name]
            found = [sets.get(v, frozenset()) for v in self._values(name, values)]
            groups.append(found[0] if len(found) == 1 else set().union(*found))
        if len(groups) == 1:
            return groups[0]
        groups.sort(key=len)
        return groups[0].intersection(*groups[1:])

    def search(self, org: str, q: str) -> set[int] | frozenset[int]:
        words = q.lower().split()
        found = [self.postings.get(w, frozenset()) for w in words] or [frozenset()]
        return self.visible[org].intersection(*found)

    def page(self, matched: frozenset[int] | set[int], sort: str | None, offset: int,
             limit: int) -> list[int]:
        """The page of `matched` in the order of `sort` (default: key)."""
        sort = sort or "key"
        if len(matched) > 2000:  # walk the presorted order
            order = self.orders[sort]
            return list(islice((i for i in order if i in matched), offset, offset + limit))
        return sorted(matched, key=self.ranks[sort].__getitem__)[offset : offset + limit]

    def body(self, total: int, limit: int, offset: int, ids: list[int]) -> bytes:
        records = self.records
        return b"".join((b'{"total":%d,"limit":%d,"offset":%d,"items":[' % (total, limit, offset),
                         b",".join([records[i] for i in ids]), b"]}"))

    def answer_list(self, org: str, query: str) -> bytes:
        filters: dict[str, list[str]] = {}
        q, sort, limit, offset = None, None, 100, 0
        for name, value in parse_qsl(query):
            if name == "q":
                q = value
            elif name == "sort":
                sort = value
            elif name == "limit":
                limit = int(value)
            elif name == "offset":
                offset = int(value)
            else:
                filters.setdefault(name, []).append(value)
        if q:  # by key: the baseline does not rank (the app ranks by relevance)
            matched = self.search(org, q)
            if filters:
                matched = matched & self.select(org, filters)
            ids = sorted(matched)[offset : offset + limit]
        else:
            matched = self.select(org, filters)
            ids = self.page(matched, sort, offset, limit)
        return self.body(len(matched), limit, offset, ids)

    def answer_detail(self, org: str, key: str) -> bytes | None:
        i = self.index.get(key.upper())
        if i is None or i not in self.visible[org]:
            return None
        return self.records[i]


def create_app() -> FastAPI:
    catalog = Catalog.load(os.environ["BENCH_SNAPSHOT"])
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    json_type = "application/json"
    missing = b'{"error":{"code":"not_found","message":"No risk."}}'
    unauthorised = b'{"error":{"code":"unauthorized","message":"Sign in."}}'

    def caller(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        return catalog.tokens.get(header.removeprefix("Bearer "))

    @app.get("/api/v1/matrix")
    async def ready() -> Response:
        return Response(b"{}", media_type=json_type)

    @app.get("/api/v1/risks")
    async def risks(request: Request) -> Response:
        org = caller(request)
        if org is None:
            return Response(unauthorised, status_code=401, media_type=json_type)
        return Response(catalog.answer_list(org, request.url.query), media_type=json_type)

    @app.get("/api/v1/risks/{key}")
    async def risk(key: str, request: Request) -> Response:
        org = caller(request)
        if org is None:
            return Response(unauthorised, status_code=401, media_type=json_type)
        body = catalog.answer_detail(org, key)
        if body is None:
            return Response(missing, status_code=404, media_type=json_type)
        return Response(body, media_type=json_type, headers={"ETag": '"1"'})

    return app


if __name__ == "__main__":  # a quick look at a snapshot
    cat = Catalog.load(sys.argv[1])
    print(f"{len(cat.keys)} risks, {len(cat.visible)} organisations, {len(cat.tokens)} tokens, "
          f"{len(cat.postings)} words")
    for org, ids in sorted(cat.visible.items()):
        print(f"  {org}: sees {len(ids)}")
