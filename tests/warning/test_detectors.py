"""Detectors against hand-computed series; edge cases; hypothesis: never a crash on a
non-negative series, never an alert on a constant one."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from riskatlas.warning.detectors import (
    DETECTORS,
    SEVERITY_LABELS,
    change_class,
    change_level,
    count_surprise,
    params_model,
    record,
    surge,
    upper_tail,
    window_of,
)

# --- change level (ACLED) -------------------------------------------------------------------


def test_change_level_large_increase() -> None:
    # mean of the previous 4 = (2+4+6+8)/4 = 5; (10-5)/5 = +100 %: large increase (> +25 %);
    # severity bands +25 / +100 / +300: +100 is "high" (3)
    found = change_level([2, 4, 6, 8, 10])
    assert found.fired and found.expected == 5 and found.observed == 10
    assert found.score == pytest.approx(100.0)
    assert found.severity == 3 and found.severity_label == "high"
    assert found.detail == "large increase"


def test_change_level_moderate_and_limited() -> None:
    # mean 10, current 11.5: +15 % is a moderate increase (+10..+25): no alert by default,
    # an alert of severity 1 (under +25 %) with fire_on "moderate increase"
    assert not change_level([10, 10, 10, 10, 11.5]).fired
    found = change_level([10, 10, 10, 10, 11.5], fire_on="moderate increase")
    assert found.fired and found.severity == 1 and found.detail == "moderate increase"
    # +26 %: large (severity 2, between +25 and +100); -30 %: large decrease, no alert
    assert change_level([10, 10, 10, 10, 12.6]).severity == 2
    decrease = change_level([10, 10, 10, 10, 7])
    assert not decrease.fired and decrease.detail == "large decrease"
    assert decrease.score == pytest.approx(-30.0)
    assert change_class(10.5, 10) == "limited change"  # +5 %


def test_change_level_low_baseline_guard() -> None:
    # baseline 2 (<= 2) and 5 now (<= 5): forced to limited change although it is +150 %
    guarded = change_level([2, 2, 2, 2, 5])
    assert not guarded.fired and guarded.detail == "limited change"
    # 6 now is past the guard: (6-2)/2 = +200 %, severity 3 (+100..+300)
    found = change_level([2, 2, 2, 2, 6])
    assert found.fired and found.score == pytest.approx(200.0) and found.severity == 3
    # a zero baseline is floored at 1: 0 -> 6 scores (6-0)/1 = +600 %, critical
    zero = change_level([0, 0, 0, 0, 6])
    assert zero.fired and zero.score == pytest.approx(600.0) and zero.severity == 4


def test_change_level_previous_year() -> None:
    # 52 weeks of 1 then 6: baseline 1, past the guard (6 > 5), (6-1)/1 = +500 %
    found = change_level([1] * 52 + [6], window=52)
    assert found.fired and found.expected == 1 and found.score == pytest.approx(500.0)
    # the same current week with only 51 weeks of history: no alert
    assert not change_level([1] * 51 + [6], window=52).fired


# --- surge ----------------------------------------------------------------------------------


def test_surge() -> None:
    # mean (1+2+3+2)/4 = 2; 6 >= 2 x (1 + 100 %) = 4: fired; (6-2)/2 = +200 %: moderate (2)
    found = surge([1, 2, 3, 2, 6])
    assert found.fired and found.expected == 2 and found.score == pytest.approx(200.0)
    assert found.severity == 2
    assert not surge([1, 2, 3, 2, 3.9]).fired  # 3.9 < 4
    exactly = surge([1, 2, 3, 2, 4])  # +100 % exactly: "at least", fired, low
    assert exactly.fired and exactly.severity == 1
    # mean 2: 10 is +400 % (high, 3), 20 is +900 % (10x, critical, 4)
    assert surge([2, 2, 2, 2, 10]).severity == 3
    assert surge([2, 2, 2, 2, 20]).severity == 4
    # a threshold of 50 %: mean 2 -> 3 is enough, 2.9 is not
    assert surge([2, 2, 2, 2, 3], threshold_pct=50).fired
    assert not surge([2, 2, 2, 2, 2.9], threshold_pct=50).fired


def test_surge_baseline_filter_and_minimum() -> None:
    # mean (0+1+0+1)/4 = 0.5 < 1 event a week (ACLED's filter): no alert
    assert not surge([0, 1, 0, 1, 10]).fired
    # with the filter lowered: (10-0.5)/max(0.5, 1) = +950 %: critical
    low = surge([0, 1, 0, 1, 10], min_baseline=0.5)
    assert low.fired and low.score == pytest.approx(950.0) and low.severity == 4
    # mean 0.5, 1.5 now is +100 % but under min_count 2: no alert
    assert not surge([0.5, 0.5, 0.5, 0.5, 1.5], min_baseline=0).fired
    assert surge([0.5, 0.5, 0.5, 0.5, 1.5], min_baseline=0, min_count=1).fired


# --- record ---------------------------------------------------------------------------------


def test_record() -> None:
    # previous 3: max(7, 6) ... of [4, 7, 6] is 7; 8 > 7 and >= 5: fired, 8/7 = 1.14: low
    found = record([4, 7, 6, 8], window=3, minimum=5)
    assert found.fired and found.expected == 7
    assert found.score == pytest.approx(8 / 7) and found.severity == 1
    assert not record([4, 7, 6, 7], window=3, minimum=5).fired  # equal to the record
    assert not record([1, 2, 1, 3], window=3, minimum=5).fired  # a record under the minimum
    # max 5: 9 is 1.8x (moderate), 10 is 2x (high), 20 is 4x (critical)
    assert record([3, 5, 4, 9], window=3, minimum=5).severity == 2
    assert record([3, 5, 4, 10], window=3, minimum=5).severity == 3
    assert record([3, 5, 4, 20], window=3, minimum=5).severity == 4
    # only the window counts: the 50 four periods back is outside a window of 3
    assert record([50, 3, 5, 4, 6], window=3, minimum=5).fired


def test_record_defaults_and_zero_history() -> None:
    # HDX: a level not seen in a year (52) with a minimum of 100
    assert record([0] * 52 + [100]).fired
    assert not record([0] * 52 + [99]).fired
    # a zero history: the maximum is floored at 1, 12/1 = 12x: critical
    zero = record([0, 0, 0, 12], window=3, minimum=10)
    assert zero.fired and zero.score == 12 and zero.severity == 4


# --- count-model surprise -------------------------------------------------------------------


def test_count_surprise_poisson() -> None:
    # baseline [1, 1, 1, 1]: mean 1, variance 0 -> Poisson(1) even when negbin is asked.
    # P(X >= 4) = 1 - e^-1 (1 + 1 + 1/2 + 1/6) = 1 - 0.367879 x 2.666667 = 0.018988
    found = count_surprise([1, 1, 1, 1, 4], window=4, p_value=0.05)
    assert found.detail == "poisson" and found.fired
    assert found.probability == pytest.approx(0.018988, abs=1e-6)
    assert found.score == pytest.approx(-math.log10(0.018988), abs=1e-4)  # 1.72: low
    assert found.severity == 1
    assert not count_surprise([1, 1, 1, 1, 4], window=4, p_value=0.01).fired
    # P(X >= 6) = 1 - e^-1 (1 + 1 + 1/2 + 1/6 + 1/24 + 1/120) = 1 - 0.367879 x 2.716667
    # = 0.000594; -log10 = 3.23: moderate (3..5)
    six = count_surprise([1, 1, 1, 1, 6], window=4)
    assert six.probability == pytest.approx(0.000594, abs=1e-6) and six.severity == 2


def test_count_surprise_negative_binomial() -> None:
    # baseline [0, 2, 0, 2]: mean 1, variance (1+1+1+1)/3 = 4/3 > mean -> NB with
    # p = mean/var = 0.75 and n = mean^2/(var - mean) = 3. P(X=k) = C(k+2, k) 0.75^3 0.25^k:
    # P0 = 0.421875, P1 = 0.316406, P2 = 0.158203, P3 = 0.065918; P(X >= 4) = 0.037598,
    # twice the Poisson(1) tail 0.018988: the dispersion makes 4 less surprising
    nb = count_surprise([0, 2, 0, 2, 4], window=4, p_value=0.05)
    assert nb.detail == "negbin" and nb.fired
    assert nb.probability == pytest.approx(0.037598, abs=1e-6)
    poisson = count_surprise([0, 2, 0, 2, 4], window=4, model="poisson", p_value=0.05)
    assert poisson.detail == "poisson"
    assert poisson.probability == pytest.approx(0.018988, abs=1e-6)
    assert upper_tail(4, 1.0, 4 / 3, "negbin") == (pytest.approx(0.037598, abs=1e-6), "negbin")


def test_count_surprise_from_a_zero_baseline() -> None:
    # no event in the baseline: the expected count is floored at 0.1.
    # P(X >= 3 | 0.1) = 1 - e^-0.1 (1 + 0.1 + 0.005) = 1 - 0.904837 x 1.105 = 0.000155
    found = count_surprise([0] * 26 + [3])
    assert found.fired and found.expected == 0.1
    assert found.probability == pytest.approx(0.000155, abs=1e-6)
    assert found.severity == 2  # -log10 = 3.81
    # P(X >= 2 | 0.1) = 1 - 0.904837 x 1.1 = 0.004679 < 0.01, but 2 < min_count 3
    two = count_surprise([0] * 26 + [2])
    assert not two.fired and two.probability == pytest.approx(0.004679, abs=1e-6)
    nothing = count_surprise([0] * 27)
    assert not nothing.fired and nothing.probability == 1.0 and nothing.score == 0.0
    # at or under the baseline mean it cannot fire: the tail is not computed
    usual = count_surprise([0, 2, 0, 2, 1], window=4, p_value=0.9, min_count=0)
    assert not usual.fired and usual.probability is None
    assert usual.detail == "not above the baseline"


# --- edge cases and the registry ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_short_and_empty_histories_never_fire(name: str) -> None:
    detect = DETECTORS[name]
    for series in ([], [0], [1000], [0, 0, 1000], [5] * 3 + [500]):
        found = detect(series)
        assert not found.fired and found.expected is None and found.severity is None
        assert "needed" in found.detail


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_negative_and_nan_values_are_refused(name: str) -> None:
    for bad in ([1, -1, 2], [1, math.nan], [math.inf]):
        with pytest.raises(ValueError, match="counts must be finite"):
            DETECTORS[name](bad)


def test_params_models_follow_the_signatures() -> None:
    assert params_model("surge")().model_dump() == {
        "window": 4, "threshold_pct": 100.0, "min_baseline": 1.0, "min_count": 2.0}
    with pytest.raises(ValidationError, match="window"):
        params_model("change_level")(window=0)
    with pytest.raises(ValidationError, match="Extra inputs"):
        params_model("record")(windw=3)
    with pytest.raises(ValidationError, match="model"):
        params_model("count_surprise")(model="gaussian")
    with pytest.raises(KeyError):
        params_model("nope")
    assert window_of("record", {}) == 52 and window_of("surge", {"window": 8}) == 8
    assert SEVERITY_LABELS == {1: "low", 2: "moderate", 3: "high", 4: "critical"}


# --- properties -----------------------------------------------------------------------------

_SMALL = {"change_level": {"window": 3, "fire_on": "moderate increase"},
          "surge": {"window": 3, "min_baseline": 0, "min_count": 0, "threshold_pct": 1},
          "record": {"window": 3, "minimum": 0},
          "count_surprise": {"window": 3, "p_value": 0.5, "min_count": 0}}
_counts = st.one_of(
    st.lists(st.integers(min_value=0, max_value=10**6), max_size=70),
    st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=70))


@settings(max_examples=150, deadline=None)
@given(_counts)
def test_detectors_never_raise_on_non_negative_series(series: list[float]) -> None:
    for name, detect in DETECTORS.items():
        for params in ({}, _SMALL[name]):
            found = detect(series, **params)
            assert math.isfinite(found.score)
            assert (found.severity in {1, 2, 3, 4}) if found.fired else found.severity is None
            if found.probability is not None:
                assert 0.0 <= found.probability <= 1.0


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.integers(min_value=0, max_value=10**6),
                 st.floats(min_value=0, max_value=1e6, allow_nan=False)),
       st.integers(min_value=0, max_value=70))
def test_a_constant_series_never_fires(value: float, length: int) -> None:
    for name, detect in DETECTORS.items():
        for params in ({}, _SMALL[name]):
            assert not detect([value] * length, **params).fired


@settings(max_examples=100, deadline=None)
@given(_counts)
def test_a_period_without_events_never_fires(series: list[float]) -> None:
    # series.backtest relies on this to skip empty periods
    for name, detect in DETECTORS.items():
        for params in ({}, _SMALL[name]):
            assert not detect([*series, 0], **params).fired
