"""The default Central Asia catalog meets the export contract and cites dated public sources."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from riskatlas.catalog.library import load_default_catalog
from riskatlas.catalog.matrix import active_matrix
from riskatlas.catalog.schemas import DOMAINS
from tests.conftest import SHARED
from tests.helpers import export

FACTS = SHARED / "domain" / "central-asia-facts.md"
DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
TRAILING_DOT_HOST = re.compile(r"(https?://[^/\s]+)\.(?=/)")


@pytest.fixture
def catalog(runtime) -> dict:  # type: ignore[no-untyped-def, type-arg]
    with runtime.transaction() as session:
        counts = load_default_catalog(session, active_matrix(runtime.settings))
    assert counts is not None and counts.created > 0
    return export(runtime.settings.database_url)


def test_default_catalog_counts_and_languages(catalog: dict) -> None:  # type: ignore[type-arg]
    risks, measures = catalog["risks"], catalog["measures"]
    assert len(risks) >= 40
    assert len({r["domain"] for r in risks}) >= 12
    assert {r["domain"] for r in risks} <= set(DOMAINS)
    assert {"traditional", "emerging"} <= {r["category"] for r in risks}
    for risk in risks:
        assert re.match(r"^CA-[A-Z]{3}-\d{3}$", risk["key"])
        for field in ("title", "summary", "rationale"):
            assert risk[field]["en"].strip() and risk[field]["ru"].strip(), (risk["key"], field)
            assert re.search("[а-яА-ЯёЁ]", risk[field]["ru"]), (risk["key"], field)
        assert risk["states"], risk["key"]
        assert risk["sources"], risk["key"]
        for source in risk["sources"]:
            assert DATE.match(source["published"]), (risk["key"], source)
            assert source["url"].startswith(("http://", "https://"))
        assert risk["measures"], f"{risk['key']} has no measure"
    assert len(measures) >= 80
    for measure in measures:
        assert measure["risks"], measure["key"]
        assert measure["lead"] and measure["states"] and measure["status"]
        assert set(measure["effect"]) == {"likelihood", "impact"}


@pytest.mark.skipif(not FACTS.exists(), reason="shared fact base not present")
def test_every_source_comes_from_the_fact_base(catalog: dict) -> None:  # type: ignore[type-arg]
    facts = FACTS.read_text(encoding="utf-8")
    # The fact base keeps two URLs as found, with a stray dot after the hostname
    # ("https://iwpr.net./impact/..."); the catalog cites them with the hostname fixed.
    fixed_hosts = TRAILING_DOT_HOST.sub(r"\1", facts)
    urls = Counter(s["url"] for r in catalog["risks"] + catalog["measures"]
                   for s in r["sources"])
    missing = [u for u in urls if u not in facts and u not in fixed_hosts]
    assert missing == []


def test_the_fact_base_check_knows_a_stray_dot_from_a_real_hostname() -> None:
    text = "see https://iwpr.net./impact/x and https://example.org/y"
    assert TRAILING_DOT_HOST.sub(r"\1", text) == (
        "see https://iwpr.net/impact/x and https://example.org/y")


def test_library_files_are_shipped_inside_the_package() -> None:
    from riskatlas.catalog.library import library_files

    files = library_files()
    assert len(files) >= 14 and all(f.is_file() for f in files)
    assert files[0].name == "actors.yaml"


def test_loading_twice_leaves_a_populated_catalog_alone(runtime) -> None:  # type: ignore[no-untyped-def]
    with runtime.transaction() as session:
        assert load_default_catalog(session, active_matrix(runtime.settings)) is not None
    with runtime.transaction() as session:
        assert load_default_catalog(session, active_matrix(runtime.settings)) is None
