"""The measures table, status board and measure page (catalog/measure_pages.py): what each
principal sees, moves and edits, checked against the JSON API."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from riskatlas.catalog.measure_pages import BOARD, date_text, due_day, is_overdue
from tests.helpers import load
from tests.web.pages.measure_world import AMBER, World, form_fields, make_world


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    return make_world(db_url, tmp_path)


def columns(html: str) -> dict[str, set[str]]:
    """Board column (status) -> keys of the cards in it."""
    out = {}
    for status, body in re.findall(
            r'<section class="board-column status-(\w+)".*?>(.*?)</section>', html, re.S):
        out[status] = set(re.findall(r'<li class="card[^"]*" id="card-([\w.-]+)"', body))
    return out


def api_statuses(world: World, username: str) -> dict[str, str]:
    page = world.api(username, "/api/v1/measures?limit=500")
    return {m["key"]: m["status"] for m in page["items"]}


def test_board_shows_each_visible_measure_in_its_status_column(world: World) -> None:
    for username in ("kaz_viewer", "sau_viewer"):
        client, _ = world.browser(username)
        for path in ("/measures?view=board", "/measures/board"):
            response = client.get(path)
            assert response.status_code == 200
            board = columns(response.text)
            assert list(board) == list(BOARD)
            expected = {s: {k for k, v in api_statuses(world, username).items() if v == s}
                        for s in BOARD}
            assert board == expected
    assert columns(world.browser("kaz_viewer")[0].get("/measures?view=board").text)[
        "in_progress"] == {"CA-MWB-003"}  # the AMBER one, seen by a member


def test_lead_editor_moves_a_measure_and_sets_its_progress(world: World) -> None:
    client, csrf = world.browser("kaz_editor")
    page = client.get("/measures?view=board")
    fields = form_fields(page.text, "CA-MWB-001")
    assert fields["csrf"] == csrf and fields["version"] == "1"
    # a plain form POST, as a browser without JavaScript sends it
    response = client.post("/measures/CA-MWB-001/update", data={**fields, "status": "agreed"})
    assert response.status_code == 303
    assert response.headers["location"] == "/measures?view=board"
    assert api_statuses(world, "kaz_viewer")["CA-MWB-001"] == "agreed"
    assert "CA-MWB-001" in columns(client.get("/measures?view=board").text)["agreed"]
    history = world.api("kaz_viewer", "/api/v1/measures/CA-MWB-001/history")
    assert [v["change"] for v in history] == ["create", "update"]
    # htmx: the CSRF token in the header, the redirect followed, the view swapped in place
    fields = form_fields(client.get("/measures").text, "CA-MWB-001")
    response = client.post("/measures/CA-MWB-001/update", follow_redirects=True,
                           data={"version": fields["version"], "progress": "40",
                                 "next": "/measures"},
                           headers={"HX-Request": "true", "X-CSRF-Token": csrf or ""})
    assert response.status_code == 200 and 'id="measures-view"' in response.text
    measure = world.api("kaz_viewer", "/api/v1/measures/CA-MWB-001")
    assert (measure["progress"], measure["status"], measure["version"]) == (40, "agreed", 3)


def test_viewers_and_other_organisations_are_refused(world: World) -> None:
    editor, _ = world.browser("kaz_editor")
    fields = form_fields(editor.get("/measures?view=board").text, "CA-MWB-001")
    for username in ("kaz_viewer", "kgz_editor"):
        client, csrf = world.browser(username)
        page = client.get("/measures?view=board").text
        assert 'action="/measures/CA-MWB-001/update"' not in page  # no control offered
        response = client.post("/measures/CA-MWB-001/update",
                               data={"csrf": csrf, "version": "1", "status": "implemented"})
        assert response.status_code == 403, username
        assert 'role="alert"' in response.text
    # the Kyrgyz editor moves the Kyrgyz measure, not the Kazakh ones
    client, csrf = world.browser("kgz_editor")
    fields_kgz = form_fields(client.get("/measures?view=board").text, "CA-MWB-004")
    assert client.post("/measures/CA-MWB-004/update",
                       data={**fields_kgz, "status": "in_progress"}).status_code == 303
    anonymous, _ = world.browser(None)
    assert anonymous.post("/measures/CA-MWB-001/update",
                          data={"version": "1", "status": "agreed"}).status_code == 401
    # the owner's editor without the CSRF token, then with a stale version
    assert editor.post("/measures/CA-MWB-001/update",
                       data={"version": "1", "status": "agreed"}).status_code == 403
    assert editor.post("/measures/CA-MWB-001/update",
                       data={**fields, "csrf": "wrong", "status": "agreed"}).status_code == 403
    assert editor.post("/measures/CA-MWB-001/update",
                       data={**fields, "progress": "40"}).status_code == 303
    stale = editor.post("/measures/CA-MWB-001/update", data={**fields, "status": "agreed"})
    assert stale.status_code == 412 and 'role="alert"' in stale.text
    assert editor.post("/measures/CA-MWB-001/update",
                       data={**fields, "version": "2", "progress": "150"}).status_code == 422
    statuses = api_statuses(world, "kaz_viewer")
    assert statuses["CA-MWB-001"] == "proposed" and statuses["CA-MWB-004"] == "in_progress"
    assert world.api("kaz_viewer", "/api/v1/measures/CA-MWB-001")["progress"] == 40


def test_overdue_is_highlighted(world: World) -> None:
    client, _ = world.browser("kaz_viewer")
    table = client.get("/measures").text
    rows = dict(re.findall(r'<tr id="row-([\w.-]+)" class="([^"]*)"', table))
    assert rows["CA-MWB-001"] == "overdue"  # due 2020-01-31, still proposed
    assert rows["CA-MWB-002"] == ""  # due 2020, but implemented
    assert rows["CA-MWB-004"] == ""  # due 2999
    board = client.get("/measures?view=board").text
    assert 'class="card overdue" id="card-CA-MWB-001"' in board
    assert 'class="card" id="card-CA-MWB-002"' in board


def test_due_dates_and_overdue_rule() -> None:
    assert due_day("2025") == date(2025, 12, 31)
    assert due_day("2024-02") == date(2024, 2, 29)
    assert due_day("2025-12") == date(2025, 12, 31)
    assert due_day("2025-03-04") == date(2025, 3, 4)
    today = date(2026, 1, 1)
    assert is_overdue({"end": "2025", "status": "agreed"}, today)
    assert not is_overdue({"end": "2026", "status": "agreed"}, today)
    assert not is_overdue({"end": "2025", "status": "abandoned"}, today)
    assert not is_overdue({"end": None, "status": "proposed"}, today)


def test_effect_on_the_residual_rating_of_linked_risks(world: World) -> None:
    client, _ = world.browser("kaz_viewer")
    card = re.search(r'id="card-CA-MWB-001".*?</li>\s*</ul>', client.get(
        "/measures?view=board").text, re.S)
    assert card is not None
    # CA-WEB-001 is High x Very High; the implemented hotline (-1, -1) leaves it Moderate,
    # the patrols (-2, -2) would lower it to Low
    text = " ".join(re.sub(r"<[^>]+>", " ", card[0]).split())
    assert re.search(r"CA-WEB-001 : Moderate → with this measure: Low \(expected\)", text)
    # the hotline is implemented: in the residual level already, from Very High to Moderate
    page = " ".join(re.sub(r"<[^>]+>", " ", client.get("/measures/CA-MWB-002").text).split())
    assert "Very High → with this measure: Moderate" in page and "(expected)" not in page


def test_partner_sees_no_amber_record(world: World) -> None:
    client, _ = world.browser("sau_viewer")
    for path in ("/measures", "/measures?view=board", "/measures?status=in_progress",
                 "/measures?lang=ru", "/measures/CA-MWB-001"):
        response = client.get(path)
        assert response.status_code == 200
        for secret in AMBER:
            assert secret not in response.text, (path, secret)
    assert client.get("/measures/CA-MWB-003").status_code == 404
    member, _ = world.browser("kaz_viewer")
    assert "CA-MWB-003" in member.get("/measures").text


def test_measure_page_and_filters(world: World) -> None:
    client, _ = world.browser("kaz_viewer")
    page = client.get("/measures/CA-MWB-001").text
    for text in ("Joint patrols", "KAZ-SC", "Proposed", "Overdue", "CA-WEB-001", "Version 1",
                 "Jan 31, 2020"):
        assert text in page, text
    ru = client.get("/measures/CA-MWB-001?lang=ru").text
    for text in ("Joint patrols ру", "Предложена", "Просрочена", "31 янв. 2020", "История"):
        assert text in ru, text
    keys = set(re.findall(r'<tr id="row-([\w.-]+)"', client.get("/measures?lead=KGZ-SC").text))
    assert keys == {"CA-MWB-004"}
    keys = set(re.findall(r'<tr id="row-([\w.-]+)"',
                          client.get("/measures?state=KAZ&status=implemented").text))
    assert keys == {"CA-MWB-002"}
    board = client.get("/measures?view=board&lang=ru").text
    assert "Доска статусов" in board and "Выполняется" in board
    assert client.get("/measures/NO-SUCH").status_code == 404


def test_the_pages_take_the_same_statements_whatever_the_number_of_measures(
        world: World, tmp_path: Path) -> None:
    """No N+1: the board, the table and a country page read with a fixed number of SQL
    statements, for 4 visible measures or 16 (each with its links and effects)."""
    engine = world.app.state.runtime.engine
    client, _ = world.browser("kaz_viewer")
    paths = ("/measures?view=board", "/measures", "/countries/KAZ")

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def counts() -> list[int]:
        out = []
        for path in paths:
            client.get(path)  # warm: principal and statement caches
            statements.clear()
            event.listen(engine, "before_cursor_execute", count)
            try:
                assert client.get(path).status_code == 200
            finally:
                event.remove(engine, "before_cursor_execute", count)
            out.append(len(statements))
        return out

    before = counts()
    more = tmp_path / "more.yaml"
    more.write_text("measures:\n" + "".join(f"""
  - key: CA-MWB-{n:03d}
    title: {{en: Extra {n}, ru: Ещё {n}}}
    summary: {{en: S, ru: С}}
    kind: response
    treatment: reduce
    lead: KAZ-SC
    owner: KAZ-SC
    states: [KAZ, TJK]
    status: {BOARD[n % len(BOARD)]}
    effect: {{likelihood: 1, impact: 2}}
    risks: [CA-WEB-001, CA-WEB-003]
    tlp: green
    end: 2021-06
""" for n in range(100, 112)), encoding="utf-8")
    load(world.db_url, more)
    assert len(world.api("kaz_viewer", "/api/v1/measures?limit=100")["items"]) == 16
    assert counts() == before


def test_partial_dates_in_the_readers_language() -> None:
    assert date_text("2999-12", "en") == "Dec 2999"
    assert date_text("2999-12", "ru").startswith("дек")
    assert date_text("2025-03-04", "ru").replace("\u202f", " ") == "4 мар. 2025 г."
    assert (date_text("2025", "ru"), date_text(None, "en")) == ("2025", "")


def test_a_refusal_keeps_the_view_its_filters_and_language(world: World) -> None:
    client, csrf = world.browser("kgz_editor")
    back = "/measures?view=board&state=KAZ&lang=ru"
    response = client.post("/measures/CA-MWB-001/update",
                           data={"csrf": csrf, "version": "1", "status": "agreed",
                                 "next": back})
    assert response.status_code == 403
    assert "редакторы организации" in response.text  # the reason, in Russian
    assert columns(response.text)["agreed"] == set()  # the KAZ filter kept: no CA-MWB-004
    assert 'href="/measures?view=board&amp;state=KAZ&amp;lang=ru"' in response.text
    # no version named: refused as the API refuses a PATCH without If-Match
    editor, csrf = world.browser("kaz_editor")
    assert editor.post("/measures/CA-MWB-001/update",
                       data={"csrf": csrf, "status": "agreed"}).status_code == 428
    page = editor.post("/measures/CA-MWB-001/update", data={
        "csrf": csrf, "version": "7", "progress": "5", "next": "/measures/CA-MWB-001"})
    assert page.status_code == 412 and "<h1>" in page.text and "Joint patrols" in page.text
