"""The server killed with SIGKILL while 20 clients write loses no write it answered 201 for,
and after a restart the audit chain verifies (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from ..exchange.live import free_port
from .writers import Writers, writer_token, written_keys

RISKATLAS = str(Path(sys.executable).parent / "riskatlas")


@contextmanager
def server(db_url: str, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real `riskatlas serve` process, once it answers HTTP."""
    port = free_port()
    log = (tmp_path / f"serve-{port}.log").open("wb")
    env = {**os.environ, "RISKATLAS_DATABASE_URL": db_url}
    process = subprocess.Popen([RISKATLAS, "serve", "--port", str(port)], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                httpx.get(f"{base}/api/v1/matrix", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert process.poll() is None, (tmp_path / f"serve-{port}.log").read_text()
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(20)
        log.close()


def test_sigkill_during_20_writers_loses_no_committed_write(db_url: str, tmp_path: Path) -> None:
    token = writer_token(db_url)
    with server(db_url, tmp_path) as (base, process):
        writers = Writers(base, token).start()
        try:
            writers.wait_for(80)
            process.send_signal(signal.SIGKILL)
            process.wait(20)
            time.sleep(0.3)  # let every client meet the dead server
        finally:
            writers.stop()
    assert process.returncode == -signal.SIGKILL
    committed = writers.committed_keys
    assert len(committed) >= 80, writers.errors[:5]
    assert writers.errors, "no client saw the server die while it wrote"

    with server(db_url, tmp_path) as (base, _):
        present = written_keys(db_url)
        assert committed <= present, sorted(committed - present)[:10]
        assert present <= writers.sent
        last = max(committed)
        answer = httpx.get(f"{base}/api/v1/risks/{last}",
                           headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.json()["key"] == last
        verified = subprocess.run([RISKATLAS, "audit", "verify", "--db", db_url],
                                  capture_output=True, text=True)
        assert verified.returncode == 0, verified.stderr
        assert "Audit chain intact" in verified.stderr
