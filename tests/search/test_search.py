"""Full-text search on SQLite (FTS5) and PostgreSQL (tsvector): languages, ranking, hostile
input, freshness after edits, and the sharing policy applied inside the query."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from riskatlas.catalog import queries
from riskatlas.catalog.matrix import active_matrix
from riskatlas.catalog.models import Measure, Risk
from riskatlas.cli_options import operator_scope
from riskatlas.parties.models import Organisation, User
from riskatlas.runtime import Runtime
from riskatlas.search.query import fts5_query, parse, tsquery
from riskatlas.search.service import search
from riskatlas.sharing.policy import ANONYMOUS, Principal, Scope, scope_for
from tests.helpers import cli, load

SOURCE = [{"title": "Src", "url": "https://example.org/s", "published": 2024}]


def _risk(key: str, en: str, ru: str, **extra: Any) -> dict[str, Any]:
    domain = {"BRD": "borders", "WEN": "water_energy", "CYB": "cyber", "TER": "terrorism"}
    return {
        "key": key, "title": {"en": en, "ru": ru},
        "summary": {"en": "Regional assessment", "ru": "Региональная оценка"},
        "category": "traditional", "domain": domain[key.split("-")[1]], "states": ["KGZ"],
        "likelihood": "M", "impact": "M",
        "rationale": {"en": "Reported incidents", "ru": "Сообщения об инцидентах"},
        "sources": SOURCE, **extra,
    }


def _measure(key: str, en: str, ru: str, **extra: Any) -> dict[str, Any]:
    return {
        "key": key, "title": {"en": en, "ru": ru},
        "summary": {"en": "Joint action", "ru": "Совместные действия"},
        "kind": "prevention", "treatment": "reduce", "lead": "C5-SEC", "states": ["KGZ"],
        "status": "proposed", "effect": {"likelihood": 1, "impact": 1},
        "risks": ["CA-BRD-001"], **extra,
    }


CATALOG = {
    "risks": [
        _risk("CA-BRD-001", "Border clashes", "Пограничные столкновения на границе",
              summary={"en": "Armed incidents on disputed border sections",
                       "ru": "Вооружённые инциденты на спорных участках"}),
        _risk("CA-WEN-001", "Water scarcity", "Нехватка воды",
              drivers=[{"en": "Dam construction near the border", "ru": "Строительство плотин"}]),
        _risk("CA-CYB-001", "Ransomware against utilities",
              "Программы-вымогатели против коммунальных служб",
              warning_signs=[{"en": "Phishing waves", "ru": "Волны фишинга",
                              "kk": "Фишинг толқыны"}],
              tlp="green", owner="KAZ-SC"),
        # One "zebra" risk per marking, for the sharing tests.
        _risk("CA-TER-001", "Zebra clear note", "Зебра: открытая заметка"),
        _risk("CA-TER-002", "Zebra green note", "Зебра: зелёная заметка", tlp="green",
              owner="KAZ-SC"),
        _risk("CA-TER-003", "Zebra amber note", "Зебра: жёлтая заметка", tlp="amber",
              owner="KAZ-SC"),
        _risk("CA-TER-004", "Zebra strict note", "Зебра: строгая заметка", tlp="amber+strict",
              owner="KAZ-SC", sharing={"orgs": ["KGZ-SC"]}),
        _risk("CA-TER-005", "Zebra red note", "Зебра: красная заметка", tlp="red",
              owner="KAZ-SC", sharing={"users": ["uzb-analyst"]}),
    ],
    "measures": [
        _measure("CA-MSR-001", "Joint border commission", "Совместная пограничная комиссия"),
        _measure("CA-MSR-002", "Zebra open measure", "Открытая мера зебра"),
        _measure("CA-MSR-003", "Zebra secret measure", "Секретная мера зебра", tlp="red",
                 owner="KAZ-SC"),
    ],
}


@pytest.fixture
def catalog(runtime: Runtime, db_url: str, tmp_path: Path) -> Runtime:
    with runtime.transaction() as session:
        uzb = session.scalar(select(Organisation.id).where(Organisation.key == "UZB-SC"))
        session.add(User(username="uzb-analyst", org_id=uzb, role="viewer"))
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(CATALOG, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    load(db_url, path)
    return runtime


def _keys(runtime: Runtime, q: str, entity: str = "risk", scope: Scope | None = None,
          limit: int | None = None, offset: int = 0) -> tuple[int, list[str]]:
    model: Any = Risk if entity == "risk" else Measure
    with runtime.transaction() as session:
        total, hits = search(session, scope or operator_scope(), q, entity, limit, offset)
        keys: dict[int, str] = dict(session.execute(select(model.id, model.key)).all())
    return total, [keys[rid] for rid, _ in hits]


# --- languages -----------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["border", "Border", "borders", "BORDER clashes", "clash"])
def test_english_words_find_the_border_risk(catalog: Runtime, q: str) -> None:
    total, keys = _keys(catalog, q)
    assert "CA-BRD-001" in keys
    assert total == len(keys)
    assert "CA-CYB-001" not in keys


@pytest.mark.parametrize("q", ["граница", "границ", "границе", "пограничные", "погранич*",
                               "столкновения", "Столкновение", "ГРАНИЦЫ", "границ*"])
def test_russian_words_find_the_border_risk(catalog: Runtime, q: str) -> None:
    total, keys = _keys(catalog, q)
    assert keys[:1] == ["CA-BRD-001"], (q, keys)
    assert total == len(keys)


def test_whole_words_only_unless_a_prefix_is_asked_for(catalog: Runtime) -> None:
    # The same on both databases (docs/search.md): stemmed whole words, `*` for a prefix.
    assert _keys(catalog, "погранич") == (0, [])
    assert _keys(catalog, "ransom") == (0, [])
    assert _keys(catalog, "ransom*")[1] == ["CA-CYB-001"]
    assert _keys(catalog, "war") == (0, [])  # no longer finds "warning" or "water"
    assert _keys(catalog, "wa*")[1] == []  # a prefix needs three letters: "wa" as a word
    assert set(_keys(catalog, "wat*")[1]) == {"CA-WEN-001"}
    assert _keys(catalog, '"border clash*"')[1] == ["CA-BRD-001"]  # a prefix in a phrase


@pytest.mark.parametrize("q", ["граница", "погранич", "погранич*", "пограничный"])
def test_russian_words_find_measures_too(catalog: Runtime, q: str) -> None:
    total, keys = _keys(catalog, q, "measure")
    assert total == len(keys)
    if q in ("граница", "погранич"):  # "пограничная" shares no stem with either
        assert keys == []
    else:
        assert keys == ["CA-MSR-001"]


def test_other_languages_and_keys_are_searchable(catalog: Runtime) -> None:
    assert _keys(catalog, "толқыны")[1] == ["CA-CYB-001"]
    assert _keys(catalog, "CA-WEN-001")[1] == ["CA-WEN-001"]
    assert _keys(catalog, "ransomware utilities")[1] == ["CA-CYB-001"]


def test_words_are_and_ed_or_gives_alternatives_minus_excludes(catalog: Runtime) -> None:
    assert _keys(catalog, "border water")[1] == ["CA-WEN-001"]
    assert _keys(catalog, "border dam")[1] == ["CA-WEN-001"]
    assert set(_keys(catalog, "ransomware OR scarcity")[1]) == {"CA-CYB-001", "CA-WEN-001"}
    assert _keys(catalog, "border -water")[1] == ["CA-BRD-001"]
    assert _keys(catalog, 'border -"water scarcity"')[1] == ["CA-BRD-001"]
    assert _keys(catalog, '"border clashes"')[1] == ["CA-BRD-001"]
    assert _keys(catalog, '"incidents armed"')[1] == []  # a phrase keeps its order


# --- ranking -------------------------------------------------------------------------------


def test_title_match_ranks_above_driver_match(catalog: Runtime) -> None:
    with catalog.transaction() as session:
        total, hits = search(session, operator_scope(), "border", "risk", None, 0)
    keys = _keys(catalog, "border")[1]
    assert keys[:2] == ["CA-BRD-001", "CA-WEN-001"]
    assert total == 2
    assert hits[0][1] > hits[1][1]  # higher rank is better


def test_pages_follow_the_ranking(catalog: Runtime) -> None:
    total, everything = _keys(catalog, "zebra")
    assert total == 5 and len(everything) == 5
    pages = [_keys(catalog, "zebra", limit=2, offset=o) for o in (0, 2, 4)]
    assert all(t == 5 for t, _ in pages)
    assert [k for _, page in pages for k in page] == everything
    assert _keys(catalog, "zebra", limit=2, offset=10) == (5, [])


def test_list_risks_with_q_orders_by_rank_and_keeps_filters(catalog: Runtime) -> None:
    matrix, everything = active_matrix(catalog.settings), operator_scope()
    with catalog.transaction() as session:
        total, rows = queries.list_risks(session, matrix, everything,
                                         queries.RiskFilters(), q="border")
        assert total == 2
        assert [r["key"] for r in rows] == ["CA-BRD-001", "CA-WEN-001"]
        total, rows = queries.list_risks(session, matrix, everything,
                                         queries.RiskFilters(domain=["water_energy"]),
                                         q="border")
        assert total == 1 and [r["key"] for r in rows] == ["CA-WEN-001"]
        total, rows = queries.list_risks(session, matrix, everything,
                                         queries.RiskFilters(), limit=1, offset=1, q="border")
        assert total == 2 and [r["key"] for r in rows] == ["CA-WEN-001"]
        assert rows[0]["title"]["en"] == "Water scarcity"  # the usual record shape
        # No text, or a blank one, lists everything by key.
        for q in (None, "", "   "):
            total, rows = queries.list_risks(session, matrix, everything,
                                             queries.RiskFilters(), q=q)
            assert total == 8
            assert [r["key"] for r in rows] == sorted(r["key"] for r in rows)
        total, rows = queries.list_measures(session, everything,
                                            queries.MeasureFilters(), q="zebra")
        assert total == 2
        assert {r["key"] for r in rows} == {"CA-MSR-002", "CA-MSR-003"}
        total, rows = queries.list_measures(session, everything,
                                            queries.MeasureFilters(status=["implemented"]),
                                            q="zebra")
        assert (total, rows) == (0, [])


def test_more_occurrences_rank_first(runtime: Runtime, db_url: str, tmp_path: Path) -> None:
    doc = {"risks": [
        _risk("CA-TER-010", "Smuggling routes", "Маршруты контрабанды"),
        _risk("CA-TER-011", "Smuggling of smuggled goods by smugglers", "Контрабанда"),
    ]}
    path = tmp_path / "rank.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    load(db_url, path)
    assert _keys(runtime, "smuggling")[1] == ["CA-TER-011", "CA-TER-010"]


# --- hostile input -------------------------------------------------------------------------

WEIRD = [
    '"', '""', '"""', "'", "*", "**", "-", "--", "- -border", "OR", "or", "border OR",
    "OR border", "AND", "NOT", "NOT border", "border NOT", "NEAR(", "NEAR(border clashes, 2)",
    "(", ")", "(border", "border)", "((()))", "^border", "text_en:border", "{text_en}: border",
    "border*", "*border", "bor*der", "'; DROP TABLE risks; --", "1=1", "' OR 1=1 --",
    "%", "_", "\\", "\x00", "border\x00clashes", "&|!<->:*", "border & clashes",
    "!border", "border <-> clashes", "a:*", "ñ", "ª", "̈́", "🙂", "𝕓𝕠𝕣𝕕𝕖𝕣", "ß",
    " ", "\t\n", "", "граница -", '"граница', "x" * 5000, "border " * 500,
]


@pytest.mark.parametrize("entity", ["risk", "measure"])
def test_weird_input_never_breaks_the_query(catalog: Runtime, entity: str) -> None:
    rng = random.Random(20261127)
    alphabet = 'ab"*-()^:+,.;\'\\ ORNEAandotзебра\x00%_{}[]|&!<>~'
    fuzz = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
            for _ in range(150)]
    for q in WEIRD + fuzz:
        total, keys = _keys(catalog, q, entity, limit=5)
        assert total >= len(keys)


def test_queries_without_words_match_nothing(catalog: Runtime) -> None:
    for q in ["", "   ", "***", '"', "-", "OR", "-border", "(-)"]:
        assert _keys(catalog, q) == (0, []), q
    with catalog.transaction() as session, pytest.raises(ValueError, match="entity"):
        search(session, operator_scope(), "border", "actor", None, 0)


def test_operators_in_text_are_words() -> None:
    # "NEAR(border)" is one chunk of two words, so a phrase; a trailing OR is dropped.
    assert fts5_query(parse('NEAR(border) AND "x" OR')) == \
        '("near" + "border" AND "and" AND "x")'
    assert fts5_query(parse('a -"b c" or d')) == '(("a") NOT ("b" + "c")) OR ("d")'
    assert tsquery(parse('a -"b c" or d')) == "('a' & !('b' <-> 'c')) | ('d')"
    assert parse("-only -negative") == []


def test_each_word_is_looked_up_in_the_forms_the_columns_index() -> None:
    # English stem, Russian stem and the word as written (other languages), without repeats.
    assert fts5_query(parse("Borders")) == '(("border" OR "borders"))'
    assert tsquery(parse("Borders")) == "(('border' | 'borders'))"
    assert fts5_query(parse("границы")) == '(("границы" OR "границ"))'
    assert fts5_query(parse("ёлка")) == '(("елка" OR "елк"))'
    assert fts5_query(parse("bord* ab*")) == '("bord" * AND "ab")'
    assert tsquery(parse('"border clash*"')) == "(('border' <-> 'clash':*))"
    assert tsquery(parse("Éclat")) == "('eclat')"


# --- freshness -----------------------------------------------------------------------------


def test_edit_updates_the_index(catalog: Runtime, db_url: str) -> None:
    assert _keys(catalog, "ransomware")[1] == ["CA-CYB-001"]
    result = cli("risks", "edit", "CA-CYB-001", "--set", "title.en=Unique okapi", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert _keys(catalog, "ransomware") == (0, [])
    assert _keys(catalog, "okapi")[1] == ["CA-CYB-001"]
    assert _keys(catalog, "вымогатели")[1] == ["CA-CYB-001"]  # untouched Russian title
    result = cli("measures", "edit", "CA-MSR-001", "--set", "title.ru=Комиссия по делимитации",
                 "--db", db_url)
    assert result.exit_code == 0, result.output
    assert _keys(catalog, "делимитация", "measure")[1] == ["CA-MSR-001"]
    assert _keys(catalog, "пограничная", "measure") == (0, [])


# --- sharing policy ------------------------------------------------------------------------


def _principal(runtime: Runtime, org: str, standing: str, user: str | None = None) -> Principal:
    with runtime.transaction() as session:
        org_id = session.scalar(select(Organisation.id).where(Organisation.key == org))
        user_id = session.scalar(select(User.id).where(User.username == user)) if user else None
    return Principal(user_id=user_id or 10_000, username=user or f"someone@{org}",
                     org_id=org_id, org_key=org, role="viewer", standing=standing)


ZEBRA_VISIBLE = {  # (org, standing, user) -> the CA-TER-00N the principal may see
    ("SAU-GOV", "partner", None): {1, 2},
    ("UZB-SC", "member", None): {1, 2, 3},
    ("UZB-SC", "member", "uzb-analyst"): {1, 2, 3, 5},
    ("KGZ-SC", "member", None): {1, 2, 3, 4},
    ("KAZ-SC", "member", None): {1, 2, 3, 4},
    ("C5-SEC", "regional", None): {1, 2, 3},
}


@pytest.mark.parametrize("who", list(ZEBRA_VISIBLE), ids=lambda w: "-".join(filter(None, w)))
def test_search_applies_the_sharing_policy_in_the_query(
    catalog: Runtime, who: tuple[str, str, str | None]
) -> None:
    scope = scope_for(_principal(catalog, *who))
    expected = {f"CA-TER-00{n}" for n in ZEBRA_VISIBLE[who]}
    total, keys = _keys(catalog, "zebra", scope=scope)
    assert (total, set(keys)) == (len(expected), expected)
    # A page never reveals more, and the total stays the visible count on every page.
    total, page = _keys(catalog, "zebra", scope=scope, limit=1, offset=len(expected) - 1)
    assert total == len(expected) and len(page) == 1 and page[0] in expected
    assert _keys(catalog, "zebra", scope=scope, limit=1, offset=len(expected)) == (total, [])
    # The same through the list used by the API and the pages.
    with catalog.transaction() as session:
        total, rows = queries.list_risks(session, active_matrix(catalog.settings), scope,
                                         queries.RiskFilters(), limit=100, q="зебра")
    assert (total, {r["key"] for r in rows}) == (len(expected), expected)


def test_hidden_measures_and_anonymous_visitors(catalog: Runtime) -> None:
    uzb = scope_for(_principal(catalog, "UZB-SC", "member"))
    assert _keys(catalog, "zebra", "measure", uzb) == (1, ["CA-MSR-002"])
    assert _keys(catalog, "secret", "measure", uzb) == (0, [])
    assert _keys(catalog, "secret", "measure") == (1, ["CA-MSR-003"])
    public = scope_for(ANONYMOUS, public_mode=True)
    assert _keys(catalog, "zebra", scope=public) == (1, ["CA-TER-001"])
    assert _keys(catalog, "ransomware", scope=public) == (0, [])  # green
    assert _keys(catalog, "zebra", scope=scope_for(ANONYMOUS)) == (0, [])
