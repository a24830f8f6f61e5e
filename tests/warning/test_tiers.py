"""tiers.detect's fast path for additive measures (a tier's matrix is the tier below's plus the
added events', engine.additive) gives exactly what the general path gives: the same candidates,
floats bit for bit, in the same order; with `only` and `since_by` too. And fractional figures,
which take the general path (and sums left to right), still match the pure-Python reference."""

from __future__ import annotations

import dataclasses
import random
from datetime import date
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from riskatlas.warning import alerts, columns, engine, series, tiers
from riskatlas.warning.series import Candidate, Geo
from tests.warning.test_engine import CASES, START, _history

TIERS = [alerts.Audience("clear", 0, frozenset({"clear"}), 1),
         alerts.Audience("green", 1, frozenset({"clear", "green"}), 1, below="clear"),
         alerts.Audience("amber", 2, frozenset({"clear", "green", "amber"}), 1, below="green"),
         alerts.Audience("amber+strict:5", 3, frozenset({"clear", "green", "amber"}), 5, 5,
                         below="amber"),
         alerts.Audience("amber+strict:6", 3, frozenset({"clear"}), 6, 6, below="clear"),
         # not nested in the tier it names: evaluated on its own events
         alerts.Audience("amber+strict:7", 3, frozenset({"clear", "amber"}), 7, 7,
                         below="green")]
SINCE, UNTIL = date(2018, 3, 1), date(2021, 6, 30)


def _columns(events: list[series.Event], seed: int) -> columns.Columns:
    rng = random.Random(seed)
    tlps = [rng.choice(["clear", "green", "green", "amber", "amber+strict", "red"])
            for _ in events]
    return columns.from_events(events, tlp=tlps, owner=[rng.choice([5, 6, 7]) for _ in events])


def _exactly(found: dict[str, dict[str, Candidate]]) -> list[tuple[str, str, str]]:
    # repr: floats to the last bit (and -0.0 apart from 0.0), in the dicts' order
    return [(tier, cell, repr(c)) for tier, cells in found.items() for cell, c in cells.items()]


def _general(monkeypatch: pytest.MonkeyPatch, *args: Any, **kwargs: Any,
             ) -> dict[str, dict[str, Candidate]]:
    with monkeypatch.context() as m:
        m.setattr(engine, "additive", lambda indicator, cols: None)
        return tiers.detect(*args, **kwargs)


def test_additive_tiers_equal_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    cols = _columns(_history(5, 8_000), 1)
    fast = tiers.detect(CASES, cols, TIERS, SINCE, UNTIL, START)
    assert sum(len(cells) for cells in fast.values()) > 100
    assert _exactly(fast) == _exactly(_general(monkeypatch, CASES, cols, TIERS, SINCE, UNTIL,
                                               START))
    assert tiers.kept(fast, TIERS) == tiers.kept(
        _general(monkeypatch, CASES, cols, TIERS, SINCE, UNTIL, START), TIERS)


def test_additive_tiers_equal_the_general_path_for_some_geographies(
        monkeypatch: pytest.MonkeyPatch) -> None:
    cols = _columns(_history(9, 6_000), 2)
    only: dict[str, set[Geo]] = {
        CASES[0].key: {("KGZ", "KGZ province 1"), ("TJK", "TJK province 2"), ("TJK", None)},
        CASES[4].key: {("UZB", "UZB province 0")}, CASES[6].key: {("KAZ", None)},
        CASES[7].key: set()}
    since_by = {CASES[0].key: date(2019, 5, 1), CASES[6].key: date(2020, 2, 1)}
    args = (CASES, cols, TIERS, SINCE, UNTIL, START, only, since_by)
    fast = tiers.detect(*args)
    assert any(fast.values())
    assert _exactly(fast) == _exactly(_general(monkeypatch, *args))


def test_the_same_candidate_is_taken_from_the_tier_below() -> None:
    # amber events in one province in 2019 only: elsewhere the amber tier's alerts are the
    # green tier's, and in that province too where its figures are the same (from mid-2020)
    events = _history(5, 6_000)
    tlps = ["amber" if e.admin1 == "KGZ province 1" and e.date.year == 2019 and i % 2 else
            "green" for i, e in enumerate(events)]
    cols = columns.from_events(events, tlp=tlps, owner=[1] * len(events))
    found = tiers.detect(CASES[:1], cols, TIERS[1:3], SINCE, UNTIL, START)
    green, amber = found["green"], found["amber"]
    inside = "|KGZ|KGZ province 1|"
    assert {c for c in green if inside not in c} == {c for c in amber if inside not in c}
    assert any(inside in c for c in amber)
    same = [c for c in green if c in amber and repr(green[c]) == repr(amber[c])]
    assert any(inside in c for c in same)
    assert all(amber[c] is green[c] for c in same)
    # and such a repeat is left out of the amber tier's alerts
    kept = tiers.kept(found, TIERS[1:3])
    assert not any(a is TIERS[2] and c is green.get(tiers.cell_of(c)) for a, c in kept)


def _fractional(events: list[series.Event], seed: int) -> list[series.Event]:
    rng = random.Random(seed)
    return [dataclasses.replace(e, fatalities=e.fatalities * rng.choice([0.1, 0.3, 1.7, 1]))
            for e in events]


@pytest.mark.parametrize("indicator", [c for c in CASES if c.measure == "fatalities"],
                         ids=lambda i: i.key)
def test_fractional_fatalities_match_the_reference(indicator: Any) -> None:
    events = _fractional(_history(7, 6_000), 3)
    since, until = date(2018, 6, 1), date(2021, 12, 20)
    expected = series.backtest(indicator, events, since, until, START)
    assert expected
    assert engine.backtest(indicator, events, since, until, START) == expected


def test_fractional_fatalities_take_the_general_path_of_the_tiers() -> None:
    rng = random.Random(4)
    stored = [alerts.Stored(e, rng.choice(["clear", "green", "amber", "amber+strict"]),
                            rng.choice([5, 6]))
              for e in _fractional(_history(5, 5_000), 5)]
    indicators = [c for c in CASES if c.measure == "fatalities"]
    expected = alerts.detect(indicators, stored, TIERS[:5], SINCE, UNTIL, alerts._backtest)
    assert expected
    assert alerts.detect(indicators, stored, TIERS[:5], SINCE, UNTIL) == expected


# --- the count surprise's upper tail, skipped where it cannot be below the p-value ---------------

@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.floats(1e-4, 500), st.floats(1e-6, 1e4)),
                min_size=1, max_size=50),
       st.sampled_from([1e-3, 0.01, 0.05, 0.3]))
def test_a_skipped_tail_is_never_below_the_p_value(
        cells: list[tuple[int, float, float]], p_value: float) -> None:
    k = np.array([c[0] for c in cells], float)
    mean = np.array([c[1] for c in cells])
    variance = mean + np.array([c[2] for c in cells])  # over-dispersed: the negative binomial
    n, q = mean * mean / (variance - mean), mean / variance
    skipped = ~engine._may_fire(engine._nbinom_logpmf(k, n, q), k, n, p_value)
    assert (stats.nbinom.sf(k[skipped] - 1, n[skipped], q[skipped]) >= p_value).all()
    skipped = ~engine._may_fire(engine._poisson_logpmf(k, mean), k, mean, p_value)
    assert (stats.poisson.sf(k[skipped] - 1, mean[skipped]) >= p_value).all()


def test_most_tails_far_from_the_p_value_are_skipped() -> None:
    k, mean = np.array([3.0, 4.0, 30.0]), np.array([2.5, 3.0, 5.0])
    assert engine._may_fire(engine._poisson_logpmf(k, mean), k, mean, 1e-3).tolist() == [
        False, False, True]
