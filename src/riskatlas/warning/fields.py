"""Reading one field of an event file: each reader returns the value or raises RowError naming
the column and the reason, which the import reports as `file:line: column: reason`."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache

INT_MAX = 2**31 - 1  # the events table's integer columns
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+")


class RowError(ValueError):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")
        self.column, self.reason = column, reason


class RowSkipped(Exception):
    """A well-formed row that is not an event the store can hold (a GDELT event placed in no
    country): left out and counted, not reported as a problem."""


Row = Mapping[str, str]


def text(row: Row, column: str, max_len: int | None = None, required: bool = False) -> str | None:
    value = (row.get(column) or "").strip()
    if not value:
        if required:
            raise RowError(column, "required, but empty")
        return None
    if max_len is not None and len(value) > max_len:
        raise RowError(column, f"longer than {max_len} characters")
    return value


def required(row: Row, column: str, max_len: int | None = None) -> str:
    value = text(row, column, max_len, required=True)
    assert value is not None
    return value


def integer(row: Row, column: str, required: bool = False, minimum: int = 0) -> int | None:
    value = text(row, column, required=required)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        # Some exports write whole numbers as decimals ("3.0")
        try:
            real = float(value)
        except ValueError:
            raise RowError(column, f"not a whole number: {value!r}") from None
        if not real.is_integer():
            raise RowError(column, f"not a whole number: {value!r}") from None
        number = int(real)
    if number < minimum or number > INT_MAX:
        raise RowError(column, f"{number} is out of range ({minimum} to {INT_MAX})")
    return number


def real(row: Row, column: str, low: float, high: float) -> float | None:
    value = text(row, column)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        # A spreadsheet in a Russian (or most European) locale writes the decimal comma:
        # "40,0628". One comma between digits reads so; anything else is refused.
        if not _DECIMAL_COMMA.fullmatch(value):
            raise RowError(column, f"not a number: {value!r}") from None
        number = float(value.replace(",", "."))
    if math.isnan(number) or not low <= number <= high:
        raise RowError(column, f"{value} is out of range ({low:g} to {high:g})")
    return number


def latitude(row: Row, column: str) -> float | None:
    return real(row, column, -90.0, 90.0)


def longitude(row: Row, column: str) -> float | None:
    return real(row, column, -180.0, 180.0)


# ACLED writes dates three ways (docs/events.md): ISO, "16 May 2025", "12-September-22"; the
# abbreviated month names of the same shapes occur in hand-edited spreadsheets.
DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d-%B-%y", "%d %b %Y", "%d-%b-%y", "%d-%B-%Y",
                "%d-%b-%Y", "%d.%m.%Y")  # the last: a spreadsheet's Russian (or German) locale


@lru_cache(maxsize=65536)
def parsed(value: str, formats: tuple[str, ...]) -> date | None:
    # Cached: a file names few distinct days over many rows, and strptime was a fifth of the
    # reading time.
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def day(row: Row, column: str, formats: tuple[str, ...] = DATE_FORMATS) -> date:
    value = required(row, column)
    found = parsed(value, formats)
    if found is not None:
        return found
    raise RowError(column, f"not a date: {value!r} (expected e.g. 2023-01-31, 16 May 2025 or "
                           "12-September-22)" if formats is DATE_FORMATS else
                   f"not a date: {value!r} (expected {' or '.join(map(_shown, formats))})")


def _shown(fmt: str) -> str:
    return fmt.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")


def one_of(row: Row, column: str, allowed: Mapping[str, object] | frozenset[str],
           required_: bool = True) -> str | None:
    value = text(row, column, required=required_)
    if value is None or value in allowed:
        return value
    raise RowError(column, f"unknown value {value!r}")
