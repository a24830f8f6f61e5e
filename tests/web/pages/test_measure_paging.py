"""The measures table and board in pages (catalog.measure_pages.PAGE_SIZE), as /risks: page
links reflected in the URL, filters and view kept, every visible measure on exactly one page."""

from __future__ import annotations

import html
import re
from pathlib import Path

from riskatlas.catalog.measure_pages import BOARD, PAGE_SIZE
from tests.helpers import load
from tests.web.pages.measure_world import form_fields, make_world

EXTRA = PAGE_SIZE + 6  # with the 4 of the world: two pages


def _keys(page: str) -> list[str]:
    return re.findall(r'<(?:tr|li) (?:id="row-|class="card[^"]*" id="card-)([\w.-]+)"', page)


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)"[^>]*rel="{rel}"', page)
    return html.unescape(found[1]) if found else None


def test_table_and_board_are_paged(db_url: str, tmp_path: Path) -> None:
    world = make_world(db_url, tmp_path)
    more = tmp_path / "more.yaml"
    more.write_text("measures:\n" + "".join(f"""
  - key: CA-MWP-{n:03d}
    title: {{en: Extra {n}, ru: Ещё {n}}}
    summary: {{en: S, ru: С}}
    kind: response
    treatment: reduce
    lead: KAZ-SC
    owner: KAZ-SC
    states: [KAZ]
    status: {BOARD[n % len(BOARD)]}
    effect: {{likelihood: 1, impact: 1}}
    risks: [CA-WEB-001]
    tlp: green
""" for n in range(EXTRA)), encoding="utf-8")
    load(world.db_url, more)
    api = {m["key"] for m in world.api("kaz_editor", "/api/v1/measures?limit=500")["items"]}
    assert len(api) == EXTRA + 4
    client, _ = world.browser("kaz_editor")
    for start in ("/measures?state=KAZ&lang=ru", "/measures?view=board&state=KAZ&lang=ru"):
        first = client.get(start).text
        assert len(_keys(first)) == PAGE_SIZE and _link(first, "prev") is None
        assert "Страница 1 из 2" in first
        second_url = _link(first, "next")
        assert second_url is not None
        assert "page=2" in second_url and "state=KAZ" in second_url and "lang=ru" in second_url
        assert ("view=board" in second_url) == ("board" in start)
        second = client.get(second_url).text
        assert _link(second, "next") is None and _link(second, "prev") is not None
        on_pages = _keys(first) + _keys(second)
        assert len(on_pages) == len(set(on_pages))  # no measure on two pages
        kaz = {m["key"] for m in world.api(
            "kaz_editor", "/api/v1/measures?limit=500&state=KAZ")["items"]}
        assert set(on_pages) == kaz
        # a change made on page 2 comes back to page 2
        key = _keys(second)[0]
        assert html.unescape(form_fields(second, key)["next"]) == second_url
    # a page past the end is empty, a page that is not a number is the first
    assert _keys(client.get("/measures?page=9").text) == []
    assert len(_keys(client.get("/measures?page=x").text)) == PAGE_SIZE
