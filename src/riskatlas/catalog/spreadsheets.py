"""Spreadsheets: CSV files and XLSX workbooks, one table per record kind (docs/catalog-format.md,
"Spreadsheets").

Both share one layout: texts one column per language (`title.en`), lists as `;`-separated
values, nested fields as JSON, numbers as numbers, formula prefixes neutralised, cells bounded.
A workbook holds one sheet per kind (actors, risks, measures) with the columns of CSV. openpyxl
is imported only when a workbook is read or written (it costs a tenth of a second on every start
of the command otherwise).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from riskatlas.catalog.files import (
    SECTIONS,
    FileError,
    Item,
    LimitError,
    Problem,
    load_json,
    section_of,
    sheet_position,
)

LIST_COLUMNS = {"states", "actors", "measures", "risks", "rejected_measures"}
# Nested fields, one JSON cell each. `regional` and `effect` are written otherwise (derived;
# two number columns) but read as JSON too.
JSON_COLUMNS = {"drivers", "warning_signs", "sources", "assessments", "sharing", "links",
                "regional", "effect"}
NUMBER_COLUMNS = {"version", "progress", "effect.likelihood", "effect.impact"}
TEXT_FIELDS = {"title", "summary", "rationale", "name"}

# The most one cell (a text or a JSON list of sources) may hold, in characters: well above any
# real record, and a bound on what one hostile cell costs. The csv module's own default (128 Ki)
# is below what long texts need, and past it the reader raised instead of reporting.
CELL_LIMIT = 1024 * 1024
csv.field_size_limit(CELL_LIMIT)

# OWASP "CSV injection": a cell starting with one of these is a formula (or becomes one) when a
# spreadsheet opens the file. Export puts a ' in front; import takes exactly that one off.
FORMULA_PREFIXES = frozenset("=+-@\t\r")
# At most the digits int() reads (sys.int_info): a longer number stays text, and validation
# refuses it as a number (found by tests/catalog/test_fuzz_import.py).
_INTEGER = re.compile(r"-?\d{1,4300}")
_SPLIT = re.compile(r"[;,]")  # keys and state codes hold neither

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel holds at most this many characters in a cell, and openpyxl cuts longer texts without a
# word: export refuses them instead of writing a file that silently lost text.
SHEET_CELL_LIMIT = 32_767
# Uncompressed bytes of all parts of a workbook read: a bound on a zip bomb (the largest real
# catalog, 40,000 records, unpacks to a few hundred megabytes). The sizes a zip declares bound
# what zipfile will inflate, so checking them is enough.
ARCHIVE_LIMIT = 1024 ** 3

# --- Tables (CSV and XLSX): one per section, nested fields flattened ---------------------------


def neutralise(value: str) -> str:
    """A leading ' on a text a spreadsheet would run as a formula (OWASP CSV injection).

    Quotes already in front count as part of the prefix (`'=x` is written `''=x`): import takes
    exactly one quote off a cell that starts, after its quotes, with a formula character, so
    every text reads back as it was.
    """
    if value and (value[0] in FORMULA_PREFIXES
                  or value[0] == "'" and value.lstrip("'")[:1] in FORMULA_PREFIXES):
        return "'" + value
    return value


def restore(value: str) -> str:
    """The text that `neutralise` was given."""
    if value[:1] == "'" and value.lstrip("'")[:1] in FORMULA_PREFIXES:
        return value[1:]
    return value


UNKNOWN_TABLE = ("cannot tell whether the table holds risks (a 'domain' column), measures "
                 "('treatment') or actors ('kind' and 'name.en')")
TOO_LONG = f"a cell longer than {CELL_LIMIT:,} characters (1 MiB), the most one cell may hold"


def read_csv(name: str, text: str) -> list[Item]:
    # The decoder took a BOM off; a second one is left by tools that read the file's BOM as
    # text and wrote it back with one of their own.
    text = text.lstrip("\ufeff")
    # Spreadsheets in many locales save with ';' (or tabs) between cells. The header names
    # hold none of these characters, so the most frequent one in it is the delimiter
    # (csv.Sniffer guesses from the data rows too, and JSON cells mislead it).
    header_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    items: list[Item] = []
    problems: list[Problem] = []
    line = 1  # where the row being read starts (a quoted cell may hold line breaks)
    try:
        header = [col.strip() for col in next(reader, [])]
        section = section_of(header)
        if section is None:
            raise FileError([Problem(name, 1, "header", UNKNOWN_TABLE)])
        problems += header_problems(name, header)
        line = reader.line_num + 1
        for cells in reader:
            item, row_problems = row_item(name, section, header, len(items), line, cells)
            problems += row_problems
            if item is not None:
                items.append(item)
            line = reader.line_num + 1
    except csv.Error as exc:  # the rest of the file cannot be read reliably: stop here
        too_long = "field larger than field limit" in str(exc)
        problems.append(Problem(name, line, "cell" if too_long else "file",
                                TOO_LONG if too_long else f"invalid CSV: {exc}"))
    if problems:
        raise FileError(problems, items)
    return items


def header_problems(name: str, header: Sequence[str]) -> list[Problem]:
    seen: set[str] = set()
    problems: list[Problem] = []
    for column in header:
        if column and column in seen:
            problems.append(Problem(name, 1, column, "the column appears twice"))
        seen.add(column)
    return problems


def row_item(
    name: str, section: str, header: Sequence[str], index: int, line: int, cells: Sequence[Any],
) -> tuple[Item | None, list[Problem]]:
    """The record of one table row (None for a blank row) and the problems of its cells."""
    if all(cell is None or isinstance(cell, str) and not cell.strip() for cell in cells):
        return None, []
    record: dict[str, Any] = {}
    problems: list[Problem] = []
    broken: set[str] = set()
    for position, raw in enumerate(cells):
        column = header[position] if position < len(header) else ""
        value = _cell(column, raw)
        if value is None:
            continue
        if not column:
            problems.append(Problem(name, line, f"column {position + 1}",
                                    "a value in a column without a header"))
        elif isinstance(value, str) and len(value) > CELL_LIMIT:
            problems.append(Problem(name, line, column, TOO_LONG))
            broken.add(column.partition(".")[0])
        else:
            try:
                _put(record, column, value)
            except ValueError as exc:
                problems.append(Problem(name, line, column, str(exc)))
                broken.add(column.partition(".")[0])
    return Item(section, record, name, index, line=line, broken=broken), problems


def _cell(column: str, raw: Any) -> Any:
    """The value of a cell as a record holds it; None for an empty one. Workbook cells may be
    numbers or dates: in a text column they read as the text a person typed."""
    if raw is None:
        return None
    if isinstance(raw, str):
        value = restore(raw).strip()
        if not value:
            return None
        if column in NUMBER_COLUMNS and _INTEGER.fullmatch(value):
            return int(value)
        return value
    if isinstance(raw, bool):
        return raw if column in NUMBER_COLUMNS else str(raw).lower()
    if isinstance(raw, int | float):
        whole = float(raw).is_integer()
        if column in NUMBER_COLUMNS:
            return int(raw) if whole else raw
        return str(int(raw)) if whole else repr(raw)
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat() if raw.time() == dt.time() else raw.isoformat()
    if isinstance(raw, dt.date | dt.time):
        return raw.isoformat()
    return str(raw)


def _put(record: dict[str, Any], column: str, value: Any) -> None:
    if "." in column:
        head, _, sub = column.partition(".")
        target = record.setdefault(head, {})
        if not isinstance(target, dict):
            raise ValueError(f"{head!r} is also given as a whole")
        target[sub] = _list(value) if head == "sharing" and isinstance(value, str) else value
    elif column in LIST_COLUMNS and isinstance(value, str):
        record[column] = _list(value)
    elif column in JSON_COLUMNS and isinstance(value, str):
        record[column] = _json(value)
    else:
        record[column] = value


def _list(value: str) -> Any:
    if value.startswith("["):  # a JSON list, as earlier exports and other tools write them
        return _json(value)
    return [part.strip() for part in _SPLIT.split(value) if part.strip()]


def _json(value: str) -> Any:
    try:
        return load_json(value)  # bounded as a JSON file is (nesting, digits)
    except LimitError as exc:
        raise ValueError(f"{exc.msg} (character {exc.pos + 1})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON in cell: {exc.msg} (character {exc.pos + 1})") from None


def _flatten(record: dict[str, Any], languages: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key in TEXT_FIELDS and isinstance(value, dict):
            for lang in languages:
                row[f"{key}.{lang}"] = value.get(lang, "")
        elif key in TEXT_FIELDS and value is None:
            continue
        elif key == "effect" and isinstance(value, dict):
            row["effect.likelihood"] = value.get("likelihood", 0)
            row["effect.impact"] = value.get("impact", 0)
        elif key in LIST_COLUMNS and isinstance(value, list):
            row[key] = ";".join(map(str, value))
        elif key == "sharing" and isinstance(value, dict) and not any(value.values()):
            row[key] = ""  # no grants: an empty cell rather than three empty lists
        elif isinstance(value, dict | list):
            row[key] = json.dumps(value, ensure_ascii=False) if value else ""
        else:
            row[key] = "" if value is None else value
    return row


def table(records: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """The header and rows of records as a spreadsheet holds them: one column per language of
    each text, texts neutralised (see `neutralise`), numbers as numbers, "" for an empty cell."""
    languages: list[str] = []
    for record in records:
        for key in TEXT_FIELDS:
            for lang in record.get(key) or {}:
                if lang not in languages:
                    languages.append(lang)
    flat = [_flatten(r, languages) for r in records]
    header: list[str] = []
    seen: set[str] = set()
    for row in flat:
        for column in row:
            if column not in seen:
                seen.add(column)
                header.append(column)
    rows = [[_written(row.get(column, "")) for column in header] for row in flat]
    return header, rows


def _written(value: Any) -> Any:
    return neutralise(value) if isinstance(value, str) else value


def write_csv(records: list[dict[str, Any]], out: IO[str]) -> None:
    """Records as CSV (see `table`). The caller chooses the encoding: files and downloads are
    written with a BOM (utf-8-sig), without which Excel reads UTF-8 as the locale's code page."""
    header, rows = table(records)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


# --- Workbooks ---------------------------------------------------------------------------------

# OOXML text (ST_Xstring) writes characters XML cannot hold as _xHHHH_ ("\r" would otherwise come
# back as "\n"), and a literal "_xHHHH_" as "_x005F_xHHHH_". Excel and LibreOffice read and write
# it so; openpyxl does neither, so it is done here, both ways.
_ESCAPED = re.compile(r"_x[0-9A-Fa-f]{4}_")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")

class SheetError(ValueError):
    """A catalog that a workbook cannot hold as it is; `problems` names every cell."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _escape(text: str) -> str:
    if "_x" in text:
        text = _ESCAPED.sub(lambda m: "_x005F" + m.group(0), text)
    if _CONTROL.search(text):
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)
    return text


def cell_length(text: str) -> int:
    """The characters `text` takes in a workbook cell, escapes included (what
    SHEET_CELL_LIMIT bounds): a carriage return or control character is 7 there."""
    return len(_escape(text))


def _unescape(text: str) -> str:
    if "_x" not in text:
        return text
    return _ESCAPED.sub(lambda m: chr(int(m.group(0)[2:6], 16)), text)


def write_xlsx(doc: dict[str, list[dict[str, Any]]], out: Path | IO[bytes]) -> None:
    """The catalog as a workbook: sheets actors, risks and measures, a header row each."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)  # streams rows: 40,000 records fit in little memory
    problems: list[str] = []
    bold = Font(bold=True)
    for section in SECTIONS:
        header, rows = table(doc.get(section) or [])
        sheet = workbook.create_sheet(section)
        sheet.freeze_panes = "A2"
        for number, column in enumerate(header, start=1):
            wide = column.split(".")[0] in {"title", "summary", "rationale", "name"}
            sheet.column_dimensions[get_column_letter(number)].width = 40 if wide else 14
        if header:
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
        heading = []
        for column in header:
            cell = WriteOnlyCell(sheet, value=column)
            cell.font = bold
            heading.append(cell)
        sheet.append(heading)
        key_at = header.index("key") if "key" in header else None
        for number, row in enumerate(rows, start=2):
            values = []
            for column, value in zip(header, row, strict=True):
                if isinstance(value, str):
                    value = _escape(value)
                    if len(value) > SHEET_CELL_LIMIT:
                        key = row[key_at] if key_at is not None else "?"
                        problems.append(f"{section}!{number}: {key}: {column}: {len(value):,} "
                                        f"characters; an XLSX cell holds at most "
                                        f"{SHEET_CELL_LIMIT:,} (export CSV, JSON or YAML)")
                    value = value or None  # an empty cell, not an empty text
                values.append(value)
            sheet.append(values)
    if problems:
        raise SheetError(problems)
    workbook.save(out)


def read_xlsx(path: Path) -> list[Item]:
    """Records of every sheet of a workbook; raise FileError naming sheet and row of problems.

    A sheet named actors, risks or measures holds that kind; any other sheet is told by its
    header, as a CSV file is. Cells read as values: a formula gives the value it showed.
    """
    from openpyxl import load_workbook

    name = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            size = sum(info.file_size for info in archive.infolist())
        if size > ARCHIVE_LIMIT:
            raise FileError([Problem(name, 0, "file", f"the workbook unpacks to {size:,} bytes, "
                                     f"more than the {ARCHIVE_LIMIT:,} read")])
        workbook = load_workbook(path, read_only=True, data_only=True)
    except FileError:
        raise
    except OSError as exc:
        raise FileError([Problem(name, 0, "file", exc.strerror or str(exc))]) from None
    except Exception as exc:  # a broken or hostile file may fail anywhere in the zip/XML stack
        raise FileError([Problem(name, 0, "file", f"not a readable XLSX workbook "
                                 f"({type(exc).__name__}: {exc})")]) from None
    items: list[Item] = []
    problems: list[Problem] = []
    try:
        for sheet in workbook.worksheets:
            _read_sheet(name, sheet, items, problems)
    except Exception as exc:  # as above: malformed sheet XML shows only while rows are read
        problems.append(Problem(name, 0, "file", f"not a readable XLSX workbook "
                                f"({type(exc).__name__}: {exc})"))
    finally:
        workbook.close()
    if problems:
        raise FileError(problems, sorted(items, key=lambda item: SECTIONS.index(item.section)))
    return sorted(items, key=lambda item: SECTIONS.index(item.section))  # actors first


def _read_sheet(name: str, sheet: Any, items: list[Item], problems: list[Problem]) -> None:
    position = sheet_position(name, sheet.title)
    sheet.reset_dimensions()  # some writers record wrong dimensions, which read-only trusts
    rows = sheet.iter_rows(values_only=True)
    first = next(rows, None)
    header = ["" if c is None else _unescape(str(c)).strip() for c in first or ()]
    if not any(header):
        if any(any(c is not None for c in row) for row in rows):
            problems.append(Problem(position, 1, "header", "the first row must name the columns"))
        return
    title = sheet.title.strip().lower()
    section = title if title in SECTIONS else section_of(header)
    if section is None:
        problems.append(Problem(position, 1, "header", f"{UNKNOWN_TABLE}; or name the sheet "
                                "actors, risks or measures"))
        return
    problems += header_problems(position, header)
    count = 0
    for number, cells in enumerate(rows, start=2):
        values = [_unescape(c) if isinstance(c, str) else c for c in cells]
        item, row_problems = row_item(position, section, header, count, number, values)
        problems += row_problems
        if item is not None:
            items.append(item)
            count += 1
