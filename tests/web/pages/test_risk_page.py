"""The risk page and its forms: content, national ratings side by side, history with word
diffs; edits through the API's service (rights, validation in the reader's language, a
version conflict that shows the other change and keeps what was typed); national assessments
that move the regional rating."""

from __future__ import annotations

import html
import re

from tests.catalog.trust import RISK, Node
from tests.web.pages.catalog_kit import (  # noqa: F401 - cheap_hashing: a fixture
    AMBER,
    browser,
    catalog_node,
    cheap_hashing,
)
from tests.web.pages.frame_kit import field


def form_data(page: str) -> dict[str, object]:
    """The fields of the risk form as a browser would send them, unchanged."""
    form = page[page.index('<form class="risk-form"'):page.index("</form>",
                                                                 page.index("risk-form"))]
    data: dict[str, object] = {}

    def put(name: str, value: str) -> None:
        if name in data:
            old = data[name]
            data[name] = [*old, value] if isinstance(old, list) else [old, value]
        else:
            data[name] = value

    for tag in re.findall(r"<input\b[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name or ('type="checkbox"' in tag and " checked" not in tag):
            continue
        put(name.group(1), unescape(value.group(1) if value else ""))
    for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form,
                                  re.S):
        put(name, unescape(value))
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        put(name, unescape(chosen.group(1) if chosen else ""))
    return data


def unescape(text: str) -> str:
    return html.unescape(text)


def test_risk_page_content(db_url: str, cheap_hashing: None) -> None:  # noqa: F811
    node = catalog_node(db_url)
    page = node.client.get(f"/risks/{RISK}", headers=node.headers("kgz_editor")).text
    for text in ("Test risk", "TLP:CLEAR", "ISKP",
                 'href="https://example.org/a"', "Sep 24, 2022", "National assessments",
                 "the highest national rating on each axis", "Version history",
                 'href="/measures/CA-MSR-900"', "Implemented", "Pending"):
        assert text in page, text
    national = page[page.index('class="national"'):]
    # Every member state in a row, TJK's rating beside the others, the regional row last.
    for state in ("KAZ", "KGZ", "TJK", "TKM", "UZB"):
        assert f'<th scope="row">{state} ' in national
    assert "not assessed" in national
    assert 'class="regional"' in national
    # Not the owner's editor: no edit link, and the form is refused.
    assert f'/risks/{RISK}/edit"' not in page
    assert node.client.get(f"/risks/{RISK}/edit", headers=node.headers("kgz_editor")
                           ).status_code == 403
    owner = node.client.get(f"/risks/{RISK}", headers=node.headers("sec_editor")).text
    assert f'href="/risks/{RISK}/edit"' in owner
    ru = node.client.get(f"/risks/{RISK}?lang=ru", headers=node.headers("kgz_editor")).text
    for text in ("Тестовый риск", "Национальные оценки", "История версий", "Вероятность",
                 "наибольшая национальная оценка по каждой оси", "Источники"):
        assert text in ru, text
    # A partner: the AMBER risk does not exist.
    assert node.client.get(f"/risks/{AMBER}", headers=node.headers("sau_editor")
                           ).status_code == 404
    assert node.client.get(f"/risks/{AMBER}/assessments/KAZ/history",
                           headers=node.headers("sau_editor")).status_code == 404
    check_create_a_risk(node)


def test_edit_shows_a_word_diff_in_the_history(db_url: str, cheap_hashing: None) -> None:  # noqa: F811
    node = catalog_node(db_url)
    client, _ = browser(node, "sec_editor")
    data = form_data(client.get(f"/risks/{RISK}/edit").text)
    data["title_en"] = "Test risk at the northern border"
    data["drivers_en"], data["drivers_ru"] = "Smuggling", "Контрабанда"
    answer = client.post(f"/risks/{RISK}/edit", data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    page = client.get(f"/risks/{RISK}").text
    assert "Test risk at the northern border" in page and "Smuggling" in page
    history = page[page.index('id="history"'):]
    assert "Test risk <ins>at the northern border </ins>·" in history
    api = node.client.get(f"/api/v1/risks/{RISK}", headers=node.headers("sec_editor")).json()
    assert api["title"]["en"] == "Test risk at the northern border"
    assert api["title"]["ru"] == "Тестовый риск"  # untouched languages stay
    assert api["drivers"] == [{"en": "Smuggling", "ru": "Контрабанда"}]
    assert api["version"] == 2
    # Without the session's CSRF token the form is refused.
    data["csrf"] = "wrong"
    assert client.post(f"/risks/{RISK}/edit", data=data).status_code == 403


def test_version_conflict_keeps_the_typed_input(db_url: str, cheap_hashing: None) -> None:  # noqa: F811
    node = catalog_node(db_url)
    alice, _ = browser(node, "sec_editor")
    bob, _ = browser(node, "sec_editor")  # the same editor in a second browser
    theirs = form_data(alice.get(f"/risks/{RISK}/edit").text)
    mine = form_data(bob.get(f"/risks/{RISK}/edit").text)
    theirs["title_en"] = "Renamed by Alice"
    assert alice.post(f"/risks/{RISK}/edit", data=theirs,
                      follow_redirects=False).status_code == 303
    mine["summary_en"] = "Bob's new summary of the risk"
    conflict = bob.post(f"/risks/{RISK}/edit", data=mine)
    assert conflict.status_code == 409
    page = conflict.text
    assert "Someone else changed this risk while you were editing it" in page
    shown = page[page.index('class="conflict"'):page.index("</section>",
                                                           page.index('class="conflict"'))]
    assert "Renamed by Alice" in shown and "<del>" in shown and "<ins>" in shown
    assert "Bob&#39;s new summary of the risk" in page  # the typed text is kept
    again = form_data(page)
    assert again["version"] == "2" and again["base"] == "1"
    assert again["summary_en"] == "Bob's new summary of the risk"
    assert bob.post(f"/risks/{RISK}/edit", data=again,
                    follow_redirects=False).status_code == 303
    api = node.client.get(f"/api/v1/risks/{RISK}", headers=node.headers("sec_editor")).json()
    # Bob's resubmit wrote his change only: Alice's title stays.
    assert api["title"]["en"] == "Renamed by Alice"
    assert api["summary"]["en"] == "Bob's new summary of the risk"
    assert api["version"] == 3


def test_validation_next_to_the_fields_in_russian(db_url: str, cheap_hashing: None) -> None:  # noqa: F811
    node = catalog_node(db_url)
    client, _ = browser(node, "sec_editor")
    data = form_data(client.get(f"/risks/{RISK}/edit?lang=ru").text)
    data["title_ru"] = ""
    data["source_url"] = ["not a web address", ""]
    answer = client.post(f"/risks/{RISK}/edit?lang=ru", data=data)
    assert answer.status_code == 422
    page = answer.text
    title = page[page.index("f-title-en"):page.index("f-summary-en")]
    assert "Нет текста на языке: ru." in title
    sources = page[page.index('name="source_title"'):]
    assert "Строка 1, Адрес" in sources or "Строка 1" in sources
    assert "Укажите веб-адрес" in sources
    assert 'value="not a web address"' in page  # what was typed is kept
    assert node.client.get(f"/api/v1/risks/{RISK}", headers=node.headers(
        "sec_editor")).json()["version"] == 1


def check_create_a_risk(node: Node) -> None:
    viewer, _ = browser(node, "sec_viewer")
    assert viewer.get("/risks/new").status_code == 403
    assert "New risk" not in viewer.get("/risks").text
    client, _ = browser(node, "sec_editor")
    data = form_data(client.get("/risks/new").text)
    data.update({"key": "CA-NEW-001", "title_en": "New page risk", "title_ru": "Новый риск",
                 "summary_en": "s", "summary_ru": "с", "rationale_en": "r",
                 "rationale_ru": "р", "domain": "cyber", "states": ["KAZ", "UZB"],
                 "likelihood": "High", "impact": "Moderate", "actors": "ISKP",
                 "source_title": "Report", "source_url": "https://example.org/n",
                 "source_published": "2025-02"})
    missing = dict(data, summary_en="", states=[])
    problem = client.post("/risks/new", data=missing)
    assert problem.status_code == 422
    assert "This field is required." in problem.text or "Give at least one." in problem.text
    assert 'value="CA-NEW-001"' in problem.text
    created = client.post("/risks/new", data=data, follow_redirects=False)
    assert created.status_code == 303, created.text
    api = node.client.get("/api/v1/risks/CA-NEW-001", headers=node.headers("sec_editor")).json()
    assert api["owner"] == "C5-SEC" and api["states"] == ["KAZ", "UZB"]
    assert api["sources"][0]["published"] == "2025-02" and api["actors"] == ["ISKP"]
    again = client.post("/risks/new", data=data)
    assert again.status_code == 409 and "This key is already in use." in again.text


def test_national_assessment_moves_the_regional_rating(db_url: str, cheap_hashing: None) -> None:  # noqa: F811
    node = catalog_node(db_url)
    client, _ = browser(node, "kgz_analyst")
    page = client.get(f"/risks/{RISK}").text

    def regional(html: str) -> str:
        row = html[html.index('id="regional-rating"'):]
        return row[:row.index("</tr>")]

    before = regional(page)
    assert "Very High</td><td>High</td>" in before  # TJK's rating alone (max rule)
    assert f'action="/risks/{RISK}/assessments/KGZ"' in page  # only their own state
    assert "/assessments/TJK\"" not in page
    csrf = field(page[page.index('class="assess"'):], "csrf")
    answer = client.post(f"/risks/{RISK}/assessments/KGZ", data={
        "csrf": csrf, "version": "", "likelihood": "Very High", "impact": "Very High",
        "rationale_en": "Border incidents doubled", "rationale_ru": "Инцидентов вдвое больше"},
        follow_redirects=False)
    assert answer.status_code == 303, answer.text
    after = client.get(f"/risks/{RISK}").text
    assert "Very High</td><td>Very High</td>" in regional(after)
    assert "Border incidents doubled" in after
    api = node.client.get(f"/api/v1/risks/{RISK}", headers=node.headers("kgz_editor")).json()
    assert api["regional"]["impact"] == "Very High"
    # A stale version: the form comes back with the typed rationale and the stored version.
    stale = client.post(f"/risks/{RISK}/assessments/KGZ", data={
        "csrf": csrf, "version": "", "likelihood": "Low", "impact": "Low",
        "rationale_en": "Second thoughts", "rationale_ru": "Передумали"})
    assert stale.status_code == 409 and "Second thoughts" in stale.text
    assert field(stale.text[stale.text.index('class="assess"'):], "version") == "1"
    history = client.get(f"/risks/{RISK}/assessments/KGZ/history").text
    assert "Border incidents doubled" in history and "Very High" in history
    # Another state's analyst may not write KGZ's assessment; a viewer gets no form.
    other, other_csrf = browser(node, "sec_editor")  # the secretariat has no state
    assert 'class="assess"' not in other.get(f"/risks/{RISK}").text
    refused = other.post(f"/risks/{RISK}/assessments/KGZ", data={
        "csrf": other_csrf, "likelihood": "Low", "impact": "Low", "rationale_en": "x",
        "rationale_ru": "х"})
    assert refused.status_code == 403
