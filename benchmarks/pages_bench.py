"""Pages benchmark: the dashboard and filtered catalog pages rendered for one signed-in user on
10,000 risks, beside the JSON API answering the same question in the same run.

    .venv/bin/python benchmarks/pages_bench.py                # SQLite copy of the cached import
    .venv/bin/python benchmarks/pages_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    # options: --risks 10000 --measures 30000 --seed N --runs 200 --fresh --catalog-db FILE

One member-state analyst (KGZ-SC) signed in with a browser session cookie asks, in turn, a page
and the API call that answers the same question: requests go through the whole application
(middleware, CSP headers, session look-up, Jinja2 or orjson) in-process with Starlette's test
client, so no socket or HTTP parser is in the figures. Browser sessions are never served from
the API's read cache (web/cache.py), so both sides compute every answer. Each run draws the
filters again (seeded): domain, state, level, residual level, status, category, a search word,
sort and page, 0-4 of them at once. See benchmarks/README.md ("Benchmark 4").
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth  # noqa: E402

TARGET_P99 = 0.150  # seconds: the dashboard and a filtered catalog page, rendered
PAGE = 25  # the catalog page's size (catalog.pages.PAGE_SIZE); the API asks the same
USER = ("bench-pages", "KGZ-SC", "analyst")
FILTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("domain", tuple(synth.DOMAINS)),
    ("state", synth.MEMBERS),
    ("level", synth.LEVELS),
    ("residual_level", synth.LEVELS),
    ("status", ("draft", "proposed", "adopted")),
    ("category", ("traditional", "emerging", "hybrid")),
)
SORTS = ("", "-residual_level", "-level", "-updated_at", "domain")


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def draw_filters(rnd: random.Random, words: list[str], search_share: float
                 ) -> list[tuple[str, str]]:
    """A catalog question a person might ask: a few filters, sometimes a word, a sort, a page."""
    chosen = rnd.sample(FILTERS, rnd.choice((1, 1, 2, 2, 3, 4)))
    params = [(name, rnd.choice(values)) for name, values in chosen]
    if rnd.random() < search_share:
        params.append(("q", rnd.choice(words)))
    sort = rnd.choice(SORTS)
    if sort:
        params.append(("sort", sort))
    if rnd.random() < 0.3:
        params.append(("page", str(rnd.randint(2, 4))))
    return params


def api_params(params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out = [(n, v) for n, v in params if n != "page"]
    page = next((int(v) for n, v in params if n == "page"), 1)
    return [*out, ("limit", str(PAGE)), ("offset", str((page - 1) * PAGE))]


def prepare(args: argparse.Namespace, folder: Path) -> tuple[str, Any]:
    """The imported catalog (api_load's cached SQLite import, or a fresh PostgreSQL one)."""
    import api_load

    if args.db:
        db, _ = api_load.prepare_postgresql(args)
        return db.url, db
    return api_load.prepare_sqlite(args, folder), None


def run(args: argparse.Namespace) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from riskatlas.config import Settings
    from riskatlas.parties import accounts, auth
    from riskatlas.parties.auth import SESSION_COOKIE
    from riskatlas.runtime import make_runtime
    from riskatlas.web.app import create_app

    folder = Path(tempfile.mkdtemp(prefix="riskatlas-pages-"))
    url, pg = prepare(args, folder)
    try:
        with make_runtime(url).transaction() as session:
            user, _ = accounts.add_user(session, USER[0], USER[1], USER[2], None, actor="bench")
            cookie, _ = auth.start_session(session, accounts.principal_for(session, user))
        app = create_app(Settings(database_url=url, cookie_secure=False))
        rnd = random.Random(args.seed)
        vocab = synth.vocabulary(args.seed)  # frequent words first: common and medium hits
        words = vocab["en"][:150] + vocab["ru"][:50] + vocab["codenames"][:20]
        results: dict[str, Any] = {"machine": synth.machine(), "params": {
            "risks": args.risks, "measures": args.measures, "seed": args.seed,
            "runs": args.runs, "page": PAGE, "user": USER,
            "search_share": args.search_share}, "dialect": "postgresql"
            if args.db else "sqlite"}
        with TestClient(app, raise_server_exceptions=False) as client:
            client.cookies.set(SESSION_COOKIE, cookie)

            def get(path: str, params: list[tuple[str, str]] | None = None,
                    headers: dict[str, str] | None = None) -> Callable[[], int]:
                target = f"{path}?{urlencode(params)}" if params else path

                def call() -> int:
                    response = client.get(target, headers=headers)
                    if response.status_code != 200:
                        raise SystemExit(f"{target}: {response.status_code} {response.text[:300]}")
                    return len(response.content)
                return call

            total = client.get("/api/v1/risks", params={"limit": 1}).json()["total"]
            results["visible_risks"] = total
            # (label, page or API, a function drawing the request of one run)
            kinds: list[tuple[str, str, Callable[[], Callable[[], int]]]] = [
                ("dashboard", "page", lambda: get("/")),
                ("dashboard, residual view", "page", lambda: get("/", [("view", "residual")])),
                ("dashboard data: top 10 by residual", "api", lambda: get(
                    "/api/v1/risks", [("sort", "-residual_level"), ("limit", "10")])),
            ]
            samples: dict[str, list[float]] = {k[0]: [] for k in kinds}
            sizes: dict[str, list[int]] = {k[0]: [] for k in kinds}
            catalog_kinds = ("catalog page (filtered)", "catalog fragment (htmx)",
                             "API list, same filters")
            for label in catalog_kinds:
                samples[label], sizes[label] = [], []
            with synth.step(f"{args.runs} runs of each (pages and API interleaved, "
                            "10 warm-up runs)"):
                for i in range(args.runs + 10):
                    params = draw_filters(rnd, words, args.search_share)
                    calls = [(label, draw()) for label, _, draw in kinds] + [
                        ("catalog page (filtered)", get("/risks", params)),
                        ("catalog fragment (htmx)", get("/risks", params,
                                                        {"HX-Request": "true"})),
                        ("API list, same filters", get("/api/v1/risks", api_params(params))),
                    ]
                    rnd.shuffle(calls)
                    for label, call in calls:
                        t0 = time.perf_counter()
                        size = call()
                        elapsed = time.perf_counter() - t0
                        if i >= 10:
                            samples[label].append(elapsed)
                            sizes[label].append(size)
        results["cases"] = [{
            "what": label, "p50": statistics.median(s), "p90": percentile(s, 0.90),
            "p99": percentile(s, 0.99), "max": max(s), "bytes_p50": statistics.median(
                sizes[label]), "runs": len(s)} for label, s in samples.items()]
        return results
    finally:
        if pg is not None:
            pg.close()
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def table(results: dict[str, Any]) -> str:
    def ms(value: float) -> str:
        return f"{value * 1000:.1f} ms"

    rows = [("request", "p50", "p90", "p99", "max", "size p50")]
    for c in results["cases"]:
        rows.append((c["what"], ms(c["p50"]), ms(c["p90"]), ms(c["p99"]), ms(c["max"]),
                     f"{c['bytes_p50'] / 1024:.1f} kB"))
    lines = synth.text_table(rows)
    by = {c["what"]: c for c in results["cases"]}
    lines.append("")
    for page in ("dashboard", "catalog page (filtered)"):
        p99 = by[page]["p99"]
        lines.append(f"target: {page} <= {TARGET_P99 * 1000:g} ms at p99: {p99 * 1000:.1f} ms, "
                     f"met: {'yes' if p99 <= TARGET_P99 else 'NO'}")
    ratio = by["catalog page (filtered)"]["p50"] / by["API list, same filters"]["p50"]
    lines.append(f"catalog page / API list p50: {ratio:.1f}x"
                 f"; {results['visible_risks']} risks visible to {USER[0]} ({USER[1]} {USER[2]}), "
                 f"{results['dialect']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="PostgreSQL server URL (a fresh database is created and "
                        "dropped on it); default: a SQLite copy of the cached import")
    parser.add_argument("--risks", type=int, default=10_000)
    parser.add_argument("--measures", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=synth.SEED)
    parser.add_argument("--runs", type=int, default=200, help="timed runs of each request")
    parser.add_argument("--search-share", type=float, default=0.25,
                        help="share of catalog questions with a search word")
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached SQLite import")
    parser.add_argument("--catalog-db", type=Path, help="an imported SQLite catalog to copy")
    args = parser.parse_args()
    t0 = time.perf_counter()
    results = run(args)
    results["seconds"] = time.perf_counter() - t0
    out = synth.write_results(f"pages-{results['dialect']}", results)
    print(table(results))
    print(f"\nresults: {out.relative_to(synth.ROOT)}")


if __name__ == "__main__":
    main()
