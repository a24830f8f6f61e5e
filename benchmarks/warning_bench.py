"""Early-warning evaluation benchmark: every default indicator at admin1 and week level over
the whole history of a generated ACLED-format store, then after 1,000 new events.

    .venv/bin/python benchmarks/warning_bench.py                    # SQLite, 2,500,000 events
    .venv/bin/python benchmarks/warning_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/bench_warning

The store (warning_gen.py) is written straight into the events table (SQLite: executemany of
tuples; PostgreSQL: COPY), not through the importer. With --db the URL names a PostgreSQL
database that is dropped and created again. Figures (medians of --runs runs):
(a) full: alerts.evaluate of all default indicators over the whole history, for every audience
    tier, including reading the events through their columnar copy (warning.store: brought up
    to date from the table, as `warning run` does); beside it, once, the same evaluation
    reading the table (no copy) and the copy's first build;
(b) baseline: the pure-Python reference (alerts.detect with series.backtest) on every
    --sample-th event (one per geography's history thinned alike), timed and scaled by
    --sample; and the engine on the same sample, for the ratio on equal input;
(c) changed: 1,000 new events inserted (dated in the last 8 weeks), then
    `alerts.run(..., changed=True)` (plan, read, evaluate and store the alerts), against a full
    `alerts.run` over the whole history; once with the new events spread like the store
    (global: most provinces touched), once with them in the C5 countries only.
See benchmarks/README.md, section "Early-warning evaluation".
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import warning_gen  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from riskatlas.audit.service import Who  # noqa: E402
from riskatlas.cli_options import operator_scope  # noqa: E402
from riskatlas.config import Settings  # noqa: E402
from riskatlas.migrate import upgrade  # noqa: E402
from riskatlas.parties.models import Organisation  # noqa: E402
from riskatlas.parties.service import seed  # noqa: E402
from riskatlas.runtime import Runtime  # noqa: E402
from riskatlas.warning import alerts, engine, service  # noqa: E402
from riskatlas.warning.indicators import default_indicator_file, load_indicators  # noqa: E402
from riskatlas.warning.store import ColumnStore  # noqa: E402

TARGETS = {"full": 2.0, "changed": 0.200}


def _fresh_postgres(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def _insert(runtime: Runtime, rows: list[tuple[Any, ...]]) -> None:
    with runtime.engine.begin() as conn:
        raw: Any = conn.connection.dbapi_connection
        cur = raw.cursor()
        if runtime.engine.dialect.name == "postgresql":
            with cur.copy(f"COPY events ({', '.join(warning_gen.COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(warning_gen.COLUMNS))
            cur.executemany(f"INSERT INTO events ({', '.join(warning_gen.COLUMNS)}) "
                            f"VALUES ({marks})", rows)
        cur.close()


def build(url: str, n: int, seed_: int) -> tuple[Runtime, tuple[int, int]]:
    if url.startswith("postgresql"):
        _fresh_postgres(url)
    upgrade(url)
    runtime = Runtime(Settings(database_url=url))
    with runtime.transaction() as session:
        seed(session)
        ids = {k: i for k, i in session.execute(select(Organisation.key, Organisation.id))}
    owners = (ids["C5-SEC"], ids["KAZ-SC"])
    t0 = time.perf_counter()
    for chunk in warning_gen.generate(n, seed=seed_, owners=owners):
        _insert(runtime, chunk)
    with runtime.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    print(f"store: {n:,} events written in {time.perf_counter() - t0:.0f} s", flush=True)
    return runtime, owners


def to_batches(runtime: Runtime, folder: Path) -> int:
    """Move the store out of the events table into batches (warning.batches), one per owner
    and marking, as `events import` stores a large clean ACLED file; the number of batches."""
    import uuid

    import duckdb

    from riskatlas.warning import batches
    from riskatlas.warning.models import EventBatch

    names = ("source_id", "date", "country", "admin1", "location", "event_type", "sub_type",
             "actor1", "actor2", "fatalities", "owner_org_id", "tlp")
    with runtime.engine.begin() as conn:
        rows = conn.execute(text(f"SELECT {', '.join(names)} FROM events")).all()
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT " + ", ".join(
        f"unnest(?) AS {n}" for n in names), [list(c) for c in zip(*rows, strict=True)])
    del rows
    extra = ", ".join(f"CAST(NULL AS {'INTEGER' if x in batches.CODES else 'VARCHAR'}) "
                      f"AS x_{x}" for x in batches.EXTRA)
    made = 0
    with runtime.transaction() as session:
        groups = con.execute("SELECT DISTINCT owner_org_id, tlp FROM t ORDER BY ALL").fetchall()
        for owner, tlp in groups:
            path = folder / f"batch-{owner}-{tlp}.parquet"
            con.execute(
                "COPY (SELECT source_id, CAST(date AS DATE) AS date, country, admin1, location, "
                "CAST(NULL AS DOUBLE) AS latitude, CAST(NULL AS DOUBLE) AS longitude, "
                "event_type, sub_type, actor1, actor2, CAST(fatalities AS INTEGER) AS "
                f"fatalities, CAST(NULL AS VARCHAR) AS notes, {extra} FROM t "
                f"WHERE owner_org_id = {owner} AND tlp = '{tlp}') TO '{path}' "
                f"(FORMAT parquet, COMPRESSION {batches.COMPRESSION})")
            n = con.execute(f"SELECT count(*) FROM t WHERE owner_org_id = {owner} "
                            f"AND tlp = '{tlp}'").fetchone()[0]
            session.add(EventBatch(uuid=uuid.uuid4().hex, source="acled", file=path.name,
                                   rows=n, dead=0, size=path.stat().st_size,
                                   owner_org_id=owner, tlp=tlp,
                                   data=path.read_bytes()))
            made += 1
        session.execute(text("DELETE FROM events"))
    return made


def _median(f: Any, runs: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=2_500_000)
    ap.add_argument("--db", help="PostgreSQL URL (the database is dropped and created)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sample", type=int, default=20, help="baseline on every N-th event")
    ap.add_argument("--seed", type=int, default=20251231)
    ap.add_argument("--batches", action="store_true",
                    help="the store as batches (as a large ACLED file imports), not rows")
    args = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="warning_bench_")
    url = args.db or f"sqlite:///{folder}/bench.db"
    runtime, owners = build(url, args.events, args.seed)
    if args.batches:
        print(f"store moved into {to_batches(runtime, Path(folder))} batches", flush=True)
    indicators = load_indicators(default_indicator_file())
    scope = operator_scope()
    store = ColumnStore(Path(folder) / "columns")  # the product's default, in the run's folder
    out: dict[str, Any] = {"events": args.events, "engine": runtime.engine.dialect.name,
                           "store": "batches" if args.batches else "rows"}
    with runtime.transaction() as session:
        span = service.stats(session, scope)["total"]  # rows and batches alike
        first, until = date.fromisoformat(span["first"]), date.fromisoformat(span["last"])
        assert first is not None and until is not None
        owner_id = session.scalar(select(Organisation.id).where(Organisation.key == "C5-SEC"))
        assert owner_id is not None
        tiers = alerts.audiences(session, owner_id)
        matching = 0
        cols = alerts.read_columns(session, scope, indicators, until)
        for i in indicators:
            matching += int(engine.matches(i, cols).sum())
        union = int(sum(engine.matches(i, cols) for i in indicators).astype(bool).sum())
        out["matching_events"] = {"union": union, "sum_over_indicators": matching}
        print(f"events matching an indicator: {union:,} (counted per indicator: {matching:,});"
              f" tiers: {[t.tier for t in tiers]}", flush=True)

        def full() -> list[Any]:
            snap = alerts.snapshot_of(session, scope, store)
            return alerts.evaluate(session, scope, indicators, tiers, first, until, None, snap)

        t0 = time.perf_counter()
        alerts.snapshot_of(session, scope, store)  # the copy's first build
        t_build = time.perf_counter() - t0
        t_direct, direct = _median(lambda: alerts.evaluate(
            session, scope, indicators, tiers, first, until), 1)
        full()  # warm-up (page cache)
        t_read, _ = _median(lambda: alerts.snapshot_of(session, scope, store).all(), args.runs)
        t_full, found = _median(full, args.runs)
        assert found == direct, "the copy and the table disagree"
        out["full"] = {"seconds": t_full, "read_seconds": t_read, "alerts": len(found),
                       "copy_first_build_seconds": t_build,
                       "without_copy_seconds": t_direct}
        print(f"(a) full evaluation: {t_full:.3f} s (reading the copy {t_read:.3f} s), "
              f"{len(found):,} alerts; target {TARGETS['full']} s. Without the copy (reading "
              f"the table): {t_direct:.1f} s; the copy's first build {t_build:.1f} s",
              flush=True)

        # (b) the reference on a sample: every N-th event
        stored = [s for k, s in enumerate(alerts.read_events(session, scope, until))
                  if k % args.sample == 0]
    t_ref, ref = _median(lambda: alerts.detect(indicators, stored, tiers, first, until,
                                               alerts._backtest), 1)
    t_eng, eng = _median(lambda: alerts.detect(indicators, stored, tiers, first, until),
                         args.runs)
    assert eng == ref, "the engine and the reference disagree on the sample"
    out["baseline"] = {"sample_every": args.sample, "sample_events": len(stored),
                       "reference_seconds": t_ref, "engine_seconds_same_sample": t_eng,
                       "reference_scaled_seconds": t_ref * args.sample,
                       "ratio_same_sample": t_ref / t_eng,
                       "ratio_full_vs_scaled": t_ref * args.sample / t_full}
    print(f"(b) reference on {len(stored):,} events (1 in {args.sample}): {t_ref:.2f} s "
          f"(scaled x{args.sample}: {t_ref * args.sample:.0f} s); engine on the same sample: "
          f"{t_eng:.3f} s (x{t_ref / t_eng:.0f}); same {len(ref):,} alerts", flush=True)

    # (c) incremental: a first --changed run sets the mark (a full run), then 1,000 new events
    def run(changed: bool) -> alerts.RunResult:
        with runtime.transaction() as session:
            return alerts.run(session, scope, indicators, first, until, Who("bench"),
                              changed=changed, store=store)

    t0 = time.perf_counter()
    run(True)
    t_first = time.perf_counter() - t0
    out["changed"] = {"first_changed_run_seconds": t_first}
    k = 0
    for label, only in (("global", None), ("c5", warning_gen.C5)):
        changed_times, full_times, cells = [], [], []
        for _ in range(args.runs):
            k += 1
            rows = next(warning_gen.generate(1_000, seed=args.seed + k, owners=owners,
                                             first_id=args.events + 1_000 * k, only=only,
                                             imported_at=f"2026-06-01 00:00:{k:02d}"))
            # dated in the last 8 weeks of the history (a weekly update with late events)
            shift = until.toordinal() - 56
            rows = [(*r[:4], date.fromordinal(shift + date.fromisoformat(r[4]).toordinal()
                                              % 57).isoformat(), *r[5:]) for r in rows]
            _insert(runtime, rows)
            t0 = time.perf_counter()
            result = run(True)
            changed_times.append(time.perf_counter() - t0)
            cells.append(result.cells)
            if label == "global":  # the same state, evaluated in full
                t0 = time.perf_counter()
                run(False)
                full_times.append(time.perf_counter() - t0)
        t_changed = statistics.median(changed_times)
        out["changed"][label] = {"seconds": t_changed, "all": changed_times, "pairs": cells,
                                 "full_run_seconds": full_times}
        rerun = f", full run {statistics.median(full_times):.2f} s" if full_times else ""
        print(f"(c) 1,000 new events ({label}): --changed run {t_changed * 1000:.0f} ms "
              f"({cells} indicator-geographies){rerun}; target "
              f"{TARGETS['changed'] * 1000:.0f} ms", flush=True)
    results = Path(__file__).resolve().parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"warning_{out['engine']}_{out['store']}.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
