"""Browser tests: a live server on a temporary SQLite node, Debian's chromium driven by Playwright.

One server and one browser for the whole session; each test opens a context per user (a fresh
cookie jar, signed in with a real session cookie) so tests do not see each other's sessions.
Playwright never downloads a browser here: it launches /usr/bin/chromium (the project's setup,
`make test`, installs Debian's package when it is missing and it may). Without chromium or
Playwright the tests are skipped with the reason shown; with CI=true they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from riskatlas.config import Settings
from riskatlas.parties import accounts, auth
from riskatlas.parties.auth import SESSION_COOKIE
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app
from tests.helpers import cli

CHROMIUM = os.environ.get("RISKATLAS_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "screenshots"
PASSWORD = "correct-horse-battery-staple"
# Flags as the machine notes give them: no background calls home (the network is closed).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]

# username -> (organisation, role)
USERS = {
    "kaz_editor": ("KAZ-SC", "editor"),    # member state; owns the AMBER records below
    "kaz_analyst": ("KAZ-SC", "analyst"),  # member state; records Kazakhstan's assessments
    "sec_editor": ("C5-SEC", "editor"),    # secretariat; owns the default catalog
    "sau_viewer": ("SAU-GOV", "viewer"),   # partner: must never see the AMBER records
    "web_admin": ("C5-SEC", "admin"),
}
# Words found in no default record, so a search or a page scan for them is unambiguous.
AMBER_RISK = "CA-BRD-901"
AMBER_MEASURE = "CA-MSR-901"
AMBER_WORD = "Quokkaridge"
BOARD_MEASURE = "CA-MSR-902"  # TLP:CLEAR, led by KAZ-SC, status proposed: moved on the board


def _text(en: str, ru: str) -> dict[str, str]:
    return {"en": en, "ru": ru}


AMBER_RISK_BODY: dict[str, Any] = {
    "key": AMBER_RISK,
    "title": _text(f"{AMBER_WORD} border post infiltration",
                   f"{AMBER_WORD}: проникновение через пограничный пост"),
    "summary": _text(f"Restricted assessment of the {AMBER_WORD} post.",
                     f"Закрытая оценка поста {AMBER_WORD}."),
    "category": "traditional", "domain": "borders", "states": ["KAZ"],
    "likelihood": "Very High", "impact": "Very High",
    "rationale": _text("Restricted.", "Ограниченный доступ."),
    "tlp": "amber", "status": "adopted",
    "sources": [{"title": "Internal note", "url": "https://example.org/amber",
                 "published": "2025"}],
}


def _measure(key: str, title: str, tlp: str, risks: list[str]) -> dict[str, Any]:
    return {"key": key, "title": _text(title, f"Мера {title}"),
            "summary": _text("Measure summary.", "Описание меры."), "kind": "prevention",
            "treatment": "reduce", "lead": "KAZ-SC", "states": ["KAZ"], "status": "proposed",
            "effect": {"likelihood": 1, "impact": 0}, "tlp": tlp, "risks": risks,
            "end": "2027-01-15",
            "sources": [{"title": "Plan", "url": "https://example.org/plan",
                         "published": "2025"}]}


@dataclass
class Live:
    url: str
    db_url: str
    tokens: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)

    def api(self, username: str, path: str, **params: Any) -> Any:
        response = httpx.get(self.url + path, params=params,
                             headers={"Authorization": f"Bearer {self.tokens[username]}"})
        assert response.status_code == 200, response.text
        return response.json()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, token: str, path: str, body: dict[str, Any]) -> None:
    response = httpx.post(url + path, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, f"{path}: {response.status_code} {response.text}"


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A node initialised with the default catalog, five users and two AMBER records, served
    by uvicorn in a thread on a free port."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.db'}"
    result = cli("init", "--db", db_url)
    assert result.exit_code == 0, result.output
    settings = Settings(database_url=db_url, cookie_secure=False, login_attempts=50)
    live = Live("", db_url)
    with Runtime(settings).transaction() as session:
        for username, (org, role) in USERS.items():
            user, _ = accounts.add_user(session, username, org, role, PASSWORD)
            live.tokens[username] = accounts.create_token(session, username, "write")
            principal = accounts.principal_for(session, user)
            live.cookies[username], _ = auth.start_session(session, principal)
    port = _free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                            log_level="warning", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the live server did not start"
    live.url = f"http://127.0.0.1:{port}"
    token = live.tokens["kaz_editor"]
    _post(live.url, token, "/api/v1/risks", AMBER_RISK_BODY)
    _post(live.url, token, "/api/v1/measures",
          _measure(AMBER_MEASURE, f"{AMBER_WORD} patrol plan", "amber", [AMBER_RISK]))
    _post(live.url, token, "/api/v1/measures",
          _measure(BOARD_MEASURE, "Border board drill", "clear", [AMBER_RISK]))
    yield live
    server.should_exit = True
    thread.join(10)


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"browser tests are required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _unavailable(f"{CHROMIUM} not found (`apt-get install chromium`, or `make browser` "
                     "as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"Playwright is not installed ({exc}): pip install -e '.[dev]'")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_as(browser: Any, live: Live) -> Iterator[Callable[..., Any]]:
    """open_as(username or None, lang="en", width=1440) -> a Page in a context of its own,
    signed in with the user's session cookie; problems seen by the page go to page.problems."""
    contexts: list[Any] = []

    def open_(username: str | None, lang: str = "en", width: int = 1440) -> Any:
        context = browser.new_context(
            base_url=live.url, locale="ru-RU" if lang == "ru" else "en-GB",
            viewport={"width": width, "height": 900},
            extra_http_headers={"Accept-Language": "ru" if lang == "ru" else "en"})
        context.set_default_timeout(5000)
        contexts.append(context)
        if username is not None:
            context.add_cookies([{"name": SESSION_COOKIE, "value": live.cookies[username],
                                  "url": live.url, "httpOnly": True, "sameSite": "Lax"}])
        page = context.new_page()
        page.problems = []
        page.on("console", lambda msg: msg.type == "error" and page.problems.append(msg.text))
        page.on("pageerror", lambda exc: page.problems.append(f"script error: {exc}"))
        return page

    yield open_
    for context in contexts:
        context.close()
