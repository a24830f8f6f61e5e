"""alerts.detect on the engine: every indicator for every audience tier over columns.

Why a tier is cheap: a tier counts the events of the tier below it and some more (GREEN adds
green events to CLEAR's). Where none of the added events falls in a geography, that geography's
series, and so its alerts, are the tier below's: they are copied, and only the geographies the
added events touch are evaluated again. For a measure that adds up exactly (engine.additive:
events, integer fatalities) the tier's (geography x period) matrix is not built from all its
events either: it is the tier below's plus the matrix of the added events, in cells shared by
all tiers (engine.Space); and a new alert with the very figures of the tier below's is that
alert (the same object), not a copy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import numpy as np

from riskatlas.catalog.importer import paused_gc
from riskatlas.warning import engine
from riskatlas.warning.columns import Array, Columns
from riskatlas.warning.indicators import Indicator
from riskatlas.warning.series import Candidate, Geo


class Tier(Protocol):
    """alerts.Audience, as far as the engine reads it."""

    @property
    def tier(self) -> str: ...
    @property
    def tlps(self) -> frozenset[str]: ...
    @property
    def strict_owner(self) -> int | None: ...
    @property
    def below(self) -> str | None: ...


def cell_of(c: Candidate) -> str:
    return engine.cell_name(c.indicator, c.country, c.admin1, c.period_start)


@dataclass
class _Sums:
    """An indicator's additive series (engine.additive) as one matrix per tier in a space
    shared by the tiers: a tier's matrix is the tier below's plus that of the added events."""

    where: engine.Space
    ok: Array  # the events the indicator counts in the space's cells
    rows: Array  # the rows it is evaluated on (`only`)
    begin: int
    events: Array  # the indices of the events in `ok`,
    cells: Array  # their cells
    weights: Array | None  # and weights (None: every weight is 1)
    by_tier: dict[str, Array] = field(default_factory=dict)

    def matrix(self, tier: str, added: Array, base: str | None) -> tuple[Array, Array]:
        """(the tier's matrix, the rows of the added events in it)."""
        sel = added[self.events]  # over the indicator's events only, not all of them
        values, counts = engine.cell_sums(
            self.where, self.cells[sel], None if self.weights is None else self.weights[sel])
        below = self.by_tier.get(base or "")
        if below is not None:
            values += below  # exact: integer sums (engine.additive)
        self.by_tier[tier] = values
        touched: Array = np.any(counts, axis=1)
        return values, touched


@dataclass(frozen=True)
class _Step:
    """One tier's evaluation: its events, those it adds to the tier below (`base`, None when
    it does not hold all the events of the tier below: then it adds all its own)."""

    tier: str
    keep: Array
    added: Array
    base: str | None


class _Setup:
    """What the tiers share for one evaluation: each level's geography rows and each
    (level, period kind)'s space, computed once instead of once per tier."""

    def __init__(self, cols: Columns, start: date, until: date) -> None:
        self.cols, self.start, self.until = cols, start, until
        self._rows: dict[str, tuple[Array, Array]] = {}
        self._spaces: dict[tuple[str, str], engine.Space | None] = {}
        self._weights: dict[str, tuple[Array | None, bool]] = {}

    def sums(self, indicator: Indicator, match: Array, keys: Array | None, first: date,
             ) -> _Sums | None:
        """The indicator's additive series, or None when its measure does not add up exactly
        (or the periods are empty: the general path then finds nothing as before)."""
        if indicator.measure not in self._weights:
            summed = engine.additive(indicator, self.cols)
            self._weights[indicator.measure] = summed, summed is not None and bool(
                (summed == 1).all())
        weights, unit = self._weights[indicator.measure]
        if weights is None:
            return None
        level = indicator.level
        if level not in self._rows:
            self._rows[level] = engine.geo_rows(indicator, self.cols)
        if (level, indicator.period) not in self._spaces:
            self._spaces[(level, indicator.period)] = engine.space(
                indicator, self.cols, self._rows[level], self.start, self.until)
        where = self._spaces[(level, indicator.period)]
        if where is None:
            return None
        begin = max(engine.period_number(first, indicator.period) - where.origin, 0)
        if begin >= where.length:
            return None
        ok = match & where.inside
        rows = np.ones(len(where.keys), bool)
        if keys is not None:
            rows = np.isin(where.keys, keys)
            ok &= rows[where.row]
        events = np.flatnonzero(ok)
        return _Sums(where, ok, rows, begin, events, where.cell[events],
                     None if unit else weights[events])


@paused_gc()  # tens of thousands of candidates, cell names and pairs made at once
def detect(indicators: Sequence[Indicator], cols: Columns, tiers: Sequence[Tier],
           since: date, until: date, start: date,
           only: Mapping[str, set[Geo]] | None = None,
           since_by: Mapping[str, date] | None = None) -> dict[str, dict[str, Candidate]]:
    """Each tier's candidates by cell, for the periods from `since` (or the indicator's own
    date in `since_by`) to `until`, the series starting at `start`; with `only`, just the
    geographies it names for each indicator (others are not evaluated)."""
    within = cols["day"] <= engine.day_of(until)
    match = {i.key: engine.matches(i, cols) for i in indicators}
    only_keys = {i.key: engine.keys_of(only.get(i.key, ()), i, cols)
                 for i in indicators} if only is not None else None
    setup = _Setup(cols, start, until)
    # a tier below's candidate of the same cell is the same indicator's: keys are unique
    distinct = len({i.key for i in indicators}) == len(indicators)
    sums: dict[int, _Sums | None] = {}
    keeps: dict[str, Array] = {}
    found: dict[str, dict[str, Candidate]] = {}
    # each tier's cells of each indicator (`found` filtered): what a tier above copies
    by_indicator: dict[str, dict[str, dict[str, Candidate]]] = {}
    for audience in tiers:
        keep = engine.tier_mask(audience.tlps, audience.strict_owner, cols) & within
        keeps[audience.tier] = keep
        cells = found.setdefault(audience.tier, {})
        mine = by_indicator.setdefault(audience.tier, {})
        if not keep.any():
            continue
        below = keeps.get(audience.below or "")
        base = audience.below if below is not None and not (below & ~keep).any() else None
        step = _Step(audience.tier, keep, keep if below is None or base is None
                     else keep & ~below, base)
        for n, indicator in enumerate(indicators):
            keys = only_keys[indicator.key] if only_keys is not None else None
            if keys is not None and not len(keys):
                continue
            first = since_by.get(indicator.key, since) if since_by is not None else since
            if n not in sums:
                sums[n] = setup.sums(indicator, match[indicator.key], keys, first)
            lower = by_indicator[base].get(indicator.key, {}) if base is not None else {}
            series = sums[n]
            if series is not None:
                got = _additive(indicator, cols, series, step, match[indicator.key], lower,
                                distinct)
            else:
                got = _direct(indicator, cols, step, match[indicator.key], lower, keys, first,
                              until, start)
            own = mine.setdefault(indicator.key, {})
            for cell, c in got:
                cells[cell] = own[cell] = c
    return found


def _copied(lower: dict[str, Candidate], touched: set[Geo]) -> list[tuple[str, Candidate]]:
    """The cells of the tier below in the geographies no added event falls in: their series,
    so their alerts, are the same."""
    return [(cell, c) for cell, c in lower.items() if (c.country, c.admin1) not in touched]


def _additive(indicator: Indicator, cols: Columns, series: _Sums, step: _Step, match: Array,
              lower: dict[str, Candidate], reuse: bool) -> list[tuple[str, Candidate]]:
    """The tier's cells of an additive indicator: the copied ones, then those evaluated on
    the rows the added events touch (as _direct, on the tier's matrix); `reuse`: a candidate
    of `lower` with the same figures is taken for a new one."""
    where = series.where
    values, touched = series.matrix(step.tier, step.added, step.base)
    rows = series.rows
    out: list[tuple[str, Candidate]] = []
    if step.base is not None:
        # also touched: by added events outside the matrix's periods or `only` (_direct's rule)
        touched[where.row[step.added & match & ~series.ok]] = True
        out = _copied(lower, {engine.geo_of(k, cols) for k in where.keys[touched]})
        rows = rows & touched
    take = np.flatnonzero(rows)
    if len(take):
        out += engine.evaluate_cells(indicator, where.keys[take], values[take], where.origin,
                                     series.begin, cols, lower if reuse else None,
                                     integral=True)  # sums of engine.additive's weights
    return out


def _direct(indicator: Indicator, cols: Columns, step: _Step, match: Array,
            lower: dict[str, Candidate], keys: Array | None, first: date, until: date,
            start: date) -> list[tuple[str, Candidate]]:
    """The tier's cells: the tier below's where its added events touch no geography, else
    evaluated again over the tier's events."""
    out: list[tuple[str, Candidate]] = []
    if step.base is not None:
        touched = np.unique(engine.geo_keys(indicator, cols, step.added & match))
        out = _copied(lower, {engine.geo_of(k, cols) for k in touched})
        keys = touched if keys is None else np.intersect1d(keys, touched)
        if not len(keys):
            return out
    return out + [(cell_of(c), c) for c in engine.backtest_columns(
        indicator, cols, step.keep, first, until, start, keys, match)]


def _same(a: Candidate, b: Candidate) -> bool:
    return (a.observed, a.expected, a.severity) == (b.observed, b.expected, b.severity) and (
        abs(a.score - b.score) <= 1e-9 * max(1.0, abs(a.score)))


@paused_gc()  # tens of thousands of candidates, cell names and pairs made at once
def kept(found: dict[str, dict[str, Candidate]], tiers: Sequence[Any],
         ) -> list[tuple[Any, Candidate]]:
    """A tier's alert is left out where it repeats the tier below (alerts.detect's rule);
    sorted by period, indicator, geography (country, admin1 or ""), then tier (rank, name)."""
    out: list[tuple[Any, Candidate]] = []
    blocks: list[int] = []  # how many of `out` each tier gave
    for audience in tiers:
        lower = found.get(audience.below or "", {})
        before = len(out)
        for cell, c in found[audience.tier].items():
            repeated = lower.get(cell)
            # the very same candidate (often: engine.evaluate_cells reuses them) is _same
            # unless its score is not finite
            if repeated is None or not (math.isfinite(c.score) if repeated is c
                                        else _same(repeated, c)):
                out.append((audience, c))
        blocks.append(len(out) - before)
    return _ordered(out, tiers, blocks)


def _ordered(pairs: list[tuple[Any, Candidate]], tiers: Sequence[Any], blocks: list[int],
             ) -> list[tuple[Any, Candidate]]:
    # a stable sort on (period_start, indicator, country, admin1 or "", rank, tier) as numbers:
    # each part is numbered in its sorted order, and np.lexsort orders the numbers (sorting
    # the tuples themselves was most of the cost of kept)
    if len(pairs) < 2:
        return pairs
    n = len(pairs)
    series = [(c.indicator, c.country, c.admin1 or "") for _, c in pairs]
    numbered = {k: r for r, k in enumerate(sorted(set(series)))}
    series_rank = np.fromiter(map(numbered.__getitem__, series), np.int64, n)
    day = np.fromiter((c.period_start.toordinal() for _, c in pairs), np.int64, n)
    tier_keys = [(a.rank, a.tier) for a in tiers]
    tier_number = {k: r for r, k in enumerate(sorted(set(tier_keys)))}
    tier_rank = np.repeat([tier_number[k] for k in tier_keys], blocks)
    order = np.lexsort((tier_rank, series_rank, day))
    return [pairs[k] for k in order.tolist()]


def replay(indicators: Sequence[Indicator], cols: Columns, since: date, until: date,
           start: date | None = None) -> list[Candidate]:
    """alerts.replay over columns: every indicator over all the events."""
    within = cols["day"] <= engine.day_of(until)
    if not within.any():
        return []
    first = start or date.fromordinal(int(cols["day"][within].min()) + engine.EPOCH)
    out = [c for i in indicators
           for c in engine.backtest_columns(i, cols, within, since, until, first)]
    out.sort(key=lambda c: (c.period_start, c.indicator, c.country, c.admin1 or ""))
    return out
