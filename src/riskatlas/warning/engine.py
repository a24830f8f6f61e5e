"""The evaluation engine: indicators over events held as columns (warning.columns), with numpy.

The same results as the pure-Python reference (series.backtest, detectors.py), which the
tests hold it to: an indicator's filter is a boolean mask, its series a (geography x period)
matrix made by np.bincount, and its detector runs on every cell that may fire at once. Float
results are bit-for-bit those of the reference because the same operations are done in the same
order: baselines are summed left to right (as Python 3.11's sum() does, not numpy's pairwise
sum), and the score of a fired count surprise uses math.log10 like the detector.

Where that order cannot matter it is not followed, for speed: sums of integers (counts,
fatalities, distinct places: below 2**52) are exact in any order, so a window's sum is a
difference of running sums (checked per matrix, else left to right); a value only read for
cells that fire (a maximum, a variance, an upper tail) is computed only for cells that may.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import special, stats

from riskatlas.warning import places
from riskatlas.warning.columns import EPOCH, TLPS, Array, Columns, from_events
from riskatlas.warning.detectors import BANDS, SEVERITY_LABELS, params_model, window_of
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
    tests: list[tuple[Array, tuple[str, ...]]] = []  # (a table by code, the columns it reads)
    if m.countries:
        tests.append((_table(cols.values["country"], lambda v: v in m.countries), ("country",)))
    if m.admin1:  # by places.key, as the matcher compares them
        tests.append((_table(cols.values["admin1"], lambda v: places.key(v) in m.admin1),
                      ("admin1",)))
    for name, allowed in (("event_type", m.event_types), ("sub_type", m.sub_types)):
        if allowed:
            tests.append((_table(cols.values[name], _casefold_in(allowed)), (name,)))
    if m.actors is not None:
        pattern = m.actors
        tests.append((_table(cols.values["actor1"], lambda v: bool(pattern.search(v or ""))),
                      ("actor1", "actor2")))
    keep: Array | None = None
    at: Array | None = None  # the events still kept, once few: later tests read only those
    for table, names in tests:
        if at is None:
            hit = table[cols[names[0]]]
            for name in names[1:]:
                hit |= table[cols[name]]
            keep = hit if keep is None else keep & hit
            if np.count_nonzero(keep) * 8 < cols.n:
                at = np.flatnonzero(keep)
        else:
            hit = np.zeros(len(at), bool)
            for name in names:
                hit |= table[cols[name][at]]
            assert keep is not None
            keep[at[~hit]] = False
            at = at[hit]
    return np.ones(cols.n, bool) if keep is None else keep


def tier_mask(tlps: Iterable[str], strict_owner: int | None, cols: Columns) -> Array:
    """The events an audience counts (alerts.Audience.counts)."""
    counted = np.zeros(len(TLPS), bool)
    counted[[TLPS.index(t) for t in tlps]] = True
    keep = counted[cols["tlp"]]  # a lookup per event, not np.isin's sort
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


def _numbered(geo: Array) -> tuple[Array, Array]:
    """np.unique(geo, return_inverse=True) for non-negative keys: (the distinct keys,
    ascending; each one's index in them)."""
    top = int(geo.max()) + 1 if len(geo) else 0
    if top > 4 * len(geo) + (1 << 20):  # a sparse key range: sorting is the cheaper way
        keys, inverse = np.unique(geo, return_inverse=True)
        return keys, inverse.astype(np.int64)
    # geography keys are small dense integers (country code x width + admin1 code): a lookup
    # table numbers them in ascending order in O(n), without np.unique's sort
    present = np.bincount(geo, minlength=top) > 0
    return np.flatnonzero(present), (np.cumsum(present) - 1)[geo]


@dataclass(frozen=True)
class Space:
    """Every event's cell in one (geography x period) matrix, shared by the audience tiers and
    the indicators of a level and period kind: matrices of different sets of events then add
    up cell by cell (tiers.detect)."""

    keys: Array  # the geography key (geo_keys) of each row, ascending
    row: Array  # each event's row
    cell: Array  # each event's cell, row * length + period column (flattened matrix)
    inside: Array  # the events in the matrix's periods and dated on or before `until`
    origin: int  # the period number of column 0
    length: int  # periods (columns)

    @property
    def size(self) -> int:
        return len(self.keys) * self.length


def geo_rows(indicator: Indicator, cols: Columns) -> tuple[Array, Array]:
    """(the distinct geography keys of all the events at the indicator's level, ascending;
    each event's index in them)."""
    return _numbered(geo_keys(indicator, cols))


def space(indicator: Indicator, cols: Columns, rows: tuple[Array, Array], start: date,
          until: date) -> Space | None:
    """The cells of the indicator's series from the period of `start` to that of `until`
    (None when that is no period); `rows`: geo_rows at the indicator's level."""
    kind = indicator.period
    origin = period_number(start, kind)
    length = period_number(until, kind) - origin + 1
    if length <= 0:
        return None
    day = cols["day"]
    t = period_numbers(day, kind)
    t -= origin
    inside = t >= 0
    inside &= t < length
    inside &= day <= day_of(until)
    keys, row = rows
    cell = row * length
    cell += t
    return Space(keys, row, cell, inside, origin, length)


_BLOCK = 1 << 16  # values per block where a long computation is done in parts


def _integral(values: Array) -> bool:
    """Whether the values are integers whose sums are exact in float64 in any order (finite,
    and their absolute values summing to less than 2**52 along the last axis)."""
    if values.ndim == 1 and len(values) > _BLOCK:
        # a column of every event: in parts, not with temporaries as long as the column
        total = 0.0
        for k in range(0, len(values), _BLOCK):
            part = values[k:k + _BLOCK]
            total += float(np.abs(part).sum())
            if not np.array_equal(part, np.round(part)):
                return False
        return total < 2.0**52
    if not values.size:
        return True
    total = np.abs(values).sum(axis=-1)  # NaN or inf if any value is
    return bool((total < 2.0**52).all() and np.array_equal(values, np.round(values)))


def additive(indicator: Indicator, cols: Columns) -> Array | None:
    """The weights the indicator's measure sums per cell when a sum over any set of events
    is exact whatever the order of its terms (integer values), so that a matrix of a union of
    disjoint sets of events is the sum of their matrices; None for 'locations' (distinct
    places do not add up) or for weights that are not such integers."""
    if indicator.measure == "locations":
        return None
    weights = cols["count" if indicator.measure == "events" else "fatalities"]
    return weights if _integral(weights) else None


def cell_sums(where: Space, cells: Array, weights: Array | None) -> tuple[Array, Array]:
    """(the sums of the events' weights (all 1 when None), the numbers of events) in each
    of `where`'s cells, as (geography x period) matrices; `cells`: each event's cell."""
    counts = np.bincount(cells, minlength=where.size)
    # with every weight 1 the sums are the counts: the same floats, without a weighted pass
    # (np.bincount answers int64 zeros for no events even with weights: float64 always, or a
    # tier that adds no event could not add the tier below's sums to its own)
    values = counts.astype(np.float64) if weights is None else np.bincount(
        cells, weights=weights, minlength=where.size).astype(np.float64, copy=False)
    shape = (len(where.keys), where.length)
    return values.reshape(shape), counts.reshape(shape)


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
    keys, g = _numbered(geo)
    cell = g * length + t
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
        values = np.bincount(cell, weights=weights, minlength=size).astype(np.float64,
                                                                           copy=False)
    return keys, values.reshape(len(keys), length)


# --- detectors over many cells ----------------------------------------------------------------
# Each takes the observed values (C), their baselines (a Window: C x window, oldest first) and
# the detector's parameters; it returns (fired, expected, score, probability or None), of which
# only the fired cells are read: a value a cell cannot fire without may be left uncomputed.

Found = tuple[Array, Array, Array, Array | None]


def _sum_rows(rows: Array) -> Array:
    """The sums of the rows of a (cells x size) matrix, each left to right from 0.0, as sum()
    over a list (numpy's own sum is pairwise: other floats)."""
    total = np.zeros(len(rows))
    for k in range(rows.shape[1]):
        total += rows[:, k]
    return total


class Window:
    """The `size` periods before each cell (g[c], i[c]) of `values`, oldest first."""

    def __init__(self, values: Array, g: Array, i: Array, size: int,
                 integral: bool | None = None) -> None:
        """`integral`: whether `values` are known to be integers below 2**52 in sum (None:
        see)."""
        self.values, self.g, self.i, self.size = values, g, i, size
        self.integral = _integral(values) if integral is None else integral

    def sum(self) -> Array:
        """Each cell's window summed left to right (as sum() over a list)."""
        if self.integral:
            # integer sums are exact: differences of the running sum are the left-to-right
            # sums bit for bit, without gathering (cells x window) values
            run = np.zeros((len(self.values), self.values.shape[1] + 1))
            np.cumsum(self.values, axis=1, out=run[:, 1:])
            return run[self.g, self.i] - run[self.g, self.i - self.size]
        return _sum_rows(self.rows())

    def rows(self, where: Array | None = None) -> Array:
        """The windows' values (a new cells x size matrix) of every cell, or of the cells in
        `where`."""
        g, i = (self.g, self.i) if where is None else (self.g[where], self.i[where])
        # each window is a contiguous run of its row: gathered as blocks of a strided view
        return sliding_window_view(self.values, self.size, axis=1)[g, i - self.size]

    def variance(self, mean: Array, where: Array) -> Array:
        """The windows' sample variances about `mean` (one per cell in `where`), the squared
        deviations summed left to right (as sum() over a generator)."""
        g, i = self.g[where], self.i[where] - self.size
        windows = sliding_window_view(self.values, self.size, axis=1)
        total = np.empty(len(g))
        step = max(_BLOCK // self.size, 1)
        for k in range(0, len(g), step):  # in blocks that stay in the CPU's cache
            deviation = windows[g[k:k + step], i[k:k + step]]
            deviation -= mean[k:k + step, None]
            deviation *= deviation
            total[k:k + step] = _sum_rows(deviation)
        return total / (self.size - 1)


def _above(observed: Array, expected: Array) -> Array:
    return observed > expected + 1e-9 * np.maximum(expected, 1.0)


def _pct(observed: Array, expected: Array) -> Array:
    return (observed - expected) / np.maximum(expected, 1.0) * 100.0


def _change_level(obs: Array, base: Window, p: dict[str, Any]) -> Found:
    expected = base.sum() / base.size
    score = _pct(obs, expected)
    guarded = (expected <= p["guard_baseline"]) & (obs <= p["guard_current"])
    fired = ~guarded & (score > 25)
    if p["fire_on"] == "moderate increase":
        fired |= ~guarded & (score >= 10)
    return fired, expected, score, None


def _surge(obs: Array, base: Window, p: dict[str, Any]) -> Found:
    expected = base.sum() / base.size
    factor = 1 + p["threshold_pct"] / 100.0
    fired = ((expected >= p["min_baseline"]) & (obs >= p["min_count"]) & _above(obs, expected)
             & (obs >= expected * factor))
    return fired, expected, _pct(obs, expected), None


def _record(obs: Array, base: Window, p: dict[str, Any]) -> Found:
    # the maximum only where the minimum is reached: elsewhere the cell cannot fire
    enough = obs >= p["minimum"]
    expected = np.zeros(len(obs))
    expected[enough] = base.rows(enough).max(axis=1)
    fired = enough & _above(obs, expected)
    return fired, expected, obs / np.maximum(expected, 1.0), None


def _count_surprise(obs: Array, base: Window, p: dict[str, Any]) -> Found:
    window = base.size
    mean = base.sum() / window
    expected = np.maximum(mean, p["min_expected"])
    probability = np.ones(len(obs))
    # the tail is only computed where the detector computes it and the cell may fire
    tail = _above(obs, mean) & (obs >= p["min_count"])
    v = base.variance(mean[tail], tail)
    k, e = np.ceil(obs[tail]), expected[tail]
    negbin = (v > e) & (e > 0) if p["model"] == "negbin" else np.zeros(len(e), bool)
    out = np.ones(len(e))
    if negbin.any():
        en, vn, kn = e[negbin], v[negbin], k[negbin]
        n, q = en * en / (vn - en), en / vn
        may = _may_fire(_nbinom_logpmf(kn, n, q), kn, n, p["p_value"])
        tails = out[negbin]
        tails[may] = stats.nbinom.sf(kn[may] - 1, n[may], q[may])
        out[negbin] = tails
    if (~negbin).any():
        ep, kp = e[~negbin], k[~negbin]
        may = _may_fire(_poisson_logpmf(kp, ep), kp, ep, p["p_value"])
        tails = out[~negbin]
        tails[may] = stats.poisson.sf(kp[may] - 1, ep[may])
        out[~negbin] = tails
    probability[tail] = out
    fired = tail & (probability < p["p_value"])
    return fired, expected, np.zeros(len(obs)), probability


# Most cells of the tail are far from firing, and the exact upper tail (scipy: an incomplete
# beta function per cell) was most of the cost of a count surprise. P(X >= k) >= P(X = k): where
# the probability of k itself, from log-gamma functions, is at least twice the p-value, the
# tail cannot be below it (float errors are below 1e-6 in relative terms where the bound is
# used) and the cell cannot fire; its probability is not computed (as for a cell not above
# its baseline). Only where the bound is well conditioned: k and the parameter below 1e6.

def _nbinom_logpmf(k: Array, n: Array, q: Array) -> Array:
    """log P(X = k) for X ~ scipy.stats.nbinom(n, q)."""
    with np.errstate(all="ignore"):
        return (special.gammaln(k + n) - special.gammaln(n) - special.gammaln(k + 1)
                + n * np.log(q) + k * np.log1p(-q))


def _poisson_logpmf(k: Array, mean: Array) -> Array:
    """log P(X = k) for X ~ scipy.stats.poisson(mean)."""
    with np.errstate(all="ignore"):
        return k * np.log(mean) - mean - special.gammaln(k + 1)


def _may_fire(logpmf: Array, k: Array, shape: Array, p_value: float) -> Array:
    """The cells whose upper tail P(X >= k) may be below `p_value`: all but those where
    P(X = k) (exp(logpmf)) is, reliably computed, at least twice `p_value`."""
    conditioned = (k >= 0) & (k <= 1e6) & (shape > 0) & (shape <= 1e6)
    with np.errstate(all="ignore"):
        pmf = np.exp(logpmf)
    # a pmf computed above 1 is a sign of lost precision: not trusted
    return ~(conditioned & (pmf >= 2 * p_value) & (pmf <= 1.0))


DETECT: dict[str, Callable[[Array, Window, dict[str, Any]], Found]] = {
    "change_level": _change_level, "surge": _surge, "record": _record,
    "count_surprise": _count_surprise}


def _score(name: str, score: float, probability: float | None) -> float:
    if name != "count_surprise" or probability is None:
        return score
    value = min(-math.log10(probability), 300.0) if probability > 0 else 300.0
    return max(value, 0.0)


def _severities(name: str, scores: list[float]) -> list[int]:
    # detectors._band (1 + how many bounds the score reaches) for all the scores at once
    s = np.array(scores, np.float64)
    severity = np.ones(len(s), np.int64)
    for bound in BANDS[name]:
        severity += s >= bound
    return list(severity.tolist())


def cell_name(indicator: str, country: str, admin1: str | None, start: date) -> str:
    """The name of an alert's cell (tiers.cell_of): indicator, geography and period."""
    return f"{indicator}|{country}|{admin1 or ''}|{start.isoformat()}"


def _geo_order(keys: Array, cols: Columns) -> tuple[Array, list[Geo]]:
    """(each key's rank in (country, admin1 or "") order, ties by key; its geography)."""
    geos = [geo_of(k, cols) for k in keys]
    order = sorted(range(len(keys)), key=lambda r: (geos[r][0], geos[r][1] or ""))
    rank = np.empty(len(keys), np.int64)
    rank[order] = np.arange(len(keys))
    return rank, geos


def evaluate(indicator: Indicator, keys: Array, values: Array, origin: int, begin: int,
             cols: Columns) -> list[Candidate]:
    """The candidates of the periods from column `begin` to the last, each judged with the
    `window` periods before it (series.backtest's loop, over all cells at once), in
    series.backtest's order: by period, then geography (country, admin1 or "")."""
    return [c for _, c in evaluate_cells(indicator, keys, values, origin, begin, cols)]


def evaluate_cells(indicator: Indicator, keys: Array, values: Array, origin: int, begin: int,
                   cols: Columns, lower: Mapping[str, Candidate] | None = None,
                   integral: bool | None = None) -> list[tuple[str, Candidate]]:
    """evaluate's candidates with their cell names; a candidate of `lower` (by cell name: the
    same indicator's, of another tier) with the same figures is taken instead of a new, equal
    one; `integral`: see Window."""
    name = indicator.detector.name
    # with the defaults the detector function would use (a spec built in code may omit them)
    params = params_model(name).model_validate(indicator.detector.params).model_dump()
    window = window_of(name, params)
    first = max(begin, window)  # an earlier period has too short a history
    # the cells with events from column `first` on, row by row (np.nonzero of the 2-D slice,
    # through one flat pass: five times faster)
    events = values != 0
    events[:, :first] = False
    at = np.flatnonzero(events)
    if not len(at):
        return []
    g, i = np.divmod(at, values.shape[1])
    obs = values.ravel()[at]
    fired, expected, score, probability = DETECT[name](
        obs, Window(values, g, i, window, integral), params)
    hit = np.flatnonzero(fired)  # in geography-key order, then period
    if not len(hit):
        return []
    rows, inverse = np.unique(g[hit], return_inverse=True)
    rank, geos = _geo_order(keys[rows], cols)
    # series.backtest's order: by period, then geography, ties as found (a stable sort)
    order = np.lexsort((rank[inverse], i[hit]))
    hit = hit[order]
    found = _Found(inverse[order].tolist(), (origin + i[hit]).tolist(), obs[hit].tolist(),
                   expected[hit].tolist(), score[hit].tolist(),
                   None if probability is None else probability[hit].tolist())
    return _candidates(indicator, geos, found, lower or {})


@dataclass(frozen=True)
class _Found:
    """The fired cells, in order: each one's geography (an index), period number, figures."""

    geo: list[int]
    period: list[int]
    observed: list[float]
    expected: list[float]
    score: list[float]
    probability: list[float] | None


def _same_figures(c: Candidate, geo: Geo, observed: float, expected: float, score: float,
                  probability: float | None) -> bool:
    """Whether `c` (a candidate of the same indicator's cell) has these figures, bit for bit,
    and this geography (a cell's name does not tell admin1 None from "")."""
    if not (c.observed == observed and c.expected == expected and c.score == score
            and c.probability == probability and c.admin1 == geo[1] and c.country == geo[0]):
        return False  # NaN is never the same
    figures = (observed, expected, score, probability)
    return 0.0 not in figures or all(  # 0.0 == -0.0: then the signs too
        a is None or math.copysign(1.0, a) == math.copysign(1.0, b)  # type: ignore[arg-type]
        for a, b in zip(figures, (c.observed, c.expected, c.score, c.probability), strict=True))


def _candidates(indicator: Indicator, geos: list[Geo], found: _Found,
                lower: Mapping[str, Candidate]) -> list[tuple[str, Candidate]]:
    name, key, risks, kind = indicator.detector.name, indicator.key, indicator.risks, \
        indicator.period
    periods = {n: period_at(n, kind) for n in set(found.period)}
    spans = {n: (p.start, p.end) for n, p in periods.items()}
    days = {n: p.start.isoformat() for n, p in periods.items()}
    prefixes = [cell_name(key, country, admin1, date.min)[:-len(date.min.isoformat())]
                for country, admin1 in geos]
    probability: list[float | None] = [None] * len(found.period) if found.probability is None \
        else list(found.probability)
    scores = [_score(name, v, q) for v, q in zip(found.score, probability, strict=True)]
    out = []
    for r, n, o, e, v, severity, q in zip(found.geo, found.period, found.observed,
                                          found.expected, scores, _severities(name, scores),
                                          probability, strict=True):
        cell = prefixes[r] + days[n]
        same = lower.get(cell)
        # a tier's figures are often the tier below's: its candidate is taken, not rebuilt
        if same is None or not _same_figures(same, geos[r], o, e, v, q):
            geo = geos[r]
            same = Candidate(key, geo[0], geo[1], *spans[n], o, e, v, severity,
                             SEVERITY_LABELS[severity], q, risks, name)
        out.append((cell, same))
    return out


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
    return evaluate(indicator, keys, values, origin, begin, cols)


def backtest(indicator: Indicator, events: Iterable[Any] | Columns, since: date, until: date,
             start: date | None = None) -> list[Candidate]:
    """series.backtest's inputs and result: events are series.Event objects or Columns."""
    cols = events if isinstance(events, Columns) else from_events(
        e if hasattr(e, "event_type") else Event(*e) for e in events)
    return backtest_columns(indicator, cols, None, since, until, start)
