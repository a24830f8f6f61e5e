"""No page or stylesheet makes the browser load anything from outside the server (issue 10).

Many of the networks Risk Atlas runs on are air-gapped: a CDN script, a web font or a map tile
would fail there, and elsewhere it would tell a third party who reads which page. Checked on the
templates and static files as shipped, and on the rendered HTML of the main pages.

Links are data: a record's sources are rendered as `<a href="https://...">`, which the browser
follows only when the reader clicks, so `<a href>` (and `<area href>`) may point anywhere. Every
attribute that loads something (script, stylesheet, image, frame, object, media, form target,
htmx request) and every CSS `url()` / `@import` must stay on this server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from riskatlas.config import Settings
from riskatlas.parties import accounts, auth
from riskatlas.parties.auth import SESSION_COOKIE
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app
from tests.helpers import cli

WEB = Path(__file__).resolve().parents[2] / "src" / "riskatlas" / "web"
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"
# What the browser follows only on a click.
LINK_ATTRIBUTES = {("a", "href"), ("area", "href")}
# Attributes whose value the browser (or htmx) fetches by itself.
LOADING_ATTRIBUTES = {"src", "href", "action", "formaction", "poster", "data", "srcset",
                      "xlink:href", "background", "manifest", "ping", "hx-get", "hx-post",
                      "hx-put", "hx-patch", "hx-delete", "cite"}
# An XML namespace names a vocabulary, it is never fetched.
NAMESPACES = re.compile(r"https?://www\.w3\.org/(2000/svg|1999/xlink|1999/xhtml|XML/1998/"
                        r"namespace|2000/xmlns/)")
ABSOLUTE = re.compile(r"^\s*(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//|\\\\)")
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]*)\1\s*\)|@import\s+(['"])([^'"]*)\3""", re.I)
SCHEME_URL = re.compile(r"""(?:https?:)?//[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+""")
MAIN_PAGES = ["/", "/risks", "/risks/CA-AFG-001", "/measures", "/measures/CA-MSR-029",
              "/countries/KAZ", "/login", "/account", "/admin", "/api/docs"]


def external(url: str) -> bool:
    """True for a URL that leaves the server: any scheme but data: (inline bytes), or //host.
    Jinja expressions count as local here; the rendered pages are checked with real values."""
    url = url.strip()
    if url.startswith(("data:", "#", "{{", "{%")):
        return False
    return bool(ABSOLUTE.match(url))


def css_problems(css: str) -> list[str]:
    found = []
    for match in CSS_URL.finditer(css):
        url = match.group(2) if match.group(2) is not None else match.group(4)
        if external(url or ""):
            found.append(f"css {match.group(0)!r}")
    return found


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if name == "style":
                self.problems += css_problems(value)
            if name == "xmlns" or name.startswith("xmlns:"):
                continue
            if (tag, name) in LINK_ATTRIBUTES:
                if value.strip().lower().startswith(("javascript:", "//")):
                    self.problems.append(f"<{tag} {name}={value!r}>")
                continue
            if name == "srcset":
                urls = [part.split()[0] for part in value.split(",") if part.split()]
            elif name in LOADING_ATTRIBUTES:
                urls = [value]
            else:
                continue
            self.problems += [f"<{tag} {name}={url!r}>" for url in urls if external(url)]

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.problems += css_problems(data)


def html_problems(html: str) -> list[str]:
    scan = _Scan()
    scan.feed(html)
    scan.close()
    return scan.problems


def _files(folder: Path, *suffixes: str) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in suffixes)


def test_the_checks_catch_what_they_must() -> None:
    bad = ('<script src="https://cdn.example/x.js"></script>'
           '<link rel="stylesheet" href="//fonts.example/css">'
           '<img srcset="/a.png 1x, https://tiles.example/b.png 2x">'
           '<iframe src="http://example.org"></iframe><form action="https://x.example/">'
           '<div hx-get="https://api.example/"></div><style>@import "https://f.example/a";'
           'body{background:url(//img.example/a.png)}</style>'
           '<p style="background: url(\'https://x.example/y\')"></p>')
    assert len(html_problems(bad)) == 9, html_problems(bad)
    good = ('<a href="https://example.org/source">source</a><img src="/static/a.png">'
            '<img src="data:image/png;base64,AAAA"><link rel="stylesheet" href="/static/s.css">'
            '<svg xmlns="http://www.w3.org/2000/svg"><use href="#state-KAZ"/></svg>'
            '<form action="/login?lang=ru"><a href="?lang=ru">RU</a></form>')
    assert html_problems(good) == []
    assert css_problems("a{background:url(/static/x.svg)} b{mask:url('data:image/svg+xml,')}"
                        ) == []


@pytest.mark.parametrize("path", _files(TEMPLATES, ".html"), ids=lambda p: p.name)
def test_templates_load_nothing_from_outside(path: Path) -> None:
    assert html_problems(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", _files(STATIC, ".css", ".svg", ".html"),
                         ids=lambda p: str(p.relative_to(STATIC)))
def test_stylesheets_and_images_load_nothing_from_outside(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    problems = css_problems(text)
    if path.suffix in {".svg", ".html"}:
        problems += html_problems(text)
    assert problems == []


@pytest.mark.parametrize("path", _files(STATIC, ".js", ".mjs"),
                         ids=lambda p: str(p.relative_to(STATIC)))
def test_scripts_name_no_outside_host(path: Path) -> None:
    """A script could fetch anything: it names no host at all (namespaces aside)."""
    text = NAMESPACES.sub("", path.read_text(encoding="utf-8"))
    hosts = [m.group(0) for m in SCHEME_URL.finditer(text) if m.group(0).startswith("http")]
    assert hosts == []


@pytest.fixture(scope="module")
def signed_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The default catalog, read by the administrator's session (sees every page)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('urls') / 'node.db'}"
    assert cli("init", "--db", url).exit_code == 0
    settings = Settings(database_url=url, cookie_secure=False)
    with Runtime(settings).transaction() as session:
        user, _ = accounts.add_user(session, "url_admin", "C5-SEC", "admin",
                                    "correct-horse-battery-staple")
        cookie, _ = auth.start_session(session, accounts.principal_for(session, user))
    with TestClient(create_app(settings)) as client:
        client.cookies.set(SESSION_COOKIE, cookie)
        yield client


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_rendered_pages_load_nothing_from_outside(signed_in: TestClient, lang: str) -> None:
    answered = []
    for path in MAIN_PAGES:
        response = signed_in.get(path, params={"lang": lang})
        if response.status_code != 200 or "html" not in response.headers["content-type"]:
            continue  # a page not built yet is the browser tests' business
        answered.append(path)
        assert html_problems(response.text) == [], path
        csp = response.headers.get("content-security-policy", "")
        assert not SCHEME_URL.search(csp), f"{path}: CSP names an outside host: {csp}"
    assert {"/", "/login"} <= set(answered), answered
