"""An indicator's series per geography, and its evaluation by the indicator's detector.

Two steps, so that the first can later be done by SQL or DuckDB: `aggregate` turns events into
(country, admin1, period start, value) rows; `build_series` turns such rows (from here or from
a database) into one list per geography with zeros for periods without events. `evaluate` and
`backtest` run the detector with no look-ahead: the value of a period only counts events dated
in it up to `until`, and a period's detection only sees the periods up to it.
Pure Python over dicts and Counters: enough for one region's history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from riskatlas.warning.detectors import DETECTORS, SEVERITY_LABELS, Detection, window_of
from riskatlas.warning.indicators import Indicator
from riskatlas.warning.periods import Period, PeriodKind, index_of, period_of, period_start

Geo = tuple[str, str | None]  # (ISO3 country, admin1 or None at country level)


@dataclass(frozen=True, slots=True)
class Event:
    """One event, or one aggregated row (ACLED weekly: `count` events on `date`). A dataclass,
    not a NamedTuple: a tuple's `count` method would shadow the field."""

    date: date
    country: str
    admin1: str | None = None
    location: str | None = None
    event_type: str | None = None
    sub_type: str | None = None
    actor1: str | None = None
    actor2: str | None = None
    fatalities: float = 0
    count: int = 1


class Row(NamedTuple):
    """One aggregated value: a geography's measure in the period starting on `start`."""

    country: str
    admin1: str | None
    start: date
    value: float


@dataclass(frozen=True, slots=True)
class Candidate:
    """A detection that fired: an alert waiting to be stored."""

    indicator: str
    country: str
    admin1: str | None
    period_start: date
    period_end: date
    observed: float
    expected: float | None
    score: float
    severity: int
    severity_label: str
    probability: float | None
    risks: tuple[str, ...]
    detector: str

    def as_dict(self) -> dict[str, Any]:
        return {"indicator": self.indicator, "country": self.country, "admin1": self.admin1,
                "period_start": self.period_start.isoformat(),
                "period_end": self.period_end.isoformat(), "observed": self.observed,
                "expected": self.expected, "score": self.score, "severity": self.severity,
                "severity_label": self.severity_label, "probability": self.probability,
                "risks": list(self.risks), "detector": self.detector}


def _events(events: Iterable[Any]) -> Iterator[Event]:
    for e in events:
        yield e if isinstance(e, Event) or hasattr(e, "event_type") else Event(*e)


def aggregate(indicator: Indicator, events: Iterable[Any], until: date | None = None,
              ) -> list[Row]:
    """The indicator's measure per geography and period over the events that pass its filter
    (and are dated on or before `until`, when given). Events are `Event`s, plain tuples in
    `Event`'s field order, or any object with those attributes."""
    match = indicator.filter.matcher
    kind = indicator.period
    by_admin1 = indicator.level == "admin1"
    measure = indicator.measure
    sums: defaultdict[tuple[str, str | None, date], float] = defaultdict(float)
    places: defaultdict[tuple[str, str | None, date], set[str]] = defaultdict(set)
    for e in _events(events):
        if until is not None and e.date > until:
            continue
        if not match(e.country, e.admin1, e.event_type, e.sub_type, e.actor1, e.actor2):
            continue
        cell = (e.country, e.admin1 if by_admin1 else None, period_start(e.date, kind))
        if measure == "events":
            sums[cell] += e.count
        elif measure == "fatalities":
            sums[cell] += e.fatalities or 0
        else:
            # an aggregated row has no location: its admin1 stands for it
            places[cell].add(e.location or e.admin1 or "")
    if measure == "locations":
        return [Row(c, a, s, float(len(v))) for (c, a, s), v in places.items()]
    return [Row(c, a, s, float(v)) for (c, a, s), v in sums.items()]


def build_series(rows: Iterable[Row | tuple[str, str | None, date, float]], kind: PeriodKind,
                 first: date, last: date) -> dict[Geo, list[float]]:
    """One value per period from the period containing `first` to the one containing `last`
    for every geography that has a row in that range; periods without a row are 0. Rows may
    come from `aggregate` or from a database (their `start` is any day of the period)."""
    origin = period_of(first, kind)
    length = index_of(period_of(last, kind), origin) + 1
    series: dict[Geo, list[float]] = {}
    for country, admin1, start, value in rows:
        i = index_of(period_of(start, kind), origin)
        if 0 <= i < length:
            values = series.get((country, admin1))
            if values is None:
                values = series[(country, admin1)] = [0.0] * length
            values[i] += float(value)
    return series


def _candidate(indicator: Indicator, geo: Geo, period: Period, found: Detection,
               ) -> Candidate:
    severity = found.severity or 1
    return Candidate(indicator.key, geo[0], geo[1], period.start, period.end, found.observed,
                     found.expected, found.score, severity, SEVERITY_LABELS[severity],
                     found.probability, indicator.risks, indicator.detector.name)


def evaluate_series(indicator: Indicator, series: dict[Geo, list[float]], current: Period,
                    ) -> list[Candidate]:
    """Run the indicator's detector on each series, whose last value is period `current`."""
    detect = DETECTORS[indicator.detector.name]
    params = indicator.detector.params
    out = []
    for geo in sorted(series, key=lambda g: (g[0], g[1] or "")):
        found = detect(series[geo], **params)
        if found.fired:
            out.append(_candidate(indicator, geo, current, found))
    return out


def evaluate(indicator: Indicator, events: Iterable[Any], until: date,
             since: date | None = None) -> list[Candidate]:
    """Candidate alerts for the period that contains `until`, from events dated on or before
    `until` (no look-ahead). The series start at `since` (the start of the data's coverage)
    or else at the earliest matching event."""
    rows = aggregate(indicator, events, until)
    if not rows:
        return []
    first = since or min(r.start for r in rows)
    series = build_series(rows, indicator.period, first, until)
    return evaluate_series(indicator, series, period_of(until, indicator.period))


def backtest(indicator: Indicator, events: Iterable[Any], since: date, until: date,
             start: date | None = None) -> list[Candidate]:
    """Replay the periods from the one containing `since` to the one containing `until`, each
    detected with only the periods up to it; the series begin at `start` (default: `since`,
    so the first periods have too short a history to fire)."""
    origin = start or since
    rows = aggregate(indicator, events, until)
    series = build_series(rows, indicator.period, origin, until)
    detect = DETECTORS[indicator.detector.name]
    params = indicator.detector.params
    window = window_of(indicator.detector.name, params)
    first = period_of(origin, indicator.period)
    begin = max(index_of(period_of(since, indicator.period), first), 0)
    stop = index_of(period_of(until, indicator.period), first)
    out = []
    for geo in sorted(series, key=lambda g: (g[0], g[1] or "")):
        values = series[geo]
        for i in range(begin, stop + 1):
            if not values[i]:
                continue  # no detector fires on a period without events (test_detectors)
            found = detect(values[max(0, i - window):i + 1], **params)
            if found.fired:
                out.append(_candidate(indicator, geo, first.shift(i), found))
    out.sort(key=lambda c: (c.period_start, c.country, c.admin1 or ""))
    return out
