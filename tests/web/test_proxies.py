"""X-Forwarded-For is believed only from RISKATLAS_TRUSTED_PROXIES.

Found against a live server: uvicorn believes forwarded headers from 127.0.0.1 by default, so a
caller on the same host chose the address that the per-address login limit and the audit trail
saw. The first test is that attack again, on the server `riskatlas serve` starts.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from riskatlas.audit.models import AuditEntry
from riskatlas.config import Settings, get_settings
from riskatlas.parties.models import LoginAttempt
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app
from tests.helpers import cli

pytestmark = pytest.mark.audited  # issue 8: the audit chain holds after each test

LOGIN = "/api/v1/auth/login"
ATTEMPTS = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The server exactly as `riskatlas serve` configures uvicorn, in a thread; its URL."""
    monkeypatch.setenv("RISKATLAS_DATABASE_URL", db_url)  # serve sets it; restored after
    monkeypatch.setenv("RISKATLAS_LOGIN_ATTEMPTS", str(ATTEMPTS))
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append((a, kw)))
    get_settings.cache_clear()
    port = _free_port()
    result = cli("serve", "--db", db_url, "--port", str(port))
    assert result.exit_code == 0, result.output
    (args, kwargs), = calls
    server = uvicorn.Server(uvicorn.Config(*args, **kwargs, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    get_settings.cache_clear()


def test_forwarded_for_from_localhost_neither_escapes_the_lock_nor_spoofs_the_audit(
    served: str, db_url: str
) -> None:
    with httpx.Client(base_url=served) as client:
        answers = [client.post(LOGIN, json={"username": f"guess{i}", "password": "wrong"},
                               headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
                   for i in range(ATTEMPTS + 1)]
    # Each attempt named another account and another "address": only the real one can lock.
    assert answers == [401] * ATTEMPTS + [429]
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        assert set(session.scalars(select(LoginAttempt.address))) == {"127.0.0.1"}
        logins = session.scalars(select(AuditEntry.address)
                                 .where(AuditEntry.action.like("login%"))).all()
    assert logins and set(logins) == {"127.0.0.1"}


def _client(db_url: str, address: str, proxies: str = "") -> TestClient:
    settings = Settings(database_url=db_url, cookie_secure=False, trusted_proxies=proxies)
    return TestClient(create_app(settings), client=(address, 50000))


def _addresses(db_url: str) -> set[str]:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        return set(session.scalars(select(LoginAttempt.address)))


def test_a_trusted_proxy_names_the_caller(db_url: str) -> None:
    with _client(db_url, "10.1.2.3", "10.0.0.0/8, 192.0.2.7") as client:
        client.post(LOGIN, json={"username": "x", "password": "wrong"},
                    headers={"X-Forwarded-For": "198.51.100.9, 10.9.9.9"})
    # The last address not a trusted proxy: the one the first proxy saw.
    assert _addresses(db_url) == {"198.51.100.9"}


def test_forwarded_headers_from_anyone_else_are_ignored(db_url: str) -> None:
    for address, proxies in (("192.0.2.1", "10.0.0.0/8"), ("127.0.0.1", "")):
        with _client(db_url, address, proxies) as client:
            client.post(LOGIN, json={"username": "x", "password": "wrong"},
                        headers={"X-Forwarded-For": "198.51.100.9"})
    assert _addresses(db_url) == {"192.0.2.1", "127.0.0.1"}


@pytest.mark.parametrize("value", ["*", "proxy.internal", "10.0.0.0/33"])
def test_a_trusted_proxy_that_is_no_address_stops_the_start(value: str) -> None:
    with pytest.raises(ValidationError, match="RISKATLAS_TRUSTED_PROXIES"):
        Settings(trusted_proxies=value)
