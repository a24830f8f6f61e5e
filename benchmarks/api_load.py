"""API load benchmark: the real server on a synthetic catalog of 10,000 risks, 50 concurrent
clients with a read token over list, search and detail, beside a baseline app that returns the
same JSON from memory, served the same way in the same run.

    .venv/bin/python benchmarks/api_load.py                  # 50 clients, 60 s per server
    .venv/bin/python benchmarks/api_load.py --quick          # 50 clients, 10 s per server
    .venv/bin/python benchmarks/api_load.py --clients 20 --duration 30 --workers 1

The load generator (http_client.py: lean asyncio keep-alive connections, one process)
shares the machine's CPUs with the server.
See benchmarks/README.md for the setup, the baseline and the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth  # noqa: E402
from http_client import Connection, HTTPError  # noqa: E402

TARGETS_P99 = {"list": 0.100, "search": 0.150, "detail": 0.100}  # seconds
KINDS = ("list", "search", "detail")
PAGE = 50  # items per list or search page
READER = ("bench-reader", "KGZ-SC", "viewer")  # a member state's viewer, read-only token
BENCH = Path(__file__).resolve().parent


# --- the database ------------------------------------------------------------------------------


def _fingerprint(args: argparse.Namespace) -> str:
    """Changes when the catalog or the code that writes it changes (then the cache is rebuilt)."""
    src = synth.ROOT / "src" / "riskatlas"
    files = sorted((src / "migrations" / "versions").glob("*.py")) + [
        src / "catalog" / name for name in ("service.py", "importer.py", "schemas.py")
    ] + [src / "search" / "service.py", src / "audit" / "service.py", src / "db.py",
         BENCH / "synth.py"]
    digest = hashlib.sha256(f"{args.risks}-{args.measures}-{args.seed}".encode())
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def prepare(args: argparse.Namespace, folder: Path) -> tuple[str, dict[str, Any]]:
    """A SQLite copy of the imported catalog in `folder` (the import is cached), and facts about
    the catalog the load needs: risk keys, domains and search words."""
    cache = synth.RESULTS / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    cached = args.catalog_db or cache / f"api-{_fingerprint(args)}.db"
    facts_path = cached.with_suffix(".json")
    if args.catalog_db and not (cached.exists() and facts_path.exists()):
        raise SystemExit(f"--catalog-db: {cached} and {facts_path} must both exist")
    if not cached.exists() or not facts_path.exists() or args.fresh:
        with synth.step(f"Generating {args.risks} risks and {args.measures} measures"):
            doc = synth.generate(args.risks, args.measures, args.seed)
            catalog = folder / "catalog.json"
            synth.write_catalog(catalog, doc)
            words = synth.search_words(doc)
            facts = {"keys": [r["key"] for r in doc["risks"]],
                     "domains": sorted(synth.DOMAINS), "words": words}
            del doc
        db = synth.Database(None, "build", folder)  # in `folder`: close() keeps the file
        try:
            with synth.step("Importing it through the real import (cached afterwards)"):
                synth.import_catalog(db.url, catalog)
        finally:
            db.close()
        build = folder / "build.db"
        for stale in cache.glob("api-*"):  # caches of older code or other parameters
            stale.unlink()
        with synth.step("Checkpointing and caching the database"):
            import sqlite3

            conn = sqlite3.connect(build)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.close()
            shutil.copyfile(build, cached)
            facts_path.write_text(json.dumps(facts, ensure_ascii=False), encoding="utf-8")
        catalog.unlink()
        build.unlink()
    facts = json.loads(facts_path.read_text(encoding="utf-8"))
    target = folder / "api.db"
    with synth.step(f"Copying the cached catalog {cached.name}"):
        shutil.copyfile(cached, target)
    return f"sqlite:///{target}", facts


def reader_token(url: str) -> tuple[str, list[str]]:
    """A read token of a new viewer account, and the keys of the risks that account may see
    (detail requests ask only for those: every answer must be a 200)."""
    from sqlalchemy import select

    from riskatlas.catalog.models import Risk
    from riskatlas.parties.accounts import add_user, create_token, principal_for
    from riskatlas.runtime import make_runtime
    from riskatlas.sharing.policy import scope_for

    rt = make_runtime(url)
    with rt.transaction() as session:
        user, _ = add_user(session, READER[0], READER[1], READER[2], "bench-password-1",
                           actor="bench")
        token = create_token(session, READER[0], "read", days=1, name="api benchmark")
        scope = scope_for(principal_for(session, user))
        keys = list(session.scalars(select(Risk.key).where(scope.risks).order_by(Risk.key)))
    rt.engine.dispose()
    return token, keys


# --- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """uvicorn in its own process group, started and stopped by this script only."""

    def __init__(self, name: str, app: str, env: dict[str, str], workers: int, folder: Path,
                 access_log: bool, app_dir: Path | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"{name}.log"
        command = [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", str(workers)]
        if not access_log:
            command.append("--no-access-log")
        if app_dir is not None:
            command += ["--app-dir", str(app_dir)]
        self.command = command
        self._log = self.log.open("wb")
        self.proc = subprocess.Popen(command, env={**os.environ, **env}, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=str(folder))

    def wait_ready(self, timeout: float = 60.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: see {self.log}\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.base}/api/v1/matrix", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"server not ready after {timeout} s: see {self.log}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # our own process group only
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) of the live processes of one process group, from /proc."""
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()  # after "pid (comm) "
        if int(fields[2]) == pgid:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


# --- load ------------------------------------------------------------------------------------


class Paths:
    """The URLs a client asks for, drawn from the catalog (deterministic per client)."""

    def __init__(self, facts: dict[str, Any], rnd: random.Random) -> None:
        self.keys = facts["keys"]
        self.domains = facts["domains"]
        self.words = [w for w, _ in facts["words"].values()]
        self.rnd = rnd

    def make(self, kind: str) -> str:
        rnd = self.rnd
        if kind == "list":
            offset = rnd.randrange(0, 20) * PAGE
            if rnd.random() < 0.5:
                return f"/api/v1/risks?limit={PAGE}&offset={offset}"
            domain = rnd.choice(self.domains)
            return f"/api/v1/risks?limit={PAGE}&domain={domain}&offset={offset % 300}"
        if kind == "search":
            return f"/api/v1/risks?limit={PAGE}&q={rnd.choice(self.words)}"
        return f"/api/v1/risks/{rnd.choice(self.keys)}"


def percentile(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered))) - 1))]


async def _load(base: str, token: str, facts: dict[str, Any], clients: int, warmup: float,
                duration: float, seed: int, think: float, pgid: int) -> dict[str, Any]:
    """Run the clients for warmup + duration seconds, one keep-alive connection each; count
    only the requests that start after the warm-up. With a think time, each client starts after
    a random pause (users do not all click at the same instant)."""
    latencies: dict[str, list[float]] = {k: [] for k in KINDS}
    errors: Counter[str] = Counter()
    examples: dict[str, str] = {}
    host, port = _host_port(base)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    cpu: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    measure_from = loop.time() + warmup
    deadline = measure_from + duration
    last_done = measure_from

    async def one_client(n: int) -> None:
        nonlocal last_done
        rnd = random.Random(seed * 1000 + n)
        paths = Paths(facts, rnd)
        conn = Connection(host, port, headers)
        if think:
            await asyncio.sleep(rnd.uniform(0, 2 * think))
        while (started := loop.time()) < deadline:  # bounded: stops at the deadline
            kind = rnd.choice(KINDS)
            path = paths.make(kind)
            t0 = time.perf_counter()
            problem = None
            try:
                status, body = await asyncio.wait_for(conn.get(path), 30.0)
                if status != 200:
                    problem = f"HTTP {status} {body[:200]!r}"
            except (HTTPError, OSError, TimeoutError) as exc:
                problem = f"{type(exc).__name__} {exc}"
                await conn.close()
            elapsed = time.perf_counter() - t0
            if started >= measure_from:
                last_done = max(last_done, loop.time())
                if problem is None:
                    latencies[kind].append(elapsed)
                else:
                    errors[kind] += 1
                    examples.setdefault(kind, f"{path}: {problem} (after {elapsed:.1f} s)")
            if think:
                await asyncio.sleep(rnd.expovariate(1 / think))
        await conn.close()

    async def cpu_marks() -> None:
        await asyncio.sleep(max(0.0, measure_from - loop.time()))
        cpu["server"], cpu["client"] = group_cpu_seconds(pgid), time.process_time()

    await asyncio.gather(cpu_marks(), *(one_client(n) for n in range(clients)))
    server_cpu = group_cpu_seconds(pgid) - cpu["server"]
    client_cpu = time.process_time() - cpu["client"]
    wall = last_done - measure_from
    out: dict[str, Any] = {"wall_seconds": wall, "server_cpu_seconds": server_cpu,
                           "client_cpu_seconds": client_cpu, "endpoints": {}}
    for kind in KINDS:
        samples = latencies[kind]
        out["endpoints"][kind] = {
            "requests": len(samples) + errors[kind], "errors": errors[kind],
            "throughput": len(samples) / wall,
            "p50": percentile(samples, 50), "p90": percentile(samples, 90),
            "p99": percentile(samples, 99), "max": max(samples, default=float("nan")),
            "error_example": examples.get(kind)}
    total = sum(len(v) for v in latencies.values())
    out["total"] = {"requests": total + sum(errors.values()), "errors": sum(errors.values()),
                    "throughput": total / wall}
    return out


def _run(coro: Any) -> Any:
    """Run on uvloop when it is installed (it is a dependency of the server): a cheaper loop
    leaves more of the shared CPUs to the server being measured."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def _host_port(base: str) -> tuple[str, int]:
    netloc = urlsplit(base).netloc
    host, _, port = netloc.rpartition(":")
    return host, int(port)


def load(base: str, token: str, facts: dict[str, Any], clients: int, warmup: float,
         duration: float, seed: int, think: float, pgid: int) -> dict[str, Any]:
    return _run(_load(base, token, facts, clients, warmup, duration, seed, think, pgid))


def unloaded(base: str, token: str, facts: dict[str, Any], runs: int) -> dict[str, float]:
    """Median latency of each endpoint with one client and nothing else running: the time one
    request costs, without queueing."""

    async def run() -> dict[str, float]:
        rnd = random.Random(7)
        paths = Paths(facts, rnd)
        conn = Connection(*_host_port(base), {"Authorization": f"Bearer {token}"})
        out = {}
        for kind in KINDS:
            samples = []
            for i in range(runs + 3):
                t0 = time.perf_counter()
                status, body = await conn.get(paths.make(kind))
                if status != 200:
                    raise RuntimeError(f"{kind}: HTTP {status} {body[:200]!r}")
                if i >= 3:
                    samples.append(time.perf_counter() - t0)
            out[kind] = statistics.median(samples)
        await conn.close()
        return out

    return _run(run())


def capture(base: str, token: str, facts: dict[str, Any]) -> dict[str, Any]:
    """One real response of each kind, for the baseline app to serve."""
    import httpx

    words = facts["words"]
    paths = {"list": f"/api/v1/risks?limit={PAGE}",
             "search": f"/api/v1/risks?limit={PAGE}&q={words['medium'][0]}",
             "detail": f"/api/v1/risks/{facts['keys'][0]}"}
    out = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as client:
        for kind, path in paths.items():
            response = client.get(path)
            response.raise_for_status()
            out[kind] = response.json()
    return out


# --- report --------------------------------------------------------------------------------------


def table(results: dict[str, Any]) -> str:
    rows = [("endpoint", "server", "requests", "errors", "req/s", "p50 ms", "p99 ms",
             "unloaded ms", "p99 target", "met?")]
    for kind in KINDS:
        for name in ("app", "baseline"):
            e = results[name]["endpoints"][kind]
            target = TARGETS_P99[kind]
            rows.append((kind if name == "app" else "", name, str(e["requests"]),
                         str(e["errors"]), f"{e['throughput']:.1f}", f"{e['p50'] * 1000:.1f}",
                         f"{e['p99'] * 1000:.1f}",
                         f"{results[name]['unloaded'][kind] * 1000:.1f}",
                         f"<= {target * 1000:g} ms" if name == "app" else "",
                         ("yes" if e["p99"] <= target and e["errors"] == 0 else "NO")
                         if name == "app" else ""))
    for name in ("app", "baseline"):
        t = results[name]["total"]
        rows.append(("all" if name == "app" else "", name, str(t["requests"]), str(t["errors"]),
                     f"{t['throughput']:.1f}", "", "", "", "", ""))
    lines = synth.text_table(rows)
    ratios = []
    for kind in KINDS:
        a, b = results["app"]["endpoints"][kind], results["baseline"]["endpoints"][kind]
        ratios.append(f"{kind}: p99 {a['p99'] / b['p99']:.1f}x, "
                      f"throughput {b['throughput'] / max(a['throughput'], 1e-9):.1f}x lower")
    lines += ["", "app vs baseline: " + "; ".join(ratios)]
    for name in ("app", "baseline"):
        r = results[name]
        wall, done = r["wall_seconds"], r["total"]["requests"] - r["total"]["errors"]
        lines.append(f"{name}: server used {r['server_cpu_seconds'] / wall:.2f} CPUs "
                     f"({r['server_cpu_seconds'] * 1000 / max(done, 1):.1f} ms CPU per "
                     f"request), the load generator {r['client_cpu_seconds'] / wall:.2f} CPUs")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per server")
    parser.add_argument("--quick", action="store_true", help="10 s per server (smoke run)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean pause between a client's requests, seconds (default 0: "
                        "closed loop, every client always has a request in flight)")
    parser.add_argument("--access-log", action="store_true", help="keep uvicorn's access log")
    parser.add_argument("--no-reuse", action="store_true", help="serve with "
                        "RISKATLAS_READ_CACHE_MB=0: every answer computed afresh")
    parser.add_argument("--risks", type=int, default=10_000)
    parser.add_argument("--measures", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=synth.SEED)
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached database")
    parser.add_argument("--catalog-db", type=Path, help="an imported catalog to use as is "
                        "(a copy of a cached api-*.db with its .json beside it), e.g. while "
                        "changing the import code")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.quick:
        args.duration = 10.0
    warmup = max(5.0, 2 * args.think) if args.think else min(5.0, args.duration / 6)
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="riskatlas-api-"))
    label = f"api-w{args.workers}-c{args.clients}-d{args.duration:g}-think{args.think:g}"
    label += "-noreuse" if args.no_reuse else ""
    results: dict[str, Any] = {"machine": synth.machine(), "params": {
        k: getattr(args, k) for k in ("clients", "duration", "workers", "think", "access_log",
                                      "no_reuse", "risks", "measures", "seed")}}
    servers: list[Server] = []
    try:
        url, facts = prepare(args, folder)
        results["params"]["search_words"] = facts["words"]
        token, facts["keys"] = reader_token(url)
        results["params"]["visible_risks"] = len(facts["keys"])
        reuse = {"RISKATLAS_READ_CACHE_MB": "0"} if args.no_reuse else {}
        for name in ("app", "baseline"):
            if name == "app":
                server = Server("app", "riskatlas.web.app:create_app",
                                {"RISKATLAS_DATABASE_URL": url, **reuse}, args.workers, folder,
                                args.access_log)
            else:
                server = Server("baseline", "baseline_app:create_app",
                                {"BENCH_RESPONSES": str(folder / "responses.json")},
                                args.workers, folder, args.access_log, app_dir=BENCH)
            servers.append(server)
            with synth.step(f"Starting the {name} server ({args.workers} workers) on "
                            f"{server.base}"):
                server.wait_ready()
            with synth.step(f"{name}: unloaded latency (1 client, 20 requests per endpoint)"):
                quiet = unloaded(server.base, token, facts, 20)
            with synth.step(f"{name}: {args.clients} clients, {warmup:.0f} s warm-up + "
                            f"{args.duration:.0f} s measured"):
                figures = load(server.base, token, facts, args.clients, warmup, args.duration,
                               args.seed, args.think, server.proc.pid)
            figures["unloaded"] = quiet
            results[name] = figures
            if name == "app":  # what the baseline app will serve
                (folder / "responses.json").write_text(json.dumps(
                    capture(server.base, token, facts), ensure_ascii=False), encoding="utf-8")
            server.stop()
            if figures["total"]["errors"]:  # keep the server's log for the diagnosis
                kept = synth.RESULTS / f"{label}-{name}-server.log"
                shutil.copyfile(server.log, kept)
                synth.log(f"{name}: {figures['total']['errors']} errors; server log kept in "
                          f"{kept.relative_to(synth.ROOT)}")
    finally:
        for server in servers:
            server.stop()
        if args.keep:
            synth.log(f"Kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    extras = (f", think time {args.think:g} s" if args.think else ", closed loop") + (
        ", answer reuse off" if args.no_reuse else "")
    print(f"\nRisk Atlas API load ({args.clients} clients, {args.duration:.0f} s per server, "
          f"{args.workers} uvicorn workers{extras}, {results['machine']['cpus']} CPUs shared "
          f"with the load generator, {results['machine']['date']})\n")
    print(table(results))
    for kind in KINDS:
        example = results["app"]["endpoints"][kind]["error_example"]
        if example:
            print(f"first {kind} error: {example}")
    path = synth.write_results(label, results)
    print(f"\nResults: {path.relative_to(synth.ROOT)}")


if __name__ == "__main__":
    main()
