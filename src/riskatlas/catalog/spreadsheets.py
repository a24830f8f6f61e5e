"""XLSX workbooks: one sheet per record kind (actors, risks, measures) with the columns of CSV.

The table layout, formula neutralisation and cell limit are those of catalog.files; this module
adds what a workbook needs on top. openpyxl is imported only when a workbook is read or written
(it costs a tenth of a second on every start of the command otherwise).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import IO, Any

from riskatlas.catalog.files import (
    SECTIONS,
    UNKNOWN_TABLE,
    FileError,
    Item,
    Problem,
    header_problems,
    row_item,
    section_of,
    sheet_position,
    table,
)

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel holds at most this many characters in a cell, and openpyxl cuts longer texts without a
# word: export refuses them instead of writing a file that silently lost text.
SHEET_CELL_LIMIT = 32_767
# Uncompressed bytes of all parts of a workbook read: a bound on a zip bomb (the largest real
# catalog, 40,000 records, unpacks to a few hundred megabytes). The sizes a zip declares bound
# what zipfile will inflate, so checking them is enough.
ARCHIVE_LIMIT = 1024 ** 3

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
        raise FileError(problems)
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
