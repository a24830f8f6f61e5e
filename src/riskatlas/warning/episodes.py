"""Known episodes (escalations the news reported) and how a backtest's alerts score on them.

An episodes file is a CSV with the header `country, admin1, start, end, label` (admin1 may be
empty: the whole country). Every problem of a file is reported at once as
`file:line: column: reason`, and nothing is returned unless the whole file is valid.

Scoring (docs/early-warning.md): an alert *matches* an episode when it is for the episode's
country (and province, when the episode names one; a country-level alert covers every
province) and its period overlaps the episode, or falls in the `lead` periods before its
start (an early warning). Then:
- recall: the share of episodes with at least one matching alert;
- lead time: for each detected episode, the periods from its first matching alert to the
  period of its start (positive: before it began; 0: in its first period; negative: late);
- precision: the share of alerts that match an episode (also for high and critical alerts
  alone: severity should mean something);
- alerts per country-year: alerts over the countries evaluated and the years covered.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from statistics import median
from typing import Any

from riskatlas.warning import countries, places
from riskatlas.warning.periods import PeriodKind, index_of, period_of
from riskatlas.warning.series import Candidate

COLUMNS = ("country", "admin1", "start", "end", "label")
DEFAULT_LEAD = 4  # periods before an episode's start in which an alert counts as a warning


@dataclass(frozen=True)
class Episode:
    country: str
    admin1: str | None
    start: date
    end: date
    label: str
    line: int = 0


class EpisodeError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _country(value: str) -> str:
    value = value.strip()
    if len(value) == 3 and value.isalpha():
        return countries.from_iso3(value.upper())
    return countries.from_name(value)


def load_episodes(path: Path) -> list[Episode]:
    """Read and validate an episodes file (see the module's docstring)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EpisodeError([f"{path}:0: file: cannot read: {exc}"]) from None
    reader = csv.reader(text.splitlines(keepends=True))
    header = next(reader, None)
    if header is None:
        raise EpisodeError([f"{path}:1: header: the file is empty"])
    names = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise EpisodeError([f"{path}:1: header: missing column(s) {', '.join(missing)} "
                            f"(expected {', '.join(COLUMNS)})"])
    problems: list[str] = []
    out: list[Episode] = []
    line = reader.line_num + 1
    for raw in reader:
        here, line = line, reader.line_num + 1
        if not raw or all(not v.strip() for v in raw):
            continue
        if len(raw) != len(names):
            problems.append(f"{path}:{here}: row: {len(raw)} field(s), the header has "
                            f"{len(names)}")
            continue
        row = dict(zip(names, raw, strict=True))
        found: dict[str, Any] = {}
        for column in ("country", "start", "end"):
            value = row[column].strip()
            if not value:
                problems.append(f"{path}:{here}: {column}: empty")
                continue
            try:
                found[column] = (_country(value) if column == "country"
                                 else date.fromisoformat(value))
            except countries.UnknownCountry as exc:
                problems.append(f"{path}:{here}: {column}: {exc}")
            except ValueError:
                problems.append(f"{path}:{here}: {column}: not a date (YYYY-MM-DD): {value!r}")
        if "start" in found and "end" in found and found["end"] < found["start"]:
            problems.append(f"{path}:{here}: end: before start ({found['start']})")
            continue
        if len(found) == 3:
            out.append(Episode(found["country"], row["admin1"].strip() or None, found["start"],
                               found["end"], row["label"].strip(), here))
    if problems:
        raise EpisodeError(problems)
    return out


def _kind(c: Candidate) -> PeriodKind:
    return "week" if (c.period_end - c.period_start).days == 6 else "month"


def matches(c: Candidate, e: Episode, lead: int = DEFAULT_LEAD) -> bool:
    if c.country != e.country:
        return False
    if e.admin1 is not None and c.admin1 is not None and \
            places.key(c.admin1) != places.key(e.admin1):
        return False  # "Batken" is "Batken province" is "batken"
    first = period_of(e.start, _kind(c)).shift(-lead).start
    return c.period_end >= first and c.period_start <= e.end


def score(alerts: Sequence[Candidate], episodes: Iterable[Episode], since: date, until: date,
          countries_seen: Iterable[str], lead: int = DEFAULT_LEAD) -> dict[str, Any]:
    """The backtest's figures against the episodes that overlap `since`..`until`."""
    chosen = [e for e in episodes if e.end >= since and e.start <= until]
    rows: list[dict[str, Any]] = []
    leads: list[int] = []
    matched: set[int] = set()
    for e in chosen:
        hits = [i for i, c in enumerate(alerts) if matches(c, e, lead)]
        matched.update(hits)
        first = min(hits, key=lambda i: alerts[i].period_start) if hits else None
        lead_time = None
        if first is not None:
            c = alerts[first]
            kind = _kind(c)
            lead_time = index_of(period_of(e.start, kind), period_of(c.period_start, kind))
            leads.append(lead_time)
        rows.append({"label": e.label, "country": e.country, "admin1": e.admin1,
                     "start": e.start.isoformat(), "end": e.end.isoformat(),
                     "detected": first is not None, "alerts": len(hits),
                     "first_alert": alerts[first].period_start.isoformat()
                     if first is not None else None, "lead_periods": lead_time})
    high = [i for i, c in enumerate(alerts) if c.severity >= 3]
    years = max((until - since).days + 1, 1) / 365.25
    seen = set(countries_seen) | {c.country for c in alerts}
    per_country = Counter(c.country for c in alerts)
    return {
        "episodes": len(chosen),
        "detected": sum(1 for r in rows if r["detected"]),
        "recall": _ratio(sum(1 for r in rows if r["detected"]), len(chosen)),
        "caught_by_first_period": sum(1 for t in leads if t >= 0),
        "lead_periods": {"mean": sum(leads) / len(leads) if leads else None,
                         "median": median(leads) if leads else None,
                         "min": min(leads) if leads else None,
                         "max": max(leads) if leads else None},
        "alerts": len(alerts),
        "precision": _ratio(len(matched), len(alerts)),
        "precision_high": _ratio(len(matched.intersection(high)), len(high)),
        "high_alerts": len(high),
        "alerts_per_country_year": (len(alerts) / (len(seen) * years)) if seen else 0.0,
        "alerts_per_country_year_by_country": {
            k: round(per_country.get(k, 0) / years, 3) for k in sorted(seen)},
        "lead_window_periods": lead,
        "by_episode": rows,
    }


def _ratio(n: int, d: int) -> float | None:
    return n / d if d else None
