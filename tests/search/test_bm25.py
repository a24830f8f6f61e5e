"""search.bm25 ranks a simple query exactly as FTS5's bm25() does: the same matches and the same
rank, bit for bit, for every query it handles; the queries it cannot rank are left to bm25()."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from riskatlas.runtime import Runtime
from riskatlas.search import bm25
from riskatlas.search.query import fts5_query, parse
from riskatlas.search.service import all_matches, fts_lengths, fts_table
from tests.search.test_bulk_index import _catalog
from tests.search.test_same_hits import QUERIES, _prepare, _write
from tests.search.test_search import CATALOG

HANDLED = ["border", "borders", "clash", "border clash", "pipeline refugees", "граница",
           "границы", "беженцев", "шекара", "border граница", "банк bank",
           "dam", "cyber militants", "utilities", "war", "zebra", "note", "absentword"]
LEFT = ["CA-GEN-007", '"border clashes"', "water OR energy", "border -water", "bord*",
        "погранич*", "OR", "", "-border"]


@pytest.fixture
def runtime(sqlite_template: Path, tmp_path: Path) -> Runtime:
    shutil.copy(sqlite_template, tmp_path / "bm25.db")
    return _prepare(f"sqlite:///{tmp_path / 'bm25.db'}",
                    [_write(tmp_path / "search.yaml", CATALOG),
                     _write(tmp_path / "generated.yaml", _catalog(120, 60))])


def test_which_queries_are_ranked_by_hand() -> None:
    for q in HANDLED:
        assert bm25.phrases(parse(q)) is not None, q
    for q in LEFT:
        assert bm25.phrases(parse(q)) is None, q


def test_the_ranks_are_fts5s_own_for_every_query_handled(runtime: Runtime) -> None:
    checked = matched = 0
    with runtime.sessions() as session:
        for entity in ("risk", "measure"):
            lengths = fts_lengths(session, entity)
            assert lengths is not None and lengths.rows > 50
            fts = fts_table(entity)
            connection = session.connection().connection.driver_connection
            for q in [*HANDLED, *QUERIES]:
                groups = parse(q)
                words = bm25.phrases(groups)
                if words is None:
                    continue
                mine = bm25.ranked(connection, fts, words, lengths)
                theirs = connection.execute(  # type: ignore[union-attr]
                    f"SELECT rowid, -rank FROM {fts} WHERE {fts} MATCH ?",
                    (fts5_query(groups),)).fetchall()
                # exact float equality: the same formula in the same arithmetic
                assert sorted(mine) == sorted(theirs), (entity, q)
                assert [r for _, r in mine] == sorted((r for _, r in mine), reverse=True)
                # the product's door gives the same, with or without the lengths
                assert sorted(all_matches(session, entity, q, lambda s=lengths: s)) == sorted(
                    all_matches(session, entity, q)), (entity, q)
                checked += 1
                matched += len(mine)
    assert checked > 40 and matched > 500  # the queries do find things
