"""Search benchmark: `queries.list_risks(..., q=word)` for a member's scope, right after a fresh
import of 10,000 risks and 10,000 measures, beside same-run baselines.

    .venv/bin/python benchmarks/search_bench.py                 # SQLite in a temporary folder
    .venv/bin/python benchmarks/search_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres

The database is imported through the real import and then searched as it is: the benchmark runs
no ANALYZE, VACUUM or other maintenance of its own (the product must leave the database ready,
also on a server whose autovacuum is off). See benchmarks/README.md for what is measured.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth  # noqa: E402
from catalog_bench import PRINCIPAL, Raw, add_principal, catalog_file  # noqa: E402

TARGET = 0.015  # seconds: a common-word search, p50, the whole list_risks call
PAGE = 50  # records per page, as in the API benchmark
LATER = 250  # offset of the "later page" (the 6th page of 50)


def _words(path: Path) -> dict[str, str]:
    from orjson import loads

    words = synth.search_words(loads(path.read_bytes()))
    out = {band: word for band, (word, _) in words.items()}
    out["prefix"] = out["medium"][:4] + "*"  # `pres*`: the one prefix search
    return out


def bare_query(raw: Raw, ranked: bool) -> Callable[[str, int], tuple[int, list[Any]]]:
    """The engine's own full-text query on the same terms, with no scope and no records: a
    count of the risks' matching documents and one page of their ids, unranked (`bare`) or in
    the engine's rank order (`ranked`: bm25 in FTS5, ts_rank on the stored vector)."""
    from riskatlas.search.query import fts5_query, parse, tsquery

    def run(q: str, offset: int) -> tuple[int, list[Any]]:
        groups = parse(q)
        if raw.pg:
            table, where, param = ("search_documents",
                                   "tsv @@ CAST(%s AS tsquery) AND entity = 'risk'",
                                   tsquery(groups))
            page = ("SELECT id, ts_rank(tsv, CAST(%s AS tsquery)) AS r FROM search_documents "
                    f"WHERE {where} ORDER BY r DESC" if ranked else
                    f"SELECT id FROM {table} WHERE {where}")
            params: tuple[Any, ...] = (param, param) if ranked else (param,)
        else:  # the risks' own FTS5 table
            table, where, param = "search_fts_risk", "search_fts_risk MATCH ?", fts5_query(groups)
            page = (f"SELECT rowid, rank FROM {table} WHERE {where} ORDER BY rank" if ranked
                    else f"SELECT rowid FROM {table} WHERE {where}")
            params = (param,)
        total = raw.all(f"SELECT count(*) FROM {table} WHERE {where}", (param,))[0][0]
        rows = raw.all(f"{page} LIMIT {PAGE} OFFSET {offset}", params)
        raw.conn.rollback()
        return total, rows

    return run


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    from riskatlas.catalog import queries
    from riskatlas.catalog.matrix import active_matrix
    from riskatlas.runtime import make_runtime
    from riskatlas.search.service import search
    from riskatlas.sharing.policy import scope_for

    path = catalog_file(args.risks, args.measures, args.seed)
    words = _words(path)
    results: dict[str, Any] = {"machine": synth.machine(), "params": {
        "risks": args.risks, "measures": args.measures, "seed": args.seed, "runs": args.runs,
        "page": PAGE, "later_offset": LATER, "words": words, "principal": PRINCIPAL}}
    # SQLite with --keep: a folder that outlives the run (a temporary one is removed at exit).
    keep_in = Path(tempfile.mkdtemp(prefix="riskatlas-search-")) if args.keep and not args.db \
        else None
    db = synth.Database(args.db, "search", folder=keep_in)
    try:
        results["dialect"] = db.dialect
        with synth.step("Import through validate_files + save (riskatlas import)"):
            t_import, counts = synth.timed(lambda: synth.import_catalog(db.url, path))
        results["import"] = {"seconds": t_import, "counts": counts}
        principal = add_principal(db.url)
        scope = scope_for(principal)
        rt = make_runtime(db.url)
        matrix = active_matrix(rt.settings)
        filters = queries.RiskFilters()
        raw = Raw(db.url)
        bare, bare_ranked = bare_query(raw, False), bare_query(raw, True)

        def app(q: str | None, offset: int) -> tuple[int, list[Any]]:
            with rt.transaction() as session:
                return queries.list_risks(session, matrix, scope, filters, limit=PAGE,
                                          offset=offset, q=q, aggregation=rt.settings.aggregation)

        def hits(q: str, offset: int) -> tuple[int, list[Any]]:
            with rt.transaction() as session:
                return search(session, scope, q, queries.RISK_SEARCH, PAGE, offset)

        cases = [(band, page, offset) for band in ("common", "medium", "rare", "prefix")
                 for page, offset in (("first", 0), ("later", LATER))]
        results["cases"] = []
        try:
            with synth.step(f"{len(cases)} searches, {args.runs} runs each (interleaved with "
                            "the baselines)"):
                for band, page, offset in cases:
                    q = words[band]
                    fns: dict[str, Callable[[], Any]] = {
                        "list_risks": lambda q=q, o=offset: app(q, o),
                        "search": lambda q=q, o=offset: hits(q, o),
                        "bare": lambda q=q, o=offset: bare(q, o),
                        "bare_ranked": lambda q=q, o=offset: bare_ranked(q, o),
                        "list_no_q": lambda o=offset: app(None, o),
                    }
                    total, rows = fns["list_risks"]()
                    bare_total, _ = fns["bare"]()
                    for _ in range(2):  # warm-up
                        for fn in fns.values():
                            fn()
                    samples: dict[str, list[float]] = {name: [] for name in fns}
                    for _ in range(args.runs):
                        for name, fn in fns.items():
                            samples[name].append(synth.timed(fn)[0])
                    results["cases"].append({
                        "word": band, "q": q, "page": page, "offset": offset, "total": total,
                        "returned": len(rows), "bare_total": bare_total,
                        **{f"{n}_p50": statistics.median(s) for n, s in samples.items()},
                        **{f"{n}_p99": percentile(s, 0.99) for n, s in samples.items()},
                        "samples": samples})
        finally:
            raw.close()
    finally:
        if not args.keep:
            db.close()
        else:
            synth.log(f"Kept the database: {db.url}")
    return results


def table(results: dict[str, Any]) -> str:
    rows = [("word", "page", "matches", "list_risks p50", "p99", "search() p50",
             "list, no q p50", "bare FTS p50", "bare ranked p50", "ratio")]

    def ms(value: float) -> str:
        return f"{value * 1000:.1f} ms"

    for c in results["cases"]:
        rows.append((f"{c['word']} ({c['q']})", c["page"], f"{c['total']} ({c['returned']})",
                     ms(c["list_risks_p50"]), ms(c["list_risks_p99"]), ms(c["search_p50"]),
                     ms(c["list_no_q_p50"]), ms(c["bare_p50"]), ms(c["bare_ranked_p50"]),
                     f"{c['list_risks_p50'] / c['bare_ranked_p50']:.1f}x"))
    lines = synth.text_table(rows)
    common = next(c for c in results["cases"] if c["word"] == "common" and c["page"] == "first")
    met = "yes" if common["list_risks_p50"] <= TARGET else "NO"
    lines += ["", "ratio: list_risks p50 / bare ranked p50 (same run). list, no q: the same "
              "page of records without a search (list_risks by key, same scope).",
              f"target: a common-word search <= {TARGET * 1000:g} ms at p50 (first page): "
              f"{common['list_risks_p50'] * 1000:.1f} ms, met: {met}",
              f"import: {results['import']['seconds']:.1f} s ({results['import']['counts']}); "
              "no ANALYZE or VACUUM by the benchmark"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="PostgreSQL server URL (a fresh database is created and "
                        "dropped on it); default: SQLite in a temporary folder")
    parser.add_argument("--risks", type=int, default=10_000)
    parser.add_argument("--measures", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=synth.SEED)
    parser.add_argument("--runs", type=int, default=100, help="timed runs of each query")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    t0 = time.perf_counter()
    results = run(args)
    results["seconds"] = time.perf_counter() - t0
    out = synth.write_results(f"search-{results['dialect']}", results)
    print(table(results))
    print(f"\nresults: {out.relative_to(synth.ROOT)}")


if __name__ == "__main__":
    main()
