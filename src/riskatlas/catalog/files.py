"""Read and write catalog files (YAML, JSON, CSV, XLSX), keeping positions for error messages.

Positions are worked out only when a file has problems: composing a YAML node tree is far slower
than loading the data, and a valid file of 40,000 records must import in seconds.

Hostile files are refused before they cost anything (docs/catalog-format.md, "Limits"): YAML
aliases beyond ALIAS_BUDGET (each stands for a copy of everything it names, so a few hundred
bytes could expand to gigabytes), nesting deeper than NESTING_LIMIT (the parsers recurse:
100,000 levels would raise RecursionError, or crash), and numbers Python does not read.
(Text that is not text, NUL or a lone surrogate, is refused by the schemas: catalog.schemas.)

CSV and XLSX files are tables: their layout, reading and writing are in catalog.spreadsheets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import IO, Any

import yaml

SECTIONS = ("actors", "risks", "measures")
READABLE = (".csv", ".yaml", ".yml", ".json", ".xlsx")  # what a folder contributes
# Levels of lists and mappings a file (or a JSON cell) may nest: a catalog file needs 5.
NESTING_LIMIT = 64
TOO_DEEP = f"nested deeper than {NESTING_LIMIT} levels of lists and mappings"


class _TooDeep(yaml.YAMLError):
    def __init__(self, line: int) -> None:
        super().__init__(TOO_DEEP)
        self.line = line


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader that leaves dates as text, so a bad date is a validation problem with a
    position instead of a crash, and partial dates (2024-05) read the same as full ones.

    It also counts nesting while the node tree is composed: the composer (C in libyaml's
    binding) recurses once per level, and calls these two hooks around every node it reads
    (aliases excepted). Path resolvers, what the hooks are for, are not used here.
    """

    _depth = 0

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        self._depth += 1
        if self._depth > NESTING_LIMIT + 1:  # + 1: the scalars inside the deepest list
            mark = getattr(current_node, "start_mark", None)
            raise _TooDeep(mark.line + 1 if mark is not None else 0)

    def ascend_resolver(self) -> None:
        self._depth -= 1


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Writes a value as often as it appears: an export never holds anchors or aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


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
    # Fields whose cell could not be read (already a problem): validation says nothing more
    # about them, and checks the rest of the record.
    broken: set[str] = field(default_factory=set)

    def line_of(self, loc: Iterable[Any]) -> int:
        path = tuple(loc)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.line


class FileError(Exception):
    """Problems of files. `items`: the records that could still be read around broken cells,
    so that validation reports their problems in the same pass."""

    def __init__(self, problems: list[Problem], items: list[Item] | None = None):
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems
        self.items = items or []


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
                items += exc.items
    if problems:
        raise FileError(problems, items)
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
        from riskatlas.catalog.spreadsheets import read_csv

        return read_csv(name, text)
    if suffix == ".json":
        try:
            doc = load_json(text)
        except LimitError as exc:
            raise FileError([Problem(name, exc.lineno, "file", exc.msg)]) from None
        except json.JSONDecodeError as exc:
            problem = Problem(name, exc.lineno, "file", f"invalid JSON: {exc.msg}")
            raise FileError([problem]) from None
    elif suffix in {".yaml", ".yml"}:
        doc = _load_yaml(name, text)
    return _sections(name, doc)


class LimitError(json.JSONDecodeError):
    """Text that is valid JSON, or may be, but beyond what is read (NESTING_LIMIT, digits)."""


_STRING = re.compile(r'"[^"]*"')
_ESCAPED = re.compile(r'\\[\\"]')  # the escapes that could end a string early
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# Python reads integers of at most this many digits (sys.int_info); json.loads and the YAML
# constructor raise a bare ValueError past it.
_LONG_NUMBER = re.compile(r"\d{4301,}")


def load_json(text: str) -> Any:
    """json.loads, bounded: nesting beyond NESTING_LIMIT and numbers of more than 4,300 digits
    raise LimitError (a json.JSONDecodeError with the position) instead of RecursionError or a
    bare ValueError."""
    deep = _too_deep_at(text)
    if deep is not None:
        raise LimitError(TOO_DEEP, text, deep)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:
        raise LimitError("a number of more than 4,300 digits", text,
                         _position(_LONG_NUMBER, text)) from None


def _too_deep_at(text: str) -> int | None:
    """Where JSON text first nests deeper than NESTING_LIMIT; None if it does not. A scan of the
    text, not a parse (json.loads recurses), and a quick one: brackets outside strings, counted
    in C. A 90 MB export takes 0.3 s; only a text found too deep is walked token by token to
    name the place."""
    if text.count("[") + text.count("{") <= NESTING_LIMIT:
        return None
    bare = _ESCAPED.sub("", text) if "\\" in text else text
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", bare))
    if max(accumulate(map(_STEP.__getitem__, brackets)), default=0) <= NESTING_LIMIT:
        return None
    depth = 0
    for token in _TOKEN.finditer(text):
        depth += _STEP.get(token.group(), 0)
        if depth > NESTING_LIMIT:
            return token.start()
    return None  # unbalanced quotes misled the quick count: json.loads reports the text


def _position(pattern: re.Pattern[str], text: str) -> int:
    found = pattern.search(text)
    return found.start() if found else 0


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _load_yaml(name: str, text: str) -> Any:
    try:  # before anything walks the values (the constructor's error path does)
        refused = _alias_problem(text)
    except yaml.YAMLError:  # a syntax error: loading names it
        refused = None
    if refused is not None:
        raise FileError([Problem(name, *refused)])
    try:
        doc = yaml.load(text, Loader=_Loader)
    except _TooDeep as exc:
        raise FileError([Problem(name, exc.line, "file", TOO_DEEP)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise FileError([Problem(name, line, "file", f"invalid YAML: {exc}")]) from None
    except Exception as exc:  # noqa: BLE001 - a constructor's own error (`!!timestamp x`, int()
        # of 5,000 digits) is a bare ValueError, AttributeError, ...: a problem of the file too
        line, reason = _unreadable_value(text)
        raise FileError([Problem(name, line, "file", f"invalid YAML: {reason or exc}")]) from None
    return doc


def _unreadable_value(text: str) -> tuple[int, str | None]:
    """The line and reason of the first value that cannot be constructed (an error path: the
    node tree is composed, which refused aliases and deep nesting already, and walked)."""
    if _LONG_NUMBER.search(text):
        return _line(text, _position(_LONG_NUMBER, text)), "a number of more than 4,300 digits"
    loader = _Loader(text)
    try:
        stack = [loader.get_single_node()]
        seen: set[int] = set()  # an alias is the node it names: each is looked at once
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, yaml.ScalarNode):
                try:
                    loader.construct_object(node)
                except Exception as exc:  # noqa: BLE001 - see _load_yaml
                    tag = node.tag.removeprefix("tag:yaml.org,2002:")
                    detail = f" ({exc})" if isinstance(exc, ValueError) else ""
                    return (node.start_mark.line + 1,
                            f"{node.value[:60]!r} is not a valid !!{tag}{detail}")
            elif isinstance(node, yaml.SequenceNode):
                stack += reversed(node.value)
            elif isinstance(node, yaml.MappingNode):
                stack += reversed([part for pair in node.value for part in pair])
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()
    return 0, None


# An alias is `*name` where a value starts; `*` elsewhere (in a text) is only a candidate.
_ALIAS = re.compile(r"\*[^\s\[\]{},]")
# Values that aliases may repeat in one file, in all: a few copies of a record or a source
# (tools such as PyYAML write repeated values so) are fine, a billion are not.
ALIAS_BUDGET = 100_000


def _alias_problem(text: str) -> tuple[int, str, str] | None:
    """(line, field, reason) of the first alias of (valid) YAML text that repeats more than
    ALIAS_BUDGET values in all, nests beyond NESTING_LIMIT, or names the value it is in.

    Loading shares the value an alias names rather than copying it, but everything after
    (validation, positions, the database) walks each copy: `&a [*b, *b, ...]` nested nine deep
    is billions of values, and `&l [*l]` a value that contains itself. So the sizes are counted
    on the events, never expanded: each anchored value's size and height is known when it ends.
    Most files hold no `*` where a value could start; only those are parsed again to tell.
    """
    if not any(at == 0 or text[at - 1] in " \t\r\n[{,:-?" for at in
               (m.start() for m in _ALIAS.finditer(text))):
        return None
    sizes: dict[str, tuple[int, int]] = {}  # anchor: (values, levels) of what it names
    open_: list[list[Any]] = []  # per open collection: [values, levels below, anchor]
    repeated = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            anchor = str(event.anchor)
            line = event.start_mark.line + 1 if event.start_mark is not None else 0
            if anchor not in sizes:  # still open: the alias is inside what it names
                return line, "file", f"the YAML alias *{anchor} is inside the value it names"
            values, levels = sizes[anchor]
            repeated += values
            if repeated > ALIAS_BUDGET:
                return line, "file", (f"YAML aliases repeat more than {ALIAS_BUDGET:,} values "
                                      f"(*{anchor}): write the values out")
            if len(open_) + levels > NESTING_LIMIT + 1:
                return line, "file", f"{TOO_DEEP} (through the alias *{anchor})"
            child = (values, levels)
        elif isinstance(event, yaml.CollectionStartEvent):
            open_.append([1, 0, event.anchor])
            continue
        elif isinstance(event, yaml.CollectionEndEvent):
            values, below, anchor = open_.pop()
            child = (values, below + 1)
            if anchor is not None:
                sizes[anchor] = child
        elif isinstance(event, yaml.ScalarEvent):
            child = (1, 1)
            if event.anchor is not None:
                sizes[event.anchor] = child
        else:
            continue
        if open_:
            open_[-1][0] += child[0]
            open_[-1][1] = max(open_[-1][1], child[1])
    return None


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
    unknown = sorted(set(doc) - set(SECTIONS) - {"format", "version", "exported_at"}, key=str)
    problems += [Problem(name, 1, str(key), "unknown section") for key in unknown]
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


def section_of(header: Sequence[str]) -> str | None:
    """The kind of records a table (or a bare list of records) holds, told by its columns."""
    if "domain" in header:
        return "risks"
    if "treatment" in header:
        return "measures"
    if "kind" in header and any(str(col).startswith("name.") for col in header):
        return "actors"
    return None


def write_csv(records: list[dict[str, Any]], out: IO[str]) -> None:
    """Records as CSV, in the spreadsheet layout (catalog.spreadsheets.write_csv); here for the
    callers that import it with the other file functions."""
    from riskatlas.catalog.spreadsheets import write_csv as write

    write(records, out)


def dump_yaml(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


def iter_library_files(folder: Path) -> Iterator[Path]:
    yield from sorted(p for p in folder.iterdir() if p.suffix == ".yaml")
