"""The governance pages: the list, a proposal with its positions and steps, the propose form
from the risk page, meetings; a partner sees no proposal about an AMBER record; forms refuse
without the session's CSRF token; every message of the pages has a Russian translation."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_file

from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.runtime import Runtime
from riskatlas.web import i18n
from tests.catalog.trust import PASSWORD, RISK, Node
from tests.web.pages.catalog_kit import (  # noqa: F401 - cheap_hashing: a fixture
    AMBER,
    browser,
    catalog_node,
    cheap_hashing,
)

ROOT = Path(__file__).resolve().parents[2] / "src" / "riskatlas"


def _users(node: Node) -> None:
    with Runtime(Settings(database_url=node.db_url)).transaction() as session:
        for username, org, role in (("kaz_ed", "KAZ-SC", "editor"), ("tkm_ed", "TKM-SC", "editor"),
                                    ("sec_admin", "C5-SEC", "admin"),
                                    ("sau_viewer", "SAU-GOV", "viewer")):
            accounts.add_user(session, username, org, role, PASSWORD)


def _propose(node: Node, key: str, title: str) -> int:
    client, csrf = browser(node, "kaz_ed")
    form = client.get(f"/risks/{key}/propose")
    assert form.status_code == 200, form.text
    answer = client.post(f"/risks/{key}/propose", data={
        "csrf": csrf, "proposal_title": title, "kind": "retire"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    found = re.search(r"/proposals/(\d+)", answer.headers["location"])
    assert found
    return int(found.group(1))


def test_pages_render_and_steps_follow_the_rule(db_url: str, cheap_hashing: None) -> None:  # noqa: F811
    node = catalog_node(db_url)
    _users(node)
    pid = _propose(node, RISK, "Retire the test risk")
    kaz, _ = browser(node, "kaz_ed")
    page = kaz.get(f"/proposals/{pid}").text
    assert "Retire the test risk" in page and 'id="position-KAZ"' in page
    assert "Endorse" in page and "Withdraw" in page  # the proposer's organisation withdraws
    assert "Decide by the rule" not in page  # a member's editor does not decide
    assert f"/proposals/{pid}" in kaz.get("/proposals").text
    assert f"/proposals/{pid}" in kaz.get(f"/risks/{RISK}").text  # open proposals listed
    tkm, csrf = browser(node, "tkm_ed")
    answer = tkm.post(f"/proposals/{pid}/position", data={
        "csrf": csrf, "stance": "reserve", "comment": "Turkmen reservation"},
        follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert "Turkmen reservation" in tkm.get(f"/proposals/{pid}").text
    sec, csrf = browser(node, "sec_admin")
    page = sec.get(f"/proposals/{pid}?lang=ru").text
    assert "Принять решение по правилу" in page
    waiting = sec.post(f"/proposals/{pid}/decide", data={"csrf": csrf})
    assert waiting.status_code == 409 and "No decision yet" in waiting.text
    meetings = sec.get("/meetings")
    assert "Add a meeting" in meetings.text
    made = sec.post("/meetings", data={"csrf": csrf, "kind": "summit", "date": "2027-03-01",
                                       "place": "Astana", "title": "C5 summit",
                                       "participants": ["KAZ-SC", "KGZ-SC"],
                                       "agenda": [str(pid)]}, follow_redirects=False)
    assert made.status_code == 303, made.text
    meeting = sec.get(made.headers["location"]).text
    assert "C5 summit" in meeting and "Astana" in meeting and f"/proposals/{pid}" in meeting
    assert "C5 summit" in sec.get("/meetings?lang=ru").text


def test_partner_sees_no_proposal_about_an_amber_record(db_url: str,
                                                        cheap_hashing: None) -> None:  # noqa: F811
    node = catalog_node(db_url)
    _users(node)
    pid = _propose(node, AMBER, "Retire the zebra risk")
    partner, _ = browser(node, "sau_viewer")
    assert partner.get(f"/proposals/{pid}").status_code == 404
    assert "zebra" not in partner.get("/proposals?status=all").text
    assert node.client.get(f"/proposals/{pid}").status_code == 404  # anonymous
    member, _ = browser(node, "kaz_ed")
    assert "Retire the zebra risk" in member.get("/proposals").text


def test_forms_refuse_without_csrf(db_url: str, cheap_hashing: None) -> None:  # noqa: F811
    node = catalog_node(db_url)
    _users(node)
    pid = _propose(node, RISK, "Retire it")
    client, csrf = browser(node, "kaz_ed")
    for path, data in ((f"/proposals/{pid}/position", {"stance": "object"}),
                       (f"/proposals/{pid}/comments", {"text": "hello"}),
                       (f"/proposals/{pid}/withdraw", {}), (f"/proposals/{pid}/decide", {}),
                       (f"/proposals/{pid}/rebase", {}),
                       (f"/risks/{RISK}/propose", {"proposal_title": "x", "kind": "retire"}),
                       ("/meetings", {"kind": "expert", "date": "2027-01-01", "place": "p",
                                      "title": "t"})):
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data={**data, "csrf": "forged"}).status_code == 403, path
    page = client.get(f"/proposals/{pid}").text
    assert "hello" not in page and "Open" in page


def test_every_message_of_the_pages_is_translated() -> None:
    ids: list[str] = []
    for path in sorted((ROOT / "web" / "templates" / "governance").glob("*.html")):
        ids += [m for _, m, _, _ in extract_from_file(
            "jinja2.ext:babel_extract", str(path), options={"extensions": "jinja2.ext.i18n"})
            if isinstance(m, str)]
    ids += [m for _, m, _, _ in extract_from_file(
        "python", str(ROOT / "governance" / "pages.py"), keywords={"N_": None, "gettext": None})
        if isinstance(m, str)]
    assert len(ids) > 50, "the extraction found nothing"
    russian = i18n.translations("ru")
    missing = sorted({m for m in ids if russian.gettext(m) == m})
    assert missing == []
    # A proposal's status is worded for "предложение", apart from a risk's status.
    assert [russian.pgettext("proposal status", w) for w in ("Open", "Adopted", "Rejected")] \
        == ["Открыто", "Принято", "Отклонено"]


def test_stale_proposal_is_marked_and_rebased_through_the_page(
        db_url: str, cheap_hashing: None) -> None:  # noqa: F811
    node = catalog_node(db_url)
    _users(node)
    client, csrf = browser(node, "kaz_ed")
    answer = client.post(f"/risks/{RISK}/propose", data={
        "csrf": csrf, "proposal_title": "Raise the impact", "kind": "change",
        **_unchanged(client.get(f"/risks/{RISK}/propose").text), "impact": "Low"},
        follow_redirects=False)
    assert answer.status_code == 303, re.findall(r'class="problem"[^>]*>(.*?)</p>', answer.text)
    pid = int(answer.headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/proposals/{pid}").text
    assert "Low" in page and "Stale" not in page and "Rebase" not in page
    etag = node.etag(f"/api/v1/risks/{RISK}")
    edited = node.client.patch(f"/api/v1/risks/{RISK}", json={"trend": "rising"},
                               headers=node.headers("sec_editor", **{"If-Match": etag}))
    assert edited.status_code == 200, edited.text
    assert "Stale" in client.get("/proposals").text
    page = client.get(f"/proposals/{pid}").text
    assert "Rebase on the current version" in page
    rebased = client.post(f"/proposals/{pid}/rebase", data={"csrf": csrf},
                          follow_redirects=False)
    assert rebased.status_code == 303, rebased.text
    assert "Stale" not in client.get(f"/proposals/{pid}").text


def test_meeting_page_links_the_briefing_pack_when_it_exists(
        db_url: str, cheap_hashing: None) -> None:  # noqa: F811
    node = catalog_node(db_url)
    _users(node)
    sec, csrf = browser(node, "sec_admin")
    made = sec.post("/meetings", data={"csrf": csrf, "kind": "expert", "date": "2027-02-01",
                                       "place": "Bishkek", "title": "Experts"},
                    follow_redirects=False)
    assert made.status_code == 303, made.text
    page = sec.get(made.headers["location"]).text
    mid = made.headers["location"].rsplit("/", 1)[1]
    route = any(getattr(r, "path", "") == "/api/v1/meetings/{meeting_id}/brief"
                for r in sec.app.routes)  # type: ignore[attr-defined]
    assert (f"/api/v1/meetings/{mid}/brief?lang=ru&amp;format=pdf" in page) == route


def _unchanged(page: str) -> dict[str, object]:
    """The propose form's fields as the page fills them (text fields and selects)."""
    import html
    data: dict[str, object] = {}
    form = page[page.index('<form class="risk-form propose"'):]
    for name, value in re.findall(r'<input id="f-[^"]+" name="([a-z_]+_(?:en|ru))"[^>]*'
                                  r'value="([^"]*)"', form):
        data[name] = html.unescape(value)
    for name, value in re.findall(r'<textarea[^>]*name="([a-z_]+)"[^>]*>(.*?)</textarea>',
                                  form, re.S):
        data[name] = html.unescape(value)
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        data[name] = html.unescape(chosen.group(1)) if chosen else ""
    data["states"] = re.findall(r'name="states" value="([A-Z]+)" checked', form)
    data.pop("comment", None)
    return data


def test_measure_page_shows_the_reservations_of_its_adopted_version(
        db_url: str, cheap_hashing: None) -> None:  # noqa: F811
    from riskatlas.audit.service import Who
    from riskatlas.catalog.matrix import active_matrix
    from riskatlas.cli_options import operator_scope
    from riskatlas.governance import proposals

    node = catalog_node(db_url)
    settings = Settings(database_url=node.db_url)
    local = Who("cli", None, None)
    with Runtime(settings).transaction() as session:
        matrix, scope = active_matrix(settings), operator_scope()
        made = proposals.create_proposal(session, matrix, scope, None, local, kind="change",
                                         entity="measures", key="CA-MSR-DUE",
                                         changes={"progress": 40}, title="Progress agreed")
        for state in ("KAZ", "KGZ", "TJK", "UZB"):
            proposals.record_position(session, scope, None, local, made["id"], "endorse",
                                      state=state)
        proposals.record_position(session, scope, None, local, made["id"], "reserve",
                                  "Not our measure", state="TKM")
        assert proposals.decide(session, matrix, scope, None, local,
                                made["id"])["status"] == "adopted"
    member = node.headers("kgz_editor")
    page = node.client.get("/measures/CA-MSR-DUE", headers=member).text
    assert 'id="reservations"' in page and "TKM reserves its position" in page
    assert "Not our measure" in page and f'href="/proposals/{made["id"]}"' in page
    assert "TKM делает оговорку" in node.client.get("/measures/CA-MSR-DUE?lang=ru",
                                                       headers=member).text
