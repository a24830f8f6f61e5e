"""Read and write catalog files (YAML, JSON, CSV, XLSX), keeping positions for error messages.

Positions are worked out only when a file has problems: composing a YAML node tree is far slower
than loading the data, and a valid file of 40,000 records must import in seconds.

CSV and XLSX share one table layout (docs/catalog-format.md, "Spreadsheets"): texts one column
per language (`title.en`), lists as `;`-separated values, nested fields as JSON, numbers as
numbers, and formula prefixes neutralised. The table code is here; the workbook part is in
catalog.spreadsheets (openpyxl is imported only when a workbook is read or written).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SECTIONS = ("actors", "risks", "measures")
LIST_COLUMNS = {"states", "actors", "measures", "risks", "rejected_measures"}
# Nested fields, one JSON cell each. `regional` and `effect` are written otherwise (derived;
# two number columns) but read as JSON too.
JSON_COLUMNS = {"drivers", "warning_signs", "sources", "assessments", "sharing", "links",
                "regional", "effect"}
NUMBER_COLUMNS = {"version", "progress", "effect.likelihood", "effect.impact"}
TEXT_FIELDS = {"title", "summary", "rationale", "name"}
READABLE = (".csv", ".yaml", ".yml", ".json", ".xlsx")  # what a folder contributes

# The most one cell (a text or a JSON list of sources) may hold, in characters: well above any
# real record, and a bound on what one hostile cell costs. The csv module's own default (128 Ki)
# is below what long texts need, and past it the reader raised instead of reporting.
CELL_LIMIT = 1024 * 1024
csv.field_size_limit(CELL_LIMIT)

# OWASP "CSV injection": a cell starting with one of these is a formula (or becomes one) when a
# spreadsheet opens the file. Export puts a ' in front; import takes exactly that one off.
FORMULA_PREFIXES = frozenset("=+-@\t\r")
_INTEGER = re.compile(r"-?\d+")
_SPLIT = re.compile(r"[;,]")  # keys and state codes hold neither


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader that leaves dates as text, so a bad date is a validation problem with a
    position instead of a crash, and partial dates (2024-05) read the same as full ones."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass
class Problem:
    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        # A workbook names its sheet as "book.xlsx:risks!" (see sheet_position): the row then
        # follows as in a spreadsheet's own references, "book.xlsx:risks!3".
        at = self.file if self.file.endswith("!") else f"{self.file}:"
        return f"{at}{self.line}: {self.field}: {self.reason}"


def sheet_position(path: Path | str, sheet: str) -> str:
    """The `file` of problems and items in one sheet of a workbook."""
    return f"{path}:{sheet}!"


@dataclass
class Item:
    """One record read from a file, with the line it starts on (0 until positions are known)."""

    section: str
    data: dict[str, Any]
    file: str
    index: int
    line: int = 0
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def line_of(self, loc: Iterable[Any]) -> int:
        path = tuple(loc)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.line


class FileError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


def read_paths(paths: Iterable[Path]) -> list[Item]:
    """Read files and folders as one batch; raise one FileError with every problem of every file.

    A folder contributes its catalog files (READABLE suffixes, not its subfolders) as
    `export --output DIR` writes them: actors first, then risks, then measures, then any other
    file by name. Lock files that spreadsheets leave beside an open file are skipped.
    """
    items: list[Item] = []
    problems: list[Problem] = []
    for path in paths:
        if not path.exists():
            problems.append(Problem(str(path), 0, "file", "no such file or folder"))
            continue
        files = _folder_files(path) if path.is_dir() else [path]
        if not files:
            problems.append(Problem(str(path), 0, "file", "no catalog files in this folder "
                                    f"(expected {', '.join(READABLE)})"))
        for file in files:
            try:
                items += read(file)
            except FileError as exc:
                problems += exc.problems
    if problems:
        raise FileError(problems)
    return items


def _folder_files(folder: Path) -> list[Path]:
    def order(path: Path) -> tuple[int, str]:
        stem = path.stem.lower()
        return (SECTIONS.index(stem) if stem in SECTIONS else len(SECTIONS), path.name)

    # "~$book.xlsx" (Excel) and ".~lock.book.csv#" (LibreOffice) are lock files, not data.
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in READABLE
                   and not p.name.startswith(("~$", "."))), key=order)


_OTHER_SUFFIXES = {
    ".xls": "old Excel workbooks (.xls) are not read: save it as .xlsx or as CSV UTF-8",
    ".xlsm": "workbooks with macros are not read: save it as .xlsx (no macros) or as CSV UTF-8",
    ".ods": "OpenDocument spreadsheets are not read: save it as .xlsx or as CSV UTF-8",
}


def read(path: Path) -> list[Item]:
    """Read one catalog file; raise FileError naming the position of a syntax problem."""
    name = str(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from riskatlas.catalog.spreadsheets import read_xlsx

        return read_xlsx(path)
    if suffix not in READABLE:
        reason = _OTHER_SUFFIXES.get(suffix, "expected a .yaml, .yml, .json, .csv or .xlsx file")
        raise FileError([Problem(name, 0, "file", reason)])
    text = _decoded(path, suffix)
    if suffix == ".csv":
        return _read_csv(name, text)
    if suffix == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            problem = Problem(name, exc.lineno, "file", f"invalid JSON: {exc.msg}")
            raise FileError([problem]) from None
    elif suffix in {".yaml", ".yml"}:
        try:
            doc = yaml.load(text, Loader=_Loader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 0
            raise FileError([Problem(name, line, "file", f"invalid YAML: {exc}")]) from None
    return _sections(name, doc)


def _decoded(path: Path, suffix: str) -> str:
    """The text of a file; one that is not UTF-8 is a problem naming the first bad byte."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileError([Problem(name, 0, "file", exc.strerror or str(exc))]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        hint = ('save it as "CSV UTF-8" (Excel) or with the character set "Unicode (UTF-8)" '
                "(LibreOffice)" if suffix == ".csv" else "save it as UTF-8")
        guess = " It looks like Windows-1251 (Cyrillic)." if _looks_cp1251(data) else ""
        reason = (f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                  f"{hint}.{guess}")
        raise FileError([Problem(name, line, "file", reason)]) from None


def _looks_cp1251(data: bytes) -> bool:
    """Most bytes decode as Windows-1251, so: do the non-ASCII ones read as Cyrillic letters?"""
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:
        return False
    other = [c for c in text if ord(c) > 127]
    return bool(other) and sum("\u0400" <= c <= "\u04ff" for c in other) >= 0.9 * len(other)


def _sections(name: str, doc: Any) -> list[Item]:
    if isinstance(doc, list) and doc and all(isinstance(r, dict) for r in doc):
        # A bare list of records, as other tools export them: tell the kind by its fields.
        section = section_of(list(doc[0]))
        if section is not None:
            doc = {section: doc}
    if not isinstance(doc, dict) or not any(key in doc for key in SECTIONS):
        raise FileError([Problem(name, 1, "file", "expected a mapping with risks, measures "
                                 "or actors lists")])
    items: list[Item] = []
    problems: list[Problem] = []
    for section in SECTIONS:
        records = doc.get(section) or []
        if not isinstance(records, list):
            problems.append(Problem(name, 1, section, "expected a list"))
            continue
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                problems.append(Problem(name, 0, f"{section}[{index}]", "expected a mapping"))
                continue
            items.append(Item(section, record, name, index))
    unknown = sorted(set(doc) - set(SECTIONS) - {"format", "version", "exported_at"})
    problems += [Problem(name, 1, key, "unknown section") for key in unknown]
    if problems:
        add_positions(items, Path(name))
        raise FileError(problems)
    return items


def add_positions(items: list[Item], path: Path) -> None:
    """Fill in line numbers (YAML and JSON): compose the node tree once and walk it."""
    if not items or items[0].lines or path.suffix.lower() == ".csv" or not path.is_file():
        return
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        text = text.replace("\t", " ")  # JSON is flow YAML except for tabs between tokens
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return
    if not isinstance(root, yaml.MappingNode):
        return
    sections = {k.value: v for k, v in root.value if isinstance(k, yaml.ScalarNode)}
    for item in items:
        node = sections.get(item.section)
        if isinstance(node, yaml.SequenceNode) and item.index < len(node.value):
            record = node.value[item.index]
            item.line = record.start_mark.line + 1
            _walk(record, (), item.lines)


def _walk(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, key.value)
            out[sub] = key.start_mark.line + 1
            _walk(value, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            out[(*path, i)] = value.start_mark.line + 1
            _walk(value, (*path, i), out)


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


def section_of(header: Sequence[str]) -> str | None:
    if "domain" in header:
        return "risks"
    if "treatment" in header:
        return "measures"
    if "kind" in header and any(col.startswith("name.") for col in header):
        return "actors"
    return None


UNKNOWN_TABLE = ("cannot tell whether the table holds risks (a 'domain' column), measures "
                 "('treatment') or actors ('kind' and 'name.en')")
TOO_LONG = f"a cell longer than {CELL_LIMIT:,} characters (1 MiB), the most one cell may hold"


def _read_csv(name: str, text: str) -> list[Item]:
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
        raise FileError(problems)
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
        else:
            try:
                _put(record, column, value)
            except ValueError as exc:
                problems.append(Problem(name, line, column, str(exc)))
    return Item(section, record, name, index, line=line), problems


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
        return json.loads(value)
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


def write_csv(records: list[dict[str, Any]], out: io.TextIOBase | Any) -> None:
    """Records as CSV (see `table`). The caller chooses the encoding: files and downloads are
    written with a BOM (utf-8-sig), without which Excel reads UTF-8 as the locale's code page."""
    header, rows = table(records)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def dump_yaml(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


def iter_library_files(folder: Path) -> Iterator[Path]:
    yield from sorted(p for p in folder.iterdir() if p.suffix == ".yaml")
