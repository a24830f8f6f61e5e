"""The dashboard: heat map counts equal the JSON API's for the same caller, inherent and
residual; top risks, measures due and overdue, recent changes; nothing hidden leaks."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from sqlalchemy import event

from riskatlas.catalog.matrix import active_matrix
from riskatlas.config import Settings
from tests.catalog.trust import Node
from tests.web.pages.catalog_kit import (  # noqa: F401 - cheap_hashing: a fixture
    AMBER,
    AMBER_MEASURE,
    DUE,
    OVERDUE,
    catalog_node,
    cheap_hashing,
    more_risks,
)

MATRIX = active_matrix(Settings())


def heat_counts(html: str) -> dict[tuple[str, str], int]:
    """(likelihood, impact) -> the count shown, read from the heat map table."""
    table = html[html.index('<table class="heat">'):html.index("</table>",
                                                                html.index('class="heat"'))]
    counts = [int(n) for n in re.findall(r'<span class="count">(\d+)</span>', table)]
    cells = [(lik, imp) for lik in reversed(MATRIX.likelihood) for imp in MATRIX.impact]
    assert len(counts) == len(cells)
    return dict(zip(cells, counts, strict=True))


def test_heat_map_counts_are_the_apis(db_url: str, cheap_hashing: None) -> None:  # noqa: F811
    node = catalog_node(db_url)
    for user in ("sec_editor", "sau_editor", "tur_editor"):
        items = node.client.get("/api/v1/risks?limit=1000",
                                headers=node.headers(user)).json()["items"]
        page = node.client.get("/", headers=node.headers(user))
        assert page.status_code == 200
        shown = heat_counts(page.text)
        expected = Counter((r["likelihood"], r["impact"]) for r in items)
        assert {cell: n for cell, n in shown.items() if n} == dict(expected), user
        # The residual view: per level, the API's residual levels.
        residual = heat_counts(node.client.get("/?view=residual",
                                               headers=node.headers(user)).text)
        by_level: Counter[str] = Counter()
        for (lik, imp), n in residual.items():
            by_level[MATRIX.label("level", MATRIX.level(MATRIX.parse("likelihood", lik),
                                                        MATRIX.parse("impact", imp)))] += n
        assert {k: v for k, v in by_level.items() if v} == dict(
            Counter(r["residual_level"] for r in items)), user
    member = heat_counts(node.client.get("/", headers=node.headers("kgz_editor")).text)
    partner = heat_counts(node.client.get("/", headers=node.headers("sau_editor")).text)
    # The AMBER risk (Very High x Very High) counts for a member only.
    assert member[("Very High", "Very High")] == 1
    assert partner[("Very High", "Very High")] == 0


def check_cells_link_to_the_filtered_catalog(node: Node) -> None:
    page = node.client.get("/", headers=node.headers("kgz_editor")).text
    link = re.search(r'<a href="(/risks\?likelihood=Very\+High&amp;impact=Very\+High)"', page)
    assert link, page
    listed = node.client.get(link.group(1).replace("&amp;", "&"),
                             headers=node.headers("kgz_editor")).text
    assert f'href="/risks/{AMBER}"' in listed
    assert "CA-TST-001" not in listed.split('id="results"')[1]
    residual = node.client.get("/?view=residual", headers=node.headers("kgz_editor")).text
    assert "residual_likelihood=" in residual


def test_dashboard_parts_and_the_partner_view(db_url: str, cheap_hashing: None) -> None:  # noqa: F811
    node = catalog_node(db_url)
    member = node.client.get("/", headers=node.headers("kgz_editor")).text
    assert "Top 10 risks by residual level" in member
    top = member[member.index('class="top-risks"'):]
    assert top.index(AMBER) < top.index("CA-TST-002")  # Very High residual first
    due = member[member.index('id="due-title"'):member.index('id="recent-title"')]
    assert due.index(OVERDUE) < due.index("Due in the next 90 days") < due.index(DUE)
    assert AMBER_MEASURE in due
    recent = member[member.index('id="recent-title"'):]
    assert AMBER in recent and "CA-TST-001" in recent
    # the latest alerts: loaded by htmx from /alerts/latest (tests/warning/test_pages.py)
    assert 'hx-get="/alerts/latest"' in member and 'href="/alerts"' in member
    partner = node.client.get("/", headers=node.headers("sau_editor")).text
    assert AMBER not in partner and AMBER_MEASURE not in partner
    assert "Hidden zebra" not in partner
    assert DUE in partner
    # Accessible table: a caption, headers with scope, counts as text.
    assert "<caption>" in partner and 'scope="row"' in partner and 'scope="col"' in partner
    check_cells_link_to_the_filtered_catalog(node)
    check_heat_map_fragment_and_russian(node)


def check_heat_map_fragment_and_russian(node: Node) -> None:
    fragment = node.client.get("/?view=residual", headers=node.headers(
        "kgz_editor", **{"HX-Request": "true", "HX-Target": "heatmap"})).text
    assert fragment.lstrip().startswith('<section id="heatmap"') and "<html" not in fragment
    ru = node.client.get("/?lang=ru", headers=node.headers("kgz_editor")).text
    for text in ("Региональная тепловая карта", "Вероятность", "Воздействие", "Очень высокий",
                 "Последние изменения", "Оповещения", "Просроченные меры"):
        assert text in ru
    assert "Recent changes" not in ru


def test_dashboard_statements_do_not_grow(db_url: str, cheap_hashing: None,  # noqa: F811
                                          tmp_path: Path) -> None:
    """A bounded number of SQL statements, whatever the number of records (no N+1)."""
    node = catalog_node(db_url)
    runtime = node.client.app.state.runtime  # type: ignore[attr-defined]
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    headers = node.headers("kgz_editor")
    node.client.get("/", headers=headers)  # warm: the principal is kept per token
    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        node.client.get("/", headers=headers)
        few = len(seen)
        more_risks(node, "CA-MOR", 12, tmp_path)
        node.client.get("/", headers=headers)
        seen.clear()
        node.client.get("/", headers=headers)
        # Not more (recent changes may look at a wider window of versions when too few of
        # the newest are visible: fewer statements once there are more records).
        assert len(seen) <= few <= 20, seen
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)


def test_recent_changes_include_national_assessments(
        db_url: str, cheap_hashing: None) -> None:  # noqa: F811
    """A national assessment's change is a recent change, seen only with its risk."""
    node = catalog_node(db_url)
    for key in (AMBER, "CA-TST-001"):
        answer = node.client.put(f"/api/v1/risks/{key}/assessments/KGZ", json={
            "likelihood": "High", "impact": "Low", "rationale": {"en": "KGZ view", "ru": "в"}},
            headers=node.headers("kgz_analyst"))
        assert answer.status_code in {200, 201}, answer.text

    def assessed(username: str, lang: str = "en") -> list[str]:
        page = node.client.get(f"/?lang={lang}", headers=node.headers(username)).text
        recent = page[page.index('id="recent-title"'):page.index('id="alerts-title"')]
        return re.findall(r'<a href="/risks/([\w.-]+)(?:\?lang=\w+)?#national">', recent)

    assert assessed("kgz_editor")[:2] == ["CA-TST-001", AMBER]  # newest first
    member = node.client.get("/", headers=node.headers("kgz_editor")).text
    assert "national assessment of KGZ" in member
    assert "национальная оценка: KGZ" in node.client.get(
        "/?lang=ru", headers=node.headers("kgz_editor")).text
    partner = assessed("sau_editor")  # the partner sees no assessment of the AMBER risk
    assert partner[0] == "CA-TST-001" and AMBER not in partner
    assert AMBER not in node.client.get("/", headers=node.headers("sau_editor")).text
