"""Reused parts of risk answers (catalog.records.Pieces) and the caller's residual level
(queries.residual_level): the same answers as fresh reads, for every caller, before and after
changes of each kind, on both engines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from riskatlas.config import Settings
from riskatlas.web.app import create_app
from tests.catalog.test_integrity import HIDDEN_MEASURE, HIDDEN_RISK, _hidden
from tests.catalog.trust import RISK, Node, make_node
from tests.helpers import cli, load

pytestmark = pytest.mark.audited

READERS = (None, "kgz_editor", "sau_editor", "kgz_setup", "sec_viewer")
PATHS = ("/api/v1/risks?limit=1000", "/api/v1/risks?sort=residual_level&limit=3",
         "/api/v1/risks?sort=-residual_level&offset=1", "/api/v1/risks?residual_level=Very Low",
         "/api/v1/risks?residual_level=Low&residual_level=Moderate", "/api/v1/risks?q=hidden",
         "/api/v1/risks?q=border*&sort=key",
         # a search within the caller's residual levels (its exceptions and the search's
         # batches of ids are bound side by side)
         "/api/v1/risks?q=risk&residual_level=Low&residual_level=Very Low",
         "/api/v1/risks?q=risk&residual_level=Low&residual_level=Moderate&limit=1")


@pytest.fixture
def node(db_url: str, tmp_path: Path) -> Node:
    made = make_node(db_url)
    load(db_url, _hidden(tmp_path))
    return made


def _apps(db_url: str) -> tuple[TestClient, TestClient]:
    """The app as deployed (reuse on: answers, pieces, the list index) and one with all of it
    off."""
    reuse = TestClient(create_app(Settings(database_url=db_url, public_mode=True,
                                           cookie_secure=False)))
    fresh = TestClient(create_app(Settings(database_url=db_url, public_mode=True,
                                           cookie_secure=False, read_cache_mb=0,
                                           read_index=False)))
    assert reuse.app.state.pieces is not None  # type: ignore[attr-defined]
    assert fresh.app.state.pieces is None  # type: ignore[attr-defined]
    assert fresh.app.state.listing is None  # type: ignore[attr-defined]
    return reuse, fresh


def _answers(client: TestClient, node: Node) -> dict[tuple[str | None, str], Any]:
    out = {}
    for who in READERS:
        for path in PATHS:
            response = client.get(path, headers=node.headers(who))
            assert response.status_code == 200, response.text
            out[(who, path)] = response.json()
    return out


def test_reused_parts_give_the_fresh_answers_through_every_change(node: Node) -> None:
    reuse, fresh = _apps(node.db_url)
    first = _answers(reuse, node)
    assert first == _answers(fresh, node)
    # The RED measure lowers the residual level only for the user it is shared with.
    levels = {who: first[(who, PATHS[0])] for who in ("kgz_setup", "kgz_editor")}
    risk = {who: next(i for i in page["items"] if i["key"] == RISK)
            for who, page in levels.items()}
    assert risk["kgz_setup"]["residual_level"] != risk["kgz_editor"]["residual_level"]
    assert HIDDEN_MEASURE in risk["kgz_setup"]["measures"]
    assert HIDDEN_MEASURE not in risk["kgz_editor"]["measures"]
    changes = [
        ("risks", "edit", RISK, "--set", "title.en=Renamed"),  # a record's own text
        ("measures", "edit", HIDDEN_MEASURE, "--set", "status=proposed"),  # a residual input
        ("assessments", "set", RISK, "KGZ", "--likelihood", "Very Low", "--impact",
         "Very Low", "--rationale-en", "ours", "--rationale-ru", "наша"),  # a national rating
    ]
    for change in changes:
        result = cli(*change, "--db", node.db_url)
        assert result.exit_code == 0, result.output
        again = _answers(reuse, node)
        assert again == _answers(fresh, node), change
        assert again != first, change  # the change shows through the reused parts
        first = again


def test_a_full_store_of_parts_starts_again_without_losing_a_page(node: Node) -> None:
    """With room for one record, every page overflows the store: still the fresh answer."""
    from riskatlas.catalog import queries, records
    from riskatlas.catalog.matrix import active_matrix
    from riskatlas.cli_options import operator_scope
    from riskatlas.runtime import Runtime

    runtime = Runtime(Settings(database_url=node.db_url))
    matrix, scope = active_matrix(runtime.settings), operator_scope()
    pieces = records.Pieces(max_records=1)
    with runtime.sessions() as session:
        fresh = queries.list_risks(session, matrix, scope, queries.RiskFilters(), raw_json=True)
        for _ in range(2):  # the second time, some parts are found and the rest overflow
            total, items = queries.list_risks(session, matrix, scope, queries.RiskFilters(),
                                              raw_json=True, pieces=pieces)
            assert total == fresh[0] >= 3
            assert [orjson.loads(orjson.dumps(i)) for i in items] == [
                orjson.loads(orjson.dumps(i)) for i in fresh[1]]
    assert len(pieces.parts) <= fresh[0]


def _detail(client: TestClient, node: Node, who: str | None, key: str) -> tuple[int, Any, Any]:
    response = client.get(f"/api/v1/risks/{key}", headers=node.headers(who))
    return response.status_code, response.json(), response.headers.get("ETag")


def test_details_from_the_index_are_the_fresh_ones_and_hide_the_same(node: Node) -> None:
    """A risk's detail through the list index and reused parts (queries.risk_answer): the
    same status, record and ETag as a fresh read, for every reader: the RED risk is a 404 to
    all but the one user it is shared with, in any letter case of its key."""
    reuse, fresh = _apps(node.db_url)
    for who in READERS:
        for key in (RISK, RISK.lower(), HIDDEN_RISK, "CA-NONE-999"):
            assert _detail(reuse, node, who, key) == _detail(fresh, node, who, key), (who, key)
    assert _detail(reuse, node, "kgz_setup", HIDDEN_RISK)[0] == 200
    assert _detail(reuse, node, "kgz_editor", HIDDEN_RISK)[0] == 404
    result = cli("risks", "edit", RISK, "--set", "title.en=Renamed", "--db", node.db_url)
    assert result.exit_code == 0, result.output
    status, record, tag = _detail(reuse, node, "kgz_editor", RISK)
    assert (status, record["title"]["en"]) == (200, "Renamed")
    assert (status, record, tag) == _detail(fresh, node, "kgz_editor", RISK)


def test_a_bulk_fill_builds_what_pages_build_and_only_what_the_scope_sees(node: Node) -> None:
    """records.fill (the API's warm-up after an answer) gives the same reused parts as pages
    do, for the ids the scope allows and no others."""
    from riskatlas.catalog import listing, queries, records
    from riskatlas.catalog.matrix import active_matrix
    from riskatlas.parties.accounts import _user, principal_for
    from riskatlas.runtime import Runtime
    from riskatlas.sharing.policy import scope_for

    runtime = Runtime(Settings(database_url=node.db_url))
    matrix = active_matrix(runtime.settings)
    for who in ("kgz_editor", "kgz_setup", "sau_editor"):
        with runtime.sessions() as session:
            scope = scope_for(principal_for(session, _user(session, who)))
            index = listing.Listing().at(session)
            seen = listing.visible(index, session, scope)
            bulk, paged = records.Pieces(10_000), records.Pieces(10_000)
            bulk.at(index.number)
            assert records.fill(session, matrix, scope, seen, "max", bulk,
                                index.number, index.ids) == len(seen) >= 2
            ids = sorted(seen)
            queries.list_risks(session, matrix, scope, queries.RiskFilters(), pieces=paged,
                               raw_json=True)
            assert bulk.parts.keys() == paged.parts.keys() == seen
            assert bulk.parts == paged.parts, who
            hidden_id = index.ids[HIDDEN_RISK]
            assert (hidden_id in bulk.parts) == (who == "kgz_setup")
            # warm_risks: once per scope and generation, then nothing is missing
            warm = records.Pieces(10_000)
            assert queries.warm_risks(session, matrix, scope, listing.Listing(), warm) == len(ids)
            assert warm.parts == bulk.parts
            assert queries.warm_risks(session, matrix, scope, listing.Listing(), warm) == 0


def test_a_warm_page_or_detail_is_answered_from_memory(node: Node) -> None:
    """Once a scope's records are built for the read generation, its list pages (any filter
    or order, and searches asked before) and details run no statement on the pool's
    connections (web.deps.read `known`); after a change they read the database again."""
    from sqlalchemy import event

    reuse, fresh = _apps(node.db_url)
    engine = reuse.app.state.runtime.engine  # type: ignore[attr-defined]
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, sql, *rest: statements.append(sql))
    headers = node.headers("kgz_editor")
    paths = ["/api/v1/risks?limit=2", "/api/v1/risks?sort=-likelihood&offset=1",
             "/api/v1/risks?q=hidden", f"/api/v1/risks/{RISK}"]
    for path in paths:  # the first answers build the generation's parts
        assert reuse.get(path, headers=headers).status_code == 200
    # ... in the app's warming thread, apart from the requests: wait until it has done them
    reuse.app.state.warmer.submit(lambda: None).result(timeout=60)  # type: ignore[attr-defined]
    # other URLs than above, so that no kept answer (web.cache) is what answers them
    for path in ["/api/v1/risks?limit=1&offset=1", "/api/v1/risks?sort=-likelihood&limit=5",
                 "/api/v1/risks?q=hidden&limit=1", "/api/v1/risks?limit=3&domain=borders",
                 f"/api/v1/risks/{RISK.lower()}"]:
        expected = fresh.get(path, headers=headers).json()  # (the same engine: before)
        statements.clear()
        answer = reuse.get(path, headers=headers)
        assert statements == [], path
        assert answer.status_code == 200
        assert answer.json() == expected, path
    result = cli("risks", "edit", RISK, "--set", "title.en=Renamed", "--db", node.db_url)
    assert result.exit_code == 0, result.output
    answer = reuse.get(f"/api/v1/risks/{RISK}", headers=headers)
    assert answer.json()["title"]["en"] == "Renamed"
    assert statements  # the new generation was read from the database
