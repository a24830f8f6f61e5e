"""Series building and evaluation: aggregation by measure and level, zeros for empty periods,
and on a generated five-year weekly history of ten provinces with injected escalations: each
escalation alerts in its first week, no alert uses later data, quiet provinces stay quiet."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskatlas.warning.indicators import Indicator, default_indicator_file, load_indicators
from riskatlas.warning.periods import index_of, period_of, periods_between
from riskatlas.warning.series import (
    Event,
    Row,
    aggregate,
    backtest,
    build_series,
    evaluate,
    evaluate_series,
)

START, END = date(2017, 12, 30), date(2022, 12, 30)  # ACLED weeks 2018..2022 (261 weeks)


def _indicator(measure: str = "events", level: str = "admin1", detector: str = "surge",
               **params: object) -> Indicator:
    return Indicator.model_validate({
        "key": "T", "title": {"en": "t", "ru": "т"}, "risks": ["CA-BRD-001"],
        "filter": {"event_types": ["Battles"]}, "measure": measure, "level": level,
        "detector": {"name": detector, "params": params}})


def test_aggregate_measures_and_levels() -> None:
    d = date(2021, 4, 29)  # week of Saturday 2021-04-24
    events = [
        Event(d, "KGZ", "Batken", "Kok-Tash", "Battles", "Armed clash", "A", "B", 5),
        Event(d, "KGZ", "Batken", "Kok-Tash", "Battles", "Armed clash", "A", "B", 2),
        Event(d + timedelta(days=1), "KGZ", "Batken", "Arka", "Battles", None, "A", None, 0),
        # an aggregated weekly row: 4 events, 1 death, no location (its admin1 stands for it)
        Event(date(2021, 4, 24), "KGZ", "Osh", None, "Battles", None, None, None, 1, 4),
        # plain tuple in Event's field order; 2021-05-01 starts the next week
        (date(2021, 5, 1), "TJK", "Sughd", "Vorukh", "Battles", None, "C", "D", 3, 1),
        Event(d, "KGZ", "Batken", "Kok-Tash", "Riots", None, "E", None, 9),  # filtered out
    ]
    week, next_week = date(2021, 4, 24), date(2021, 5, 1)
    assert sorted(aggregate(_indicator("events"), events)) == [
        Row("KGZ", "Batken", week, 3.0), Row("KGZ", "Osh", week, 4.0),
        Row("TJK", "Sughd", next_week, 1.0)]
    assert sorted(aggregate(_indicator("fatalities"), events)) == [
        Row("KGZ", "Batken", week, 7.0), Row("KGZ", "Osh", week, 1.0),
        Row("TJK", "Sughd", next_week, 3.0)]
    assert sorted(aggregate(_indicator("locations"), events)) == [
        Row("KGZ", "Batken", week, 2.0), Row("KGZ", "Osh", week, 1.0),
        Row("TJK", "Sughd", next_week, 1.0)]
    assert sorted(aggregate(_indicator("events", "country"), events)) == [
        Row("KGZ", None, week, 7.0), Row("TJK", None, next_week, 1.0)]
    # until: the Friday 2021-04-30 leaves out the next week's event
    assert sorted(aggregate(_indicator("events", "country"), events, date(2021, 4, 30))) == [
        Row("KGZ", None, week, 7.0)]


def test_build_series_fills_zeros_and_takes_sql_rows() -> None:
    rows = [("KGZ", "Batken", date(2021, 4, 26), 3.0),  # any day of the week: its Saturday
            ("KGZ", "Batken", date(2021, 5, 8), 2.0),
            ("KGZ", "Batken", date(2021, 5, 9), 1.0),  # same week as 05-08: added
            ("KGZ", "Osh", date(2021, 3, 1), 9.0)]  # before the range: dropped
    series = build_series(rows, "week", date(2021, 4, 24), date(2021, 5, 15))
    assert series == {("KGZ", "Batken"): [3.0, 0.0, 3.0, 0.0]}
    months = build_series([Row("KAZ", None, date(2022, 1, 5), 4)], "month",
                          date(2021, 11, 20), date(2022, 2, 1))
    assert months == {("KAZ", None): [0.0, 0.0, 4.0, 0.0]}


def test_evaluate_series_runs_the_detector_per_geography() -> None:
    current = period_of(date(2021, 5, 1), "week")
    found = evaluate_series(_indicator(), {("KGZ", "Batken"): [1, 2, 3, 2, 6],
                                           ("KGZ", "Osh"): [2, 2, 2, 2, 2]}, current)
    # Batken: mean 2, 6 is +200 %: the only alert, severity 2 (moderate)
    assert [(c.country, c.admin1, c.observed, c.expected, c.severity, c.severity_label)
            for c in found] == [("KGZ", "Batken", 6.0, 2.0, 2, "moderate")]
    alert = found[0]
    assert (alert.period_start, alert.period_end) == (date(2021, 5, 1), date(2021, 5, 7))
    assert alert.risks == ("CA-BRD-001",) and alert.as_dict()["period_end"] == "2021-05-07"


# --- a generated history --------------------------------------------------------------------

ACTOR = {"KGZ": "Military Forces of Kyrgyzstan (2021-)", "TJK": "Military Forces of "
         "Tajikistan (1994-)", "UZB": "Military Forces of Uzbekistan (2016-)"}
# province: weekly rate of background clashes; 0 means a province with none at all
PROVINCES = {("KGZ", "Batken"): 0.05, ("KGZ", "Osh"): 0.02, ("KGZ", "Jalal-Abad"): 0.0,
             ("KGZ", "Chuy"): 0.0, ("TJK", "Sughd"): 0.1, ("TJK", "Khatlon"): 0.3,
             ("TJK", "Gorno-Badakhshan"): 0.2, ("UZB", "Fergana"): 0.02,
             ("UZB", "Andijan"): 0.0, ("UZB", "Surkhandarya"): 1.5}
# (province, first day, weekly counts of the escalation's weeks)
ESCALATIONS = [
    (("KGZ", "Batken"), date(2021, 4, 28), [24, 9, 2]),  # Golovnoy, from a near-zero baseline
    (("TJK", "Sughd"), date(2021, 4, 29), [18, 6]),
    (("KGZ", "Batken"), date(2022, 9, 14), [30, 12]),  # a second war 17 months later
    (("TJK", "Gorno-Badakhshan"), date(2022, 5, 16), [11, 5, 3]),
    (("UZB", "Surkhandarya"), date(2020, 6, 10), [14]),  # a busy province: a real jump
]
QUIET = [("KGZ", "Osh"), ("KGZ", "Jalal-Abad"), ("KGZ", "Chuy"), ("UZB", "Fergana"),
         ("UZB", "Andijan")]


def _poisson(rng: random.Random, rate: float) -> int:
    # Knuth's method: enough for the small weekly rates of the generated history
    k, p, limit = 0, rng.random(), math.exp(-rate)
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _history(seed: int = 11) -> list[Event]:
    rng = random.Random(seed)
    events: list[Event] = []
    weeks = list(periods_between(START, END, "week"))
    for (country, admin1), rate in PROVINCES.items():
        for week in weeks:
            for _ in range(_poisson(rng, rate)):
                day = week.start + timedelta(days=rng.randrange(7))
                events.append(Event(day, country, admin1, f"{admin1} village", "Battles",
                                    "Armed clash", ACTOR[country], "Civilians",
                                    rng.choice([0, 0, 1])))
    for (country, admin1), first, counts in ESCALATIONS:
        start = period_of(first, "week").start
        for w, n in enumerate(counts):
            for i in range(n):
                day = max(first, start + timedelta(weeks=w, days=i % 7))
                events.append(Event(day, country, admin1, f"post {i % 4}", "Battles",
                                    "Armed clash", ACTOR[country], "Military Forces of "
                                    "Tajikistan (1994-)", 2))
    # events of other kinds that the border indicator must ignore
    events += [Event(date(2021, 1, 9), "KAZ", "Almaty", "Almaty", "Protests",
                     "Peaceful protest", "Protesters (Kyrgyzstan)", None, 0, 1)] * 40
    rng.shuffle(events)
    return events


@pytest.fixture(scope="module", params=[11, 1, 7])
def history(request: pytest.FixtureRequest) -> list[Event]:
    return _history(request.param)


@pytest.fixture(scope="module")
def border() -> Indicator:
    return {i.key: i for i in load_indicators(default_indicator_file())}["CA-EWI-BRD-001"]


def test_every_escalation_is_found_in_its_first_week(history: list[Event],
                                                     border: Indicator) -> None:
    alerts = backtest(border, history, since=START, until=END)
    first_weeks = {(geo, period_of(first, "week").start) for geo, first, _ in ESCALATIONS}
    alerted = {((a.country, a.admin1), a.period_start) for a in alerts}
    assert first_weeks <= alerted
    for alert in alerts:
        assert alert.indicator == "CA-EWI-BRD-001" and alert.severity in {1, 2, 3, 4}
        assert alert.risks == border.risks and alert.probability is not None
        assert alert.probability < 0.001 and alert.observed >= 3
    # the first week of fighting from a near-zero baseline is critical, not "low"
    batken_2021 = next(a for a in alerts if (a.admin1, a.period_start)
                       == ("Batken", date(2021, 4, 24)))
    assert batken_2021.observed == 24 and batken_2021.severity == 4
    # besides the escalations' first weeks: at most one chance spike in 10 provinces x 261
    # weeks (p = 0.001 per province-week), and only where there is background fighting
    others = {(geo, week) for geo, week in alerted - first_weeks}
    assert len(others) <= 1 and all(PROVINCES[geo] >= 0.1 for geo, _ in others)


def test_the_deadliest_weeks_are_records(history: list[Event]) -> None:
    deadliest = {i.key: i for i in load_indicators(default_indicator_file())}["CA-EWI-BRD-002"]
    alerts = backtest(deadliest, history, since=START, until=END)
    # 24 clashes x 2 deaths = 48 in Batken's first week, against a year of at most 1 a week
    # (48 / 1 = 48x the old record: critical); 30 x 2 = 60 in September 2022
    found = {(a.admin1, a.period_start): (a.observed, a.severity) for a in alerts}
    assert found[("Batken", date(2021, 4, 24))][1] == 4
    assert found[("Batken", date(2021, 4, 24))][0] >= 48
    assert found[("Batken", date(2022, 9, 10))][0] >= 60
    assert all(a.observed >= 10 for a in alerts)


def test_quiet_provinces_stay_quiet(history: list[Event]) -> None:
    for indicator in load_indicators(default_indicator_file()):
        alerts = backtest(indicator, history, since=START, until=END)
        assert not [a for a in alerts if (a.country, a.admin1) in QUIET], indicator.key


def test_no_alert_uses_later_data(history: list[Event], border: Indicator) -> None:
    weeks = list(periods_between(START, END, "week"))
    rng = random.Random(5)
    checked = [period_of(first, "week") for _, first, _ in ESCALATIONS]
    checked += [period_of(first, "week").shift(1) for _, first, _ in ESCALATIONS]
    checked += rng.sample(weeks, 25)
    replay = backtest(border, history, since=START, until=END)
    seen = 0
    for week in checked:
        until = week.end
        now = evaluate(border, history, until, since=START)
        truncated = [e for e in history if e.date <= until]
        assert now == evaluate(border, truncated, until, since=START)
        # the replay's alerts for that week are what was known at the end of that week
        assert now == [a for a in replay if a.period_start == week.start]
        seen += len(now)
    assert seen >= len(ESCALATIONS)  # the weeks checked include the escalations' alerts
    # mid-week: a Thursday sees Saturday..Thursday only
    thursday = date(2021, 4, 29)
    partial = evaluate(border, history, thursday, since=START)
    assert partial == evaluate(border, [e for e in history if e.date <= thursday], thursday,
                               since=START)
    assert all(a.observed <= 24 for a in partial)


def test_evaluate_with_no_events_and_short_histories(border: Indicator) -> None:
    assert evaluate(border, [], date(2021, 1, 1)) == []
    # three weeks of data: shorter than the 26-week window, no alert even on a jump
    events = [Event(date(2021, 1, 2), "KGZ", "Batken", "x", "Battles", None,
                    ACTOR["KGZ"], None)] + [
        Event(date(2021, 1, 16), "KGZ", "Batken", "x", "Battles", None, ACTOR["KGZ"], None)] * 30
    assert evaluate(border, events, date(2021, 1, 22)) == []
    assert index_of(period_of(date(2021, 1, 22), "week"), period_of(date(2021, 1, 2), "week")) == 2


def test_a_single_explosion_where_there_were_none() -> None:
    explosions = {i.key: i for i in load_indicators(default_indicator_file())}["CA-EWI-ERV-001"]
    first, second = date(2021, 3, 3), date(2021, 5, 12)  # 10 weeks apart
    events = [Event(d, "TJK", "Khatlon", "Panj", "Explosions/Remote violence",
                    "Shelling/artillery/missile attack", "Unidentified Armed Group", None, 0)
              for d in (first, second)]
    alerts = backtest(explosions, events, since=date(2020, 1, 1), until=date(2021, 12, 31))
    # 60+ empty weeks: lambda floored at 0.0005, P(X >= 1) = 1 - e^-0.0005 = 5.0e-4 < 1e-3,
    # -log10 = 3.3: moderate. The second, 10 weeks later: baseline mean 1/26, variance
    # (1 - 1/26)^2/25 + 25 (1/26)^2/25 = 1/26, no overdispersion: P(X >= 1) = 0.038, no alert
    assert [(a.period_start, a.observed, a.severity) for a in alerts] == [
        (period_of(first, "week").start, 1.0, 2)]
    assert alerts[0].probability == pytest.approx(4.9988e-4, rel=1e-4)


_event = st.builds(
    Event, st.dates(min_value=date(2020, 1, 1), max_value=date(2020, 12, 31)),
    st.sampled_from(["KGZ", "TJK"]), st.sampled_from(["Batken", "Sughd", None]),
    st.sampled_from(["a", "b", None]), st.sampled_from(["Battles", "Riots"]), st.none(),
    st.none(), st.none(), st.integers(min_value=0, max_value=20),
    st.integers(min_value=1, max_value=30))


@settings(max_examples=60, deadline=None)
@given(st.lists(_event, max_size=60),
       st.dates(min_value=date(2020, 1, 1), max_value=date(2020, 12, 31)),
       st.sampled_from(["events", "fatalities", "locations"]),
       st.sampled_from(["country", "admin1"]), st.sampled_from(["week", "month"]))
def test_series_keep_every_matching_event_and_never_look_ahead(
        events: list[Event], until: date, measure: str, level: str, period: str) -> None:
    indicator = Indicator.model_validate({
        "key": "P", "title": {"en": "p", "ru": "п"}, "risks": ["CA-BRD-001"],
        "filter": {"event_types": ["Battles"]}, "measure": measure, "level": level,
        "period": period, "detector": {"name": "surge", "params": {"window": 2,
                                                                   "min_baseline": 0}}})
    kept = [e for e in events if e.event_type == "Battles" and e.date <= until]
    series = build_series(aggregate(indicator, events, until), indicator.period,
                          date(2020, 1, 1), until)
    if measure == "events":
        assert sum(map(sum, series.values())) == sum(e.count for e in kept)
    elif measure == "fatalities":
        assert sum(map(sum, series.values())) == sum(e.fatalities for e in kept)
    assert {g[0] for g in series} == {e.country for e in kept}
    assert all(g[1] is None for g in series) or level == "admin1"
    assert len({len(v) for v in series.values()}) <= 1  # one length: the same periods
    since = date(2020, 1, 1)
    assert evaluate(indicator, events, until, since) == evaluate(indicator, kept, until, since)
