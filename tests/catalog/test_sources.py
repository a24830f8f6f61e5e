"""The shipped catalog cites original publications and ships no invented national ratings.

Content checks read the YAML files directly, without a database: every source is an original
publication (no listing, tag or category page, no mirror, no copy of another outlet's story),
every measure cites a source or says what it builds on, and no national assessment ships.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from riskatlas.catalog.library import library_files

DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
KEY = re.compile(r"\bCA-[A-Z]{3}-\d{3}\b")
CYRILLIC = re.compile("[а-яА-ЯёЁ]")

# Path segments of listing pages: tag, category and topic indexes, search results, pagination.
LISTING_PATH = re.compile(r"/(?:tags?|categor(?:y|ies)|topics?|search)(?:/|$)", re.IGNORECASE)
PAGINATION = re.compile(r"/page/\d+/?$", re.IGNORECASE)
SEARCH_QUERY = re.compile(r"(?:^|&)(?:s|q|query|search)=", re.IGNORECASE)

# Hosts that only mirror or copy what others published (a suffix matches its subdomains too).
MIRROR_HOSTS = (
    # Wikipedia mirrors
    "wikiwand.com", "wikizero.net", "wikizero.com", "everybodywiki.com", "iiab.me",
    "wiki-gateway.eudic.net", "thefullwiki.org", "wikimili.com", "m.global.ssl.fastly.net",
    "perceptiopt.com",
    # web archives
    "archive.ph", "archive.today", "archive.is", "archive.li", "archive.vn", "archive.md",
    "web.archive.org",
    # aggregators, syndication feeds and copy sites
    "inkl.com", "menafn.com", "einpresswire.com", "mil-osi.com", "news.yahoo.com",
    "gfatf.org", "asiandiplomacy.com", "lyrics.vg", "fayllar.org", "parrot.ru",
    "zorkulnovosti.com", "indianeconomicobserver.com", "indiandefensenews.in",
    "imgtest.mir24.tv",
)
# Host and path prefix of reposts on sites that also publish their own work.
REPOST_PATHS = (
    ("yahoo.com", "/news/"),
    ("urdupoint.com", "/en/world/"),  # the Sputnik feed
)
# Wire stories republished by a subscriber, removed from the catalog: never again.
KNOWN_REPOSTS = (
    "https://click2houston.com/news/world/2022/01/15/kazakhstan-raises-death-toll-to-225",
    "https://www.thestar.com.my/news/world/2023/11/05/afghanistan-opium-poppy-supply",
    "https://podroze.onet.pl/aktualnosci/odpady-z-kopalni-uranu-w-kirgistanie",
    "http://www.today.az/news/regions/186136.html",
    "https://www.thenews.com.pk/print/831643-tajikistan-says-19-dead",
    "https://tengele.com/news/a26b498b-9746-4f67-8b17-f1487215ebe3/",
    "https://gna.org.gh/?p=402588",
    "http://en.people.cn/n3/2025/0401/c90000-20296480.html",
    "https://thefrontierpost.com/operation-in-the-mountains/",
)
# ReliefWeb reposts other publishers' reports under /report/; only its own (OCHA's) count.
RELIEFWEB_OWN = {"reliefweb", "ocha", "un ocha", "united nations office for the coordination "
                 "of humanitarian affairs"}
# A publisher field that admits the page is someone else's work.
COPY_PUBLISHER = re.compile(r"\bvia\b|\bcopy\b|\bmirror\b", re.IGNORECASE)


def _host_matches(host: str, pattern: str) -> bool:
    return host == pattern or host.endswith("." + pattern)


def untrusted(url: str, publisher: str | None = None) -> str | None:
    """Why a source is not an original publication a reviewer can trust; None if it is."""
    if url != url.strip() or re.search(r"\s", url):
        return "URL contains whitespace"
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return "URL lacks an http(s) scheme or a host"
    netloc_host = parts.netloc.rsplit("@", 1)[-1].split(":", 1)[0]
    if netloc_host.endswith("."):
        return "hostname ends in a dot"
    host = netloc_host.lower().removeprefix("www.")
    if not host or "." not in host:
        return "malformed hostname"
    if LISTING_PATH.search(parts.path) or PAGINATION.search(parts.path):
        return "listing, tag, category or topic page"
    if SEARCH_QUERY.search(parts.query):
        return "search results page"
    for mirror in MIRROR_HOSTS:
        if _host_matches(host, mirror):
            return f"known mirror or aggregator ({mirror})"
    for repost_host, prefix in REPOST_PATHS:
        if _host_matches(host, repost_host) and parts.path.startswith(prefix):
            return f"repost feed ({repost_host}{prefix})"
    if (_host_matches(host, "reliefweb.int") and parts.path.startswith("/report")
            and (publisher or "").strip().lower() not in RELIEFWEB_OWN):
        return "ReliefWeb repost of another publisher's report"
    for repost in KNOWN_REPOSTS:
        if url.startswith(repost):
            return "known syndicated copy of a wire story"
    if publisher and COPY_PUBLISHER.search(publisher):
        return "publisher names a copy of someone else's work"
    return None


# --- the rule itself --------------------------------------------------------------------------

GOOD = [
    ("https://24.kg/english/204887_President_signs_law_on_protection_against_false_information/",
     "24.kg"),
    ("https://www.rferl.org/a/kyrgyzstan-false-information-law/31425483.html", "RFE/RL"),
    ("https://unis.unvienna.org/unis/en/pressrels/2023/unisnar1476.html",
     "UN Information Service Vienna"),
    ("https://en.fergana.agency/news/136999/?country=kg", "Fergana Agency"),
    ("https://eurasianstar.com/?p=13175", "Eurasian Star"),  # a post id, not a search
    ("https://en.wikipedia.org/wiki/2024_Kerman_bombings", "Wikipedia"),
    ("https://reliefweb.int/report/tajikistan/flash-update-1", "OCHA"),
    ("https://iwpr.net/impact/central-asians-vulnerability-russian-propaganda", "IWPR / CABAR"),
    ("https://thecentral.asia/tj/8475", "The Central Asia"),  # /tj/ is not /tag/
]
BAD = [
    ("https://timesca.com/tag/earthquakes", "The Times of Central Asia"),
    ("https://example.org/tags/water/", "Example"),
    ("https://timesca.com/category/kazakhstan/kazakhstan-business-economy/page/3", "TCA"),
    ("https://example.org/categories/security", "Example"),
    ("https://example.org/topics/central-asia", "Example"),
    ("https://example.org/news/page/2", "Example"),
    ("https://example.org/?s=tokayev", "Example"),
    ("https://example.org/search?q=rogun", "Example"),
    ("https://www.wikiwand.com/en/Rogun_Dam", "Wikiwand"),
    ("https://iiab.me/kiwix/content/wikipedia_en_all_maxi_2023-10/A/Rogun_Dam", "Wikipedia"),
    ("https://archive.ph/AbC12", "The Diplomat"),
    ("https://archive.today/2024.01.01-000000/https://example.org/", "Example"),
    ("https://everybodywiki.com/Some_Page", "EverybodyWiki"),
    ("https://reliefweb.int/report/kyrgyzstan/some-article", "RFE/RL"),
    ("https://www.yahoo.com/news/nuclear-waste-dams-threaten-fertile-212432063.html", "Reuters"),
    ("https://inkl.com/news/some-guardian-story", "The Guardian"),
    ("https://translation1.mil-osi.com/2025/11/06/story", "UN News"),
    ("https://www.urdupoint.com/en/world/kyrgyzstans-death-toll-1567829.html", "UrduPoint"),
    ("https://iwpr.net./impact/central-asians-vulnerability-russian-propaganda", "IWPR"),
    ("https://thediplomat.com./2024/08/kyrgyzstan-considers-fines", "The Diplomat"),
    ("iwpr.net/impact/central-asians-vulnerability-russian-propaganda", "IWPR"),
    ("https://example.org/a story", "Example"),
    ("https://example.org/story", "Reuters via Example"),
    ("https://example.org/story", "RBC (copy)"),
]


@pytest.mark.parametrize(("url", "publisher"), GOOD)
def test_the_rule_accepts_original_publications(url: str, publisher: str) -> None:
    assert untrusted(url, publisher) is None


@pytest.mark.parametrize(("url", "publisher"), BAD)
def test_the_rule_rejects_listings_mirrors_copies_and_malformed_urls(
        url: str, publisher: str) -> None:
    assert untrusted(url, publisher) is not None


# --- the shipped catalog ----------------------------------------------------------------------


@cache
def _catalog() -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"actors": [], "risks": [], "measures": []}
    for path in library_files():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for kind in out:
            out[kind].extend(data.get(kind) or [])
    return out


def _sources() -> Iterator[tuple[str, dict[str, Any]]]:
    for kind in ("risks", "measures"):
        for record in _catalog()[kind]:
            for source in record.get("sources") or []:
                yield record["key"], source


def test_every_shipped_source_is_an_original_publication() -> None:
    bad = [(key, s["url"], reason) for key, s in _sources()
           if (reason := untrusted(s["url"], s.get("publisher")))]
    assert bad == []


def test_no_record_cites_the_same_url_twice() -> None:
    for kind in ("risks", "measures"):
        for record in _catalog()[kind]:
            urls = [s["url"] for s in record.get("sources") or []]
            assert len(urls) == len(set(urls)), record["key"]


def test_every_measure_has_a_source_or_a_bilingual_rationale() -> None:
    for measure in _catalog()["measures"]:
        if measure.get("sources"):
            continue
        rationale = measure.get("rationale") or {}
        assert (rationale.get("en") or "").strip(), measure["key"]
        assert (rationale.get("ru") or "").strip(), measure["key"]
        assert CYRILLIC.search(rationale["ru"]), measure["key"]


def test_measure_rationales_name_what_they_build_on() -> None:
    """A rationale names the catalogued risks the measure treats, in both languages."""
    keys = {r["key"] for r in _catalog()["risks"]} | {m["key"] for m in _catalog()["measures"]}
    for measure in _catalog()["measures"]:
        rationale = measure.get("rationale")
        if not rationale:
            continue
        named_en = set(KEY.findall(rationale["en"]))
        assert named_en == set(KEY.findall(rationale["ru"])), measure["key"]
        assert named_en <= keys, (measure["key"], named_en - keys)
        assert set(measure["risks"]) <= named_en, measure["key"]


def test_the_shipped_catalog_has_no_national_assessments() -> None:
    for risk in _catalog()["risks"]:
        assert not risk.get("assessments"), risk["key"]
        assert "assessments" not in risk, risk["key"]


def test_the_catalog_keeps_its_size_and_dated_sources() -> None:
    risks, measures = _catalog()["risks"], _catalog()["measures"]
    assert len(risks) >= 40
    assert len(measures) >= 80
    for risk in risks:
        sources = risk.get("sources") or []
        assert sources, risk["key"]
        assert any(DATE.match(str(s.get("published", ""))) for s in sources), risk["key"]
    for _key, source in _sources():
        assert DATE.match(str(source["published"])), source
