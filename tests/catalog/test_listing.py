"""The list index (catalog.listing) gives the answers of list_risks's SQL: the same totals,
pages, orders, ranks and ties, for every caller, on varied questions, before and after
changes, on both engines."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from riskatlas.config import Settings
from riskatlas.web.app import create_app
from tests.catalog.test_integrity import HIDDEN_MEASURE, _hidden
from tests.catalog.test_pieces import READERS
from tests.catalog.trust import RISK, Node, make_node
from tests.helpers import cli, load

pytestmark = pytest.mark.audited

FILTERS = {
    "domain": ["borders", "water_energy", "terrorism", "cyber", "Water-Energy", "nothing"],
    "state": ["KGZ", "kaz", "TJK", "UZB", "TKM"],
    "level": ["Low", "Moderate", "High", "Very High", "very low"],
    "residual_level": ["Very Low", "Low", "Moderate", "High", "Very High"],
    "status": ["active", "draft", "retired", "Active"],
    "category": ["traditional", "emerging"],
}
SORTS = ["key", "level", "residual_level", "likelihood", "impact", "domain", "status",
         "updated_at"]
WORDS = ["border", "bord*", "water", "risk", "hidden", "водa", "граница", "gas OR water",
         "terror*", "-border risk", "nothingatall"]


@pytest.fixture
def node(db_url: str, tmp_path: Path) -> Node:
    made = make_node(db_url)
    load(db_url, _hidden(tmp_path))
    return made


def _apps(db_url: str) -> tuple[TestClient, TestClient]:
    """Answer reuse off in both: one reads through the list index, one through SQL alone."""
    def app(index: bool) -> TestClient:
        return TestClient(create_app(Settings(database_url=db_url, public_mode=True,
                                              cookie_secure=False, read_cache_mb=0,
                                              read_index=index)))
    indexed, plain = app(True), app(False)
    assert indexed.app.state.listing is not None  # type: ignore[attr-defined]
    assert plain.app.state.listing is None  # type: ignore[attr-defined]
    return indexed, plain


def _paths(seed: int, count: int) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        query = [f"limit={rnd.choice([0, 1, 2, 3, 5, 100])}",
                 f"offset={rnd.choice([0, 0, 1, 2, 4, 7, 40])}"]
        for name, values in FILTERS.items():
            if rnd.random() < 0.3:
                query += [f"{name}={quote(v)}" for v in rnd.sample(values, rnd.randint(1, 2))]
        if rnd.random() < 0.4:
            query.append(f"q={quote(rnd.choice(WORDS))}")
        if rnd.random() < 0.6:
            query.append(f"sort={rnd.choice(['', '-'])}{rnd.choice(SORTS)}")
        rnd.shuffle(query)
        out.append("/api/v1/risks?" + "&".join(query))
    return out


def _answers(client: TestClient, node: Node, paths: list[str]) -> dict[tuple[Any, str], Any]:
    out = {}
    for who in READERS:
        for path in paths:
            response = client.get(path, headers=node.headers(who))
            out[(who, path)] = (response.status_code, response.json())
    return out


def test_the_index_answers_as_the_sql_does_through_changes(node: Node) -> None:
    indexed, plain = _apps(node.db_url)
    paths = _paths(20261203, 60)
    first = _answers(indexed, node, paths)
    assert first == _answers(plain, node, paths)
    # The load is not degenerate: most answers are pages of records, some are refusals.
    statuses = [status for status, _ in first.values()]
    assert statuses.count(200) > len(statuses) // 2
    assert any(body.get("items") for status, body in first.values() if status == 200)
    kept = indexed.app.state.listing.latest()  # type: ignore[attr-defined]
    assert kept is not None and kept.matches and kept.visible and kept.orders
    changes = [
        ("risks", "edit", RISK, "--set", "title.en=Renamed border risk"),  # texts, search
        ("risks", "edit", RISK, "--set", "domain=cyber"),  # a filter column
        ("measures", "edit", HIDDEN_MEASURE, "--set", "status=proposed"),  # residual input
    ]
    for n, change in enumerate(changes):
        result = cli(*change, "--db", node.db_url)
        assert result.exit_code == 0, result.output
        paths = _paths(n, 40)
        again = _answers(indexed, node, paths)
        assert again == _answers(plain, node, paths), change


def test_the_heat_map_from_the_index_is_the_sql_one(node: Node) -> None:
    from sqlalchemy import select

    from riskatlas.catalog import listing, queries
    from riskatlas.catalog.matrix import active_matrix
    from riskatlas.cli_options import operator_scope
    from riskatlas.parties.accounts import principal_for
    from riskatlas.parties.models import User
    from riskatlas.runtime import Runtime
    from riskatlas.sharing.policy import scope_for

    runtime = Runtime(Settings(database_url=node.db_url))
    matrix = active_matrix(runtime.settings)
    index = listing.Listing()
    for change in (None, ("measures", "edit", HIDDEN_MEASURE, "--set", "status=proposed")):
        if change is not None:
            assert cli(*change, "--db", node.db_url).exit_code == 0
        with runtime.sessions() as session:
            users = [u for u in session.scalars(select(User)) if u.username in READERS]
            scopes = [operator_scope(), *[scope_for(principal_for(session, u)) for u in users]]
            assert len(scopes) == len(READERS)  # every named reader, and the operator
            seen = set()
            for scope in scopes:
                for residual_view in (False, True):
                    sql = queries.heat_map(session, matrix, scope, residual_view)
                    assert queries.heat_map(session, matrix, scope, residual_view,
                                            listing=index) == sql
                    seen.add(tuple(sorted(sql.items())))
            assert len(seen) > 2  # the readers' maps differ: the comparison can fail
