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
from tests.catalog.test_integrity import HIDDEN_MEASURE, _hidden
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
