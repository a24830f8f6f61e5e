"""Country pages (catalog/country_pages.py): the offline map's shading against the JSON API,
the state's records under the sharing policy, and the map file itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from riskatlas.catalog.country_pages import MAP_FILE, MAP_URL, load_map, shade
from tests.web.pages.measure_world import AMBER, World, make_world

MEMBERS = ("KAZ", "KGZ", "TJK", "TKM", "UZB")


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    return make_world(db_url, tmp_path)


def api_high_count(world: World, username: str, state: str) -> int:
    page = world.api(username, f"/api/v1/risks?state={state}&level=High&level=Very%20High"
                               "&limit=1")
    return int(page["total"])


def test_shading_counts_equal_the_api_for_the_same_principal(world: World) -> None:
    seen = {}
    for username in ("kaz_viewer", "sau_viewer"):
        client, _ = world.browser(username)
        page = client.get("/countries/KAZ")
        assert page.status_code == 200
        counts = {c: int(n) for c, n in re.findall(
            r'<td data-state="([A-Z]{3})" class="count">(\d+)</td>', page.text)}
        assert set(counts) == set(MEMBERS)
        for code in MEMBERS:
            expected = api_high_count(world, username, code)
            assert counts[code] == expected, (username, code)
            # the shape on the map: a link named with the count, shaded by it
            link = re.search(rf'<a href="/countries/{code}"[^>]*aria-label="([^"]+)"[^>]*>\s*'
                             rf'<path class="state shade-(\d)', page.text)
            assert link is not None, code
            assert link[1].endswith(f": {expected} high or very high risk"
                                    + ("" if expected == 1 else "s"))
            assert int(link[2]) == shade(expected)
        seen[username] = counts
    # the member sees the AMBER High risk of Kazakhstan, the partner does not
    assert (seen["kaz_viewer"]["KAZ"], seen["sau_viewer"]["KAZ"]) == (2, 1)
    assert seen["kaz_viewer"]["KGZ"] == 2 and seen["kaz_viewer"]["TJK"] == 0


def test_state_records_and_no_amber_for_a_partner(world: World) -> None:
    member, _ = world.browser("kaz_viewer")
    page = member.get("/countries/KAZ").text
    for key in ("CA-WEB-001", "CA-WEB-002", "CA-WEB-003", "CA-MWB-001", "CA-MWB-003"):
        assert key in page, key
    assert "CA-WEB-004" not in page  # a Kyrgyz risk only
    partner, _ = world.browser("sau_viewer")
    for path in ("/countries/KAZ", "/countries/KGZ", "/countries/KAZ?lang=ru"):
        text = partner.get(path).text
        for secret in AMBER:
            assert secret not in text, (path, secret)
    assert "CA-WEB-001" in partner.get("/countries/KAZ").text
    # a partner state has its page too; the map links it where it is drawn
    assert partner.get("/countries/AZE").status_code == 200
    assert partner.get("/countries/SAU").status_code == 200
    assert "Qatar lies outside this map." in partner.get("/countries/QAT").text
    assert "outside this map" not in partner.get("/countries/AZE").text


def test_national_assessments_of_the_state(world: World) -> None:
    client, csrf = world.browser("kaz_editor")
    response = client.put("/api/v1/risks/CA-WEB-003/assessments/KAZ",
                          json={"likelihood": "High", "impact": "Low",
                                "rationale": {"en": "Kazakh view", "ru": "Казахский взгляд"}},
                          headers={"X-CSRF-Token": csrf or ""})
    assert response.status_code in {200, 201}, response.text
    page = client.get("/countries/KAZ").text
    section = page[page.index('id="assessments-h"'):]
    assert "CA-WEB-003" in section and "Kazakh view" in section
    assert "Казахский взгляд" in client.get("/countries/KAZ?lang=ru").text
    assert "Kazakh view" not in client.get("/countries/KGZ").text


def test_unknown_country_is_404(world: World) -> None:
    client, _ = world.browser("kaz_viewer")
    for code in ("XXX", "RUS", "AFG", "12", "kazz"):
        assert client.get(f"/countries/{code}").status_code == 404, code
    assert client.get("/countries/kaz").status_code == 200  # any case


def test_russian_names(world: World) -> None:
    client, _ = world.browser("kaz_viewer")
    page = client.get("/countries/TJK?lang=ru").text
    for text in ("<h1>Таджикистан</h1>", "Афганистан", "Китай", "Россия", "Казахстан",
                 "Легенда", "Государство-член"):
        assert text in page, text


def test_map_file_is_referenced_and_offline(world: World) -> None:
    client, _ = world.browser("kaz_viewer")
    page = client.get("/countries/UZB").text
    assert f'href="{MAP_URL}"' in page
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert "http" not in svg and "url(" not in svg and "style=" not in svg
    assert 'xlink' not in svg and "<image" not in svg and "<script" not in page.split(
        "<main", 1)[1].split("</main>")[0]
    served = client.get(MAP_URL)
    assert served.status_code == 200 and served.headers["content-type"].startswith(
        "image/svg+xml")
    text = MAP_FILE.read_text(encoding="utf-8")
    assert served.text == text
    assert MAP_FILE.stat().st_size < 100_000
    # the one "http" in the file is its XML namespace, which names and loads nothing
    assert re.findall(r"https?://[^\s\"']+", text) == ["http://www.w3.org/2000/svg"]
    assert "href" not in text and "url(" not in text and "<image" not in text
    drawn = {s.code for s in load_map().shapes}
    assert {*MEMBERS, "AFG", "IRN", "CHN", "RUS", "AZE", "PAK"} <= drawn
    assert (MAP_FILE.parent / "SOURCE.md").read_text(encoding="utf-8").count(
        "public domain") >= 1
