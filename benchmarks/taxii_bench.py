"""TAXII benchmark: a whole collection read with the OASIS client, beside static files.

    .venv/bin/python benchmarks/taxii_bench.py                  # ~100,000 objects, 3 runs
    .venv/bin/python benchmarks/taxii_bench.py --medallion 5000 # and medallion 3.0 for reference

The synthetic catalog (benchmarks/synth.py: 10,000 risks and 30,000 measures, imported through
the real import and cached, as for api_load.py) makes the Catalog collection: its risks,
measures, the links between them (relationships), actors, identities, locations and markings.
`taxii2-client` reads every object of it with `as_pages(..., per_request=1000)`:

1. from our server (`uvicorn riskatlas.web.app:create_app`, one worker, a member's token):
   the first read (the collection is built for that reader) and then `--runs` reads;
2. the baseline, in the same run: the same client reading the same pages, saved as static
   JSON files, from a static file server in its own process (each page a file; the query
   string names the file, nothing is computed): the practical limit of serving these pages;
3. with `--medallion N`: medallion 3.0.0 (the OASIS reference server, memory backend) serving
   the first N of the same objects, read the same way (installed in its own virtualenv under
   benchmarks/results/, from the package registry, on first use).

Targets (issue 12): our read at most 2x the static one, and the whole read in at most 10 s.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402
import synth  # noqa: E402
from api_load import Server, free_port, prepare_sqlite  # noqa: E402

MEDIA = "application/taxii+json;version=2.1"
PAGE = 1000
MEDALLION = "medallion==3.0.0"


def read_all(url: str, auth: Any) -> tuple[float, int, int]:
    """(seconds, objects, pages) of reading the whole collection at `url` with the client."""
    from taxii2client.v21 import Collection, as_pages

    info = {"id": url.rstrip("/").rsplit("/", 1)[1], "title": "bench", "can_read": True,
            "can_write": False, "media_types": ["application/stix+json;version=2.1"]}
    started = time.perf_counter()
    collection = Collection(url, collection_info=info, auth=auth)
    objects = pages = 0
    for envelope in as_pages(collection.get_objects, per_request=PAGE):
        objects += len(envelope.get("objects", []))
        pages += 1
    return time.perf_counter() - started, objects, pages


def save_pages(url: str, auth: Any, folder: Path) -> int:
    """Every page of the collection as our server gives it, as files: `first.json`, then one
    per `next` value (the name the static server maps the query string to)."""
    folder.mkdir(parents=True, exist_ok=True)
    session = requests.Session()
    session.auth = auth
    params: dict[str, Any] = {"limit": PAGE}
    name, pages = "first", 0
    while True:
        response = session.get(url + "objects/", params=params, headers={"Accept": MEDIA})
        response.raise_for_status()
        (folder / f"{name}.json").write_bytes(response.content)
        pages += 1
        doc = response.json()
        if not doc.get("more"):
            return pages
        params = {"limit": PAGE, "next": doc["next"]}
        name = doc["next"]


class StaticPages(http.server.BaseHTTPRequestHandler):
    """A plain static file server for the saved pages: `objects/?next=X` is the file X.json,
    `objects/` the first; nothing else is computed."""

    folder = Path(".")
    protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        name = query.get("next", ["first"])[0]
        path = self.folder / f"{name}.json"
        if "/" in name or not path.exists():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", MEDIA)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def serve_static(folder: Path, port: int) -> None:
    StaticPages.folder = folder
    http.server.ThreadingHTTPServer(("127.0.0.1", port), StaticPages).serve_forever()


def start(command: list[str], url: str, log: Path, auth: Any = None) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{command[0]} exited: {log.read_text()}")
        try:
            if requests.get(url, auth=auth, timeout=2,
                            headers={"Accept": MEDIA}).status_code < 500:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"not ready: {url} (see {log})")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def medallion_python() -> Path:
    venv = synth.RESULTS / "medallion-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        with synth.step(f"Installing {MEDALLION} in {venv} (once)"):
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", MEDALLION], check=True)
    return python


def medallion_data(objects: list[dict[str, Any]], folder: Path) -> tuple[Path, str]:
    """medallion's memory backend file with one collection holding `objects`."""
    collection = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
    manifest = [{"id": o["id"], "date_added": o.get("modified", o["created"]),
                 "version": o.get("modified", o["created"]),
                 "media_type": "application/stix+json;version=2.1"} for o in objects]
    data = {"/discovery": {"title": "bench", "default": "http://127.0.0.1/api1/",
                           "api_roots": ["http://127.0.0.1/api1/"]},
            "api1": {"information": {"title": "bench", "versions": [MEDIA],
                                     "max_content_length": 100_000_000},
                     "status": [],
                     "collections": [{"id": collection, "title": "bench", "can_read": True,
                                      "can_write": False,
                                      "media_types": ["application/stix+json;version=2.1"],
                                      "objects": objects, "manifest": manifest}]}}
    path = folder / "medallion-data.json"
    path.write_text(json.dumps(data))
    conf = folder / "medallion.json"
    conf.write_text(json.dumps({"backend": {"module": "medallion.backends.memory_backend",
                                            "module_class": "MemoryBackend",
                                            "filename": str(path)},
                                "users": {"bench": "bench"},
                                "taxii": {"max_page_size": PAGE}}))
    return conf, collection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--risks", type=int, default=10_000)
    parser.add_argument("--measures", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=synth.SEED)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--medallion", type=int, default=0, metavar="N",
                        help="also read N objects from medallion 3.0.0 (0: skip)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached database")
    parser.add_argument("--catalog-db", type=Path, default=None)
    parser.add_argument("--serve-static", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_static:  # the static file server's own process
        serve_static(args.serve_static, args.port)
        return

    from riskatlas.config import Settings
    from riskatlas.exchange.collections import CATALOG
    from riskatlas.exchange.peers import Bearer
    from riskatlas.parties import accounts
    from riskatlas.runtime import Runtime

    folder = Path(tempfile.mkdtemp(prefix="taxii-bench-"))
    results: dict[str, Any] = {"machine": synth.machine(), "page": PAGE}
    try:
        url = prepare_sqlite(args, folder)
        with Runtime(Settings(database_url=url)).transaction() as session:
            accounts.add_user(session, "bench", "KAZ-SC", "viewer", "bench-password-0123456789")
            token = accounts.create_token(session, "bench", "read")
        auth = Bearer(token)
        server = Server("riskatlas", "riskatlas.web.app:create_app",
                        {"RISKATLAS_DATABASE_URL": url, "RISKATLAS_PUBLIC_MODE": "false"},
                        1, folder, access_log=False)
        try:
            server.wait_ready()
            base = f"{server.base}/taxii2/riskatlas/collections/{CATALOG.id}/"
            with synth.step("First read (the collection is built for this reader)"):
                first = read_all(base, auth)
            ours = [read_all(base, auth) for _ in range(args.runs)]
            pages_dir = folder / "pages"
            save_pages(base, auth, pages_dir)
            objects: list[dict[str, Any]] = []
            if args.medallion:
                for page in sorted(pages_dir.glob("*.json"), key=lambda p: p.stat().st_mtime):
                    # medallion reads any "version" property as a timestamp (an
                    # extension-definition's is "1.0"): those objects are left out for it
                    objects += [o for o in json.loads(page.read_bytes()).get("objects", [])
                                if "version" not in o]
                    if len(objects) >= args.medallion:
                        break
        finally:
            server.stop()
        port = free_port()
        static = start([sys.executable, __file__, "--serve-static", str(pages_dir),
                        "--port", str(port)], f"http://127.0.0.1:{port}/x/objects/",
                       folder / "static.log")
        try:
            baseline = [read_all(f"http://127.0.0.1:{port}/collections/{CATALOG.id}/", None)
                        for _ in range(args.runs)]
        finally:
            stop(static)
        ours_s = statistics.median(r[0] for r in ours)
        static_s = statistics.median(r[0] for r in baseline)
        results.update({
            "objects": first[1], "pages": first[2], "first_read_s": first[0],
            "ours_s": [r[0] for r in ours], "static_s": [r[0] for r in baseline],
            "ours_median_s": ours_s, "static_median_s": static_s,
            "ratio": ours_s / static_s,
            "same_objects": all(r[1] == first[1] for r in ours + baseline)})
        if args.medallion:
            objects = objects[:args.medallion]
            conf, collection = medallion_data(objects, folder)
            mport = free_port()
            med = start([str(medallion_python()), "-m", "medallion.scripts.run", "--port",
                         str(mport), str(conf)], f"http://127.0.0.1:{mport}/taxii2/",
                        folder / "medallion.log", auth=("bench", "bench"))
            try:
                murl = f"http://127.0.0.1:{mport}/api1/collections/{collection}/"
                with synth.step(f"medallion: {len(objects)} objects"):
                    seconds, count, _ = read_all(murl, requests.auth.HTTPBasicAuth(
                        "bench", "bench"))
            except requests.HTTPError:
                print((folder / "medallion.log").read_text()[-3000:], file=sys.stderr)
                raise
            finally:
                stop(med)
            results["medallion"] = {"objects": count, "seconds": seconds}
        print(json.dumps(results, indent=2))
        out = synth.write_results("taxii", results)
        print(f"ours: {ours_s:.2f} s for {first[1]} objects in {first[2]} pages (first read "
              f"{first[0]:.2f} s); static files: {static_s:.2f} s; ratio {ours_s / static_s:.2f}"
              f" (target <= 2, and <= 10 s); results in {out}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop("RISKATLAS_DATABASE_URL", None)


if __name__ == "__main__":
    main()
