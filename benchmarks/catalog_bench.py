"""Catalog benchmark: import, export and a filtered list on a synthetic catalog of 10,000 risks
and 30,000 measures, each figure beside a plain-SQL baseline measured in the same run.

    .venv/bin/python benchmarks/catalog_bench.py                 # SQLite in a temporary folder
    .venv/bin/python benchmarks/catalog_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres

With --db the URL names a PostgreSQL server: the benchmark creates fresh databases on it (named
riskatlas_bench_*) and drops them at the end; the database named in the URL is only used to
connect. See benchmarks/README.md for what is measured and the targets.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth  # noqa: E402
from orjson import dumps, loads  # noqa: E402  (a dependency of the app)

TARGETS = {"import": 10.0, "export": 3.0, "list": 0.050}  # seconds
LIST_FILTER = {"domain": ["borders", "water_energy"], "state": ["KGZ"],
               "level": ["High", "Very High"]}  # 84 of 10,000 risks: a full first page of 50
PRINCIPAL = ("bench-analyst", "KGZ-SC", "analyst")  # a member state's analyst


# --- plain DB-API access for the baselines ----------------------------------------------------


class Raw:
    """A DB-API connection from the app's engine (same pragmas/pool), with '?' placeholders."""

    def __init__(self, url: str) -> None:
        from riskatlas.db import get_engine

        self.engine = get_engine(url)
        self.pg = self.engine.dialect.name == "postgresql"
        self.conn: Any = self.engine.raw_connection()

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.pg else statement

    def json(self, value: Any) -> Any:
        """A JSON column value as the driver wants it (text; PostgreSQL casts it to jsonb),
        encoded like the app's engine does (UTF-8 text, no \\u escapes)."""
        return dumps(value).decode()

    def stamp(self, at: datetime) -> Any:
        return at if self.pg else at.strftime("%Y-%m-%d %H:%M:%S.%f")

    def loads(self, value: Any) -> Any:
        return loads(value) if isinstance(value, str) else value

    def many(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            cur = self.conn.cursor()
            cur.executemany(self.sql(statement), rows)
            cur.close()

    def all(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        cur = self.conn.cursor()
        cur.execute(self.sql(statement), params)
        rows = cur.fetchall()
        cur.close()
        return rows

    def close(self) -> None:
        self.conn.close()


def baseline_import(url: str, path: Path) -> dict[str, int]:
    """Load the file (orjson) and INSERT the same rows with executemany, one transaction: the
    records, their states, actors, sources, assessments, grants and risk-measure links; no
    validation, versions, audit entries or search documents."""
    from riskatlas.catalog.matrix import load_matrix

    matrix = load_matrix("nist-800-30")
    raw = Raw(url)
    try:
        doc = loads(path.read_bytes())
        orgs = dict(raw.all("SELECT key, id FROM organisations"))
        now = raw.stamp(datetime.now(UTC))
        j = raw.json
        raw.many("INSERT INTO actors (id, key, name, kind) VALUES (?, ?, ?, ?)",
                 [(i, a["key"], j(a["name"]), a["kind"])
                  for i, a in enumerate(doc["actors"], 1)])
        actor_ids = {a["key"]: i for i, a in enumerate(doc["actors"], 1)}
        risk_ids = {r["key"]: i for i, r in enumerate(doc["risks"], 1)}
        rows, states, actors, sources, assessments, shares = [], [], [], [], [], []
        for rid, r in enumerate(doc["risks"], 1):
            lik, imp = matrix.parse("likelihood", r["likelihood"]), matrix.parse("impact",
                                                                                r["impact"])
            level = matrix.level(lik, imp)
            rows.append((rid, r["key"], j(r["title"]), j(r["summary"]), r["status"], r["tlp"],
                         orgs[r["owner"]], 1, now, now, r["category"], r["domain"], lik, imp,
                         level, level, j(r["rationale"]), r["trend"], r["horizon"],
                         j(r["drivers"]), j(r["warning_signs"])))
            states += [(rid, s, i) for i, s in enumerate(r["states"])]
            actors += [(rid, actor_ids[a], i) for i, a in enumerate(r["actors"])]
            sources += [(rid, None, i, s["title"], s["url"], s["published"], s["publisher"])
                        for i, s in enumerate(r["sources"])]
            assessments += [(rid, a["state"], matrix.parse("likelihood", a["likelihood"]),
                             matrix.parse("impact", a["impact"]), j(a["rationale"]))
                            for a in r["assessments"]]
            shares += [("risk", rid, orgs[o]) for o in r.get("sharing", {}).get("orgs", [])]
        raw.many("INSERT INTO risks (id, key, title, summary, status, tlp, owner_org_id, "
                 "version, created_at, updated_at, category, domain, likelihood, impact, level, "
                 "residual_level, rationale, trend, horizon, drivers, warning_signs) VALUES "
                 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        mrows, mstates, links = [], [], []
        for mid, m in enumerate(doc["measures"], 1):
            mrows.append((mid, m["key"], j(m["title"]), j(m["summary"]), m["status"], m["tlp"],
                          orgs[m["owner"]], 1, now, now, m["kind"], m["treatment"],
                          orgs[m["lead"]], m["effect"]["likelihood"], m["effect"]["impact"],
                          m.get("start"), m.get("end"), m.get("progress")))
            mstates += [(mid, s, i) for i, s in enumerate(m["states"])]
            links += [(risk_ids[k], mid, i) for i, k in enumerate(m["risks"])]
            sources += [(None, mid, i, s["title"], s["url"], s["published"], s["publisher"])
                        for i, s in enumerate(m["sources"])]
            shares += [("measure", mid, orgs[o]) for o in m.get("sharing", {}).get("orgs", [])]
        raw.many("INSERT INTO measures (id, key, title, summary, status, tlp, owner_org_id, "
                 "version, created_at, updated_at, kind, treatment, lead_org_id, "
                 "effect_likelihood, effect_impact, start, \"end\", progress) VALUES "
                 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", mrows)
        raw.many("INSERT INTO risk_states (risk_id, state_code, position) VALUES (?, ?, ?)",
                 states)
        raw.many("INSERT INTO risk_actors (risk_id, actor_id, position) VALUES (?, ?, ?)",
                 actors)
        raw.many("INSERT INTO measure_states (measure_id, state_code, position) "
                 "VALUES (?, ?, ?)", mstates)
        raw.many("INSERT INTO risk_measures (risk_id, measure_id, position) VALUES (?, ?, ?)",
                 links)
        raw.many("INSERT INTO sources (risk_id, measure_id, position, title, url, published, "
                 "publisher) VALUES (?, ?, ?, ?, ?, ?, ?)", sources)
        raw.many("INSERT INTO assessments (risk_id, state_code, likelihood, impact, rationale) "
                 "VALUES (?, ?, ?, ?, ?)", assessments)
        raw.many("INSERT INTO record_shares (entity, record_id, org_id) VALUES (?, ?, ?)",
                 shares)
        raw.conn.commit()
        return {"risks": len(rows), "measures": len(mrows)}
    finally:
        raw.close()


def baseline_export(url: str) -> dict[str, list[dict[str, Any]]]:
    """The same rows as the export, read with one plain SELECT per table and nested in Python
    (JSON columns decoded, children grouped by parent id); no ORM, no scope, no labels."""
    raw = Raw(url)
    try:
        def grouped(statement: str) -> dict[int, list[Any]]:
            out: dict[int, list[Any]] = defaultdict(list)
            for row in raw.all(statement):
                out[row[0]].append(row[1] if len(row) == 2 else list(row[1:]))
            return out

        ld = raw.loads
        orgs = dict(raw.all("SELECT id, key FROM organisations"))
        states = grouped("SELECT risk_id, state_code FROM risk_states ORDER BY risk_id, position")
        actors = grouped("SELECT ra.risk_id, a.key FROM risk_actors ra JOIN actors a "
                         "ON a.id = ra.actor_id ORDER BY ra.risk_id, ra.position")
        measures = grouped("SELECT rm.risk_id, m.key FROM risk_measures rm JOIN measures m "
                           "ON m.id = rm.measure_id ORDER BY rm.risk_id, m.key")
        risks_of = grouped("SELECT rm.measure_id, r.key FROM risk_measures rm JOIN risks r "
                           "ON r.id = rm.risk_id ORDER BY rm.measure_id, rm.position")
        assessments = grouped("SELECT risk_id, state_code, likelihood, impact, rationale "
                              "FROM assessments ORDER BY risk_id, state_code")
        rsources: dict[int, list[Any]] = defaultdict(list)
        msources: dict[int, list[Any]] = defaultdict(list)
        for rid, mid, title, url_, published, publisher in raw.all(
                "SELECT risk_id, measure_id, title, url, published, publisher FROM sources "
                "ORDER BY position"):
            (rsources[rid] if rid is not None else msources[mid]).append(
                {"title": title, "url": url_, "published": published, "publisher": publisher})
        mstates = grouped("SELECT measure_id, state_code FROM measure_states "
                          "ORDER BY measure_id, position")
        risks = [{
            "key": key, "title": ld(title), "summary": ld(summary), "category": category,
            "domain": domain, "states": states.get(rid, []), "actors": actors.get(rid, []),
            "likelihood": lik, "impact": imp, "level": level, "residual_level": residual,
            "rationale": ld(rationale), "trend": trend, "horizon": horizon,
            "drivers": ld(drivers), "warning_signs": ld(signs),
            "sources": rsources.get(rid, []),
            "assessments": [{"state": s, "likelihood": li, "impact": im, "rationale": ld(why)}
                            for s, li, im, why in assessments.get(rid, [])],
            "tlp": tlp, "status": status, "owner": orgs[owner],
            "measures": measures.get(rid, []), "version": version,
        } for (rid, key, title, summary, category, domain, lik, imp, level, residual, rationale,
               trend, horizon, drivers, signs, tlp, status, owner, version) in raw.all(
            "SELECT id, key, title, summary, category, domain, likelihood, impact, level, "
            "residual_level, rationale, trend, horizon, drivers, warning_signs, tlp, status, "
            "owner_org_id, version FROM risks ORDER BY key")]
        measures_out = [{
            "key": key, "title": ld(title), "summary": ld(summary), "kind": kind,
            "treatment": treatment, "lead": orgs[lead], "states": mstates.get(mid, []),
            "status": status, "effect": {"likelihood": el, "impact": ei},
            "risks": risks_of.get(mid, []), "start": start, "end": end, "progress": progress,
            "sources": msources.get(mid, []), "tlp": tlp, "owner": orgs[owner],
            "version": version,
        } for (mid, key, title, summary, kind, treatment, lead, status, el, ei, start, end,
               progress, tlp, owner, version) in raw.all(
            "SELECT id, key, title, summary, kind, treatment, lead_org_id, status, "
            "effect_likelihood, effect_impact, start, \"end\", progress, tlp, owner_org_id, "
            "version FROM measures ORDER BY key")]
        actors_out = [{"key": k, "name": ld(n), "kind": kind}
                      for k, n, kind in raw.all("SELECT key, name, kind FROM actors ORDER BY key")]
        raw.conn.rollback()
        return {"risks": risks, "measures": measures_out, "actors": actors_out}
    finally:
        raw.close()


VISIBLE_SQL = (  # the sharing policy for a member-state principal, written by hand
    " AND (r.tlp IN ('clear', 'green', 'amber')"
    " OR (r.tlp = 'amber+strict' AND (r.owner_org_id = ? OR EXISTS (SELECT 1 FROM record_shares"
    " s WHERE s.entity = 'risk' AND s.record_id = r.id AND s.org_id = ?)))"
    " OR (r.tlp = 'red' AND EXISTS (SELECT 1 FROM record_shares s WHERE s.entity = 'risk'"
    " AND s.record_id = r.id AND s.user_id = ?)))"
)


def baseline_list(raw: Raw, principal: Any | None) -> tuple[int, list[Any]]:
    """The list filter as one plain SQL query: the first 50 risks by key with the total."""
    from riskatlas.catalog.matrix import load_matrix

    matrix = load_matrix("nist-800-30")
    domains, states = LIST_FILTER["domain"], LIST_FILTER["state"]
    levels = [matrix.parse("level", v) for v in LIST_FILTER["level"]]

    def marks(values: list[Any]) -> str:
        return ", ".join("?" * len(values))

    statement = (
        f"SELECT r.*, count(*) OVER () FROM risks r WHERE r.domain IN ({marks(domains)})"
        f" AND r.level IN ({marks(levels)}) AND r.id IN (SELECT risk_id FROM risk_states"
        f" WHERE state_code IN ({marks(states)}))"
    )
    params: tuple[Any, ...] = (*domains, *levels, *states)
    if principal is not None:
        statement += VISIBLE_SQL
        params += (principal.org_id, principal.org_id, principal.user_id)
    rows = raw.all(statement + " ORDER BY r.key LIMIT 50", params)
    raw.conn.rollback()
    return (rows[0][-1] if rows else 0), rows


# --- the benchmark -----------------------------------------------------------------------------


def catalog_file(risks: int, measures: int, seed: int) -> Path:
    """The synthetic catalog as a JSON file, cached in benchmarks/results/cache (the generator
    is deterministic, so the cached file is the one it would write again)."""
    cache = synth.RESULTS / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"catalog-{risks}-{measures}-{seed}.json"
    if path.exists():
        synth.log(f"Using the cached catalog {path.relative_to(synth.ROOT)}")
        return path
    with synth.step(f"Generating {risks} risks and {measures} measures (seed {seed})"):
        doc = synth.generate(risks, measures, seed)
    with synth.step(f"Writing {path.name}"):
        synth.write_catalog(path, doc)
    return path


def app_import(url: str, path: Path) -> dict[str, Any]:
    """The real two-phase import (as `riskatlas import`), timed by phase."""
    from riskatlas.audit.service import Who
    from riskatlas.catalog.importer import validate_files
    from riskatlas.catalog.matrix import active_matrix
    from riskatlas.catalog.service import save
    from riskatlas.runtime import make_runtime

    rt = make_runtime(url)
    matrix = active_matrix(rt.settings)
    t0 = time.perf_counter()
    with rt.transaction() as session:
        batch = validate_files(session, matrix, [path])
        t1 = time.perf_counter()
        synth.log(f"  validated {len(batch.risks)} risks, {len(batch.measures)} measures "
                  f"in {t1 - t0:.1f} s; saving ...")
        counts = save(session, matrix, batch, Who("import"))
        t2 = time.perf_counter()
        synth.log(f"  saved in {t2 - t1:.1f} s ({counts}); committing ...")
    t3 = time.perf_counter()
    return {"seconds": t3 - t0, "validate": t1 - t0, "save": t2 - t1, "commit": t3 - t2,
            "counts": str(counts)}


def app_export(url: str, out: Path) -> tuple[float, float, int]:
    """`riskatlas export --format json --output FILE`, run in-process through the real CLI
    command; returns (seconds in records.export_document, seconds in the rest: serialising and
    writing the file, bytes written)."""
    from typer.testing import CliRunner

    from riskatlas.catalog import records as rec
    from riskatlas.cli import app as cli

    real = rec.export_document
    spent: list[float] = []

    def timed_export(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - t)

    rec.export_document = timed_export  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        result = CliRunner().invoke(cli, ["export", "--format", "json", "--db", url,
                                          "--output", str(out)])
        total = time.perf_counter() - t0
    finally:
        rec.export_document = real  # type: ignore[assignment]
    if result.exit_code != 0:
        raise RuntimeError(f"riskatlas export failed: {result.output}")
    return spent[0], total - spent[0], out.stat().st_size


def plain_export(url: str, out: Path) -> tuple[float, float, int]:
    """Plain SQL read, then the same serialiser as the CLI writing a file (compact orjson)."""
    t0 = time.perf_counter()
    doc = baseline_export(url)
    t1 = time.perf_counter()
    out.write_bytes(dumps(doc) + b"\n")
    return t1 - t0, time.perf_counter() - t1, out.stat().st_size


def add_principal(url: str) -> Any:
    from riskatlas.parties.accounts import add_user, principal_for
    from riskatlas.runtime import make_runtime

    with make_runtime(url).transaction() as session:
        user, _ = add_user(session, PRINCIPAL[0], PRINCIPAL[1], PRINCIPAL[2],
                           "bench-password-1", actor="bench")
        return principal_for(session, user)


def analyze_if_no_autovacuum(dbs: list[synth.Database]) -> bool:
    """PostgreSQL with autovacuum off (as on the test server) never gathers statistics, and
    its plans for the list queries are then far from what a production server runs. Do what
    autovacuum would do shortly after the import, on both databases, untimed."""
    from sqlalchemy import text

    from riskatlas.db import get_engine

    if dbs[0].dialect != "postgresql":
        return False
    with get_engine(dbs[0].url).connect() as conn:
        if conn.execute(text("SHOW autovacuum")).scalar() != "off":
            return False
    with synth.step("autovacuum is off on this server: ANALYZE both databases (untimed)"):
        for db in dbs:
            with get_engine(db.url).connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
    return True


def count_statements(url: str, fn: Callable[[], Any]) -> int:
    from sqlalchemy import event

    from riskatlas.db import get_engine

    engine = get_engine(url)
    seen = [0]

    def counter(*_: Any) -> None:
        seen[0] += 1

    event.listen(engine, "before_cursor_execute", counter)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    return seen[0]


def run(args: argparse.Namespace) -> dict[str, Any]:
    from riskatlas.catalog import queries
    from riskatlas.catalog.matrix import active_matrix
    from riskatlas.cli_options import operator_scope
    from riskatlas.runtime import make_runtime
    from riskatlas.sharing.policy import scope_for

    results: dict[str, Any] = {"machine": synth.machine(), "params": {
        "risks": args.risks, "measures": args.measures, "seed": args.seed,
        "list_runs": args.runs, "export_runs": args.export_runs, "list_filter": LIST_FILTER}}
    path = catalog_file(args.risks, args.measures, args.seed)
    results["params"]["file_bytes"] = path.stat().st_size
    dbs: list[synth.Database] = []
    try:
        with synth.step("Creating two fresh databases (app, baseline)"):
            app_db = synth.Database(args.db, "app")
            dbs.append(app_db)
            base_db = synth.Database(args.db, "base", folder=app_db.folder)
            dbs.append(base_db)
        results["dialect"] = app_db.dialect

        with synth.step("Baseline import: orjson.loads + executemany"):
            t_base, _ = synth.timed(lambda: baseline_import(base_db.url, path))
        with synth.step("Import through validate_files + save (riskatlas import)"):
            imp = app_import(app_db.url, path)
        results["import"] = {"seconds": imp["seconds"], "baseline": t_base, "phases": imp}
        results["analyzed"] = analyze_if_no_autovacuum([app_db, base_db])

        app_runs, base_runs = [], []
        for i in range(args.export_runs):
            with synth.step(f"Export {i + 1}/{args.export_runs}: baseline, then the app"):
                base_runs.append(plain_export(base_db.url, app_db.folder / "base-export.json"))
                app_runs.append(app_export(app_db.url, app_db.folder / "app-export.json"))
        pick = statistics.median
        results["export"] = {
            "seconds": pick(r + d for r, d, _ in app_runs),
            "baseline": pick(r + d for r, d, _ in base_runs),
            "read": pick(r for r, _, _ in app_runs), "dumps": pick(d for _, d, _ in app_runs),
            "baseline_read": pick(r for r, _, _ in base_runs),
            "baseline_dumps": pick(d for _, d, _ in base_runs),
            "bytes": app_runs[0][2], "baseline_bytes": base_runs[0][2],
            "samples": [r + d for r, d, _ in app_runs],
            "baseline_samples": [r + d for r, d, _ in base_runs],
        }

        principal = add_principal(app_db.url)
        rt = make_runtime(app_db.url)
        matrix = active_matrix(rt.settings)
        filters = queries.RiskFilters(**LIST_FILTER)
        results["list"] = {}
        raw = Raw(app_db.url)
        try:
            for name, scope, who in (("everything", operator_scope(), None),
                                     ("principal", scope_for(principal), principal)):
                def app_list(scope: Any = scope) -> tuple[int, list[Any]]:
                    with rt.transaction() as session:
                        return queries.list_risks(session, matrix, scope, filters, limit=50,
                                                  aggregation=rt.settings.aggregation)

                def plain_list(who: Any = who) -> tuple[int, list[Any]]:
                    return baseline_list(raw, who)

                with synth.step(f"Filtered list ({name} scope): {args.runs} runs each"):
                    total, rows = app_list()
                    base_total, base_rows = plain_list()
                    assert (total, len(rows)) == (base_total, len(base_rows)), (
                        total, len(rows), base_total, len(base_rows))
                    statements = count_statements(app_db.url, app_list)
                    # Interleave app and baseline runs so drifting noise hits both alike.
                    for _ in range(2):
                        app_list()
                        plain_list()
                    a_samples, b_samples = [], []
                    for _ in range(args.runs):
                        a_samples.append(synth.timed(app_list)[0])
                        b_samples.append(synth.timed(plain_list)[0])
                results["list"][name] = {
                    "seconds": statistics.median(a_samples),
                    "baseline": statistics.median(b_samples),
                    "p90": sorted(a_samples)[int(0.9 * len(a_samples)) - 1],
                    "total": total, "page": len(rows), "sql_statements": statements,
                    "samples": a_samples, "baseline_samples": b_samples}
        finally:
            raw.close()
    finally:
        if not args.keep:
            for db in reversed(dbs):
                db.close()
        else:
            synth.log(f"Kept the databases: {[db.url for db in dbs]}")
    return results


def table(results: dict[str, Any]) -> str:
    rows = [("figure", "measured", "baseline", "ratio", "target", "met?")]

    def add(name: str, value: float, base: float, target: float | None, unit: str = "s") -> None:
        scale = 1000 if unit == "ms" else 1
        rows.append((name, f"{value * scale:.1f} {unit}", f"{base * scale:.1f} {unit}",
                     f"{value / base:.1f}x" if base else "-",
                     f"<= {target * scale:g} {unit}" if target else "-",
                     ("yes" if value <= target else "NO") if target else "-"))

    imp, exp = results["import"], results["export"]
    add("import (validate_files + save)", imp["seconds"], imp["baseline"], TARGETS["import"])
    add("export (riskatlas export --format json)", exp["seconds"], exp["baseline"],
        TARGETS["export"])
    add("  export: read only", exp["read"], exp["baseline_read"], None)
    add("  export: serialise + write only", exp["dumps"], exp["baseline_dumps"], None)
    for name, figure in results["list"].items():
        add(f"list_risks, {name} scope (median)", figure["seconds"], figure["baseline"],
            TARGETS["list"], "ms")
    lines = synth.text_table(rows)
    p = imp["phases"]
    lines.append("")
    lines.append(f"import phases: validate {p['validate']:.1f} s, save {p['save']:.1f} s, "
                 f"commit {p['commit']:.1f} s ({p['counts']})")
    if results.get("analyzed"):
        lines.append("PostgreSQL autovacuum is off on this server: ANALYZE ran after the imports"
                     " (untimed), as autovacuum would")
    lines.append(f"export size: {exp['bytes'] / 1e6:.1f} MB "
                 f"(baseline {exp['baseline_bytes'] / 1e6:.1f} MB)")
    for name, figure in results["list"].items():
        lines.append(f"list {name}: {figure['total']} matches, page of {figure['page']}, "
                     f"{figure['sql_statements']} SQL statements per call "
                     f"(baseline: 1), p90 {figure['p90'] * 1000:.1f} ms")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="PostgreSQL server URL (fresh databases are created and "
                        "dropped on it); default: SQLite in a temporary folder")
    parser.add_argument("--risks", type=int, default=10_000)
    parser.add_argument("--measures", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=synth.SEED)
    parser.add_argument("--runs", type=int, default=25, help="runs of the list query (>= 20)")
    parser.add_argument("--export-runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the databases (SQLite only "
                        "keeps its temporary folder until exit)")
    args = parser.parse_args()
    if args.db is not None and not args.db.startswith("postgresql"):
        parser.error("--db takes a PostgreSQL URL (SQLite is the default)")
    results = run(args)
    text = table(results)
    print(f"\nRisk Atlas catalog benchmark ({results['dialect']}, {args.risks} risks, "
          f"{args.measures} measures, {results['machine']['cpus']} CPUs, "
          f"{results['machine']['date']})\n")
    print(text)
    path = synth.write_results(f"catalog-{results['dialect']}", results)
    print(f"\nResults: {path.relative_to(synth.ROOT)}")


if __name__ == "__main__":
    main()
