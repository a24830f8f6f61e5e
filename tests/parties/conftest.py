"""Fixtures for accounts and sign-in: settings with a small rate limit, users, a web client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app

PASSWORD = "correct horse battery"
ATTEMPTS = 3


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, cookie_secure=False, login_attempts=ATTEMPTS,
                    login_window_seconds=300)


@pytest.fixture
def rt(settings: Settings) -> Runtime:
    return Runtime(settings)


@pytest.fixture
def add_user(rt: Runtime) -> Callable[..., None]:
    def add(username: str, org: str = "KAZ-SC", role: str = "editor",
            password: str = PASSWORD) -> None:
        with rt.transaction() as session:
            accounts.add_user(session, username, org, role, password)
    return add


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client_at(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """A client calling from a given address (each with its own cookie jar)."""
    opened: list[TestClient] = []

    def make(address: str) -> TestClient:
        client = TestClient(app, client=(address, 50000))
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


@pytest.fixture
def client(client_at: Callable[[str], TestClient]) -> TestClient:
    return client_at("192.0.2.1")
