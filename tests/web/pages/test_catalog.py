"""The catalog page: the JSON API's filters give the same keys, search stays in the caller's
scope, htmx gets the results fragment and a direct load the whole page, labels on controls."""

from __future__ import annotations

import re
from pathlib import Path

from tests.catalog.trust import Node
from tests.web.pages.catalog_kit import (  # noqa: F401 - cheap_hashing: a fixture
    AMBER,
    api_keys,
    catalog_node,
    cheap_hashing,
    more_risks,
    page_keys,
)

FILTERS = ["", "domain=borders&state=KGZ", "status=adopted&level=Very+High",
           "residual_level=Low", "category=emerging", "level=moderate", "state=KAZ",
           "sort=-residual_level", "q=zebra"]


def test_filters_give_the_apis_keys(db_url: str, cheap_hashing: None) -> None:  # noqa: F811
    node = catalog_node(db_url)
    for user in ("kgz_editor", "sau_editor"):
        for query in FILTERS if user == "kgz_editor" else FILTERS[:1] + FILTERS[-2:]:
            page = node.client.get(f"/risks?{query}", headers=node.headers(user))
            assert page.status_code == 200, page.text
            expected = api_keys(node, user, query)
            shown = page_keys(page.text)
            if query.startswith(("q=", "sort=")):
                assert shown == expected, (user, query)
            else:
                assert sorted(shown) == sorted(expected), (user, query)
    # Page-only filters: the marking and a heat map cell.
    amber = node.client.get("/risks?tlp=amber", headers=node.headers("kgz_editor")).text
    assert page_keys(amber) == [AMBER]
    cell = node.client.get("/risks?likelihood=High&impact=Very+High",
                           headers=node.headers("kgz_editor")).text
    assert page_keys(cell) == ["CA-TST-001"]
    # CA-TST-001 is High x Very High, lowered by CA-MSR-900 (implemented, -2/-1) to Low x High
    residual = node.client.get("/risks?residual_likelihood=Low&residual_impact=High",
                               headers=node.headers("kgz_editor")).text
    assert page_keys(residual) == ["CA-TST-001"]


def test_a_partner_never_sees_the_amber_risk(db_url: str, cheap_hashing: None) -> None:  # noqa: F811
    node = catalog_node(db_url)
    assert AMBER in page_keys(node.client.get("/risks?q=zebra",
                                              headers=node.headers("kgz_editor")).text)
    for query in ("", "q=zebra", "tlp=amber", "domain=borders", "q=hidden"):
        page = node.client.get(f"/risks?{query}", headers=node.headers("sau_editor")).text
        assert AMBER not in page and "Hidden zebra" not in page, query
    assert node.client.get(f"/risks/{AMBER}", headers=node.headers("sau_editor")
                           ).status_code == 404
    check_htmx_fragment_and_full_page(node)


def check_htmx_fragment_and_full_page(node: Node) -> None:
    headers = node.headers("kgz_editor")
    full = node.client.get("/risks?domain=cyber", headers=headers)
    assert full.text.lstrip().lower().startswith("<!doctype html>")
    assert '<form class="filters"' in full.text and 'hx-push-url="true"' in full.text
    assert 'hx-get="/risks"' in full.text and 'hx-target="#results"' in full.text
    assert full.headers["vary"] == "HX-Request"
    fragment = node.client.get("/risks?domain=cyber", headers={**headers, "HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="results"')
    assert "<html" not in fragment.text and "<form" not in fragment.text
    assert page_keys(fragment.text) == page_keys(full.text) == ["CA-TST-002"]
    # htmx restoring a page from its history (back button, cache miss) gets the whole page.
    restore = node.client.get("/risks?domain=cyber", headers={
        **headers, "HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text
    # The filters chosen are selected in the form loaded from the URL.
    assert re.search(r'<option value="cyber" selected>', full.text)


def test_pagination_and_labels(db_url: str, cheap_hashing: None,  # noqa: F811
                               tmp_path: Path) -> None:
    node = catalog_node(db_url)
    more_risks(node, "CA-PAG", 27, tmp_path, domain="migration")
    headers = node.headers("kgz_editor")
    first = node.client.get("/risks?domain=migration", headers=headers).text
    assert len(page_keys(first)) == 25 and 'rel="next"' in first
    nxt = re.search(r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#results" '
                    r'hx-swap="outerHTML" hx-push-url="true" rel="next"', first)
    assert nxt
    second = node.client.get(nxt.group(1).replace("&amp;", "&"), headers=headers).text
    assert page_keys(second) == ["CA-PAG-025", "CA-PAG-026"]
    # Every visible control has a label.
    controls = re.findall(r'<(?:select|input|textarea)\b(?![^>]*type="hidden")[^>]*\bid="([^"]+)"',
                          first)
    assert controls
    for control in controls:
        assert f'<label for="{control}"' in first, control
    ru = node.client.get("/risks?lang=ru", headers=headers).text
    for text in ("Каталог рисков", "Поиск", "Область", "Остаточный уровень", "Сбросить фильтры"):
        assert text in ru
