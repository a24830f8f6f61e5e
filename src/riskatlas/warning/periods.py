"""Periods of an indicator's series: ACLED weeks (Saturday to Friday) and calendar months.

ACLED labels its weekly aggregates with the Saturday that starts the week; 2017-12-30, a
Saturday, starts ACLED's first week of 2018. Every date falls in exactly one week and one month,
so a period is named by its kind and its first day. Written by hand (a few lines of date
arithmetic) because no calendar library has ACLED's Saturday weeks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

PeriodKind = Literal["week", "month"]
KINDS: tuple[PeriodKind, ...] = ("week", "month")

ACLED_WEEK_ANCHOR = date(2017, 12, 30)  # a Saturday: the start of ACLED's first 2018 week
_SATURDAY = 5  # date.weekday(): Monday 0 .. Sunday 6


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """One week (Saturday..Friday) or one calendar month, named by its first day."""

    kind: PeriodKind
    start: date

    @property
    def end(self) -> date:
        """The last day of the period (inclusive)."""
        return period_end(self)

    def shift(self, n: int) -> Period:
        """The period `n` periods later (earlier when `n` is negative)."""
        if self.kind == "week":
            return Period("week", self.start + timedelta(weeks=n))
        index = self.start.year * 12 + (self.start.month - 1) + n
        return Period("month", date(index // 12, index % 12 + 1, 1))

    def __str__(self) -> str:
        return f"{self.kind} {self.start.isoformat()}..{self.end.isoformat()}"


def _check(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"period must be one of {', '.join(KINDS)}, not {kind!r}")


def period_start(day: date, kind: PeriodKind) -> date:
    """The first day of the period that contains `day`."""
    _check(kind)
    if kind == "week":
        return day - timedelta(days=(day.weekday() - _SATURDAY) % 7)
    return day.replace(day=1)


def period_of(day: date, kind: PeriodKind) -> Period:
    """The week or month that contains `day`."""
    return Period(kind, period_start(day, kind))


def period_end(period: Period) -> date:
    """The last day (inclusive) of `period`."""
    if period.kind == "week":
        return period.start + timedelta(days=6)
    return period.shift(1).start - timedelta(days=1)


def periods_between(first: date, last: date, kind: PeriodKind) -> Iterator[Period]:
    """Every period from the one containing `first` to the one containing `last`, in order
    (nothing when `last` is before `first`)."""
    if last < first:
        return
    current = period_of(first, kind)
    stop = period_of(last, kind)
    while current <= stop:
        yield current
        current = current.shift(1)


def previous_periods(period: Period, n: int) -> list[Period]:
    """The `n` periods before `period`, oldest first (`period` itself is not included)."""
    if n < 0:
        raise ValueError(f"n must be zero or more, not {n}")
    return [period.shift(-k) for k in range(n, 0, -1)]


def index_of(period: Period, origin: Period) -> int:
    """How many periods `period` lies after `origin` (negative when before)."""
    if period.kind != origin.kind:
        raise ValueError(f"cannot compare a {period.kind} with a {origin.kind}")
    if period.kind == "week":
        return (period.start - origin.start).days // 7
    return ((period.start.year - origin.start.year) * 12
            + period.start.month - origin.start.month)
