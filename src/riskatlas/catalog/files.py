"""Read and write catalog files (YAML, JSON, CSV), keeping line numbers for error messages.

Positions are worked out only when a file has problems: composing a YAML node tree is far slower
than loading the data, and a valid file of 40,000 records must import in seconds.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SECTIONS = ("actors", "risks", "measures")
LIST_COLUMNS = {"states", "actors", "measures", "risks"}
JSON_COLUMNS = {"drivers", "warning_signs", "sources", "assessments", "sharing"}
TEXT_FIELDS = {"title", "summary", "rationale", "name"}



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
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"


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


def read(path: Path) -> list[Item]:
    """Read one catalog file; raise FileError naming the position of a syntax problem."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileError([Problem(name, 0, "file", str(exc))]) from None
    suffix = path.suffix.lower()
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
    else:
        raise FileError([Problem(name, 0, "file", "expected a .yaml, .yml, .json or .csv file")])
    return _sections(name, doc)


def _sections(name: str, doc: Any) -> list[Item]:
    if isinstance(doc, list) and doc and all(isinstance(r, dict) for r in doc):
        # A bare list of records, as other tools export them: tell the kind by its fields.
        section = _section_of(list(doc[0]))
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


# --- CSV: one table per section, nested fields flattened -------------------------------------


def _section_of(header: list[str]) -> str | None:
    if "domain" in header:
        return "risks"
    if "treatment" in header:
        return "measures"
    if "kind" in header and any(col.startswith("name.") for col in header):
        return "actors"
    return None


def _read_csv(name: str, text: str) -> list[Item]:
    # Spreadsheets in many locales save with ';' (or tabs) between cells. The header names
    # hold none of these characters, so the most frequent one in it is the delimiter
    # (csv.Sniffer guesses from the data rows too, and JSON cells mislead it).
    header_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=header_line.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = reader.fieldnames or []
    section = _section_of(list(header))
    if section is None:
        raise FileError([Problem(name, 1, "header", "cannot tell whether the file holds risks "
                                 "(a 'domain' column), measures ('treatment') or actors "
                                 "('kind' and 'name.en')")])
    items: list[Item] = []
    problems: list[Problem] = []
    line = 2
    for index, row in enumerate(reader):
        record, row_problems = _unflatten(row, name, line)
        problems += row_problems
        items.append(Item(section, record, name, index, line=line))
        line = reader.line_num + 1
    if problems:
        raise FileError(problems)
    return items


def _unflatten(row: dict[str, Any], name: str, line: int) -> tuple[dict[str, Any], list[Problem]]:
    record: dict[str, Any] = {}
    problems: list[Problem] = []
    for column, raw in row.items():
        if column is None:
            problems.append(Problem(name, line, "row", "more cells than columns"))
            continue
        value = (raw or "").strip() if isinstance(raw, str) else raw
        if value in ("", None):
            continue
        if "." in column:
            head, _, sub = column.partition(".")
            record.setdefault(head, {})[sub] = int(value) if head == "effect" and value.isdigit() \
                else value
        elif column in LIST_COLUMNS:
            record[column] = [part.strip() for part in value.split(";") if part.strip()]
        elif column in JSON_COLUMNS:
            try:
                record[column] = json.loads(value)
            except json.JSONDecodeError as exc:
                problems.append(Problem(name, line, column, f"invalid JSON in cell: {exc.msg}"))
        elif column in {"progress", "version"} and value.lstrip("-").isdigit():
            record[column] = int(value)
        else:
            record[column] = value
    return record, problems


def _flatten(record: dict[str, Any], languages: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key in TEXT_FIELDS and isinstance(value, dict):
            for lang in languages:
                row[f"{key}.{lang}"] = value.get(lang, "")
        elif key == "effect" and isinstance(value, dict):
            row["effect.likelihood"] = value.get("likelihood", 0)
            row["effect.impact"] = value.get("impact", 0)
        elif key in LIST_COLUMNS:
            row[key] = ";".join(value)
        elif key in JSON_COLUMNS:
            row[key] = json.dumps(value, ensure_ascii=False) if value else ""
        else:
            row[key] = "" if value is None else value
    return row


def write_csv(records: list[dict[str, Any]], out: io.TextIOBase | Any) -> None:
    languages: list[str] = []
    for record in records:
        for key in TEXT_FIELDS:
            for lang in record.get(key) or {}:
                if lang not in languages:
                    languages.append(lang)
    rows = [_flatten(r, languages) for r in records]
    header: list[str] = []
    for row in rows:
        header += [col for col in row if col not in header]
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def dump_yaml(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


def iter_library_files(folder: Path) -> Iterator[Path]:
    yield from sorted(p for p in folder.iterdir() if p.suffix == ".yaml")
