"""Detectors: small pure functions over a series of counts, one value per consecutive period,
the last value being the current period. Each returns a `Detection`.

Sources of the rules and defaults (docs/early-warning.md and the methods file give the detail):
- `change_level`: ACLED Trendfinder "Country Change Level" (current period against the mean of
  the previous 4 or 52), with its low-baseline guard;
- `surge`: ACLED Subnational Surge Tracker (>= 100 % above the mean of the past 4 weeks, only
  where that mean is >= 1 event);
- `record`: OCHA HDX Signals (a level not seen in the past 1 or 3 years, with a minimum);
- `count_surprise`: the negative binomial benchmark fitted to the past w periods (ViEWS
  competitions), or Poisson, as an upper-tail probability.

A detector never raises on a series of non-negative numbers: too short a history, an empty
series or a zero baseline give a result that has not fired. Negative or NaN values are refused
(ValueError): counts cannot be negative.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from scipy import stats

Series = Sequence[float]
SEVERITY_LABELS = {1: "low", 2: "moderate", 3: "high", 4: "critical"}
# each detector's severity bands (_band): where severity 2, 3 and 4 start; one table so that the
# engine can band many scores at once with the same bounds
BANDS: dict[str, tuple[float, float, float]] = {
    "change_level": (25.0, 100.0, 300.0),
    "surge": (200.0, 400.0, 900.0),
    "record": (1.5, 2.0, 4.0),
    "count_surprise": (3.0, 5.0, 8.0),
}


@dataclass(frozen=True, slots=True)
class Detection:
    """What a detector found for the current (last) period of a series."""

    fired: bool
    observed: float
    expected: float | None  # the baseline the current period was compared with
    score: float  # the detector's own measure (see each detector); 0.0 when not computed
    severity: int | None = None  # 1..4 when fired
    probability: float | None = None  # count_surprise: P(X >= observed) under the baseline
    detail: str = ""

    @property
    def severity_label(self) -> str | None:
        return SEVERITY_LABELS.get(self.severity) if self.severity else None


def _checked(series: Series) -> list[float]:
    values = [float(v) for v in series]
    for i, v in enumerate(values):
        if not v >= 0 or math.isinf(v):  # also catches NaN
            raise ValueError(f"series value {i} is {v}: counts must be finite and >= 0")
    return values


def _short(values: list[float], needed: int) -> Detection | None:
    """A not-fired result when the series holds fewer than `needed` previous periods."""
    if len(values) > needed:
        return None
    observed = values[-1] if values else 0.0
    return Detection(False, observed, None, 0.0,
                     detail=f"history of {max(len(values) - 1, 0)} periods, {needed} needed")


def _relative_change_pct(observed: float, expected: float) -> float:
    # The baseline is floored at 1 so that a zero baseline gives a finite score (a jump from
    # 0 to 6 scores +500 %); ACLED's classes only differ from this for baselines below 1,
    # where any change big enough to pass the low-baseline guard is a large increase anyway.
    return (observed - expected) / max(expected, 1.0) * 100.0


def _above(observed: float, expected: float) -> bool:
    # a relative margin: the mean of n equal floats can round to just under their value, and a
    # constant series must never look like a rise
    return observed > expected + 1e-9 * max(expected, 1.0)


def _band(score: float, bounds: tuple[float, float, float]) -> int:
    """Severity 1..4: below bounds[0] is 1, then 2, 3, and 4 from bounds[2] up."""
    return 1 + sum(score >= b for b in bounds)


# --- ACLED change level ---------------------------------------------------------------------

ChangeClass = Literal["large increase", "moderate increase", "limited change", "large decrease"]


def change_class(observed: float, expected: float, *, guard_baseline: float = 2.0,
                 guard_current: float = 5.0) -> ChangeClass:
    """ACLED's change level: > +25 % large increase, +10..+25 % moderate increase,
    -25..+10 % limited change, < -25 % large decrease; a baseline <= 2 with <= 5 now is
    forced to limited change (the low-baseline guard)."""
    if expected <= guard_baseline and observed <= guard_current:
        return "limited change"
    change = _relative_change_pct(observed, expected)
    if change > 25:
        return "large increase"
    if change >= 10:
        return "moderate increase"
    if change >= -25:
        return "limited change"
    return "large decrease"


def change_level_severity(score: float) -> int:
    """Score = % change: +10..+25 low, +25..+100 moderate, +100..+300 high, >= +300 critical
    (ACLED's large increase starts at moderate; doubling is high; quadrupling critical)."""
    return _band(score, BANDS["change_level"])


def change_level(series: Series, *, window: Annotated[int, Field(ge=1, le=520)] = 4,
                 fire_on: Literal["large increase", "moderate increase"] = "large increase",
                 guard_baseline: Annotated[float, Field(ge=0)] = 2.0,
                 guard_current: Annotated[float, Field(ge=0)] = 5.0) -> Detection:
    """ACLED change level of the current period against the mean of the previous `window`
    periods (ACLED uses 4, "previous month", or 52, "previous year"). Fires on a large
    increase, or also on a moderate one with `fire_on: moderate increase`.
    Score: the % change (baseline floored at 1)."""
    values = _checked(series)
    if (short := _short(values, window)) is not None:
        return short
    observed = values[-1]
    expected = sum(values[-window - 1:-1]) / window
    level = change_class(observed, expected, guard_baseline=guard_baseline,
                         guard_current=guard_current)
    score = _relative_change_pct(observed, expected)
    fired = level == "large increase" or (level == fire_on == "moderate increase")
    return Detection(fired, observed, expected, score,
                     change_level_severity(score) if fired else None, detail=level)


# --- surge ----------------------------------------------------------------------------------

def surge_severity(score: float) -> int:
    """Score = % above the rolling mean: under +200 % (less than 3x) low, under +400 % (5x)
    moderate, under +900 % (10x) high, 10x the mean or more critical."""
    return _band(score, BANDS["surge"])


def surge(series: Series, *, window: Annotated[int, Field(ge=1, le=520)] = 4,
          threshold_pct: Annotated[float, Field(gt=0)] = 100.0,
          min_baseline: Annotated[float, Field(ge=0)] = 1.0,
          min_count: Annotated[float, Field(ge=0)] = 2.0) -> Detection:
    """ACLED Surge Tracker: the current period is at least `threshold_pct` % above the mean
    of the previous `window` periods, where that mean is at least `min_baseline` (ACLED: 1
    event a week) and the current count at least `min_count` (so a lowered baseline cannot
    fire on one event). Score: % above the mean (mean floored at 1)."""
    values = _checked(series)
    if (short := _short(values, window)) is not None:
        return short
    observed = values[-1]
    expected = sum(values[-window - 1:-1]) / window
    score = _relative_change_pct(observed, expected)
    fired = (expected >= min_baseline and observed >= min_count and _above(observed, expected)
             and observed >= expected * (1 + threshold_pct / 100.0))
    return Detection(fired, observed, expected, score, surge_severity(score) if fired else None)


# --- record ---------------------------------------------------------------------------------

def record_severity(score: float) -> int:
    """Score = current / previous maximum (floored at 1): under 1.5x low, under 2x moderate,
    under 4x high, 4x the old record or more critical."""
    return _band(score, BANDS["record"])


def record(series: Series, *, window: Annotated[int, Field(ge=1, le=1040)] = 52,
           minimum: Annotated[float, Field(ge=0)] = 100.0) -> Detection:
    """OCHA HDX Signals: the current period is higher than every one of the previous `window`
    periods (HDX: 1 or 3 years) and at least `minimum` (HDX: 100 fatalities in 30 days).
    Score: current / previous maximum (the maximum floored at 1)."""
    values = _checked(series)
    if (short := _short(values, window)) is not None:
        return short
    observed = values[-1]
    expected = max(values[-window - 1:-1])
    score = observed / max(expected, 1.0)
    fired = _above(observed, expected) and observed >= minimum
    return Detection(fired, observed, expected, score, record_severity(score) if fired else None)


# --- count-model surprise -------------------------------------------------------------------

def count_surprise_severity(score: float) -> int:
    """Score = -log10 P(X >= observed): p >= 1e-3 low, >= 1e-5 moderate, >= 1e-8 high,
    below 1e-8 critical."""
    return _band(score, BANDS["count_surprise"])


def upper_tail(observed: float, mean: float, variance: float,
               model: Literal["negbin", "poisson"]) -> tuple[float, str]:
    """P(X >= observed) for a count X with the baseline's mean (and, for the negative
    binomial, its variance by the method of moments); Poisson when variance <= mean."""
    k = math.ceil(observed)
    if k <= 0:
        return 1.0, "poisson" if model == "poisson" else "none"
    if model == "negbin" and variance > mean > 0:
        # NB(n, p) with mean n(1-p)/p = mean and variance mean/p = variance
        p = mean / variance
        n = mean * mean / (variance - mean)
        return float(stats.nbinom.sf(k - 1, n, p)), "negbin"
    return float(stats.poisson.sf(k - 1, mean)), "poisson"


def count_surprise(series: Series, *, window: Annotated[int, Field(ge=2, le=1040)] = 26,
                   model: Literal["negbin", "poisson"] = "negbin",
                   p_value: Annotated[float, Field(gt=0, lt=1)] = 0.01,
                   min_expected: Annotated[float, Field(gt=0)] = 0.1,
                   min_count: Annotated[float, Field(ge=0)] = 3.0) -> Detection:
    """Upper-tail probability of the current count under a count model fitted to the previous
    `window` periods (default 26 weeks, the 6 months of UNDP's naive baseline): the mean,
    floored at `min_expected` so that a province with no events yet can still surprise, and
    for the negative binomial a dispersion from the baseline's variance (Poisson when that
    variance <= mean). Fires when P(X >= observed) < `p_value` and observed >= `min_count`.
    Score: -log10 of the probability (capped at 300)."""
    values = _checked(series)
    if (short := _short(values, window)) is not None:
        return short
    observed = values[-1]
    baseline = values[-window - 1:-1]
    mean = sum(baseline) / window
    variance = sum((v - mean) ** 2 for v in baseline) / (window - 1)
    expected = max(mean, min_expected)
    if observed > 0 and not _above(observed, mean):
        # cannot fire (it is not above the baseline) and P(X >= observed) is near 1/2 or more:
        # the tail is not computed, which keeps a replay over a long history cheap
        return Detection(False, observed, expected, 0.0, detail="not above the baseline")
    probability, used = upper_tail(observed, expected, variance, model)
    score = min(-math.log10(probability), 300.0) if probability > 0 else 300.0
    score = max(score, 0.0)
    fired = probability < p_value and observed >= min_count
    return Detection(fired, observed, expected, score,
                     count_surprise_severity(score) if fired else None,
                     probability=probability, detail=used)


# --- registry -------------------------------------------------------------------------------

Detector = Callable[..., Detection]
DETECTORS: dict[str, Detector] = {
    "change_level": change_level,
    "surge": surge,
    "record": record,
    "count_surprise": count_surprise,
}
SEVERITY: dict[str, Callable[[float], int]] = {
    "change_level": change_level_severity,
    "surge": surge_severity,
    "record": record_severity,
    "count_surprise": count_surprise_severity,
}


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@cache
def params_model(name: str) -> type[BaseModel]:
    """A pydantic model of the detector's keyword parameters, built from its signature
    (types, bounds and defaults in one place: the function itself)."""
    if name not in DETECTORS:
        raise KeyError(f"unknown detector {name!r}: one of {', '.join(sorted(DETECTORS))}")
    fields: dict[str, Any] = {}
    for param in inspect.signature(DETECTORS[name], eval_str=True).parameters.values():
        if param.kind is inspect.Parameter.KEYWORD_ONLY:
            fields[param.name] = (param.annotation, param.default)
    return create_model(f"{name}_params", __base__=_Params, **fields)


def window_of(name: str, params: dict[str, Any]) -> int:
    """How many previous periods the detector compares the current one with."""
    model = params_model(name)
    return int(params.get("window", model.model_fields["window"].default))
