"""What a person does in the pages, in Debian's chromium (issue 10, "What it must show").

Selectors are the pages' own labels, roles and ids, so a test reads like the task it checks.
Each test opens its own contexts (cookie jars); the server and its data are shared by the
session (tests/web/browser/conftest.py), so a test changes only records no other test reads.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from riskatlas.parties.auth import SESSION_COOKIE
from tests.web.browser.conftest import (
    AMBER_MEASURE,
    AMBER_RISK,
    AMBER_WORD,
    BOARD_MEASURE,
    PASSWORD,
    Live,
)

pytestmark = pytest.mark.browser

EDITED_RISK = "CA-AFG-001"  # secretariat's record: edited, then the version conflict
ASSESSED_RISK = "CA-CBR-002"  # Kazakhstan's alone, rated Moderate x Moderate, unassessed


def query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_sign_in_through_the_login_form(open_as: Any) -> None:
    page = open_as(None)
    page.goto("/measures")
    page.get_by_role("link", name=re.compile("Sign in")).first.click()
    page.get_by_label("Username").fill("kaz_editor")
    page.get_by_label("Password").fill("wrong password, surely")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").wait_for()
    assert "wrong password" in page.get_by_role("alert").inner_text()
    page.get_by_label("Username").fill("kaz_editor")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/measures$"))  # back where the reader was going
    assert "kaz_editor" in page.locator("header.site").inner_text()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/$"))
    assert not [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    page.goto("/measures")
    assert "kaz_editor" not in page.locator("header.site").inner_text()
    assert page.get_by_role("link", name=re.compile("Sign in")).count()


def test_catalog_filters_are_in_the_url_and_the_back_button_restores(
        open_as: Any, live: Live) -> None:
    page = open_as("kaz_editor")
    page.goto("/risks")
    everything = live.api("kaz_editor", "/api/v1/risks", limit=1)["total"]
    page.get_by_label("Domain").select_option("borders")  # htmx asks on change
    page.wait_for_function("() => location.search.includes('domain=borders')")
    assert query(page)["domain"] == ["borders"]
    borders = live.api("kaz_editor", "/api/v1/risks", domain="borders", limit=1)["total"]
    assert 0 < borders < everything
    results = page.locator("#results")
    assert results.count() == 1, "the results were swapped inside themselves (two #results)"
    results.get_by_text(re.compile(rf"\b{borders}\b")).first.wait_for()
    keys = set(re.findall(r"CA-[A-Z]{3}-\d{3}", results.inner_text()))
    assert keys and all(k.startswith("CA-BRD-") for k in keys), keys
    assert AMBER_RISK in keys  # the member sees its own AMBER record
    # A second filter, then back: the first filter's page comes back, form and URL alike.
    page.get_by_label("Level", exact=True).select_option("Very High")
    page.wait_for_function("() => location.search.includes('level=Very')")
    assert query(page)["level"] == ["Very High"]
    page.go_back()
    page.wait_for_function("() => !location.search.includes('level=')")
    assert query(page) == {"domain": ["borders"]}
    assert page.get_by_label("Domain").input_value() == "borders"
    page.go_back()
    page.wait_for_function("() => !location.search.includes('domain=')")
    page.reload()  # a shared link: the URL alone rebuilds the page
    assert page.get_by_label("Domain").input_value() in ("", None)


def test_open_a_risk_and_edit_it(open_as: Any, live: Live) -> None:
    page = open_as("sec_editor")
    page.goto("/risks?q=rocket")
    page.locator(f'a[href^="/risks/{EDITED_RISK}"]').first.click()
    page.wait_for_url(re.compile(f"/risks/{EDITED_RISK}"))
    assert "Rocket fire" in page.get_by_role("heading", level=1).inner_text()
    page.get_by_role("link", name=re.compile("^Edit")).first.click()
    page.locator("#f-title-en").fill(
        "Rocket fire and armed incursions from Afghan territory (edited)")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(f"/risks/{EDITED_RISK}(\\?.*)?$"))
    assert "(edited)" in page.get_by_role("heading", level=1).inner_text()
    assert live.api("sec_editor", f"/api/v1/risks/{EDITED_RISK}")["title"]["en"].endswith(
        "(edited)")


def test_a_version_conflict_keeps_the_input_and_resolves(open_as: Any, live: Live) -> None:
    first, second = open_as("sec_editor"), open_as("sec_editor")
    for page in (first, second):
        page.goto(f"/risks/{EDITED_RISK}/edit")
    first.locator("#f-summary-en").fill("The first editor's summary.")
    first.get_by_role("button", name="Save changes").click()
    first.wait_for_url(re.compile(f"/risks/{EDITED_RISK}(\\?.*)?$"))
    mine = "The second editor's rationale, typed before the conflict."
    second.locator("#f-rationale-en").fill(mine)
    second.get_by_role("button", name="Save changes").click()
    # The other person's change is shown, and nothing typed is lost.
    conflict = second.get_by_role("alert").filter(has_text="changed this risk")
    conflict.wait_for()
    theirs = " ".join(conflict.locator("ins").all_inner_texts())
    assert "The first editor's summary." in theirs, conflict.inner_text()
    assert second.locator("#f-rationale-en").input_value() == mine
    second.get_by_role("button", name="Save changes").click()  # resolve: save on top
    second.wait_for_url(re.compile(f"/risks/{EDITED_RISK}(\\?.*)?$"))
    saved = live.api("sec_editor", f"/api/v1/risks/{EDITED_RISK}")
    assert saved["rationale"]["en"] == mine
    assert saved["summary"]["en"] == "The first editor's summary."


def test_a_national_assessment_changes_the_regional_rating(open_as: Any, live: Live) -> None:
    before = live.api("kaz_analyst", f"/api/v1/risks/{ASSESSED_RISK}")
    assert not any(a["state"] == "KAZ" for a in before["assessments"])
    page = open_as("kaz_analyst")
    page.goto(f"/risks/{ASSESSED_RISK}")
    regional = page.locator("#regional-rating")
    assert "Very High" not in regional.inner_text()
    form = page.locator("form.assess")
    form.get_by_label("Likelihood").select_option("Very High")
    form.get_by_label("Impact").select_option("Very High")
    form.get_by_label("Rationale (English)").fill("Seen from Astana: worse than rated.")
    form.get_by_role("button", name="Save assessment").click()
    # Both languages are required: the message is inline and what was typed stays.
    expect(page.locator("form.assess")).to_contain_text("missing")
    form = page.locator("form.assess")
    assert form.get_by_label("Rationale (English)").input_value().startswith("Seen from Astana")
    assert form.get_by_label("Likelihood").input_value() == "Very High"
    form.get_by_label("Rationale (Russian)").fill("Из Астаны: хуже, чем в оценке.")
    form.get_by_role("button", name="Save assessment").click()
    expect(regional).to_contain_text("Very High")
    expect(page.locator("#national")).to_contain_text("Seen from Astana")
    after = live.api("kaz_analyst", f"/api/v1/risks/{ASSESSED_RISK}")
    assert {"state": "KAZ", "likelihood": "Very High"}.items() <= next(
        a for a in after["assessments"] if a["state"] == "KAZ").items()


def test_move_a_measure_on_the_board(open_as: Any, live: Live) -> None:
    page = open_as("kaz_editor")
    # The board is paged (50 measures a page): the lead's own measures fit on one.
    page.goto("/measures?view=board&lead=KAZ-SC")
    card = page.locator(f"#card-{BOARD_MEASURE}")
    assert card.locator("xpath=ancestor::section").get_attribute("class").split()[-1] == (
        "status-proposed")
    card.get_by_label("Status").select_option("agreed")
    card.get_by_role("button", name=re.compile("^Move")).click()
    page.locator(f".status-agreed #card-{BOARD_MEASURE}").wait_for()
    assert "board" in page.url
    assert live.api("kaz_editor", f"/api/v1/measures/{BOARD_MEASURE}")["status"] == "agreed"
    page.reload()  # stored, not only drawn
    page.locator(f".status-agreed #card-{BOARD_MEASURE}").wait_for()


def test_switch_to_russian(open_as: Any) -> None:
    page = open_as("kaz_editor")
    page.goto("/risks")
    page.get_by_role("navigation", name="Language").get_by_role(
        "link", name=re.compile("Русский|RU", re.I)).click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "ru"
    header = page.locator("header.site").inner_text()
    assert "Каталог" in header and "Catalog" not in header, header
    main = page.locator("main").inner_text()
    assert "Каталог рисков" in main and "Risk catalog" not in main
    # Content too: the records' Russian titles (CA-AFG-001 is first by key).
    assert "Ракетные обстрелы" in main
    # The language stays while the reader moves on.
    page.get_by_role("link", name="Меры").first.click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "ru"


def heat_cells(page: Any) -> dict[tuple[str, str], int]:
    """(likelihood, impact) -> count, read from the heat map's cell links."""
    cells: dict[tuple[str, str], int] = {}
    for link in page.locator("#heatmap a[href*='likelihood=']").all():
        params = parse_qs(urlparse(link.get_attribute("href")).query)
        number = re.search(r"\d+", link.inner_text())
        assert number, link.inner_text()
        cells[(params["likelihood"][0], params["impact"][0])] = int(number.group(0))
    return cells


def api_cells(live: Live, username: str) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    offset = 0
    while True:
        answer = live.api(username, "/api/v1/risks", limit=1000, offset=offset)
        counts.update((r["likelihood"], r["impact"]) for r in answer["items"])
        offset += len(answer["items"])
        if offset >= answer["total"] or not answer["items"]:
            return counts


@pytest.mark.parametrize("username", ["kaz_editor", "sau_viewer"])
def test_heat_map_counts_equal_the_json_api(open_as: Any, live: Live, username: str) -> None:
    page = open_as(username)
    page.goto("/")
    assert heat_cells(page) == dict(api_cells(live, username))


def test_a_partner_sees_the_amber_records_nowhere(open_as: Any, live: Live) -> None:
    member = api_cells(live, "kaz_editor")
    partner = api_cells(live, "sau_viewer")
    assert sum(member.values()) == sum(partner.values()) + 1  # the AMBER risk, and only it
    page = open_as("sau_viewer")
    pages = ["/", "/risks", f"/risks?q={AMBER_WORD}", "/risks?domain=borders",
             "/risks?likelihood=Very+High&impact=Very+High", "/measures",
             "/measures?view=board", "/countries/KAZ", "/risks?tlp=amber",
             # the pages where the AMBER measure would be (the measures are paged)
             "/measures?lead=KAZ-SC", "/measures?view=board&lead=KAZ-SC"]
    for path in pages:
        page.goto(path)
        html = page.content()
        # Not the search word itself: the page repeats what was asked (form, links).
        for secret in ("post infiltration", "patrol plan", AMBER_RISK, AMBER_MEASURE):
            assert secret not in html, f"{path} shows {secret}"
    for path in (f"/risks/{AMBER_RISK}", f"/measures/{AMBER_MEASURE}"):
        response = page.goto(path)
        assert response.status == 404, path
        assert "post infiltration" not in page.content()
    # The map's shading counts what the reader may see: the API's count, less one AMBER risk.
    counts = {}
    for username, shown in (("sau_viewer", page), ("kaz_editor", open_as("kaz_editor"))):
        shown.goto("/countries/KAZ")
        counts[username] = int(shown.locator('td.count[data-state="KAZ"]').inner_text())
        assert counts[username] == live.api(username, "/api/v1/risks", state="KAZ",
                                            level=["High", "Very High"], limit=1)["total"]
    assert counts["kaz_editor"] == counts["sau_viewer"] + 1
    # The member does see them (the check above is not vacuous).
    member_page = open_as("kaz_editor")
    member_page.goto(f"/risks?q={AMBER_WORD}")
    assert AMBER_RISK in member_page.content()
    member_page.goto("/countries/KAZ")
    assert AMBER_RISK in member_page.content()
    member_page.goto("/measures?lead=KAZ-SC")
    assert AMBER_MEASURE in member_page.content()
