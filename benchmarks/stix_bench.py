"""STIX export benchmark: a full STIX 2.1 bundle of 10,000 risks and 30,000 measures, beside the
JSON export (`riskatlas export --format json`) of the same catalog in the same run.

    .venv/bin/python benchmarks/stix_bench.py                 # SQLite in a temporary folder
    .venv/bin/python benchmarks/stix_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Both exports run in process, as their commands do (read under the operator's scope, then write
bytes with orjson), alternately (JSON, STIX, JSON, ...: a shared machine's load then weighs on
both alike), median of --runs runs after one warm-up each; then each command once as a
subprocess (interpreter start included). Target: the STIX export within 5 s (issue 12).
`--catalog-db FILE` uses a SQLite database that already holds the imported catalog.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import catalog_bench  # noqa: E402
import synth  # noqa: E402

TARGET = 5.0  # seconds, the STIX export of the whole catalog


def json_export(url: str) -> int:
    import orjson

    from riskatlas.catalog.importer import paused_gc
    from riskatlas.catalog.matrix import active_matrix
    from riskatlas.catalog.records import export_document
    from riskatlas.cli_options import operator_scope
    from riskatlas.runtime import make_runtime

    rt = make_runtime(url)
    with paused_gc(), rt.transaction() as session:
        doc = export_document(session, active_matrix(rt.settings), operator_scope(),
                              rt.settings.aggregation, raw_json=True)
        return len(orjson.dumps(doc))


def stix_export(url: str) -> int:
    from riskatlas.catalog.matrix import active_matrix
    from riskatlas.cli_options import operator_scope
    from riskatlas.exchange.stix_export import dumps, export_bundle
    from riskatlas.runtime import make_runtime

    rt = make_runtime(url)
    with rt.transaction() as session:
        bundle = export_bundle(session, active_matrix(rt.settings), operator_scope(),
                               rt.settings.aggregation)
    return len(dumps(bundle))


def command(url: str, *args: str) -> float:
    riskatlas = Path(sys.executable).with_name("riskatlas")
    seconds, _ = synth.timed(lambda: subprocess.run(
        [str(riskatlas), *args, "--db", url], check=True, stdout=subprocess.DEVNULL,
        env=dict(os.environ)))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--risks", type=int, default=10_000)
    parser.add_argument("--measures", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=synth.SEED)
    parser.add_argument("--catalog-db", type=Path, help="an imported SQLite catalog, used as is")
    args = parser.parse_args()
    db = None if args.catalog_db else synth.Database(args.db, "stix")
    url = f"sqlite:///{args.catalog_db}" if db is None else db.url
    results: dict[str, Any] = {"machine": synth.machine(),
                               "dialect": "sqlite" if db is None else db.dialect, "params": {
        "risks": args.risks, "measures": args.measures, "runs": args.runs, "seed": args.seed}}
    try:
        if db is not None:
            path = catalog_bench.catalog_file(args.risks, args.measures, args.seed)
            with synth.step("Import through validate_files + save (untimed here)"):
                synth.import_catalog(db.url, path)
            catalog_bench.analyze_if_no_autovacuum([db])
        exports = (("json", json_export), ("stix", stix_export))
        samples: dict[str, list[float]] = {name: [] for name, _ in exports}
        sizes = {name: fn(url) for name, fn in exports}  # the warm-up
        for i in range(args.runs):
            with synth.step(f"Run {i + 1}/{args.runs}: JSON export, then STIX export"):
                for name, fn in exports:
                    samples[name].append(synth.timed(lambda fn=fn: fn(url))[0])
        for name, _ in exports:
            results[name] = {"seconds": statistics.median(samples[name]),
                             "samples": samples[name], "bytes": sizes[name]}
        with synth.step("The commands, once each (interpreter start included)"):
            results["json"]["command"] = command(url, "export", "--format", "json")
            results["stix"]["command"] = command(url, "stix", "export")
    finally:
        if db is not None:
            db.close()
    stix, base = results["stix"], results["json"]
    results["ratio"] = stix["seconds"] / base["seconds"]
    results["target"] = {"seconds": TARGET, "met": stix["seconds"] <= TARGET}
    rows = [("export", "median s", "ratio", "MB", "command s"),
            ("JSON (baseline)", f"{base['seconds']:.2f}", "1.00", f"{base['bytes'] / 1e6:.1f}",
             f"{base['command']:.2f}"),
            ("STIX 2.1 bundle", f"{stix['seconds']:.2f}", f"{results['ratio']:.2f}",
             f"{stix['bytes'] / 1e6:.1f}", f"{stix['command']:.2f}")]
    print("\n".join(synth.text_table(rows)))
    verdict = "met" if results["target"]["met"] else "NOT met"
    samples = ", ".join(f"{s:.2f}" for s in stix["samples"])
    print(f"target: STIX export <= {TARGET:.0f} s: {verdict} (median {stix['seconds']:.2f} s, "
          f"samples {samples})")
    out = synth.write_results(f"stix-{results['dialect']}", results)
    print(f"Results: {out.relative_to(synth.ROOT)}")


if __name__ == "__main__":
    main()
