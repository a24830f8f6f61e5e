"""Periods: ACLED's Saturday weeks and calendar months, on hand-checked dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskatlas.warning.periods import (
    ACLED_WEEK_ANCHOR,
    Period,
    index_of,
    period_end,
    period_of,
    period_start,
    periods_between,
    previous_periods,
)


@pytest.mark.parametrize(("day", "start", "end"), [
    # 2017-12-30 is a Saturday: it starts ACLED's first 2018 week, which ends Friday 2018-01-05
    (date(2017, 12, 30), date(2017, 12, 30), date(2018, 1, 5)),
    (date(2018, 1, 1), date(2017, 12, 30), date(2018, 1, 5)),  # a Monday
    (date(2018, 1, 5), date(2017, 12, 30), date(2018, 1, 5)),  # the Friday: same week
    (date(2018, 1, 6), date(2018, 1, 6), date(2018, 1, 12)),  # the next Saturday: next week
    # Thursday 2021-04-29 (Golovnoy fighting): 2021-05-01 was a Saturday, so the week is 04-24
    (date(2021, 4, 29), date(2021, 4, 24), date(2021, 4, 30)),
    # Wednesday 2022-09-14 (Batken fighting): Saturday 2022-09-10 .. Friday 2022-09-16
    (date(2022, 9, 14), date(2022, 9, 10), date(2022, 9, 16)),
    # a leap day, Thursday 2024-02-29: Saturday 02-24 .. Friday 03-01
    (date(2024, 2, 29), date(2024, 2, 24), date(2024, 3, 1)),
])
def test_acled_weeks(day: date, start: date, end: date) -> None:
    week = period_of(day, "week")
    assert week == Period("week", start)
    assert week.end == end == period_end(week)
    assert period_start(day, "week") == start


@pytest.mark.parametrize(("day", "start", "end"), [
    (date(2024, 2, 29), date(2024, 2, 1), date(2024, 2, 29)),  # leap February
    (date(2023, 2, 1), date(2023, 2, 1), date(2023, 2, 28)),
    (date(2022, 12, 31), date(2022, 12, 1), date(2022, 12, 31)),
    (date(2021, 4, 30), date(2021, 4, 1), date(2021, 4, 30)),
])
def test_months(day: date, start: date, end: date) -> None:
    month = period_of(day, "month")
    assert (month.start, month.end) == (start, end)


def test_shift_crosses_years() -> None:
    assert Period("month", date(2022, 12, 1)).shift(1) == Period("month", date(2023, 1, 1))
    assert Period("month", date(2024, 1, 1)).shift(-1) == Period("month", date(2023, 12, 1))
    assert Period("month", date(2024, 3, 1)).shift(-14) == Period("month", date(2023, 1, 1))
    assert Period("week", ACLED_WEEK_ANCHOR).shift(1) == Period("week", date(2018, 1, 6))
    assert Period("week", date(2018, 1, 6)).shift(-1).start == ACLED_WEEK_ANCHOR


def test_iteration_and_previous_periods() -> None:
    # Monday 2018-01-01 is in the week of 2017-12-30; 2018-01-20 is a Saturday
    weeks = list(periods_between(date(2018, 1, 1), date(2018, 1, 20), "week"))
    assert [w.start for w in weeks] == [date(2017, 12, 30), date(2018, 1, 6), date(2018, 1, 13),
                                        date(2018, 1, 20)]
    assert list(periods_between(date(2018, 2, 1), date(2018, 1, 1), "week")) == []
    months = list(periods_between(date(2022, 11, 15), date(2023, 2, 3), "month"))
    assert [m.start for m in months] == [date(2022, 11, 1), date(2022, 12, 1), date(2023, 1, 1),
                                         date(2023, 2, 1)]
    week = Period("week", date(2018, 1, 6))
    assert [p.start for p in previous_periods(week, 2)] == [date(2017, 12, 23),
                                                            date(2017, 12, 30)]
    assert previous_periods(week, 0) == []
    with pytest.raises(ValueError):
        previous_periods(week, -1)


def test_index_of() -> None:
    # 2017-12-30 .. 2018-12-29 is 364 days: 52 weeks, the 2019 ACLED year starts at index 52
    first = Period("week", ACLED_WEEK_ANCHOR)
    assert index_of(period_of(date(2018, 12, 29), "week"), first) == 52
    assert index_of(period_of(date(2017, 12, 29), "week"), first) == -1
    assert index_of(Period("month", date(2023, 2, 1)), Period("month", date(2021, 11, 1))) == 15
    with pytest.raises(ValueError):
        index_of(first, Period("month", date(2018, 1, 1)))


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="week, month"):
        period_of(date(2020, 1, 1), "day")  # type: ignore[arg-type]


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)))
def test_every_day_is_in_one_saturday_week_and_one_month(day: date) -> None:
    week = period_of(day, "week")
    assert week.start.weekday() == 5 and week.start <= day <= week.end
    assert week.end - week.start == timedelta(days=6)
    assert (week.start - ACLED_WEEK_ANCHOR).days % 7 == 0
    assert week.shift(1).start == week.end + timedelta(days=1)
    month = period_of(day, "month")
    assert month.start.day == 1 and month.start <= day <= month.end
    assert month.shift(1).start == month.end + timedelta(days=1)
