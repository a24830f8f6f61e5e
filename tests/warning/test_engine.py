"""The numpy engine gives exactly what the pure-Python reference gives (series.backtest and
alerts.detect with it): on generated multi-province, multi-year histories for every detector
and measure, with actor regular expressions, events without admin1, months and countries; on
random small event sets (hypothesis); per audience tier. And `warning run --changed` stores
what a full evaluation stores, evaluating only the changed geographies."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from riskatlas.audit.service import Who
from riskatlas.cli_options import operator_scope
from riskatlas.config import Settings
from riskatlas.parties.models import Organisation
from riskatlas.runtime import Runtime
from riskatlas.warning import alerts, engine, ingest, series
from riskatlas.warning.indicators import Indicator, default_indicator_file, load_indicators
from riskatlas.warning.models import Alert, Event, WarningMark

TYPES = ("Battles", "Explosions/Remote violence", "Protests", "Violence against civilians",
         "Riots", "Strategic developments")
SUBS = ("Armed clash", "Violent demonstration", "Mob violence", "Peaceful protest",
        "Headquarters or base established", "Disrupted weapons use", "Attack")
ACTORS = ("Military Forces of Kyrgyzstan (2010-)", "Military Forces of Tajikistan (1994-)",
          "Border Guard Service of Uzbekistan", "Protesters (Kyrgyzstan)", "Police Forces",
          "Rioters", None)
START = date(2018, 1, 3)


def _history(seed: int, n: int, years: int = 4) -> list[series.Event]:
    """Events over `years` years in 4 countries x 4 provinces (and some without admin1), with
    bursts: one province-week gets many events at once."""
    rng = random.Random(seed)
    out = []
    bursts = [(rng.randrange(years * 52), rng.choice(["KGZ", "TJK", "UZB", "KAZ"]),
               rng.randrange(4)) for _ in range(years * 6)]
    for _ in range(n):
        if rng.random() < 0.2:
            week, country, k = rng.choice(bursts)
            day = START + timedelta(weeks=week, days=rng.randrange(7))
        else:
            country, k = rng.choice(["KGZ", "TJK", "UZB", "KAZ"]), rng.randrange(4)
            day = START + timedelta(days=rng.randrange(years * 364))
        admin1 = None if rng.random() < 0.05 else f"{country} province {k}"
        out.append(series.Event(day, country, admin1, rng.choice(["Town A", "Town B", None,
                                                                  f"{country} province {k}"]),
                                rng.choice(TYPES), rng.choice(SUBS), rng.choice(ACTORS),
                                rng.choice(ACTORS), rng.choice([0, 0, 0, 1, 2, 3, 8, 15]),
                                rng.choice([1, 1, 1, 1, 2, 5])))
    return out


def _indicator(detector: str, measure: str = "events", period: str = "week",
               level: str = "admin1", flt: dict[str, Any] | None = None,
               **params: Any) -> Indicator:
    return Indicator.model_validate({
        "key": f"T-{detector}-{measure}-{period}-{level}", "title": {"en": "t", "ru": "т"},
        "risks": ["CA-BRD-001"], "filter": flt or {}, "measure": measure, "period": period,
        "level": level, "detector": {"name": detector, "params": params}})


REGEX = {"countries": ["KGZ", "TJK"], "event_types": ["battles", "Explosions/Remote violence"],
         "actors": ["re:military forces of (kyrgyzstan|tajikistan)", "border guard"]}
CASES = [
    _indicator("count_surprise", window=26, p_value=0.01, min_expected=0.1, min_count=2),
    _indicator("count_surprise", flt=REGEX, window=8, p_value=0.05, min_count=1),
    _indicator("count_surprise", "fatalities", model="poisson", window=12, p_value=0.01),
    _indicator("count_surprise", "locations", "month", window=6, p_value=0.2, min_count=1),
    _indicator("surge", flt={"event_types": ["Protests"]}, window=4, min_count=2),
    _indicator("surge", "locations", window=3, min_count=1, min_baseline=0.5),
    _indicator("surge", "events", "month", "country", window=3, threshold_pct=20),
    _indicator("record", "fatalities", window=52, minimum=10),
    _indicator("record", "events", "month", flt={"sub_types": ["mob violence"]}, window=6,
               minimum=2),
    _indicator("change_level", flt={"sub_types": ["Armed clash", "Attack"]}, window=52),
    _indicator("change_level", "fatalities", level="country", window=4,
               fire_on="moderate increase", guard_baseline=0, guard_current=0),
    _indicator("change_level", "locations", "month", window=4, fire_on="moderate increase"),
]


@pytest.mark.parametrize("indicator", CASES, ids=lambda i: i.key)
def test_engine_matches_the_reference_on_a_generated_history(indicator: Indicator) -> None:
    events = _history(7, 12_000)
    since, until = date(2018, 6, 1), date(2021, 12, 20)
    expected = series.backtest(indicator, events, since, until, START)
    assert expected, "the case must fire somewhere to test anything"
    assert engine.backtest(indicator, events, since, until, START) == expected
    # the series starting at `since` (the default): the first periods lack their history
    assert engine.backtest(indicator, events, since, until) == series.backtest(
        indicator, events, since, until)


def test_the_default_indicators_match_the_reference() -> None:
    events = _history(11, 15_000)
    fired = 0
    for indicator in load_indicators(default_indicator_file()):
        expected = series.backtest(indicator, events, date(2018, 9, 1), date(2021, 12, 31),
                                   START)
        fired += len(expected)
        assert engine.backtest(indicator, events, date(2018, 9, 1), date(2021, 12, 31),
                               START) == expected
    assert fired > 20


def test_the_tiers_match_the_reference_detect() -> None:
    rng = random.Random(3)
    stored = [alerts.Stored(e, rng.choice(["clear", "green", "green", "amber", "amber+strict",
                                           "red"]), rng.choice([5, 6]))
              for e in _history(5, 8_000)]
    tiers = [alerts.Audience("clear", 0, frozenset({"clear"}), 1),
             alerts.Audience("green", 1, frozenset({"clear", "green"}), 1, below="clear"),
             alerts.Audience("amber", 2, frozenset({"clear", "green", "amber"}), 1,
                             below="green"),
             alerts.Audience("amber+strict:5", 3, frozenset({"clear", "green", "amber"}), 5, 5,
                             below="amber"),
             alerts.Audience("amber+strict:6", 3, frozenset({"clear"}), 6, 6, below="clear")]
    indicators = [CASES[0], CASES[4], CASES[7], CASES[9]]
    since, until = date(2018, 3, 1), date(2021, 6, 30)
    expected = alerts.detect(indicators, stored, tiers, since, until, alerts._backtest)
    assert len({a.tier for a, _ in expected}) == 5
    assert alerts.detect(indicators, stored, tiers, since, until) == expected
    assert alerts.replay(indicators, stored, since, until) == alerts.replay(
        indicators, stored, since, until, alerts._backtest)


DAYS = st.dates(date(2020, 1, 1), date(2020, 12, 31))
EVENT = st.builds(series.Event, DAYS, st.sampled_from(["KGZ", "TJK"]),
                  st.sampled_from(["A", "B", None]), st.sampled_from(["L1", "L2", None]),
                  st.sampled_from(["Battles", "Riots"]), st.sampled_from(["Armed clash", None]),
                  st.sampled_from(["Military Forces of Kyrgyzstan", "Rioters", None]),
                  st.sampled_from(["Police", None]), st.integers(0, 20), st.integers(1, 3))
DETECTOR = st.sampled_from([
    ("count_surprise", {"window": 4, "p_value": 0.2, "min_count": 1, "min_expected": 0.05}),
    ("count_surprise", {"window": 3, "model": "poisson", "p_value": 0.3, "min_count": 0}),
    ("surge", {"window": 2, "min_count": 1, "min_baseline": 0.5}),
    ("record", {"window": 3, "minimum": 1}),
    ("change_level", {"window": 2, "fire_on": "moderate increase", "guard_baseline": 0.5,
                      "guard_current": 1})])


@settings(max_examples=150, deadline=None)
@given(st.lists(EVENT, max_size=60), DETECTOR,
       st.sampled_from(["events", "fatalities", "locations"]), st.sampled_from(["week", "month"]),
       st.sampled_from(["admin1", "country"]),
       st.sampled_from([{}, {"actors": ["re:forces of kyrg", "police"]},
                        {"event_types": ["BATTLES"], "admin1": ["a"]}]))
def test_engine_matches_the_reference_on_random_events(
        events: list[series.Event], detector: tuple[str, dict[str, Any]], measure: str,
        period: str, level: str, flt: dict[str, Any]) -> None:
    indicator = _indicator(detector[0], measure, period, level, flt, **detector[1])
    since, until = date(2020, 2, 1), date(2020, 11, 30)
    assert engine.backtest(indicator, events, since, until, date(2020, 1, 1)) == (
        series.backtest(indicator, events, since, until, date(2020, 1, 1)))


# --- incremental re-evaluation -----------------------------------------------------------------

SURGE = _indicator("surge", flt={"event_types": ["Protests"]}, window=4, min_count=2)
SURPRISE = _indicator("count_surprise", flt={"countries": ["KGZ", "TJK", "UZB", "KAZ"]},
                      window=8, p_value=0.05, min_count=1)


def _store(runtime: Runtime, events: list[series.Event], tag: str) -> None:
    rng = random.Random(tag)
    with runtime.transaction() as session:
        owners = {k: i for k, i in session.execute(select(Organisation.key, Organisation.id))}
        for i, e in enumerate(events):
            tlp = rng.choice(["green", "green", "clear", "amber"])
            row = dict(source="acled", source_id=f"{tag}{i}", period="day", date=e.date,
                       country=e.country, admin1=e.admin1, location=e.location,
                       event_type=e.event_type, sub_type=e.sub_type, actor1=e.actor1,
                       actor2=e.actor2, fatalities=int(e.fatalities), events=e.count,
                       owner_org_id=owners["C5-SEC" if tlp != "amber" else "KAZ-SC"], tlp=tlp)
            session.add(Event(**row, digest=ingest.digest_of(row)))


def _run(runtime: Runtime, since: date, until: date, changed: bool) -> alerts.RunResult:
    with runtime.transaction() as session:
        return alerts.run(session, operator_scope(), [SURGE, SURPRISE], since, until,
                          Who("test"), changed=changed)


def _alerts(runtime: Runtime) -> set[tuple[Any, ...]]:
    with runtime.transaction() as session:
        return {(a.cell, a.tier, a.observed, a.expected, a.severity, a.tlp)
                for a in session.scalars(select(Alert))}


def test_changed_run_stores_what_a_full_run_stores(db_url: str) -> None:
    runtime = Runtime(Settings(database_url=db_url))
    history = _history(21, 3_000, years=2)
    until = date(2019, 12, 27)
    _store(runtime, history, "H")
    first = _run(runtime, START, until, changed=True)  # no mark yet: the whole history
    assert first.added > 10
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(WarningMark)) == 1
    assert _run(runtime, START, until, changed=True).cells == 0  # nothing new
    # new events in one province (a burst) and late ones in another; an edited row
    late = [series.Event(date(2019, 11, 2) + timedelta(days=i % 5), "KGZ", "KGZ province 1",
                         "Town A", "Protests", "Peaceful protest", None, None, 0, 1)
            for i in range(12)]
    late += [series.Event(date(2019, 3, 4), "TJK", None, None, "Battles", None, None, None,
                          2, 1)] * 3
    _store(runtime, late, "N")
    with runtime.transaction() as session:
        edited = session.scalars(select(Event).where(Event.country == "UZB")
                                 .order_by(Event.id).limit(1)).one()
        edited.events = 9
        edited.imported_at = datetime.now(UTC) + timedelta(seconds=1)
        place = (edited.country, edited.admin1)
        # an alert nobody acted on, in a province the changed run does not touch: kept
        session.add(Alert(cell=f"{SURGE.key}|KAZ|nowhere|2019-06-01", tier="green", rank=1,
                          indicator=SURGE.key, country="KAZ", admin1="nowhere", period="week",
                          period_start=date(2019, 6, 1), period_end=date(2019, 6, 7),
                          observed=9, expected=1, score=800, probability=None, severity=3,
                          detector="surge", risks=["CA-BRD-001"], tlp="green",
                          owner_org_id=edited.owner_org_id, status="new"))
    changed = _run(runtime, START, until, changed=True)
    assert changed.added + changed.updated + changed.removed > 0
    touched = {("KGZ", "KGZ province 1"), ("TJK", None), place}
    assert 0 < changed.cells <= 2 * len(touched)  # (indicator, geography) pairs, not all
    stored = _alerts(runtime)
    assert any("nowhere" in a[0] for a in stored)
    full = _run(runtime, START, until, changed=False)
    assert (full.added, full.updated, full.removed) == (0, 0, 1)  # only the planted alert
    assert _alerts(runtime) == {a for a in stored if "nowhere" not in a[0]}
