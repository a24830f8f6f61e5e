"""The files an event import reads, as rows of text fields with the line each starts on.

- Plain text: CSV with a header (separated by commas, or by semicolons as a spreadsheet in
  a Russian or most European locales saves it), or GDELT's tab-separated export.
- One file compressed: `.gz`, or a `.zip` that holds one file (GDELT publishes its
  15-minute exports as `*.export.CSV.zip`). Line numbers are those of the file inside.
- An Excel workbook, `.xlsx` (ACLED publishes its aggregated regional files so): the first
  worksheet, read with python-calamine (Rust's calamine: 250,000 rows of ACLED's aggregated
  columns in about 5 s, six times faster than openpyxl's streaming reader: benchmarks/
  workbook_bench.py); a line is the sheet's row number, as Excel shows it. Cells become the
  text a CSV export of the sheet would hold: dates as ISO 8601, whole numbers without a
  decimal point.
- JSON as the sources' APIs answer (`.json`): ACLED's `{"data": [...]}`, UCDP's
  `{"Result": [...]}`, or a plain list of objects, each object a row by field name. The file
  is read whole (an API page is thousands of rows; use CSV for a whole history), and a "line"
  is the record's number in the list.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any, cast

import orjson

Rows = Iterator[tuple[int, list[str] | None, str | None]]  # (line, fields, or a problem)


class InputError(ValueError):
    """The file cannot be read at all (`reason` names why)."""


# what a truncated or corrupt archive raises while it is read (gzip's BadGzipFile is an OSError)
BROKEN = (OSError, EOFError, zipfile.BadZipFile, zlib.error)


def kind_of(path: Path) -> str:
    suffix = path.suffix.lower()
    return {".gz": "gz", ".zip": "zip", ".xlsx": "xlsx", ".json": "json"}.get(suffix, "plain")


def plain_suffix(path: Path) -> str:
    """The suffix of the text the file holds (for its quarantine file): `.CSV` for
    `x.export.CSV.zip`, `.csv` for a workbook."""
    kind = kind_of(path)
    if kind in ("xlsx", "json"):
        return ".csv"
    if kind in ("gz", "zip"):
        return Path(path.stem).suffix or ".csv"
    return path.suffix or ".csv"


class _Lines:
    """The text's lines for the csv module, counting the bytes read. Decoded line by line: a
    byte that is not of the encoding spoils its row only (as U+FFFD, which the row check
    reports), not the whole read."""

    def __init__(self, stream: IO[bytes], encoding: str = "utf-8") -> None:
        self.stream, self.bytes, self.encoding = stream, 0, encoding

    def __iter__(self) -> Iterator[str]:
        first = True
        for raw in self.stream:
            self.bytes += len(raw)
            if first:
                raw, first = raw.removeprefix(b"\xef\xbb\xbf"), False  # Excel's UTF-8 BOM
            yield raw.decode(self.encoding, errors="replace")


@contextmanager
def _binary(path: Path) -> Iterator[tuple[IO[bytes], Callable[[int], int]]]:
    """The file's text as bytes, and a function from the text's bytes read to the file's."""
    kind = kind_of(path)
    if kind == "plain":
        with path.open("rb") as stream:
            yield stream, lambda n: n
    elif kind == "gz":
        with path.open("rb") as raw, gzip.GzipFile(fileobj=raw) as unpacked:
            yield cast(IO[bytes], unpacked), lambda _n: raw.tell()
    else:
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise InputError(f"not a zip file ({exc})") from None
        with archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) != 1:
                raise InputError(f"the zip file holds {len(members)} files; give it one "
                                 "(or unpack it)")
            member = members[0]
            ratio = member.compress_size / max(member.file_size, 1)
            with archive.open(member) as stream:
                yield stream, lambda n: int(n * ratio)


@contextmanager
def unpacked(path: Path) -> Iterator[Path]:
    """The path of the file's text: the file itself, or its content unpacked to a scratch
    file (removed after) when it is compressed."""
    if kind_of(path) == "plain":
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="riskatlas-unpacked-") as folder:
        target = Path(folder) / "events.csv"
        try:
            with _binary(path) as (stream, _done), target.open("wb") as out:
                shutil.copyfileobj(stream, out, 1 << 22)
        except BROKEN as exc:
            raise InputError(f"cannot be read: {exc}") from None
        yield target


def text_rows(path: Path, delimiter: str, quoted: bool, max_field: int,
              progress: Callable[[int], None] | None, every: int,
              encoding: str = "utf-8") -> Rows:
    """The rows of a delimited text file (plain or compressed), each with its first line;
    a row the csv module refuses comes as its problem."""
    csv.field_size_limit(max_field)
    try:
        with _binary(path) as (stream, done):
            lines = _Lines(stream, encoding)
            text = iter(lines)
            first = next(text, None)
            if first is None:
                return
            if quoted and delimiter == "," and first.count(";") > first.count(","):
                # A spreadsheet saved the file in a locale whose list separator is ";"
                # (Russian, and most of Europe): the header tells.
                delimiter = ";"
            reader = csv.reader(itertools.chain([first], text), delimiter=delimiter,
                                quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE)
            line, count = 1, 0
            while True:
                try:
                    raw = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    yield line, None, f"row: {exc}"
                    line = reader.line_num + 1
                    continue
                yield line, raw, None
                line = reader.line_num + 1
                count += 1
                if progress is not None and count % every == 0:
                    progress(done(lines.bytes))
            if progress is not None:
                progress(done(lines.bytes))
    except BROKEN as exc:  # a truncated or corrupt archive
        raise InputError(f"cannot be read: {exc}") from None


def rows(path: Path, delimiter: str, quoted: bool, max_field: int,
         progress: Callable[[int], None] | None, every: int, encoding: str = "utf-8",
         sheet: Sheet | None = None) -> Rows:
    """The rows of any file an import reads, by its kind: a workbook (through `sheet`, read
    once, when given), an API's JSON, or delimited text."""
    kind = kind_of(path)
    if kind == "xlsx":
        return sheet.rows(progress, every) if sheet is not None else \
            sheet_rows(path, progress, every)
    if kind == "json":
        return json_rows(path)
    return text_rows(path, delimiter, quoted, max_field, progress, every, encoding)


def cell_text(value: Any) -> str:
    """A cell's value as the text a CSV export of the sheet would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


class Sheet:
    """A workbook read once: the first pass reads the sheet (sheet_rows) and keeps each row in
    a scratch CSV beside its row number; a later pass (the import's writing phase) reads that
    instead, with no second parse of the workbook. Use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.folder: tempfile.TemporaryDirectory[str] | None = None
        self.scratch: Path | None = None

    def __enter__(self) -> Sheet:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.folder is not None:
            self.folder.cleanup()

    def rows(self, progress: Callable[[int], None] | None, every: int) -> Rows:
        if self.scratch is not None:
            yield from self._again(progress, every)
            return
        self.folder = tempfile.TemporaryDirectory(prefix="riskatlas-sheet-")
        scratch = Path(self.folder.name) / "rows.csv"
        with scratch.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            for number, fields, problem in sheet_rows(self.path, progress, every):
                writer.writerow([number, *(fields or [])])
                yield number, fields, problem
        self.scratch = scratch  # only a sheet read to its end is read again from it

    def _again(self, progress: Callable[[int], None] | None, every: int) -> Rows:
        assert self.scratch is not None
        size, total = self.path.stat().st_size, max(self.scratch.stat().st_size, 1)
        csv.field_size_limit(max(csv.field_size_limit(), 1 << 24))  # as the sheet held them
        with self.scratch.open("rb") as stream:
            lines = _Lines(stream)
            for count, (number, *fields) in enumerate(csv.reader(lines), start=1):
                yield int(number), fields, None
                if progress is not None and count % every == 0:
                    progress(size * lines.bytes // total)
        if progress is not None:
            progress(size)


JSON_LISTS = ("data", "Result", "results")  # ACLED's API, UCDP's API, and a common name


def json_rows(path: Path) -> Rows:
    """The records of an API answer: first the field names (in the order the records first
    name them) as a header, then each record's values in that order."""
    try:
        document = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc})") from None
    records = document
    if isinstance(document, dict):
        records = next((document[k] for k in JSON_LISTS if isinstance(document.get(k), list)),
                       None)
    if not isinstance(records, list):
        raise InputError("JSON of neither a list of records nor an object holding one under "
                         f"{', '.join(repr(k) for k in JSON_LISTS)}")
    names = list(dict.fromkeys(k for r in records if isinstance(r, dict) for k in r))
    yield 1, names, None
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            yield number, None, f"row: a {type(record).__name__}, not an object of fields"
            continue
        values = [record.get(name) for name in names]
        if any(isinstance(v, (dict, list)) for v in values):
            nested = next(n for n, v in zip(names, values, strict=True)
                          if isinstance(v, (dict, list)))
            yield number, None, f"{nested}: a nested value, not a field"
            continue
        yield number, [cell_text(v) for v in values], None


def sheet_rows(path: Path, progress: Callable[[int], None] | None, every: int) -> Rows:
    """The rows of the workbook's first worksheet (row numbers as Excel shows them)."""
    from python_calamine import CalamineWorkbook  # imported here: only workbooks pay for it

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own kinds (zip, XML, password) and others
        raise InputError(f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        # The whole grid from A1, as Excel numbers it (calamine would otherwise start at the
        # first cell that holds something); values as Python dates, floats, text and booleans.
        grid = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # no sheet, or a sheet cut short or damaged
        raise InputError(f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    finally:
        book.close()
    size, total = path.stat().st_size, max(len(grid), 1)
    width: int | None = None  # the header's: the grid is as wide as its widest row
    for number, values in enumerate(grid, start=1):
        fields = [cell_text(v) for v in values]
        if not any(fields):
            yield number, [], None  # an empty row: a blank line
            continue
        if width is None:
            while fields[-1] == "":
                fields.pop()
            width = len(fields)
        elif len(fields) > width and not any(fields[width:]):
            fields = fields[:width]
        elif len(fields) < width:
            fields += [""] * (width - len(fields))
        yield number, fields, None
        if progress is not None and number % every == 0:
            progress(min(size, size * number // total))
    if progress is not None:
        progress(size)
