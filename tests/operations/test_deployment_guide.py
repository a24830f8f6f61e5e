"""The deployment guide's PostgreSQL steps, run as written against this machine's PostgreSQL.

docs/deployment.md marks its testable shell blocks with an HTML comment before the fence:
`<!-- tested: postgres -->` (set-up steps, run in order in one bash), `<!-- tested: postgres
serve -->` (the server, started as a real process) and `<!-- tested: postgres check -->` (the
health checks). The test changes only the guide's placeholders: the `RA_*` variables of the
first block (a throwaway role, database and password; the server's host and port) and the
server's port 8000 (a free one). Then it creates the role and the database, migrates, loads the
catalog, starts `riskatlas serve --workers 2`, checks /healthz and /readyz, stops the server and
drops the database and the role.

PostgreSQL comes from RISKATLAS_TEST_POSTGRES_URL like the other PostgreSQL tests (its user must
be allowed to create roles and databases): without a server the test is skipped with the reason
shown; with CI=true it fails.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from riskatlas.migrate import head_revision

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "deployment.md"
PG_URL = os.environ.get(
    "RISKATLAS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BLOCK = re.compile(r"<!-- tested: (postgres(?: serve| check)?) -->\n```bash\n(.*?)\n```", re.S)
GUIDE_PORT = "8000"


def marked_blocks(markdown: str) -> dict[str, list[str]]:
    """The guide's tested blocks by kind (postgres, postgres serve, postgres check), in order."""
    found: dict[str, list[str]] = {}
    for kind, body in BLOCK.findall(markdown):
        found.setdefault(kind, []).append(body)
    return found


def with_values(block: str, values: dict[str, str]) -> str:
    """The block with each `NAME=...` line of a placeholder in `values` set to its value."""
    def line(match: re.Match[str]) -> str:
        return f"{match[1]}={values[match[1]]}" if match[1] in values else match[0]

    return re.sub(r"^(RA_[A-Z]+)=.*$", line, block, flags=re.M)


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (required with CI=true)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def admin() -> Iterator[URL]:
    """PostgreSQL's administrator connection, or a skip (a failure with CI=true)."""
    for tool in ("psql", "curl", "openssl"):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} is not installed: the deployment guide's steps use it")
    url = make_url(PG_URL)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any connection problem means "no server here"
        engine.dispose()
        _unavailable(f"PostgreSQL not reachable at {PG_URL} (set RISKATLAS_TEST_POSTGRES_URL): "
                     f"{exc}")
    engine.dispose()
    yield url


def _drop(admin: URL, database: str, role: str) -> None:
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    engine.dispose()


def _stop(server: subprocess.Popen[str]) -> str:
    """Stop the server and its workers (SIGTERM to its process group, as systemd does)."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    out, _ = server.communicate()
    return out


def _wait_until_up(server: subprocess.Popen[str], base: str) -> None:
    """Until the server answers at all (or has exited, or a minute has gone: then fail)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"riskatlas serve exited with {server.returncode}:\n{_stop(server)}")
        try:
            httpx.get(f"{base}/healthz", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"riskatlas serve did not answer within a minute:\n{_stop(server)}")


def test_the_guide_marks_its_postgres_steps() -> None:
    blocks = marked_blocks(GUIDE.read_text(encoding="utf-8"))
    assert len(blocks.get("postgres", [])) >= 3
    assert len(blocks.get("postgres serve", [])) == 1
    assert len(blocks.get("postgres check", [])) == 1
    steps = "\n".join(blocks["postgres"])
    for step in ("CREATE ROLE", "CREATE DATABASE", "RISKATLAS_DATABASE_URL=\"postgresql+psycopg://",
                 "riskatlas db upgrade", "riskatlas init"):
        assert step in steps, step
    assert "--workers" in blocks["postgres serve"][0]
    assert "/healthz" in blocks["postgres check"][0] and "/readyz" in blocks["postgres check"][0]
    assert set(re.findall(r"^(RA_[A-Z]+)=", blocks["postgres"][0], re.M)) == {
        "RA_DB", "RA_ROLE", "RA_PASSWORD", "RA_PGHOST", "RA_PGPORT"}


def test_the_guides_postgres_steps_deploy_a_node(admin: URL, tmp_path: Path) -> None:
    blocks = marked_blocks(GUIDE.read_text(encoding="utf-8"))
    name = f"riskatlas_guide_{secrets.token_hex(4)}"
    password = secrets.token_hex(16)
    values = {"RA_DB": name, "RA_ROLE": name, "RA_PASSWORD": password,
              "RA_PGHOST": admin.host or "127.0.0.1", "RA_PGPORT": str(admin.port or 5432)}
    port = str(_free_port())
    # A clean environment: no RISKATLAS_* of the caller's; libpq's variables name the
    # administrator's connection, as "run as PostgreSQL's superuser" asks; the virtualenv's
    # `riskatlas` first on PATH.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RISKATLAS_", "PG"))}
    env.update(PGHOST=values["RA_PGHOST"], PGPORT=values["RA_PGPORT"],
               PGUSER=admin.username or "postgres", PGDATABASE=admin.database or "postgres",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
               NO_COLOR="1")
    if admin.password:
        env["PGPASSWORD"] = admin.password
    steps = [with_values(blocks["postgres"][0], values), *blocks["postgres"][1:]]
    script = "\n".join([*steps, 'printf %s "$RISKATLAS_DATABASE_URL" > database-url'])
    server: subprocess.Popen[str] | None = None
    try:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"the guide's steps failed:\n{done.stdout}{done.stderr}"
        url = (tmp_path / "database-url").read_text()
        assert make_url(url).database == name and make_url(url).username == name

        # The schema is current and the catalog loaded, in the new database, by the new role.
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
                head_revision())
            assert conn.execute(text("SELECT count(*) FROM risks")).scalar_one() > 0
            assert conn.execute(text("SELECT current_user")).scalar() == name
        engine.dispose()

        serve = blocks["postgres serve"][0].replace(f"--port {GUIDE_PORT}", f"--port {port}")
        assert f"--port {port}" in serve
        server = subprocess.Popen(["bash", "-c", f"exec {serve}"], cwd=tmp_path,
                                  env={**env, "RISKATLAS_DATABASE_URL": url},
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(server, base)

        check = blocks["postgres check"][0].replace(f":{GUIDE_PORT}/", f":{port}/")
        checked = subprocess.run(["bash", "-euo", "pipefail", "-c", check], cwd=tmp_path,
                                 env=env, capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, f"health checks failed:\n{checked.stdout}{checked.stderr}"
        for path in ("/healthz", "/readyz"):
            assert httpx.get(f"{base}{path}", timeout=10).status_code == 200, path
    finally:
        if server is not None:
            _stop(server)
        _drop(admin, name, name)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_database WHERE datname = :n"),
                            {"n": name}).scalar_one() == 0
    engine.dispose()
