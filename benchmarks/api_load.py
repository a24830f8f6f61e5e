"""API load benchmark: the real server on a synthetic catalog of 10,000 risks under varied reads
from 50 clients of 50 accounts in 8 organisations, beside an in-memory baseline app that answers
the same URLs, served the same way, in the same run.

    .venv/bin/python benchmarks/api_load.py --duration 30      # SQLite, four loads (~9 min)
    .venv/bin/python benchmarks/api_load.py --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python benchmarks/api_load.py --hot               # the old fixed-URL load ("hot")

Each request is drawn from the whole catalog: search words of the whole English and Russian
vocabularies (30 % common, 40 % medium, 30 % rare) and any page of their hits; list pages
anywhere, with filter combinations and sorts; details of any key the caller may see. Loads:
closed loop, closed loop with answer reuse off, 50 clients thinking ~1 s between requests (with
reuse on and off). See benchmarks/README.md ("Varied load (issue 9)") for the setup, the
baseline and the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import pickle
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth  # noqa: E402
from baseline_app import SORTS, Catalog  # noqa: E402
from http_client import Connection, HTTPError  # noqa: E402

BENCH = Path(__file__).resolve().parent
KINDS = ("list", "search", "detail")
PAGE = 50  # items per list or search page
TARGETS_P99 = {"list": 0.100, "search": 0.150, "detail": 0.100}  # seconds, think-time loads
TARGET_CLOSED_RPS = 400.0  # closed loop, reuse on, all endpoints together
HOT_READER = ("bench-reader", "KGZ-SC", "viewer")  # the hot load's one account
PASSWORD = "bench-password-1"
# List filters: (parameter, share of list requests carrying it, most values at once, values).
# The values are all valid (a 422 would be an error of the benchmark); a combination may match
# nothing, as a real one may.
LIST_FILTERS: tuple[tuple[str, float, int, tuple[str, ...]], ...] = (
    ("domain", 0.40, 2, tuple(synth.DOMAINS)),
    ("state", 0.30, 2, synth.MEMBERS + synth.PARTNERS),
    ("level", 0.25, 2, synth.LEVELS),
    ("status", 0.20, 2, ("draft", "proposed", "adopted", "retired")),
    ("category", 0.20, 1, ("traditional", "emerging", "hybrid")),
    ("residual_level", 0.15, 2, synth.LEVELS),
)
SORTED_SHARE = 0.5  # list requests with an explicit sort (a field, half of them reversed)


@dataclass(frozen=True)
class Load:
    name: str
    think: float  # mean think time, seconds (0: closed loop)
    reuse: bool  # the app's answer reuse (RISKATLAS_READ_CACHE_MB=0 when off)
    # Measured from the first request a just-started server answers: no smoke check, probe or
    # warm-up before it (what users meet after a restart; not one of the targets).
    fresh: bool = False

    def describe(self) -> str:
        shape = f"think time {self.think:g} s" if self.think else "closed loop"
        start = ", fresh server, no warm-up" if self.fresh else ""
        return f"{shape}, reuse {'on' if self.reuse else 'off'}{start}"


@dataclass(frozen=True)
class Account:
    username: str
    org: str
    role: str
    token: str


# --- the database ------------------------------------------------------------------------------


def _generator_source() -> bytes:
    """synth.py up to its shared helpers: what decides the generated catalog."""
    text = (BENCH / "synth.py").read_bytes()
    return text.split(b"# --- shared benchmark helpers", 1)[0]


def _fingerprint(args: argparse.Namespace) -> str:
    """Changes when the catalog or the code that writes it changes (then the cache is rebuilt)."""
    src = synth.ROOT / "src" / "riskatlas"
    files = sorted((src / "migrations" / "versions").glob("*.py")) + sorted(
        (src / "search").glob("*.py")) + [
        src / "catalog" / name for name in ("service.py", "importer.py", "schemas.py")
    ] + [src / "audit" / "service.py", src / "db.py", src / "parties" / "service.py",
         src / "library" / "parties.yaml"]
    digest = hashlib.sha256(f"{args.risks}-{args.measures}-{args.seed}".encode())
    digest.update(_generator_source())
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def catalog_file(args: argparse.Namespace) -> Path:
    """The synthetic catalog as a JSON file, cached in benchmarks/results/cache (the name that
    catalog_bench.py uses: the generator is deterministic, the file the same)."""
    cache = synth.RESULTS / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"catalog-{args.risks}-{args.measures}-{args.seed}.json"
    if not path.exists():
        with synth.step(f"Generating {args.risks} risks and {args.measures} measures"):
            doc = synth.generate(args.risks, args.measures, args.seed)
            part = path.with_suffix(".part")
            synth.write_catalog(part, doc)
            part.replace(path)
    return path


def prepare_sqlite(args: argparse.Namespace, folder: Path) -> str:
    """A SQLite copy of the imported catalog in `folder` (the import is cached)."""
    import sqlite3

    cache = synth.RESULTS / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    size = f"api-{args.risks}-{args.measures}-{args.seed}"
    cached = args.catalog_db or cache / f"{size}-{_fingerprint(args)}.db"
    if args.catalog_db and not cached.exists():
        raise SystemExit(f"--catalog-db: {cached} does not exist")
    if not cached.exists() or (args.fresh and not args.catalog_db):
        catalog = catalog_file(args)
        db = synth.Database(None, "build", folder)  # in `folder`: close() keeps the file
        try:
            with synth.step("Importing it into SQLite through the real import (cached after)"):
                synth.import_catalog(db.url, catalog)
        finally:
            db.close()
        build = folder / "build.db"
        for stale in [*cache.glob(f"{size}-*.db"), *cache.glob("api-????????????.db")]:
            stale.unlink()  # caches of older code
        with synth.step("Checkpointing and caching the database"):
            conn = sqlite3.connect(build)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.close()
            shutil.copyfile(build, cached)
        build.unlink()
    target = folder / "api.db"
    with synth.step(f"Copying the cached catalog {cached.name} (and migrating the copy)"):
        shutil.copyfile(cached, target)
        from riskatlas.migrate import upgrade

        upgrade(f"sqlite:///{target}")  # a no-op unless a migration appeared meanwhile
    return f"sqlite:///{target}"


def prepare_postgresql(args: argparse.Namespace) -> tuple[synth.Database, float]:
    """A fresh database on the PostgreSQL server of --db, the catalog imported through the
    product's import (as `riskatlas import`), and nothing else: no ANALYZE, no VACUUM."""
    catalog = catalog_file(args)
    with synth.step("Creating a fresh PostgreSQL database (migrated, seeded)"):
        db = synth.Database(args.db, "api")
    try:
        with synth.step(f"Importing the catalog into {db.name} through the real import"):
            seconds, _ = synth.timed(lambda: synth.import_catalog(db.url, catalog))
    except BaseException:
        db.close()
        raise
    return db, seconds


def make_accounts(url: str, specs: list[tuple[str, str, str]], tokens: int) -> list[Account]:
    """The accounts, through riskatlas.parties.accounts (add_user, create_token), and `tokens`
    read tokens, token n for account n modulo the number of accounts."""
    from riskatlas.parties.accounts import add_user, create_token
    from riskatlas.runtime import make_runtime

    rt = make_runtime(url)
    out = []
    with rt.transaction() as session:
        for username, org, role in specs:
            add_user(session, username, org, role, PASSWORD, actor="bench")
        for n in range(tokens):
            username, org, role = specs[n % len(specs)]
            token = create_token(session, username, "read", days=1, name=f"api benchmark {n}")
            out.append(Account(username, org, role, token))
    rt.engine.dispose()
    return out


def _full_scope() -> Any:
    """The local operator's scope (everything): riskatlas.cli_options.operator_scope, or
    Scope.everything() in code from before that capability."""
    try:
        from riskatlas.cli_options import operator_scope
    except ImportError:
        from riskatlas.sharing.policy import Scope

        return Scope.everything()  # type: ignore[attr-defined]
    return operator_scope()


def _matrix(rt: Any) -> Any:
    """The active risk matrix: catalog.matrix.active_matrix, or the runtime's in older code."""
    try:
        from riskatlas.catalog.matrix import active_matrix
    except ImportError:
        return rt.matrix
    return active_matrix(rt.settings)


def snapshot(url: str, accounts: list[Account]) -> dict[str, Any]:
    """The catalog as the baseline and the load generator know it: every risk's JSON as the
    server renders it (catalog.queries.list_risks with full access, texts as stored, orjson), the
    fields filters and sorts read, the risks each organisation may see (sharing.policy.scope_for
    of one of its accounts), each token's organisation, and each word's risks."""
    import orjson
    from sqlalchemy import select

    from riskatlas.catalog import queries
    from riskatlas.catalog.models import Risk
    from riskatlas.parties.accounts import principal_for
    from riskatlas.parties.models import User
    from riskatlas.runtime import make_runtime
    from riskatlas.sharing.policy import scope_for

    rt = make_runtime(url)
    matrix = _matrix(rt)
    with rt.transaction() as session:
        _, items = queries.list_risks(session, matrix, _full_scope(), queries.RiskFilters(),
                                      raw_json=True, aggregation=rt.settings.aggregation)
        records = [orjson.dumps(item) for item in items]
        keys = [str(item["key"]) for item in items]
        index = {key: i for i, key in enumerate(keys)}
        visible: dict[str, list[int]] = {}
        for account in accounts:
            if account.org in visible:
                continue
            user = session.scalars(select(User).where(User.username == account.username)).one()
            scope = scope_for(principal_for(session, user))
            visible[account.org] = sorted(
                index[k] for k in session.scalars(select(Risk.key).where(scope.risks)))
    rt.engine.dispose()
    decoded = [orjson.loads(r) for r in records]
    levels = {label: matrix.parse("level", label) for label in synth.LEVELS}

    def rating(axis: str, value: Any) -> int:
        return int(matrix.parse(axis, value)) if value is not None else 0

    fields: dict[str, list[Any]] = {
        "domain": [d["domain"] for d in decoded], "status": [d["status"] for d in decoded],
        "category": [d["category"] for d in decoded],
        "level": [rating("level", d["level"]) for d in decoded],
        "residual_level": [rating("level", d["residual_level"]) for d in decoded],
        "likelihood": [rating("likelihood", d["likelihood"]) for d in decoded],
        "impact": [rating("impact", d["impact"]) for d in decoded]}
    texts = []
    for d in decoded:
        values = [d["title"], d["summary"], d["rationale"], *d["drivers"], *d["warning_signs"]]
        texts.append([t for v in values for t in (v or {}).values() if t])
    return {"keys": keys, "records": records, "levels": levels, "fields": fields,
            "states": [d["states"] for d in decoded], "visible": visible,
            "tokens": {a.token: a.org for a in accounts},
            "postings": synth.word_postings(texts)}


# --- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """uvicorn in its own process group, started and stopped by this script only."""

    def __init__(self, name: str, app: str, env: dict[str, str], workers: int, folder: Path,
                 access_log: bool, app_dir: Path | None = None) -> None:
        self.name, self.workers = name, workers
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

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until every worker has started (uvicorn logs "Application startup complete." once
        per worker) and the server answers. A worker still starting when the clients connect
        would get none of their keep-alive connections, and the load would run on one core."""
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: see {self.log}\n{self.log.read_text()}")
            started = self.log.read_text(errors="replace").count("Application startup complete")
            try:
                if started >= self.workers and httpx.get(
                        f"{self.base}/api/v1/matrix", timeout=2).status_code == 200:
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
        if not self._log.closed:
            self._log.close()


# --- CPU, from /proc ------------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pgid: int | None, pids: Iterable[int] = ()) -> dict[int, tuple[str, float]]:
    """{pid: (command, CPU seconds, user + system)} of the live processes of one process group
    (the server: uvicorn's master and workers) and of `pids` (PostgreSQL backends), from
    /proc/<pid>/stat; threads are included in their process's figures. pgid None: every
    process."""
    wanted = set(pids)
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) "
        pid = int(name)
        if pgid is None or int(fields[2]) == pgid or pid in wanted:  # pgrp
            out[pid] = (comm, (int(fields[11]) + int(fields[12])) / TICK)  # utime, stime
    return out


def _is_helper(pid: int) -> bool:
    """multiprocessing's resource tracker, which uvicorn's workers start beside themselves."""
    try:
        return b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def machine_cpu() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine since boot, every process counted
    (/proc/stat): what else ran beside the server and the load generator shows here."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    total = sum(values[:8])  # up to steal; guest time is already in user
    return (total - idle) / TICK, total / TICK


class DatabaseProcesses:
    """The PostgreSQL backends serving our database (pg_stat_activity), whose CPU is server
    work too; none for SQLite (it runs inside the workers)."""

    def __init__(self, url: str) -> None:
        self.engine: Any = None
        if url.startswith("postgresql"):
            from sqlalchemy import create_engine
            from sqlalchemy.engine import make_url

            self.name = make_url(url).database
            self.engine = create_engine(url, pool_size=1, max_overflow=0)

    def pids(self) -> list[int]:
        if self.engine is None:
            return []
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return [int(p) for p in conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> "
                "pg_backend_pid()"), {"d": self.name}).scalars()]

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def cpu_delta(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]],
              server_pid: int, db_pids: set[int], wall: float) -> dict[str, Any]:
    """Per process CPU used between two marks (a process started in between counts from 0)."""
    rows: list[dict[str, Any]] = []
    for pid, (comm, seconds) in after.items():
        used = seconds - before.get(pid, (comm, 0.0))[1]
        role = ("master" if pid == server_pid else "database" if pid in db_pids
                else "helper" if _is_helper(pid) else "worker")
        rows.append({"pid": pid, "command": comm, "role": role, "cpu_seconds": used,
                     "cores": used / wall})
    rows.sort(key=lambda r: (r["role"], -r["cpu_seconds"]))
    by_role = {role: sum(r["cpu_seconds"] for r in rows if r["role"] == role)
               for role in ("master", "worker", "helper", "database")}
    return {"processes": [r for r in rows if r["cpu_seconds"] > 0 or r["role"] != "database"],
            "seconds": by_role, "total_seconds": sum(by_role.values())}


# --- what the clients ask -------------------------------------------------------------------------


class Varied:
    """A client's requests, drawn from the whole catalog as its account sees it (deterministic
    per seed): list pages anywhere with filter combinations and sorts, searches for words of
    both languages' whole vocabulary in the WORD_MIX of synth and any page of their hits, details
    of any visible key. Page counts come from the same in-memory catalog the baseline uses."""

    def __init__(self, catalog: Catalog, bands: dict[str, list[str]], org: str,
                 rnd: random.Random, residual: bool = True) -> None:
        self.catalog, self.bands, self.org, self.rnd = catalog, bands, org, rnd
        self.visible = catalog.visible_sorted[org]
        self.filters = [f for f in LIST_FILTERS if residual or f[0] != "residual_level"]
        self.sorts = [s for s in SORTS if residual or s != "residual_level"]

    def draw(self, kind: str) -> tuple[str, str]:
        """(label, path): the label is the kind and a group: searches by word band
        ("search/rare"), lists by whether they filter or sort by residual level."""
        rnd, cat = self.rnd, self.catalog
        if kind == "detail":
            return kind, f"/api/v1/risks/{cat.keys[rnd.choice(self.visible)]}"
        if kind == "search":
            band, word = synth.draw_word(rnd, self.bands)
            hits = len(cat.search(self.org, word))
            offset = synth.draw_offset(rnd, hits, PAGE)
            return f"search/{band}", f"/api/v1/risks?q={quote(word)}&limit={PAGE}&offset={offset}"
        filters: dict[str, list[str]] = {}
        for name, share, most, values in self.filters:
            if rnd.random() < share:
                filters[name] = rnd.sample(values, rnd.randint(1, most))
        total = len(cat.select(self.org, filters))
        offset = synth.draw_offset(rnd, total, PAGE)
        query = "".join(f"&{name}={quote(v)}" for name, values in filters.items()
                        for v in values)
        sort = rnd.choice(self.sorts) if rnd.random() < SORTED_SHARE else None
        if sort:
            query += f"&sort={'-' if rnd.random() < 0.5 else ''}{sort}"
        # The residual level as the caller sees it is derived per caller (see README): such
        # lists are reported apart as well as with the others.
        group = "residual" if "residual_level" in filters or sort == "residual_level" else "other"
        return f"list/{group}", f"/api/v1/risks?limit={PAGE}&offset={offset}{query}"


class Hot:
    """The old fixed URLs ("hot"): 20 list pages (half of them of one domain), three search
    words, any visible key; a few dozen URLs in all, so nearly every answer is reused."""

    def __init__(self, catalog: Catalog, words: list[str], org: str,
                 rnd: random.Random) -> None:
        self.catalog, self.words, self.rnd = catalog, words, rnd
        self.visible = catalog.visible_sorted[org]
        self.domains = sorted(synth.DOMAINS)

    def draw(self, kind: str) -> tuple[str, str]:
        rnd = self.rnd
        if kind == "list":
            offset = rnd.randrange(0, 20) * PAGE
            if rnd.random() < 0.5:
                return kind, f"/api/v1/risks?limit={PAGE}&offset={offset}"
            domain = rnd.choice(self.domains)
            return kind, f"/api/v1/risks?limit={PAGE}&domain={domain}&offset={offset % 300}"
        if kind == "search":
            return kind, f"/api/v1/risks?limit={PAGE}&q={rnd.choice(self.words)}"
        return kind, f"/api/v1/risks/{self.catalog.keys[rnd.choice(self.visible)]}"


def hot_words(catalog: Catalog, seed: int) -> list[str]:
    """The old load's three English words: in ~30 %, ~8 % and ~0.06 % of the risks."""
    n = len(catalog.keys)
    vocab = synth.vocabulary(seed)
    out = []
    for target, pool in ((0.30, vocab["en"]), (0.08, vocab["en"]),
                         (0.0006, vocab["codenames"])):
        out.append(min((abs(len(catalog.postings.get(w.lower(), ())) / n - target), w)
                       for w in pool if w.isalpha())[1])
    return out


MixFactory = Callable[[int, random.Random], Any]  # (client number, its random) -> a drawer


# --- load ---------------------------------------------------------------------------------------


def percentile(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered))) - 1))]


def _host_port(base: str) -> tuple[str, int]:
    netloc = urlsplit(base).netloc
    host, _, port = netloc.rpartition(":")
    return host, int(port)


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def _figures(samples: list[float], errors: int, seconds: float) -> dict[str, Any]:
    return {"requests": len(samples) + errors, "errors": errors,
            "throughput": len(samples) / seconds, "p50": percentile(samples, 50),
            "p90": percentile(samples, 90), "p99": percentile(samples, 99),
            "max": max(samples, default=float("nan"))}


async def _load(server: Server, accounts: list[Account], mix: MixFactory, warmup: float,
                duration: float, seed: int, think: float, db: DatabaseProcesses
                ) -> dict[str, Any]:
    """Run one client per account for warmup + duration seconds, one keep-alive connection each.
    Requests that start in the measured window are counted (their answers may arrive after
    it); throughput and CPU are over the window. With a think time, each client pauses a random
    time (exponential, mean `think`) after each answer, and starts after a random pause."""
    latencies: dict[str, list[float]] = {}
    errors: Counter[str] = Counter()
    examples: dict[str, str] = {}
    host, port = _host_port(server.base)
    loop = asyncio.get_running_loop()
    measure_from = loop.time() + warmup
    deadline = measure_from + duration
    marks: dict[str, Any] = {}

    async def one_client(n: int, account: Account) -> None:
        rnd = random.Random(seed * 1000 + n)
        draw = mix(n, rnd).draw
        conn = Connection(host, port, _headers(account.token))  # connects on first use
        # Clients arrive over a second (or over a think time), not in the same millisecond:
        # a worker's event loop accepts every connection waiting on the shared socket at once,
        # so simultaneous arrivals would all land on one worker for the whole run.
        await asyncio.sleep(rnd.uniform(0, think or 1.0))
        while (started := loop.time()) < deadline:  # bounded: stops at the deadline
            label, path = draw(rnd.choice(KINDS))
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
                if problem is None:
                    latencies.setdefault(label, []).append(elapsed)
                else:
                    errors[label] += 1
                    examples.setdefault(label.split("/")[0],
                                        f"{path}: {problem} (after {elapsed:.1f} s)")
            if think:
                await asyncio.sleep(rnd.expovariate(1 / think))
        await conn.close()

    def mark() -> dict[str, Any]:
        return {"procs": proc_cpu(None), "machine": machine_cpu(),
                "client": time.process_time(), "at": loop.time()}

    async def cpu_marks() -> None:
        await asyncio.sleep(max(0.0, measure_from - 1.0 - loop.time()))
        marks["db_pids"] = set(await asyncio.to_thread(db.pids))
        await asyncio.sleep(max(0.0, measure_from - loop.time()))
        marks["start"] = mark()
        await asyncio.sleep(max(0.0, deadline - 1.0 - loop.time()))
        marks["db_pids"] |= set(await asyncio.to_thread(db.pids))  # any opened meanwhile
        await asyncio.sleep(max(0.0, deadline - loop.time()))
        marks["end"] = mark()

    await asyncio.gather(cpu_marks(), *(one_client(n, a) for n, a in enumerate(accounts)))
    start, end = marks["start"], marks["end"]
    wall = end["at"] - start["at"]
    ours = set(proc_cpu(server.proc.pid, marks["db_pids"]))  # the server's, by group and pid
    cpu = cpu_delta(start["procs"], {p: v for p, v in end["procs"].items() if p in ours},
                    server.proc.pid, marks["db_pids"], wall)
    busy = end["machine"][0] - start["machine"][0]
    me = os.getpid()
    rest = sorted(((v[1] - start["procs"].get(p, (v[0], 0.0))[1], p, v[0])
                   for p, v in end["procs"].items() if p not in ours and p != me), reverse=True)
    out: dict[str, Any] = {
        "wall_seconds": wall, "server_cpu": cpu,
        "client_cpu_seconds": end["client"] - start["client"],
        "machine_busy_cores": busy / wall,
        "other_processes": [{"pid": p, "command": c, "cores": used / wall}
                            for used, p, c in rest[:5] if used > 0],
        "endpoints": {}, "groups": {}, "error_examples": examples}
    for kind in KINDS:
        samples = [s for label, v in latencies.items() if label.split("/")[0] == kind
                   for s in v]
        failed = sum(c for label, c in errors.items() if label.split("/")[0] == kind)
        out["endpoints"][kind] = _figures(samples, failed, wall)
    for label in sorted(set(latencies) | set(errors)):
        if "/" in label:
            out["groups"][label] = _figures(latencies.get(label, []), errors[label], wall)
    done = sum(len(v) for v in latencies.values())
    out["total"] = {"requests": done + sum(errors.values()), "errors": sum(errors.values()),
                    "throughput": done / wall}
    server_seconds = cpu["total_seconds"]
    out["server_cores"] = server_seconds / wall
    out["server_cpu_ms_per_request"] = server_seconds * 1000 / max(done, 1)
    workers = sorted((p["cores"] for p in cpu["processes"] if p["role"] == "worker"),
                     reverse=True)
    out["worker_cores"] = workers
    return out


def _run(coro: Any) -> Any:
    """Run on uvloop (a dependency of the server): a cheaper loop leaves more of the shared
    CPUs to the server being measured."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def _cpu_of(pids: Iterable[int]) -> float:
    """CPU seconds of known processes (cheaper than proc_cpu's scan of /proc)."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def probe(server: Server, accounts: list[Account], mix: MixFactory, runs: int,
          db: DatabaseProcesses) -> dict[str, Any]:
    """One client, nothing else running: for each endpoint `runs` requests (details 2.5 times
    as many) from the same varied mix, after 3 warm-up requests, each request from the next
    of 10 accounts; latency and the server's CPU (workers and database backends, read before
    and after each request) per endpoint and per group (list/residual, search/common, ...).
    CPU time is counted in 10 ms ticks: per-request figures are means over many requests."""

    async def run() -> dict[str, Any]:
        host, port = _host_port(server.base)
        users = accounts[: min(10, len(accounts))]
        conns = [Connection(host, port, _headers(a.token)) for a in users]
        draws = [mix(n, random.Random(7_000 + n)).draw for n in range(len(users))]
        pids = list(proc_cpu(server.proc.pid, await asyncio.to_thread(db.pids)))
        samples: dict[str, list[tuple[float, float]]] = {}
        for kind in KINDS:
            n = int(runs * 2.5) if kind == "detail" else runs
            for i in range(n + 3):
                who = i % len(users)
                label, path = draws[who](kind)
                c0, t0 = _cpu_of(pids), time.perf_counter()
                status, body = await conns[who].get(path)
                elapsed, used = time.perf_counter() - t0, _cpu_of(pids) - c0
                if status != 200:
                    raise RuntimeError(f"{kind} {path}: HTTP {status} {body[:200]!r}")
                if i >= 3:
                    samples.setdefault(kind, []).append((elapsed, used))
                    if label != kind:
                        samples.setdefault(label, []).append((elapsed, used))
        for conn in conns:
            await conn.close()
        return {label: {"requests": len(v), "p50": statistics.median(t for t, _ in v),
                        "mean": statistics.fmean(t for t, _ in v),
                        "max": max(t for t, _ in v),
                        "cpu_ms_per_request": sum(c for _, c in v) * 1000 / len(v)}
                for label, v in samples.items()}

    return _run(run())


def smoke(server: Server, accounts: list[Account], mix: MixFactory) -> str | None:
    """One request of each kind: None when all answer 200, else what went wrong (the load
    is then not run: a server answering 500s measures nothing)."""

    async def run() -> str | None:
        conn = Connection(*_host_port(server.base), _headers(accounts[0].token))
        draw = mix(0, random.Random(99)).draw
        try:
            for kind in KINDS:
                _, path = draw(kind)
                status, body = await asyncio.wait_for(conn.get(path), 60.0)
                if status != 200:
                    return f"{path}: HTTP {status} {body[:300]!r}"
        except (HTTPError, OSError, TimeoutError) as exc:
            return f"{type(exc).__name__} {exc}"
        finally:
            await conn.close()
        return None

    result: str | None = _run(run())
    return result


# --- report --------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def load_table(name: str, figures: dict[str, Any]) -> list[str]:
    app, base = figures["app"], figures["baseline"]
    rows: list[tuple[str, ...]] = [("endpoint", "server", "requests", "errors", "req/s",
                                    "p50 ms", "p90 ms", "p99 ms", "p99 vs baseline")]
    groups = {"list": ("list/other", "list/residual"),
              "search": tuple(f"search/{band}" for band in synth.WORD_MIX), "detail": ()}
    for kind in [row for k in KINDS for row in (k, *groups[k])]:
        band = kind.partition("/")[2]
        shown = f"  {band}" if band else kind
        other = base["groups"].get(kind) if band else base["endpoints"][kind]
        for label, r in (("app", app), ("baseline", base)):
            e = r["groups"].get(kind) if band else r["endpoints"][kind]
            if e is None:
                continue
            ratio = ""
            if label == "app" and other and other["p99"] == other["p99"] and other["p99"]:
                ratio = f"{e['p99'] / other['p99']:.1f}x"
            rows.append((shown, label, str(e["requests"]), str(e["errors"]),
                         f"{e['throughput']:.1f}", _ms(e["p50"]), _ms(e["p90"]), _ms(e["p99"]),
                         ratio))
            shown = ""
    for label, r in (("app", app), ("baseline", base)):
        t = r["total"]
        rows.append(("all" if label == "app" else "", label, str(t["requests"]),
                     str(t["errors"]), f"{t['throughput']:.1f}", "", "", "", ""))
    lines = [f"Load {name}: {figures['describe']}", *synth.text_table(rows)]
    for label, r in (("app", app), ("baseline", base)):
        seconds = r["server_cpu"]["seconds"]
        db = f", database {seconds['database'] / r['wall_seconds']:.2f}" if seconds[
            "database"] else ""
        lines.append(
            f"{label}: server {r['server_cores']:.2f} cores (workers "
            f"{' + '.join(f'{c:.2f}' for c in r['worker_cores'])}{db}), "
            f"{r['server_cpu_ms_per_request']:.2f} ms CPU per request; load generator "
            f"{r['client_cpu_seconds'] / r['wall_seconds']:.2f} cores; whole machine "
            f"{r['machine_busy_cores']:.2f} cores busy, of which other processes "
            f"{others(r):.2f}" + "".join(
                f"{'; busiest' if i == 0 else ','} {o['command']} [{o['pid']}] {o['cores']:.2f}"
                for i, o in enumerate(o for o in r.get("other_processes", [])
                                      if o["cores"] >= 0.05)))
    for kind, example in app["error_examples"].items():
        lines.append(f"first {kind} error: {example}")
    return lines


def others(r: dict[str, Any]) -> float:
    """Cores the rest of the machine used meanwhile (other people's tests, the OS)."""
    return max(0.0, r["machine_busy_cores"] - r["server_cores"]
               - r["client_cpu_seconds"] / r["wall_seconds"])


BOTH_CPUS = 1.6  # cores the server must use (workers, and PostgreSQL's backends for it)


def both_cpus(r: dict[str, Any]) -> bool:
    """The server (its workers and, on PostgreSQL, the backends serving it) used at least
    BOTH_CPUS cores, and the work was shared: no worker did less than a third of the workers'
    total (one worker holding every connection would leave a core to others)."""
    workers = r["worker_cores"]
    return (len(workers) >= 2 and r["server_cores"] >= BOTH_CPUS
            and workers[-1] >= sum(workers) / 3)


def targets(results: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(what, target, measured, met?) for every target whose load ran."""
    out = []
    loads = results["loads"]
    for name in ("think", "think-noreuse"):
        if name in loads and "failed" not in loads[name]:
            app = loads[name]["app"]
            for kind in KINDS:
                e = app["endpoints"][kind]
                out.append((f"{name}: {kind} p99", f"<= {TARGETS_P99[kind] * 1000:g} ms",
                            f"{_ms(e['p99'])} ms ({e['errors']} errors)",
                            e["p99"] <= TARGETS_P99[kind] and e["errors"] == 0))
    if "closed" in loads and "failed" not in loads["closed"]:
        app = loads["closed"]["app"]
        t = app["total"]
        out.append(("closed: throughput", f">= {TARGET_CLOSED_RPS:g} req/s",
                    f"{t['throughput']:.1f} req/s", t["throughput"] >= TARGET_CLOSED_RPS))
        out.append(("closed: errors", "0", str(t["errors"]), t["errors"] == 0))
        db = app["server_cpu"]["seconds"]["database"] / app["wall_seconds"]
        out.append(("closed: both CPUs used", f"server >= {BOTH_CPUS:g} cores, workers "
                    "balanced", f"server {app['server_cores']:.2f} (workers "
                    f"{' + '.join(f'{c:.2f}' for c in app['worker_cores'])}"
                    + (f", database {db:.2f}" if db else "") + f"); other processes "
                    f"{others(app):.2f}", both_cpus(app)))
    return out


def report(results: dict[str, Any]) -> str:
    p = results["params"]
    mixname = ("HOT (fixed URLs)" if p["hot"] else "varied, without residual_level"
               if p["no_residual"] else "varied")
    head = (f"Risk Atlas API load, {mixname}: "
            f"{results['dialect']}, {p['clients']} clients ({p['accounts']} accounts in "
            f"{p['organisations']} organisations), {p['duration']:g} s per load, "
            f"{p['workers']} uvicorn workers, {results['machine']['cpus']} CPUs shared with the "
            f"load generator, {results['machine']['date']}; code {results['code']}")
    lines = [head, ""]
    if results.get("probe"):
        rows: list[tuple[str, ...]] = [(
            "probe: 1 client, alone", "requests", "app p50 ms", "app mean ms", "app CPU ms/req",
            "baseline p50 ms", "baseline CPU ms/req")]
        app, base = results["probe"]["app"], results["probe"]["baseline"]
        for label in sorted(app, key=lambda x: (KINDS.index(x.split("/")[0]), x)):
            a, b = app[label], base.get(label)
            rows.append((label if "/" not in label else f"  {label.split('/')[1]}",
                         str(a["requests"]), _ms(a["p50"]), _ms(a["mean"]),
                         f"{a['cpu_ms_per_request']:.1f}", _ms(b["p50"]) if b else "",
                         f"{b['cpu_ms_per_request']:.1f}" if b else ""))
        lines += [*synth.text_table(rows), ""]
    for name, figures in results["loads"].items():
        if "failed" in figures:
            lines += [f"Load {name}: {figures['describe']}: NOT RUN, the app failed its smoke "
                      f"check: {figures['failed']}", ""]
            continue
        lines += [*load_table(name, figures), ""]
    if results.get("code_changed"):
        lines += [f"WARNING: the product's code changed during the run ({results['code_changed']})",
                  ""]
    checks = targets(results)
    if checks and not p["hot"]:
        table: list[tuple[str, ...]] = [("target", "wanted", "measured", "met?")]
        table += [(a, b, c, "yes" if ok else "NO") for a, b, c, ok in checks]
        lines += synth.text_table(table)
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------


def code_digest() -> str:
    """A digest of the product's code and data files: a change during the run is reported."""
    digest = hashlib.sha256()
    for path in sorted((synth.ROOT / "src" / "riskatlas").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".yaml", ".yml", ".sql", ".toml"):
            digest.update(str(path).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def code_state() -> str:
    """The commit and whether the product's code had uncommitted changes (read-only git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=synth.ROOT,
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=synth.ROOT,
                               capture_output=True, text=True, timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (f" + {len(dirty)} uncommitted files under src/" if dirty else "")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="a PostgreSQL server URL (postgresql+psycopg://...): a "
                        "fresh database is created on it and dropped at the end; default "
                        "SQLite in a temporary folder")
    parser.add_argument("--clients", type=int, default=50,
                        help="concurrent clients, each with its own account and token")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds per "
                        "load and server")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean think time of the think-time loads, seconds")
    parser.add_argument("--loads", default="fresh,closed,closed-noreuse,think,think-noreuse",
                        help="which loads, in order: fresh (think time from a just-started "
                        "server's first request), closed, closed-noreuse, think, think-noreuse")
    parser.add_argument("--no-reuse", action="store_true",
                        help="only the loads with answer reuse off (RISKATLAS_READ_CACHE_MB=0)")
    parser.add_argument("--no-residual", action="store_true", help="leave the residual_level "
                        "filter and sort out of the list requests (each costs seconds: see "
                        "README), to measure the rest")
    parser.add_argument("--hot", action="store_true", help="the old fixed-URL load, one "
                        "account and token for all clients (default load: closed)")
    parser.add_argument("--probe", type=int, default=40, help="requests per endpoint of the "
                        "one-client probe (0: none)")
    parser.add_argument("--fresh-seconds", type=float, default=30.0,
                        help="measured seconds of the 'fresh' load (a just-started server)")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds of each load before the measured window (at least 2 "
                        "think times)")
    parser.add_argument("--access-log", action="store_true", help="keep uvicorn's access log")
    parser.add_argument("--report", type=Path, help="print the tables of a results file "
                        "again (run nothing)")
    parser.add_argument("--risks", type=int, default=10_000)
    parser.add_argument("--measures", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=synth.SEED)
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached SQLite database")
    parser.add_argument("--catalog-db", type=Path, help="SQLite: an imported catalog to use "
                        "as is (copied)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (and "
                        "the PostgreSQL database)")
    args = parser.parse_args()
    if args.hot and "--loads" not in sys.argv:
        args.loads = "closed"
    if args.db is not None and not args.db.startswith("postgresql"):
        parser.error("--db takes a PostgreSQL server URL; SQLite is the default")
    return args


def main() -> None:
    import tempfile

    args = parse_args()
    if args.report:
        import json

        stored = json.loads(args.report.read_text(encoding="utf-8"))
        print(report(stored))
        return
    known = {"closed": Load("closed", 0.0, True),
             "closed-noreuse": Load("closed-noreuse", 0.0, False),
             "think": Load("think", args.think, True),
             "think-noreuse": Load("think-noreuse", args.think, False),
             "fresh": Load("fresh", args.think, True, fresh=True)}
    try:
        loads = [known[n.strip()] for n in args.loads.split(",") if n.strip()]
    except KeyError as exc:
        raise SystemExit(f"--loads: unknown load {exc}; one of {', '.join(known)}") from None
    if args.no_reuse:
        loads = [ld for ld in loads if not ld.reuse]
    dialect = "postgresql" if args.db else "sqlite"
    folder = Path(tempfile.mkdtemp(prefix="riskatlas-api-"))
    mixname = "hot" if args.hot else "varied-noresidual" if args.no_residual else "varied"
    label = f"api-{mixname}-{dialect}-w{args.workers}-c{args.clients}"
    label += f"-d{args.duration:g}"
    results: dict[str, Any] = {"machine": synth.machine(), "code": code_state(),
                               "dialect": dialect, "params": {
        "hot": args.hot, "no_residual": args.no_residual, "loads": [ld.name for ld in loads],
        "think": args.think,
        **{k: getattr(args, k) for k in ("clients", "duration", "workers", "access_log",
                                         "risks", "measures", "seed", "probe")}},
        "loads": {}}
    servers: list[Server] = []
    code_at_start = code_digest()
    pg: synth.Database | None = None
    db: DatabaseProcesses | None = None
    try:
        if args.db:
            pg, results["import_seconds"] = prepare_postgresql(args)
            url = pg.url
        else:
            url = prepare_sqlite(args, folder)
        specs = [HOT_READER] if args.hot else synth.principals(args.clients)
        tokens = 1 if args.hot else args.clients  # hot: one token for all, as it was
        with synth.step(f"Creating {len(specs)} accounts and {tokens} read tokens"):
            accounts = make_accounts(url, specs, tokens)
        accounts = [accounts[n % len(accounts)] for n in range(args.clients)]
        with synth.step("Snapshot of the catalog for the baseline and the load generator"):
            snap = snapshot(url, accounts)
            (folder / "snapshot.pickle").write_bytes(pickle.dumps(snap, protocol=5))
            catalog = Catalog(snap)
            del snap
        bands = synth.word_bands(catalog.postings, len(catalog.keys), args.seed)
        results["params"].update(
            accounts=len(specs), organisations=len({s[1] for s in specs}),
            visible={org: len(ids) for org, ids in catalog.visible.items()},
            search_words={band: len(words) for band, words in bands.items()},
            search_word_examples={band: words[:5] for band, words in bands.items()})
        by_client = {n: a for n, a in enumerate(accounts)}
        if args.hot:
            words = hot_words(catalog, args.seed)
            results["params"]["hot_words"] = words

            def mix(n: int, rnd: random.Random) -> Any:
                return Hot(catalog, words, by_client[n].org, rnd)
        else:
            def mix(n: int, rnd: random.Random) -> Any:
                return Varied(catalog, bands, by_client[n].org, rnd, not args.no_residual)

        db = DatabaseProcesses(url)
        none = DatabaseProcesses("sqlite://")
        baseline = Server("baseline", "baseline_app:create_app",
                          {"BENCH_SNAPSHOT": str(folder / "snapshot.pickle")}, args.workers,
                          folder, args.access_log, app_dir=BENCH)
        servers.append(baseline)
        with synth.step(f"Starting the baseline ({args.workers} workers) on {baseline.base}"):
            baseline.wait_ready()
        probes: dict[str, Any] = {}
        for load in loads:
            env = {"RISKATLAS_DATABASE_URL": url}
            if not load.reuse:
                env["RISKATLAS_READ_CACHE_MB"] = "0"
            app = Server(f"app-{load.name}", "riskatlas.web.app:create_app", env, args.workers,
                         folder, args.access_log)
            servers.append(app)
            with synth.step(f"Starting the app ({args.workers} workers, reuse "
                            f"{'on' if load.reuse else 'off'}) on {app.base}"):
                app.wait_ready()
            now = code_digest()
            if now != code_at_start:
                results["code_changed"] = f"before load {load.name}: {code_state()}"
                synth.log(f"WARNING: the product's code changed since the start ({now})")
            problem = None if load.fresh else smoke(app, accounts, mix)
            if problem is not None:
                synth.log(f"{load.name}: the app failed its smoke check, load skipped: {problem}")
                results["loads"][load.name] = {"describe": load.describe(), "failed": problem}
                kept = synth.RESULTS / f"{label}-{load.name}-server.log"
                app.stop()
                shutil.copyfile(app.log, kept)
                continue
            if args.probe and not probes and not load.fresh:
                with synth.step(f"Probe: 1 client, {args.probe} requests per endpoint, app "
                                "then baseline"):
                    probes = {"app": probe(app, accounts, mix, args.probe, db),
                              "baseline": probe(baseline, accounts, mix, args.probe, none)}
                results["probe"] = probes
            warmup = 0.0 if load.fresh else max(args.warmup, 2 * load.think)
            duration = args.fresh_seconds if load.fresh else args.duration
            figures: dict[str, Any] = {"describe": load.describe()}
            for name, server, procs in (("app", app, db), ("baseline", baseline, none)):
                with synth.step(f"{load.name}: {name}, {args.clients} clients, {warmup:.0f} s "
                                f"warm-up + {duration:.0f} s measured"):
                    figures[name] = _run(_load(server, accounts, mix, warmup, duration,
                                               args.seed, load.think, procs))
                synth.log(f"{load.name} {name}: {figures[name]['total']['throughput']:.0f} "
                          f"req/s, p99 " + " / ".join(
                              _ms(figures[name]["endpoints"][k]["p99"]) for k in KINDS)
                          + f" ms, {figures[name]['total']['errors']} errors")
                if name == "app":
                    app.stop()
                    if figures[name]["total"]["errors"]:  # keep the log for the diagnosis
                        kept = synth.RESULTS / f"{label}-{load.name}-server.log"
                        shutil.copyfile(app.log, kept)
                        synth.log(f"server log kept in {kept.relative_to(synth.ROOT)}")
            results["loads"][load.name] = figures
    finally:
        for server in servers:
            server.stop()
        if db is not None:
            db.close()
        if pg is not None and not args.keep:
            with synth.step(f"Dropping {pg.name}"):
                pg.close()
        if args.keep:
            synth.log(f"Kept {folder}" + (f" and database {pg.name}" if pg else ""))
        else:
            shutil.rmtree(folder, ignore_errors=True)
    results["targets"] = [{"what": a, "wanted": b, "measured": c, "met": ok}
                          for a, b, c, ok in targets(results)]
    print()
    print(report(results))
    path = synth.write_results(label, results)
    print(f"\nResults: {path.relative_to(synth.ROOT)}")


if __name__ == "__main__":
    main()
