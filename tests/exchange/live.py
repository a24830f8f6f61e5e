"""A live node on loopback for the TAXII tests: the default catalog, an AMBER risk and measure
of Kazakhstan's security council, and accounts of a member, a partner and the secretariat."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app

from ..helpers import cli

PASSWORD = "correct-horse-battery-staple"
USERS = {"kaz": ("KAZ-SC", "editor"), "sau": ("SAU-GOV", "viewer"),
         "sec": ("C5-SEC", "editor")}
AMBER_RISK = "CA-BRD-901"
AMBER_MEASURE = "CA-MSR-901"
AMBER_WORD = "Quokkaridge"


def _text(en: str) -> dict[str, str]:
    return {"en": en, "ru": f"{en} (ru)"}


AMBER_RISK_BODY: dict[str, Any] = {
    "key": AMBER_RISK, "title": _text(f"{AMBER_WORD} border post infiltration"),
    "summary": _text(f"Restricted assessment of the {AMBER_WORD} post."),
    "category": "traditional", "domain": "borders", "states": ["KAZ"],
    "likelihood": "Very High", "impact": "Very High", "rationale": _text("Restricted."),
    "tlp": "amber", "status": "adopted",
    "sources": [{"title": "Internal note", "url": "https://example.org/amber",
                 "published": "2025"}],
}
AMBER_MEASURE_BODY: dict[str, Any] = {
    "key": AMBER_MEASURE, "title": _text(f"{AMBER_WORD} patrols"),
    "summary": _text("Restricted measure."), "kind": "prevention", "treatment": "reduce",
    "lead": "KAZ-SC", "states": ["KAZ"], "status": "proposed", "tlp": "amber",
    "effect": {"likelihood": 1, "impact": 0}, "risks": [AMBER_RISK], "end": "2027-01-15",
    "sources": [{"title": "Plan", "url": "https://example.org/plan", "published": "2025"}],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Node:
    url: str
    db_url: str
    tokens: dict[str, str]

    def client(self, user: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={
            "Authorization": f"Bearer {self.tokens[user]}"})


def serve(db_url: str) -> Iterator[str]:
    port = free_port()
    app = create_app(Settings(database_url=db_url, cookie_secure=False))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def node(db_url: str) -> Iterator[Node]:
    result = cli("init", "--db", db_url)
    assert result.exit_code == 0, result.output
    runtime = Runtime(Settings(database_url=db_url))
    tokens = {}
    with runtime.transaction() as session:
        for name, (org, role) in USERS.items():
            accounts.add_user(session, name, org, role, PASSWORD)
            tokens[name] = accounts.create_token(session, name, "write")
    for url in serve(db_url):
        found = Node(url, db_url, tokens)
        with found.client("kaz") as kaz:
            for path, body in (("/api/v1/risks", AMBER_RISK_BODY),
                               ("/api/v1/measures", AMBER_MEASURE_BODY)):
                response = kaz.post(path, json=body)
                assert response.status_code == 201, response.text
        yield found
