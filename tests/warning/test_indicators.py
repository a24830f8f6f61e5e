"""Indicator files: valid and invalid YAML, errors naming file, line, indicator, field and
reason; the default Central Asia indicators name only risks of the default catalog."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import yaml

from riskatlas.warning.indicators import (
    IndicatorError,
    default_indicator_file,
    load_indicators,
    parse_indicators,
)

VALID = """\
indicators:
  - key: T-BORDER
    title: {en: Border clashes, ru: Пограничные столкновения}
    risks: [CA-BRD-001]
    filter:
      countries: [KGZ, TJK]
      admin1: [Batken]
      event_types: [Battles]
      actors: [military forces of, "re:^border (guard|service)"]
    measure: fatalities
    period: month
    level: country
    detector:
      name: surge
      params: {window: 6, threshold_pct: 50}
  - key: T-DEFAULTS
    title: {en: Defaults, ru: По умолчанию}
    risks: [CA-UNR-001, CA-UNR-002]
    detector: {name: record}
"""


def test_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(VALID, encoding="utf-8")
    border, defaults = load_indicators(path, known_risks={"CA-BRD-001", "CA-UNR-001",
                                                          "CA-UNR-002"})
    assert border.key == "T-BORDER" and border.title.ru == "Пограничные столкновения"
    assert (border.measure, border.period, border.level) == ("fatalities", "month", "country")
    assert border.filter.countries == ("KGZ", "TJK")
    # parameters are completed with the detector's defaults
    assert border.detector.params == {"window": 6, "threshold_pct": 50.0, "min_baseline": 1.0,
                                      "min_count": 2.0}
    assert (defaults.measure, defaults.period, defaults.level) == ("events", "week", "admin1")
    assert defaults.detector.params == {"window": 52, "minimum": 100.0}


def test_the_filter_matches() -> None:
    border = parse_indicators(VALID, "ok.yaml")[0]
    match = border.filter.matcher
    # substring, case-insensitive, on either actor
    assert match("KGZ", "batken", "battles", None, "Civilians", "Military Forces of Tajikistan")
    assert match("TJK", "Batken", "Battles", "Armed clash", "Border Guard of Tajikistan", None)
    # the regex is anchored: "border guard" inside another name does not match it
    assert not match("KGZ", "Batken", "Battles", None, "Unidentified border guard", None)
    assert not match("UZB", "Batken", "Battles", None, "Military Forces of Uzbekistan", None)
    assert not match("KGZ", "Osh", "Battles", None, "Military Forces of Kyrgyzstan", None)
    # UCDP's and the lists' spellings of the province are the same province
    assert match("KGZ", "Batken province", "Battles", None, "Military Forces of Tajikistan", None)
    assert match("KGZ", "BATKEN Oblast", "Battles", None, "Military Forces of Tajikistan", None)
    assert not match("KGZ", "Batkenabad", "Battles", None, "Military Forces of Tajikistan", None)
    assert not match("KGZ", "Batken", "Riots", None, "Military Forces of Kyrgyzstan", None)
    anything = parse_indicators(VALID, "ok.yaml")[1].filter.matcher
    assert anything("KAZ", None, None, None, None, None)


def _problems(text: str, known: set[str] | None = None) -> list[str]:
    with pytest.raises(IndicatorError) as caught:
        parse_indicators(text, "bad.yaml", known)
    return [str(p) for p in caught.value.problems]


def test_each_problem_names_file_line_indicator_field_and_reason() -> None:
    text = VALID.replace("[KGZ, TJK]", "[KGZ, XXX]").replace("name: record", "name: nope")
    text = text.replace("threshold_pct: 50", "threshold_pct: -5, windows: 2")
    problems = _problems(text)
    assert problems == [
        "bad.yaml:6: indicator T-BORDER: filter.countries: "
        "'XXX' is not an ISO 3166-1 alpha-3 country code",
        "bad.yaml:15: indicator T-BORDER: detector.params.threshold_pct: "
        "Input should be greater than 0",
        "bad.yaml:15: indicator T-BORDER: detector.params.windows: Extra inputs are not permitted",
        "bad.yaml:19: indicator T-DEFAULTS: detector.name: "
        "unknown detector 'nope': one of change_level, count_surprise, record, surge",
    ]


@pytest.mark.parametrize(("change", "expected"), [
    (("measure: fatalities", "measure: deaths"),
     "bad.yaml:10: indicator T-BORDER: measure: Input should be 'events', 'fatalities' or "
     "'locations'"),
    (("period: month", "period: day"),
     "bad.yaml:11: indicator T-BORDER: period: Input should be 'week' or 'month'"),
    (("level: country", "level: admin2"),
     "bad.yaml:12: indicator T-BORDER: level: Input should be 'country' or 'admin1'"),
    (('"re:^border (guard|service)"', '"re:(unclosed"'),
     "bad.yaml:9: indicator T-BORDER: filter.actors: bad regular expression 're:(unclosed': "
     "missing ), unterminated subpattern at position 0"),
    (("risks: [CA-BRD-001]", "risks: []"),
     "bad.yaml:4: indicator T-BORDER: risks: Tuple should have at least 1 item after "
     "validation, not 0"),
    (("risks: [CA-BRD-001]", "risks: [border]"),
     "bad.yaml:4: indicator T-BORDER: risks: 'border' is not a catalog risk key "
     "(like CA-BRD-001)"),
    (("{en: Defaults, ru: По умолчанию}", "{en: Defaults}"),
     "bad.yaml:17: indicator T-DEFAULTS: title.ru: Field required"),
    (("    risks: [CA-UNR-001", "    colour: red\n    risks: [CA-UNR-001"),
     "bad.yaml:18: indicator T-DEFAULTS: colour: Extra inputs are not permitted"),
    (("key: T-DEFAULTS", "key: T-BORDER"),
     "bad.yaml:16: indicator T-BORDER: key: duplicate key (first at line 2)"),
    (("window: 6,", "window: six,"),
     "bad.yaml:15: indicator T-BORDER: detector.params.window: Input should be a valid "
     "integer, unable to parse string as an integer"),
])
def test_invalid_fields(change: tuple[str, str], expected: str) -> None:
    assert change[0] in VALID
    assert _problems(VALID.replace(*change)) == [expected]


def test_unknown_risks_and_bad_documents() -> None:
    assert _problems(VALID, {"CA-BRD-001"}) == [
        "bad.yaml:18: indicator T-DEFAULTS: risks.0: CA-UNR-001 is not a risk of the catalog",
        "bad.yaml:18: indicator T-DEFAULTS: risks.1: CA-UNR-002 is not a risk of the catalog",
    ]
    assert _problems("indicators: [\n  {key: a\n")[0].startswith("bad.yaml:3: indicator -: -: "
                                                                 "not valid YAML")
    for text in ("", "- key: a\n", "indicators: {}\n", "indicators: []\nextra: 1\n"):
        assert _problems(text) == ["bad.yaml:1: indicator -: indicators: the file must be a "
                                   "mapping with one key, `indicators`, holding a list"]
    assert _problems("indicators:\n  - 5\n") == [
        "bad.yaml:2: indicator #1: -: Input should be a valid dictionary or instance of "
        "Indicator"]


def test_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(IndicatorError, match="cannot read"):
        load_indicators(tmp_path / "missing.yaml")
    (tmp_path / "latin.yaml").write_bytes(b"indicators: [\xff]\n")
    with pytest.raises(IndicatorError, match="latin.yaml:0: .*cannot read"):
        load_indicators(tmp_path / "latin.yaml")


def _catalog_risk_keys() -> set[str]:
    folder = Path(str(resources.files("riskatlas.library") / "catalog"))
    keys: set[str] = set()
    for path in folder.glob("*.yaml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        keys |= {r["key"] for r in doc.get("risks") or []}
    return keys


def test_the_default_central_asia_indicators() -> None:
    known = _catalog_risk_keys()
    assert "CA-BRD-001" in known and not any(k.startswith("CA-MSR") for k in known)
    indicators = load_indicators(default_indicator_file(), known_risks=known)
    assert len({i.key for i in indicators}) == len(indicators) >= 5
    assert all(i.level == "admin1" and i.period == "week" for i in indicators)
    named = {r for i in indicators for r in i.risks}
    # the kinds the issue names: border clashes, unrest and riots, violence against civilians,
    # explosions/remote violence, strategic developments
    assert {"CA-BRD-001", "CA-UNR-001", "CA-UNR-003", "CA-AFG-001"} <= named
    types = {t for i in indicators for t in i.filter.event_types}
    assert {"Battles", "Violence against civilians", "Explosions/Remote violence",
            "Protests"} <= types
    subs = {t for i in indicators for t in i.filter.sub_types}
    assert {"Violent demonstration", "Headquarters or base established"} <= subs
