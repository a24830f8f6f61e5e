"""SQLite: FTS5's own bm25 rank of a simple query, computed from FTS5's index without bm25().

Why by hand: FTS5 ranks a match with bm25() per row, and for a common word (thousands of
matches) that is most of a search's cost: 10-15 ms for 2,500-5,000 matches on this project's
benchmark machine, against 2-3 ms to read the same matches' term counts from the index
(fts5vocab's `instance` table). Python's sqlite3 cannot register an FTS5 rank function, so the
score is computed here from those counts and each document's length (FTS5's `docsize` table,
read once per read generation by the caller: `lengths`).

The result is FTS5's own rank, bit for bit: the same formula (sqlite's fts5_aux.c,
fts5Bm25Function: k1 = 1.2, b = 0.75, IDF = log((N - n + 0.5) / (n + 0.5)), at least 1e-6; per
row the sum over the query's phrases, in their order, of IDF * f * (k1 + 1) / (f + k1 * (1 - b
+ b * D / avgdl))), in the same double arithmetic; tests/search/test_bm25.py holds the two
equal for every kind of query handled here. Handled: one group of words and no exclusions,
prefixes or phrases (each word an OR of its language forms); any other query is left to
bm25() (`phrases` returns None).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from riskatlas.search.query import Group

_K1 = 1.2
_B = 0.75


@dataclass(frozen=True)
class Lengths:
    """What bm25 reads of the index besides a query's own terms, per document: `norm`, the
    length part of the formula, k1 * (1 - b + b * D / avgdl) (D: the document's length in
    terms, all columns), computed once as FTS5 computes it; and the number of documents."""

    norm: dict[int, float]
    rows: int


def phrases(groups: Sequence[Group]) -> list[list[str]] | None:
    """The query's terms as FTS5 numbers its phrases: per word, its forms (the word matches a
    document holding any of them); None for a query this module does not rank."""
    if len(groups) != 1 or groups[0].exclude:
        return None
    out: list[list[str]] = []
    for term in groups[0].include:
        forms = term.forms()
        if any(len(form) != 1 or form[0][1] for form in forms):  # a phrase or a prefix
            return None
        out.append([form[0][0] for form in forms])
    return out or None


def _varints(blob: bytes) -> int:
    """The sum of the varints of a docsize record (one per column): the row's length."""
    total = value = 0
    for byte in blob:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            total += value
            value = 0
    return total


def lengths(connection: Any, fts: str) -> Lengths:
    """The Lengths of the FTS5 table `fts`, from its docsize records (`connection`: the
    session's sqlite3 connection)."""
    of = {rid: _varints(size) for rid, size in connection.execute(
        f"SELECT id, sz FROM {fts}_docsize")}
    rows = len(of)
    avgdl = sum(of.values()) / rows if rows else 1.0
    return Lengths({rid: _K1 * (1 - _B + _B * float(d) / avgdl) for rid, d in of.items()}, rows)


def _vocabulary(connection: Any, fts: str) -> str:
    """The fts5vocab `instance` table of `fts`, made in the connection's temp schema (no
    storage; nothing in the database file) on first use."""
    name = f"{fts}_instances"
    connection.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{name} "
                       f"USING fts5vocab(main, {fts}, 'instance')")
    return f"temp.{name}"


def ranked(connection: Any, fts: str, words: list[list[str]], stats: Lengths
           ) -> list[tuple[int, float]]:
    """The documents matching every word (any of its forms), as (id, score), best first;
    the score is -1 * FTS5's rank (higher is better)."""
    vocabulary = _vocabulary(connection, fts)
    counts: list[dict[int, int]] = []
    for forms in words:
        for form in forms:
            counts.append(dict(connection.execute(
                f"SELECT doc, count(*) FROM {vocabulary} WHERE term = ? GROUP BY doc",
                (form,)).fetchall()))
    matched: set[int] | None = None
    start = 0
    for forms in words:  # a document holds every word: any of its forms
        holding = set().union(*counts[start:start + len(forms)])
        matched = holding if matched is None else matched & holding
        start += len(forms)
    if not matched or not stats.rows:
        return []
    rows, norm, k1_plus_1 = stats.rows, stats.norm, _K1 + 1.0
    idf = []
    for found in counts:
        value = math.log((rows - len(found) + 0.5) / (len(found) + 0.5))
        idf.append(value if value > 0.0 else 1e-6)
    if len(counts) == 1:  # one word of one form: the common case, in one pass
        weight, found = idf[0], counts[0]
        out = [(rid, -(-1.0 * (0.0 + weight * ((f * k1_plus_1) / (f + norm[rid])))))
               for rid, f in found.items()]
    else:
        out = []
        for rid in matched:
            score = 0.0
            for weight, found in zip(idf, counts, strict=True):
                f = float(found.get(rid, 0))
                score += weight * ((f * k1_plus_1) / (f + norm[rid]))
            out.append((rid, -(-1.0 * score)))
    out.sort(key=lambda hit: -hit[1])
    return out
