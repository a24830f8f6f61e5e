"""The evaluation engine: indicators over events held as columns (warning.columns), with numpy.

The same results as the pure-Python reference (series.backtest, detectors.py), which the
tests hold it to: an indicator's filter is a boolean mask, its series a (geography x period)
matrix made by np.bincount, and its detector runs on every cell that may fire at once. Float
results are bit-for-bit those of the reference because the same operations are done in the same
order: baselines are summed left to right (as Python 3.11's sum() does, not numpy's pairwise
sum), and the score of a fired count surprise uses math.log10 like the detector.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
from scipy import stats

from riskatlas.warning.columns import EPOCH, TLPS, Array, Columns, from_events
from riskatlas.warning.detectors import SEVERITY, SEVERITY_LABELS, params_model, window_of
from riskatlas.warning.indicators import Indicator
from riskatlas.warning.periods import ACLED_WEEK_ANCHOR, Period, PeriodKind
from riskatlas.warning.series import Candidate, Event, Geo

_WEEK0 = ACLED_WEEK_ANCHOR.toordinal() - EPOCH  # week number 0, in days since 1970-01-01


def day_of(d: date) -> int:
    return d.toordinal() - EPOCH


def period_numbers(days: Array, kind: PeriodKind) -> Array:
    """Week numbers since ACLED's anchor week, or months since 1970-01."""
    if kind == "week":
        return (days - _WEEK0) // 7
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def period_number(d: date, kind: PeriodKind) -> int:
    return int(period_numbers(np.array([day_of(d)]), kind)[0])


def period_at(n: int, kind: PeriodKind) -> Period:
    if kind == "week":
        return Period("week", ACLED_WEEK_ANCHOR + timedelta(weeks=n))
    return Period("month", date(1970 + n // 12, n % 12 + 1, 1))


# --- filters ----------------------------------------------------------------------------------


def _table(values: Sequence[Any], test: Callable[[Any], bool]) -> Array:
    return np.fromiter((test(v) for v in values), bool, len(values))


def _casefold_in(allowed: frozenset[str]) -> Callable[[Any], bool]:
    return lambda v: (v or "").casefold() in allowed


def matches(indicator: Indicator, cols: Columns) -> Array:
    """The events that pass the indicator's filter, tested once per distinct value."""
    m = indicator.filter.matcher
    keep = np.ones(cols.n, bool)
    if m.countries:
        keep &= _table(cols.values["country"], lambda v: v in m.countries)[cols["country"]]
    for name, allowed in (("admin1", m.admin1), ("event_type", m.event_types),
                          ("sub_type", m.sub_types)):
        if allowed:
            keep &= _table(cols.values[name], _casefold_in(allowed))[cols[name]]
    if m.actors is not None:
        pattern = m.actors
        hit = _table(cols.values["actor1"], lambda v: bool(pattern.search(v or "")))
        keep &= hit[cols["actor1"]] | hit[cols["actor2"]]
    return keep


def tier_mask(tlps: Iterable[str], strict_owner: int | None, cols: Columns) -> Array:
    """The events an audience counts (alerts.Audience.counts)."""
    codes = [TLPS.index(t) for t in tlps]
    keep = np.isin(cols["tlp"], codes)
    if strict_owner is not None:
        keep |= (cols["tlp"] == TLPS.index("amber+strict")) & (cols["owner"] == strict_owner)
    return keep


def geo_keys(indicator: Indicator, cols: Columns, keep: Array | None = None) -> Array:
    """One integer per event naming its geography at the indicator's level."""
    country = cols["country"] if keep is None else cols["country"][keep]
    width = len(cols.values["admin1"]) + 1
    if indicator.level == "country":
        return country.astype(np.int64) * width
    admin1 = cols["admin1"] if keep is None else cols["admin1"][keep]
    return country.astype(np.int64) * width + admin1 + 1


def geo_of(key: int, cols: Columns) -> Geo:
    width = len(cols.values["admin1"]) + 1
    c, a = divmod(int(key), width)
    return cols.values["country"][c], None if a == 0 else cols.values["admin1"][a - 1]


def keys_of(geos: Iterable[Geo], indicator: Indicator, cols: Columns) -> Array:
    countries = {v: i for i, v in enumerate(cols.values["country"])}
    admin1 = {v: i for i, v in enumerate(cols.values["admin1"])}
    width = len(cols.values["admin1"]) + 1
    out = []
    for country, a in geos:
        if country not in countries:
            continue
        if indicator.level == "country":
            out.append(countries[country] * width)
        elif a in admin1:
            out.append(countries[country] * width + admin1[a] + 1)
    return np.array(out, np.int64)


# --- series -----------------------------------------------------------------------------------


def grid(indicator: Indicator, cols: Columns, keep: Array, origin: int, length: int,
         only: Array | None = None) -> tuple[Array, Array]:
    """(geography keys, matrix of values with one row per key and `length` periods from
    period number `origin`) of the events in `keep`; `only`: just these geography keys."""
    t = period_numbers(cols["day"][keep], indicator.period) - origin
    geo = geo_keys(indicator, cols, keep)
    ok = (t >= 0) & (t < length)
    if only is not None:
        ok &= np.isin(geo, only)
    t, geo = t[ok], geo[ok]
    keys, g = np.unique(geo, return_inverse=True)
    cell = g.astype(np.int64) * length + t
    size = len(keys) * length
    if indicator.measure == "locations":
        # a place is the location, or else the admin1 (as series.aggregate), by its string
        names: dict[str, int] = {}
        loc = np.array([names.setdefault(v, len(names)) if v is not None else -1
                        for v in cols.values["location"]], np.int64)
        adm = np.array([names.setdefault(v or "", len(names)) for v in cols.values["admin1"]],
                       np.int64)
        place = loc[cols["location"][keep][ok]]
        place = np.where(place < 0, adm[cols["admin1"][keep][ok]], place)
        distinct = np.unique(cell * max(len(names), 1) + place) // max(len(names), 1)
        values: Array = np.bincount(distinct, minlength=size).astype(np.float64)
    else:
        weights = cols["count" if indicator.measure == "events" else "fatalities"][keep][ok]
        values = np.bincount(cell, weights=weights, minlength=size)
    return keys, values.reshape(len(keys), length)


# --- detectors over many cells ----------------------------------------------------------------
# Each takes the observed values (C), their baselines (C x window, oldest first) and the
# detector's parameters; it returns (fired, expected, score, probability or None).

Found = tuple[Array, Array, Array, Array | None]


def _sum(base: Array) -> Array:
    total = np.zeros(len(base))
    for k in range(base.shape[1]):  # left to right, as sum() over a list
        total = total + base[:, k]
    return total


def _above(observed: Array, expected: Array) -> Array:
    return observed > expected + 1e-9 * np.maximum(expected, 1.0)


def _pct(observed: Array, expected: Array) -> Array:
    return (observed - expected) / np.maximum(expected, 1.0) * 100.0


def _change_level(obs: Array, base: Array, p: dict[str, Any]) -> Found:
    expected = _sum(base) / base.shape[1]
    score = _pct(obs, expected)
    guarded = (expected <= p["guard_baseline"]) & (obs <= p["guard_current"])
    fired = ~guarded & (score > 25)
    if p["fire_on"] == "moderate increase":
        fired |= ~guarded & (score >= 10)
    return fired, expected, score, None


def _surge(obs: Array, base: Array, p: dict[str, Any]) -> Found:
    expected = _sum(base) / base.shape[1]
    factor = 1 + p["threshold_pct"] / 100.0
    fired = ((expected >= p["min_baseline"]) & (obs >= p["min_count"]) & _above(obs, expected)
             & (obs >= expected * factor))
    return fired, expected, _pct(obs, expected), None


def _record(obs: Array, base: Array, p: dict[str, Any]) -> Found:
    expected = base.max(axis=1)
    fired = _above(obs, expected) & (obs >= p["minimum"])
    return fired, expected, obs / np.maximum(expected, 1.0), None


def _count_surprise(obs: Array, base: Array, p: dict[str, Any]) -> Found:
    window = base.shape[1]
    mean = _sum(base) / window
    deviation = base - mean[:, None]
    variance = _sum(deviation * deviation) / (window - 1)
    expected = np.maximum(mean, p["min_expected"])
    probability = np.ones(len(obs))
    # the tail is only computed where the detector computes it and the cell may fire
    tail = _above(obs, mean) & (obs >= p["min_count"])
    k, e, v = np.ceil(obs[tail]), expected[tail], variance[tail]
    negbin = (v > e) & (e > 0) if p["model"] == "negbin" else np.zeros(len(e), bool)
    out = np.empty(len(e))
    if negbin.any():
        en, vn = e[negbin], v[negbin]
        out[negbin] = stats.nbinom.sf(k[negbin] - 1, en * en / (vn - en), en / vn)
    if (~negbin).any():
        out[~negbin] = stats.poisson.sf(k[~negbin] - 1, e[~negbin])
    probability[tail] = out
    fired = tail & (probability < p["p_value"])
    return fired, expected, np.zeros(len(obs)), probability


DETECT: dict[str, Callable[[Array, Array, dict[str, Any]], Found]] = {
    "change_level": _change_level, "surge": _surge, "record": _record,
    "count_surprise": _count_surprise}


def _score(name: str, score: float, probability: float | None) -> float:
    if name != "count_surprise" or probability is None:
        return score
    value = min(-math.log10(probability), 300.0) if probability > 0 else 300.0
    return max(value, 0.0)


def evaluate_grid(indicator: Indicator, keys: Array, values: Array, origin: int, begin: int,
                  cols: Columns) -> list[Candidate]:
    """The candidates of the periods from column `begin` to the last, each judged with the
    `window` periods before it (series.backtest's loop, over all cells at once)."""
    name = indicator.detector.name
    # with the defaults the detector function would use (a spec built in code may omit them)
    params = params_model(name).model_validate(indicator.detector.params).model_dump()
    window = window_of(name, params)
    first = max(begin, window)  # an earlier period has too short a history
    g, j = np.nonzero(values[:, first:])
    if not len(g):
        return []
    i = j + first
    obs = values[g, i]
    base = values[g[:, None], i[:, None] - window + np.arange(window)]
    fired, expected, score, probability = DETECT[name](obs, base, params)
    kind = indicator.period
    periods: dict[int, Period] = {}
    out = []
    for c in np.flatnonzero(fired):  # in geography-key order, then period: sorted below
        n = origin + int(i[c])
        period = periods.get(n) or periods.setdefault(n, period_at(n, kind))
        p = None if probability is None else float(probability[c])
        s = _score(name, float(score[c]), p)
        severity = SEVERITY[name](s) or 1
        country, admin1 = geo_of(keys[g[c]], cols)
        out.append(Candidate(indicator.key, country, admin1, period.start, period.end,
                             float(obs[c]), float(expected[c]), s, severity,
                             SEVERITY_LABELS[severity], p, indicator.risks, name))
    return out


def _sorted(found: list[Candidate]) -> list[Candidate]:
    # series.backtest's order: geographies by (country, admin1), each in period order, then
    # stably by period
    found.sort(key=lambda c: (c.country, c.admin1 or "", c.period_start))
    found.sort(key=lambda c: (c.period_start, c.country, c.admin1 or ""))
    return found


def backtest_columns(indicator: Indicator, cols: Columns, keep: Array | None, since: date,
                     until: date, start: date | None = None, only: Array | None = None,
                     match: Array | None = None) -> list[Candidate]:
    """series.backtest over the events of `cols` in `keep` (all when None); `only`: just
    these geography keys (geo_keys); `match`: the indicator's filter mask, if known."""
    kind = indicator.period
    origin = period_number(start or since, kind)
    length = period_number(until, kind) - origin + 1
    begin = max(period_number(since, kind) - origin, 0)
    if length <= 0 or begin >= length or cols.n == 0:
        return []
    mask = (matches(indicator, cols) if match is None else match) & (cols["day"] <= day_of(until))
    if keep is not None:
        mask &= keep
    keys, values = grid(indicator, cols, mask, origin, length, only)
    return _sorted(evaluate_grid(indicator, keys, values, origin, begin, cols))


def backtest(indicator: Indicator, events: Iterable[Any] | Columns, since: date, until: date,
             start: date | None = None) -> list[Candidate]:
    """series.backtest's inputs and result: events are series.Event objects or Columns."""
    cols = events if isinstance(events, Columns) else from_events(
        e if hasattr(e, "event_type") else Event(*e) for e in events)
    return backtest_columns(indicator, cols, None, since, until, start)
