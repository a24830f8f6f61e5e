"""The documentation site (mkdocs.yml, docs/): it builds with warnings as errors (a broken link
or anchor, a page left out of the navigation), it works offline, and its references are whole.

Offline means what `tests/web/test_no_external_urls.py` means for the product's pages: nothing
the browser fetches by itself (a script, a stylesheet, a font, an image, a frame) comes from
another server; links (`<a href>`) may point anywhere, since they are followed only on a click.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from riskatlas.docgen import commands

ROOT = Path(__file__).resolve().parents[1]
# Attributes whose value the browser fetches by itself, per tag (link: by rel, below).
LOADING = {"script": "src", "img": "src", "iframe": "src", "frame": "src", "embed": "src",
           "source": "src", "video": "src", "audio": "src", "track": "src", "object": "data",
           "input": "src"}
# <link> relations that make the browser fetch; alternate, prev, next, canonical do not.
FETCHING_RELS = {"stylesheet", "preload", "prefetch", "preconnect", "dns-prefetch",
                 "modulepreload", "icon", "apple-touch-icon", "manifest", "mask-icon"}
ABSOLUTE = re.compile(r"^\s*(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//|\\\\)")
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]*)\1\s*\)|@import\s+(['"])([^'"]*)\3""", re.I)


def remote(url: str) -> bool:
    """True for a URL that leaves the site (any scheme but data:, or //host)."""
    url = url.strip()
    return not url.startswith("data:") and bool(ABSOLUTE.match(url))


class Loads(HTMLParser):
    """Collects what a page makes the browser fetch: attribute URLs and inline CSS urls."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "link":
            rels = set(values.get("rel", "").lower().split())
            if rels & FETCHING_RELS:
                self.urls.append(values.get("href", ""))
        elif tag in LOADING and LOADING[tag] in values:
            self.urls.append(values[LOADING[tag]])
        for srcset in (values.get("srcset"), values.get("imagesrcset")):
            if srcset:
                self.urls += [part.split()[0] for part in srcset.split(",") if part.strip()]
        if "style" in values:
            self.urls += css_urls(values["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += css_urls(data)


def css_urls(css: str) -> list[str]:
    return [m.group(2) or m.group(4) or "" for m in CSS_URL.finditer(css)]


def build(root: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """`mkdocs build --strict` of root/mkdocs.yml into out. Not --quiet: that hides the
    warnings from strict mode's count, and the build passes with them."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict",
         "--config-file", str(root / "mkdocs.yml"), "--site-dir", str(out)],
        cwd=root, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = build(ROOT, out)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}{done.stderr}"
    return out


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    with (tmp_path / "docs" / "index.md").open("a", encoding="utf-8") as index:
        index.write("\nSee [nowhere](deployment.md#no-such-section).\n")
    done = build(tmp_path, tmp_path / "site")
    assert done.returncode != 0 and "no-such-section" in done.stderr


def test_the_site_builds_strict_and_loads_nothing_from_elsewhere(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    found = []
    for page in pages:
        parser = Loads()
        parser.feed(page.read_text(encoding="utf-8"))
        found += [f"{page.relative_to(site)}: {url}" for url in parser.urls if remote(url)]
    for sheet in sorted(site.rglob("*.css")):
        found += [f"{sheet.relative_to(site)}: {url}"
                  for url in css_urls(sheet.read_text(encoding="utf-8")) if remote(url)]
    assert found == []


def test_no_web_fonts_and_a_local_search() -> None:
    theme = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["theme"]
    assert theme["name"] == "material" and theme["font"] is False  # no Google Fonts


def test_the_checker_finds_what_a_page_would_fetch() -> None:
    parser = Loads()
    parser.feed('<link rel="stylesheet" href="https://cdn.example/x.css">'
                '<link rel="alternate" href="https://example.org/ru/">'
                '<script src="//cdn.example/x.js"></script><a href="https://example.org">x</a>'
                '<style>@font-face{src:url(https://fonts.example/f.woff2)}</style>'
                '<img src="data:image/png;base64,AA"'
                ' srcset="/a.png 1x, http://x.example/b.png 2x">')
    assert [url for url in parser.urls if remote(url)] == [
        "https://cdn.example/x.css", "//cdn.example/x.js", "https://fonts.example/f.woff2",
        "http://x.example/b.png"]


def test_the_user_guide_is_in_english_and_russian(site: Path) -> None:
    english = (site / "user-guide.html").read_text(encoding="utf-8")
    russian = (site / "ru" / "user-guide.html").read_text(encoding="utf-8")
    assert '<html lang="en"' in english and "<h1 id=\"user-guide\">User guide" in english
    assert '<html lang="ru"' in russian and "Руководство пользователя" in russian
    sections = ["catalog", "search", "assessments", "alerts", "proposals", "exports"]
    for section in sections:
        assert re.search(rf"<h2 id=\"[^\"]*{section}", english, re.I), section
    assert russian.count("<h2 id=") == english.count("<h2 id=")


def test_every_command_is_in_the_sites_cli_reference(site: Path) -> None:
    reference = (site / "cli.html").read_text(encoding="utf-8")
    missing = [c for c in commands() if f">riskatlas {c}<" not in reference]
    assert missing == []


def test_the_references_are_in_the_navigation() -> None:
    nav = str(yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"])
    for page in ["user-guide.md", "deployment.md", "operations.md", "settings.md", "cli.md",
                 "api-reference.md", "sharing.md", "exchange.md", "taxii.md"]:
        assert page in nav, page
