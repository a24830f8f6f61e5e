"""alerts.detect on the engine: every indicator for every audience tier over columns.

Why a tier is cheap: a tier counts the events of the tier below it and some more (GREEN adds
green events to CLEAR's). Where none of the added events falls in a geography, that geography's
series, and so its alerts, are the tier below's: they are copied, and only the geographies the
added events touch are evaluated again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Protocol

import numpy as np

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
    return f"{c.indicator}|{c.country}|{c.admin1 or ''}|{c.period_start.isoformat()}"


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
    keeps: dict[str, Array] = {}
    found: dict[str, dict[str, Candidate]] = {}
    for audience in tiers:
        keep = engine.tier_mask(audience.tlps, audience.strict_owner, cols) & within
        keeps[audience.tier] = keep
        cells = found.setdefault(audience.tier, {})
        if not keep.any():
            continue
        below = keeps.get(audience.below or "")
        base = audience.below if below is not None and not (below & ~keep).any() else None
        for indicator in indicators:
            keys = only_keys[indicator.key] if only_keys is not None else None
            if keys is not None and not len(keys):
                continue
            if base is not None:
                assert below is not None
                added = keep & ~below & match[indicator.key]
                touched = np.unique(engine.geo_keys(indicator, cols, added))
                touched_geos = {engine.geo_of(k, cols) for k in touched}
                for cell, c in found[base].items():
                    if c.indicator == indicator.key and (c.country, c.admin1) not in touched_geos:
                        cells[cell] = c
                keys = touched if keys is None else np.intersect1d(keys, touched)
                if not len(keys):
                    continue
            first = since_by.get(indicator.key, since) if since_by is not None else since
            for c in engine.backtest_columns(indicator, cols, keep, first, until, start, keys,
                                             match[indicator.key]):
                cells[cell_of(c)] = c
    return found


def _same(a: Candidate, b: Candidate) -> bool:
    return (a.observed, a.expected, a.severity) == (b.observed, b.expected, b.severity) and (
        abs(a.score - b.score) <= 1e-9 * max(1.0, abs(a.score)))


def kept(found: dict[str, dict[str, Candidate]], tiers: Sequence[Any],
         ) -> list[tuple[Any, Candidate]]:
    """A tier's alert is left out where it repeats the tier below (alerts.detect's rule)."""
    out = []
    for audience in tiers:
        lower = found.get(audience.below or "", {})
        for cell, c in found[audience.tier].items():
            repeated = lower.get(cell)
            if repeated is None or not _same(repeated, c):
                out.append((audience, c))
    out.sort(key=lambda p: (p[1].period_start, p[1].indicator, p[1].country, p[1].admin1 or "",
                            p[0].rank, p[0].tier))
    return out


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
