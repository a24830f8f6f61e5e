"""TAXII 2.1 paging and filters over a collection's entries (exchange.taxii): every object
exactly once across pages, a cursor that survives additions, added_after, match[...]."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskatlas.exchange import taxii

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _objects(n: int, step_ms: int = 1) -> list[dict[str, object]]:
    kinds = ["course-of-action", "identity", "relationship", "x-riskatlas-risk"]
    out = []
    for i in range(n):
        at = taxii.timestamp(T0 + timedelta(milliseconds=(i // 3) * step_ms))  # ties of 3
        out.append({"type": kinds[i % 4], "id": f"{kinds[i % 4]}--{i:08d}",
                    "spec_version": "2.1", "created": at, "modified": at})
    return out


def _all(found: list[taxii.Entry], **params: str) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        q = taxii.query({**params, **({"next": cursor} if cursor else {})})
        page = taxii.page(found, q)
        seen += [e.id for e in page.items]
        assert len(page.items) <= q.limit
        if not page.more:
            assert page.next is None
            return seen
        assert page.next is not None
        cursor = page.next


def test_paging_returns_every_object_once_in_date_added_order() -> None:
    found = taxii.entries(reversed(_objects(1000)))
    ids = _all(found, limit="70")
    assert ids == [e.id for e in sorted(found, key=lambda e: e.key)]
    assert len(set(ids)) == 1000


def test_the_cursor_names_an_object_so_additions_do_not_shift_pages() -> None:
    found = taxii.entries(_objects(100))
    first = taxii.page(found, taxii.query({"limit": "10"}))
    newer = taxii.entries(_objects(100) + [{"type": "identity", "id": "identity--zz",
                                            "created": "2023-01-01T00:00:00Z"}])
    second = taxii.page(newer, taxii.query({"limit": "10", "next": first.next or ""}))
    assert second.items[0].id == found[10].id


def test_filters_by_type_id_version_and_added_after() -> None:
    found = taxii.entries(_objects(400))
    coa = _all(found, **{"match[type]": "course-of-action", "limit": "13"})
    assert len(coa) == 100 and all(i.startswith("course-of-action--") for i in coa)
    two = _all(found, **{"match[type]": "identity,relationship"})
    assert len(two) == 200
    one = found[57]
    assert _all(found, **{"match[id]": one.id}) == [one.id]
    assert _all(found, **{"match[id]": one.id, "match[version]": one.version}) == [one.id]
    assert _all(found, **{"match[id]": one.id,
                          "match[version]": "2000-01-01T00:00:00.000Z"}) == []
    assert _all(found, **{"match[spec_version]": "2.0"}) == []
    after = found[200].added
    later = _all(found, added_after=after)
    assert later == [e.id for e in found if e.added > after]


def test_envelope_headers_and_bad_parameters() -> None:
    found = taxii.entries(_objects(5))
    page = taxii.page(found, taxii.query({"limit": "2"}))
    doc = orjson.loads(taxii.envelope(page))
    assert doc["more"] is True and doc["next"] == page.next
    assert [o["id"] for o in doc["objects"]] == [e.id for e in found[:2]]
    assert page.headers() == {"X-TAXII-Date-Added-First": found[0].added,
                              "X-TAXII-Date-Added-Last": found[1].added}
    assert orjson.loads(taxii.envelope(taxii.page([], taxii.query({})))) == {"more": False}
    for bad in ({"limit": "0"}, {"limit": "x"}, {"added_after": "yesterday"}):
        with pytest.raises(taxii.TaxiiError) as caught:
            taxii.query(bad)
        assert caught.value.status == 400
    with pytest.raises(taxii.TaxiiError):
        taxii.page(found, taxii.query({"next": "bm90LWEtY3Vyc29y"}))
    assert taxii.query({"limit": "999999"}).limit == taxii.MAX_LIMIT


@given(n=st.integers(0, 60), limit=st.integers(1, 25), kind=st.sampled_from(
    ["", "identity", "x-riskatlas-risk,relationship"]))
def test_any_paging_sees_each_matching_object_exactly_once(n: int, limit: int,
                                                           kind: str) -> None:
    found = taxii.entries(_objects(n))
    params = {"limit": str(limit), **({"match[type]": kind} if kind else {})}
    wanted = [e.id for e in found if not kind or e.type in kind.split(",")]
    assert _all(found, **params) == wanted


def test_status_counts_what_was_stored_and_refused() -> None:
    sent = _objects(3)
    found = taxii.status(sent, [str(sent[0]["id"])], {str(sent[2]["id"]): "unknown type"})
    assert (found["status"], found["total_count"], found["success_count"],
            found["failure_count"], found["pending_count"]) == ("complete", 3, 1, 2, 0)
    assert found["failures"][1]["message"] == "unknown type"
