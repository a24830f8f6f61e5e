"""Shared by the frame, account and admin page tests: an app on the test database, users, and a
browser-like sign-in through the login form (its double-submit CSRF cookie included)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app

PASSWORD = "correct horse battery"


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Argon2 at its cheapest: the real parameters cost half a second per hash or sign-in
    here, and these tests are about the pages, not the hash (tests/parties covers it)."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8,
                                                            parallelism=1))
    yield


def settings_for(db_url: str) -> Settings:
    return Settings(database_url=db_url, cookie_secure=False, login_attempts=5,
                    login_window_seconds=300)


def app_for(db_url: str) -> FastAPI:
    return create_app(settings_for(db_url))


def add_user(db_url: str, username: str, org: str = "KAZ-SC", role: str = "editor",
             password: str = PASSWORD) -> None:
    with Runtime(settings_for(db_url)).transaction() as session:
        accounts.add_user(session, username, org, role, password)


def field(page: str, name: str) -> str:
    """The value of the first hidden input of that name in a page."""
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} field in the page"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token (from the next page)."""
    form = client.get("/login")
    answer = client.post("/login", data={"username": username, "password": password,
                                         "csrf": field(form.text, "csrf"), "next": "/account"},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return field(client.get("/account").text, "csrf")
