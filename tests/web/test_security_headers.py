"""Security headers on pages and API answers, pages that work under them (no inline script or
style), /api/docs served from this server, and an Allow header on every 405."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from riskatlas.config import Settings
from riskatlas.web.app import create_app
from tests.helpers import SMALL, load

pytestmark = pytest.mark.audited  # issue 8: the audit chain holds after each test

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "riskatlas" / "web" / "templates"
HEADERS = {"x-frame-options": "DENY", "x-content-type-options": "nosniff",
           "referrer-policy": "same-origin"}


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    load(db_url, SMALL)
    settings = Settings(database_url=db_url, cookie_secure=False, public_mode=True)
    with TestClient(create_app(settings)) as client:
        yield client


def _csp(value: str) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in value.split("; ")}


@pytest.mark.parametrize("path", ["/", "/api/v1/risks", "/api/docs", "/risks/CA-TST-001",
                                  "/login", "/api/v1/nothing-here", "/static/style.css"])
def test_every_answer_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert {name: response.headers.get(name) for name in HEADERS} == HEADERS, path
    policy = _csp(response.headers["content-security-policy"])
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["script-src"] == "'self'" and "unsafe" not in policy["style-src"]


def test_reused_answers_keep_the_headers(client: TestClient) -> None:
    first, again = client.get("/api/v1/risks"), client.get("/api/v1/risks")  # web.cache
    assert first.headers["x-frame-options"] == again.headers["x-frame-options"] == "DENY"
    assert again.headers.get_list("x-frame-options") == ["DENY"]


def test_pages_hold_no_inline_script_or_style(client: TestClient) -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template.name
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", text), template.name
    for path in ("/", "/risks/CA-TST-001", "/login", "/api/docs"):
        page = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=", page), path


def test_the_api_docs_load_only_from_this_server(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert "cdn" not in page.text.lower()
    for url in urls:  # Swagger UI itself, its start-up script, its styles
        assert client.get(url).status_code == 200, url
    assert client.get("/static/swagger-init.js").text.count("SwaggerUIBundle(") == 1
    assert client.get("/api/openapi.json").json()["paths"]


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("OPTIONS", "/api/v1/risks", "GET, POST"),
    ("OPTIONS", "/api/v1/risks/CA-TST-001", "GET, PATCH"),
    ("PUT", "/api/v1/risks/CA-TST-001", "GET, PATCH"),
    ("DELETE", "/api/v1/groups", "GET, POST"),
    ("OPTIONS", "/api/v1/risks/CA-TST-001/assessments/KAZ", "GET, PUT, DELETE"),
    ("POST", "/", "GET"),
    ("OPTIONS", "/api/docs", "GET"),
    ("POST", "/static/style.css", "GET, HEAD"),
])
def test_every_405_names_the_allowed_methods(client: TestClient, method: str, path: str,
                                             allowed: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    if path.startswith("/api/"):
        assert response.json()["code"] == "method_not_allowed"
