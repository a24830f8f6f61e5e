"""A process killed with SIGKILL in the middle of an import leaves all of the file or none of
it, on SQLite and PostgreSQL; the next import then completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from riskatlas.config import Settings
from riskatlas.runtime import Runtime
from riskatlas.warning import bulk
from riskatlas.warning.ingest import CHUNK
from riskatlas.warning.models import Event, EventBatch
from tests.warning import files as g

ROWS = CHUNK * 4
# The import as `riskatlas events import` runs it, with a progress callback that says when the
# writing phase has passed its first chunks and then waits (so the kill lands mid-import).
SCRIPT = """
import sys, time
from pathlib import Path
from riskatlas.audit.service import Who
from riskatlas.config import Settings
from riskatlas.runtime import Runtime
from riskatlas.warning import bulk, service
if sys.argv[3] == "rows":  # the row-by-row writer, not one batch (warning.batches)
    bulk.FAST_MIN_BYTES = 1 << 62

state = {"phase": "", "calls": 0}
def phase(name):
    state["phase"] = name
def progress(done):
    if state["phase"] == "Writing":
        state["calls"] += 1
        if state["calls"] == 2:
            print("WRITING", flush=True)
            time.sleep(60)
with Runtime(Settings(database_url=sys.argv[1])).transaction() as session:
    service.import_events(session, Path(sys.argv[2]), "acled", Who("test"),
                          progress=progress, phase=phase)
"""


def _count(db_url: str) -> int:
    """The events stored: rows of `events`, and those of batches (the fast path stores a large
    clean file as one batch, warning.batches)."""
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        rows = session.scalar(select(func.count()).select_from(Event)) or 0
        return rows + int(session.scalar(select(func.sum(EventBatch.rows - EventBatch.dead))) or 0)


@pytest.mark.parametrize("way", ["batch", "rows"])
def test_sigkill_mid_import_leaves_nothing(db_url: str, tmp_path: Path, way: str) -> None:
    """`batch`: the file (over bulk.FAST_MIN_BYTES) is stored as one batch, killed once the
    batch is written and before the commit; `rows`: written row by row, killed after its
    first chunks."""
    path = g.write_csv(tmp_path / "big.csv", g.ACLED_COLUMNS,
                       [g.acled_row(n) for n in range(ROWS)])
    assert path.stat().st_size >= bulk.FAST_MIN_BYTES
    with subprocess.Popen([sys.executable, "-c", SCRIPT, db_url, str(path), way],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            line = process.stdout.readline()  # blocks until the writing phase is under way
            assert line.strip() == "WRITING", process.stderr.read()
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30  # PostgreSQL ends the killed client's session itself
    while True:
        try:
            assert _count(db_url) == 0
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    # The database is usable and the file imports whole afterwards.
    done = subprocess.run([sys.executable, "-c", "from riskatlas.cli import app; app()",
                           "events", "import",
                           str(path), "--format", "acled", "--db", db_url],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert _count(db_url) == ROWS
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        assert session.scalar(select(func.count()).select_from(EventBatch)) == 1
