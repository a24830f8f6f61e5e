"""Consensus governance in the pages (issue 13, "What it must show"): a member proposes a
change to a risk, three members endorse, one reserves, the rule (unanimity; the proposer's state
endorses on creation) adopts it, and the risk page shows the new version with the reservation.

Each member state's editor signs in with a session of their own (a context per user); the
secretariat's administrator decides. The risk is the secretariat's and read by no other test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from riskatlas.config import Settings
from riskatlas.parties import accounts, auth
from riskatlas.runtime import Runtime
from tests.web.browser.conftest import PASSWORD, SCREENSHOTS, Live
from tests.web.browser.test_pages_a11y import violations, with_axe

pytestmark = pytest.mark.browser

RISK = "CA-HLT-003"
NEW_TITLE = "Cross-border outbreak surveillance gaps (agreed wording)"
# username -> organisation: the member states' editors who take positions here
MEMBERS = {"kgz_gov_editor": "KGZ-SC", "tjk_gov_editor": "TJK-SC", "uzb_gov_editor": "UZB-SC",
           "tkm_gov_editor": "TKM-SC"}


def _sign_up(live: Live) -> None:
    """The member states' editors, with sessions (as the conftest does for its users)."""
    with Runtime(Settings(database_url=live.db_url)).transaction() as session:
        for username, org in MEMBERS.items():
            if username in live.cookies:
                continue
            user, _ = accounts.add_user(session, username, org, "editor", PASSWORD)
            principal = accounts.principal_for(session, user)
            live.cookies[username], _ = auth.start_session(session, principal)


def _take_position(page: Any, proposal: str, stance: str, comment: str = "") -> None:
    page.goto(proposal)
    page.get_by_label(stance, exact=True).check()
    if comment:
        page.get_by_label("Comment", exact=True).fill(comment)
    page.get_by_role("button", name="Record position").click()
    page.wait_for_url(re.compile(r"/proposals/\d+$"))


def test_member_proposes_three_endorse_one_reserves_and_the_rule_adopts(
        open_as: Any, live: Live) -> None:
    _sign_up(live)
    before = live.api("kaz_editor", f"/api/v1/risks/{RISK}")
    proposer = open_as("kaz_editor")
    proposer.goto(f"/risks/{RISK}")
    proposer.get_by_role("link", name="Propose a change").click()
    proposer.wait_for_url(re.compile(rf"/risks/{RISK}/propose$"))
    proposer.get_by_label("Title of the proposal").fill("Agreed wording of the health risk")
    proposer.get_by_label("Why (comment)").fill("Wording agreed by the expert group.")
    proposer.locator("#f-title-en").fill(NEW_TITLE)
    proposer.get_by_role("button", name="Submit the proposal").click()
    proposer.wait_for_url(re.compile(r"/proposals/\d+$"))
    proposal = re.sub(r"^https?://[^/]+", "", proposer.url)
    expect(proposer.locator("#position-KAZ")).to_contain_text("Endorse")  # on creation
    expect(proposer.locator("table.diff")).to_contain_text(NEW_TITLE)
    assert not proposer.get_by_role("button", name="Decide by the rule").count()

    for username in ("kgz_gov_editor", "tjk_gov_editor", "uzb_gov_editor"):
        _take_position(open_as(username), proposal, "Endorse")
    reserver = with_axe(open_as("tkm_gov_editor"))
    _take_position(reserver, proposal, "Reserve", "Turkmenistan reserves on the wording.")
    expect(reserver.locator("#position-TKM")).to_contain_text("Reserve")
    assert violations(reserver) == []  # an open proposal with the position form
    SCREENSHOTS.mkdir(exist_ok=True)
    reserver.screenshot(path=str(SCREENSHOTS / "proposal-en-1440.png"), full_page=True)
    expect(reserver.locator("#verdict")).to_contain_text("Every member state has a position")
    assert not reserver.get_by_role("button", name="Decide by the rule").count()

    secretariat = open_as("web_admin")
    secretariat.goto(proposal)
    for state in ("KAZ", "KGZ", "TJK", "UZB"):
        expect(secretariat.locator(f"#position-{state}")).to_contain_text("Endorse")
    secretariat.get_by_role("button", name="Decide by the rule").click()
    secretariat.wait_for_url(re.compile(r"/proposals/\d+$"))
    expect(secretariat.locator("header .meta").first).to_contain_text("Adopted")
    version = before["version"] + 1
    expect(secretariat.locator("header .meta").first).to_contain_text(
        f"adopted as version {version}")

    reader = open_as("kaz_editor")
    reader.goto(f"/risks/{RISK}")
    expect(reader.locator("h1")).to_contain_text(NEW_TITLE)
    expect(reader.locator(".risk-head .meta")).to_contain_text(f"version {version}")
    reservations = reader.locator("#reservations")
    expect(reservations).to_contain_text(f"Reservations on version {version}")
    expect(reservations).to_contain_text("TKM reserves its position")
    expect(reservations).to_contain_text("Turkmenistan reserves on the wording.")
    assert not reader.locator("#open-proposals").count()  # it is closed now
    assert live.api("kaz_editor", f"/api/v1/risks/{RISK}")["title"]["en"] == NEW_TITLE
    # The same page in Russian says it in Russian.
    reader.goto(f"/risks/{RISK}?lang=ru")
    expect(reader.locator("#reservations")).to_contain_text(f"Оговорки к версии {version}")
    assert not reader.problems, reader.problems


def test_meeting_added_through_the_page_lists_its_agenda(open_as: Any, live: Live) -> None:
    page = with_axe(open_as("web_admin"))
    page.goto("/meetings")
    page.get_by_label("Kind").select_option("ministerial")
    page.get_by_label("Date").fill("2027-04-20")
    page.get_by_label("Place").fill("Dushanbe")
    page.get_by_label("Title", exact=True).fill("Ministerial on health security")
    page.get_by_label(re.compile("^KAZ-SC")).check()
    page.get_by_label(re.compile("^TJK-SC")).check()
    page.get_by_role("button", name="Add meeting").click()
    page.wait_for_url(re.compile(r"/meetings/\d+$"))
    expect(page.locator("h1")).to_contain_text("Ministerial on health security")
    expect(page.locator("main")).to_contain_text("Dushanbe")
    expect(page.locator("main")).to_contain_text("TJK-SC")
    assert violations(page) == []
    page.goto("/meetings?lang=ru")
    expect(page.locator("main")).to_contain_text("Ministerial on health security")
    expect(page.locator("h1")).to_contain_text("Встречи")
    assert not page.problems, page.problems
