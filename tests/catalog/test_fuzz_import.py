"""Fuzzing `riskatlas import` (issue 8): random text, plausible documents with values of any
type, and mutated exports of small.yaml, as YAML, JSON and CSV, imported over a database that
already holds small.yaml. Whatever the file, the import

- ends with exit status 0 (imported) or 2 (refused with problems), never a traceback, and never
  with a database error standing in for a problem of the file;
- takes less than a second (a bound on hangs and blow-ups, not a benchmark);
- writes all or nothing: a refused import leaves the export and every table as they were.

The loop runs on SQLite (a copy of one prepared database per example keeps it fast and the
examples independent); test_a_postgres_smoke_example runs hostile inputs on PostgreSQL.
Examples are derandomized, so the suite is repeatable; RISKATLAS_FUZZ_EXAMPLES=1000 runs more,
with a fresh random seed each time.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import sqlite3
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect, text

from riskatlas.db import get_engine
from tests.conftest import audit_verified
from tests.helpers import SMALL, cli, export, load

pytestmark = pytest.mark.audited  # issue 8: the audit chain holds after each test

EXAMPLES = int(os.environ.get("RISKATLAS_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize="RISKATLAS_FUZZ_EXAMPLES"
                not in os.environ, database=None, suppress_health_check=list(HealthCheck))
HANG = 1.0  # seconds one import may take
WATCHDOG = 10.0  # past this an import is stopped where it hangs (its traceback fails the test)


def _hung(signum: int, frame: Any) -> None:
    raise TimeoutError(f"the import ran for {WATCHDOG:.0f} s")

FIELDS = ["risks", "measures", "actors", "key", "title", "summary", "category", "domain",
          "states", "likelihood", "impact", "rationale", "trend", "horizon", "drivers",
          "warning_signs", "sources", "assessments", "tlp", "status", "owner", "sharing",
          "measures", "rejected_measures", "links", "level", "version", "kind", "treatment",
          "lead", "effect", "start", "end", "progress", "name", "en", "ru", "kk", "groups",
          "orgs", "users", "url", "published", "publisher", "state", "format"]
WORDS = ["CA-TST-001", "CA-TST-002", "CA-MSR-900", "CA-MSR-901", "ISKP", "KGZ", "TJK", "KAZ",
         "XXX", "C5-SEC", "KGZ-SC", "High", "VH", "very low", "5", "0", "-1", "2147483648",
         "traditional", "borders", "cyber", "prevention", "reduce", "implemented", "red",
         "amber+strict", "AMBER", "clear", "2024-05", "2024-02-30", "1e999", "NaN",
         "https://example.org/x", "=1+1", "'=x", "", " ", "\t", "Ж", "_x000D_", "null"]
# Pieces that broke, or could break, a reader: aliases, nesting, tags, escapes, huge numbers.
NASTY = ["*a", "&a ", "&a [*a]", "<<: *a", "[" * 300, "{" * 100, "]", "}", '"', "'", "\\",
         "\\ud800", "\\udc00", "\\u0000", "\\0", "\x00", "\ufeff", "\r", "\r\n", "\n", "\t",
         ";", ",", ": ", "- ", "? ", "!!timestamp x", "!!binary ***", "!!set ", "!!int x",
         "!!python/object/apply:os.system ['true']", "---\n", "...\n", "%YAML 1.1\n", "\u2028",
         "9" * 5000, "9" * 40, "1e999", "-0", "0x7fffffffffffffff", "~", "@", "=", "+",
         "_x0000_", "A" * 40_000, '"' + "[" * 5000 + '"', "|\n  x", ">-\n  y"]


# --- the database every example starts from ---------------------------------------------------


class Start:
    """A SQLite database holding small.yaml, its export and row counts, copied per example."""

    def __init__(self, db_url: str, folder: Path) -> None:
        load(db_url, SMALL)
        get_engine(db_url).dispose()
        self.path = Path(db_url.removeprefix("sqlite:///"))
        self.folder = folder
        self.export = export(db_url)
        self.counts = _counts(db_url)
        self.texts = _exports(db_url, folder)

    def fresh(self) -> str:
        copy = self.folder / f"{uuid.uuid4().hex}.db"
        with sqlite3.connect(self.path) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        source.close()
        target.close()
        return f"sqlite:///{copy}"


def _counts(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)  # not the app's cached engine: this one is disposed here
    try:
        with engine.connect() as conn:
            return {name: conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
                    for name in inspect(conn).get_table_names()}
    finally:
        engine.dispose()


def _exports(db_url: str, folder: Path) -> dict[str, list[str]]:
    """Valid files to mutate: the export as YAML and JSON, and each table as CSV."""
    out: dict[str, list[str]] = {}
    for fmt in ("yaml", "json"):
        result = cli("export", "--format", fmt, "--db", db_url)
        assert result.exit_code == 0, result.output
        out[fmt] = [result.stdout]
    tables = folder / "tables"
    assert cli("export", "--format", "csv", "--output", str(tables), "--db", db_url).exit_code == 0
    out["csv"] = [(tables / f"{name}.csv").read_text(encoding="utf-8-sig")
                  for name in ("risks", "measures", "actors")]
    return out


@pytest.fixture
def start(db_url: str, tmp_path: Path) -> Start:
    return Start(db_url, tmp_path)


def _timed_import(path: Path, url: str) -> tuple[Any, float]:
    began = time.perf_counter()
    previous = signal.signal(signal.SIGALRM, _hung)
    signal.setitimer(signal.ITIMER_REAL, WATCHDOG)
    try:
        result = cli("import", str(path), "--db", url)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return result, time.perf_counter() - began


def check_import(start: Start, suffix: str, data: bytes, db_url: str | None = None) -> None:
    """Import one file over the start database: 0 or 2, within HANG seconds, all or nothing."""
    url = db_url or start.fresh()
    path = start.folder / f"fuzz-{uuid.uuid4().hex[:8]}.{suffix}"
    path.write_bytes(data)
    try:
        result, took = _timed_import(path, url)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            pytest.fail("".join(traceback.format_exception(*result.exc_info))[-3000:])
        assert result.exit_code in {0, 2}, result.output[-3000:]
        assert "cannot use the database" not in result.output, result.output[-3000:]
        if took >= HANG:  # once more: a slow input is slow again, a busy machine is not
            again = start.fresh() if db_url is None else db_url
            took = min(took, _timed_import(path, again)[1])
            if db_url is None:
                get_engine(again).dispose()
                Path(again.removeprefix("sqlite:///")).unlink()
        assert took < HANG, f"{took:.2f} s for {len(data):,} bytes"
        if result.exit_code == 2:
            assert "nothing was written" in result.output, result.output[-3000:]
            assert export(url) == start.export
            if url.startswith("sqlite"):
                assert _counts(url) == start.counts
        audit_verified(url)
    finally:
        path.unlink()
        if db_url is None:
            get_engine(url).dispose()
            Path(url.removeprefix("sqlite:///")).unlink()


# --- strategies ------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-2**70, max_value=2**70),
    st.floats(), st.text(max_size=30), st.sampled_from(WORDS), st.sampled_from(NASTY))
keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=8), st.sampled_from(WORDS))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)), max_leaves=25)


@st.composite
def records(draw: st.DrawFn, start: Start, section: str) -> dict[str, Any]:
    """A stored record (or nothing) with some fields replaced, removed or added at random."""
    stored = draw(st.sampled_from([{}, *start.export[section]]))
    record = dict(stored)
    for name in draw(st.lists(st.sampled_from(sorted(record) or ["key"]), max_size=3)):
        record.pop(name, None)
    record.update(draw(st.dictionaries(keys, values, max_size=4)))
    return record


@st.composite
def documents(draw: st.DrawFn, start: Start) -> Any:
    doc = {section: draw(st.lists(records(start, section), max_size=3))
           for section in draw(st.lists(st.sampled_from(["risks", "measures", "actors"]),
                                        min_size=1, max_size=3, unique=True))}
    if draw(st.booleans()):
        doc.update(draw(st.dictionaries(keys, values, max_size=2)))
    return draw(st.sampled_from([doc, doc.get("risks", []), draw(values)]))


def written(doc: Any, ascii_only: bool, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(doc, ensure_ascii=ascii_only)
    if fmt == "yaml":
        return yaml.safe_dump(doc, allow_unicode=not ascii_only, sort_keys=False)
    from riskatlas.catalog.spreadsheets import write_csv

    rows = doc.get("risks") if isinstance(doc, dict) else doc
    records = [r if isinstance(r, dict) else {"key": r}
               for r in (rows if isinstance(rows, list) else [rows])]
    out = io.StringIO()
    try:
        write_csv(records, out)  # the export's own layout, when the values allow it
    except (TypeError, ValueError, AttributeError):
        header = list(dict.fromkeys(str(k) for r in records for k in r))
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([json.dumps(v) if isinstance(v, dict | list) else str(v)
                          for v in r.values()] for r in records)
    return out.getvalue()


@st.composite
def mutated(draw: st.DrawFn, start: Start, fmt: str) -> str:
    """A valid export with a few cuts, insertions, copies and swaps."""
    text_ = draw(st.sampled_from(start.texts[fmt]))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text_)))
        end = min(len(text_), at + draw(st.integers(0, 200)))
        piece = draw(st.one_of(st.sampled_from(NASTY), st.sampled_from(WORDS),
                               st.text(max_size=20)))
        kind = draw(st.sampled_from(["cut", "insert", "replace", "copy", "lines"]))
        if kind == "cut":
            text_ = text_[:at] + text_[end:]
        elif kind == "insert":
            text_ = text_[:at] + piece + text_[at:]
        elif kind == "replace":
            text_ = text_[:at] + piece + text_[end:]
        elif kind == "copy":
            text_ = text_[:at] + text_[at:end] * draw(st.integers(1, 3)) + text_[at:]
        else:
            lines = text_.splitlines(keepends=True)
            if len(lines) > 1:
                i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
            text_ = "".join(lines)
    return text_


def _laughs(levels: int) -> str:
    """`{a: &a [x, ...], b: &b [*a, ...], ...}`: 9**levels values once expanded."""
    names = "abcdefghijklmnop"[:levels + 1]
    parts = [f"{names[0]}: &{names[0]} [{', '.join('x' * 9)}]"] + [
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]" for p, c in zip(names, names[1:], strict=False)]
    return "{" + ", ".join(parts) + "}"


def _deep(n: int, open_: str = "[", close: str = "]") -> str:
    return open_ * n + close * n


# Whole values that broke, or could break, a reader, put where a value of a valid file was.
HOSTILE = {
    "yaml": ["&x [*x]", "&y {k: *y}", _laughs(9), _laughs(3), _deep(70), _deep(100_000),
             "\n" + "".join("  " * i + "-\n" for i in range(1, 200)), "9" * 5000,
             "!!timestamp 2024-13-45", "!!int x", "!!binary ***", '"\\0"', '"\\x00"', "*nope",
             "!!omap [a]", "!!pairs 1", "{<<: 5}", "[" * 5, "&a x", "'" + "\n" * 3],
    "json": [_deep(70), _deep(100_000), _deep(3000, '{"a":', "}").replace("}", "1}", 1),
             "9" * 5000, "-" + "9" * 4301, '"\\ud800"', '"\\udc00x"', '"\\u0000"', "NaN",
             "Infinity", "1e999", "-0", '"' + "[" * 100 + '"', "[" * 5, "{", '"\\'],
    "csv": [_deep(100_000), _deep(70), '[{"title": ' + "9" * 5000 + "}]", "x\x00y", "[",
            "A" * (2**20 + 1), "A" * 200_000, '["KGZ", ' + _deep(70) + "]", "=1+1", "'", '"',
            "\r\n", "KGZ;;;", "9" * 5000],
}
NESTED = {"sources", "drivers", "warning_signs", "assessments", "sharing", "links", "states",
          "actors", "risks", "measures", "effect", "regional"}
_YAML_VALUE = re.compile(r"(?<=: )[^\n]+")
_JSON_VALUE = re.compile(r'(?<=":)("(?:[^"\\]|\\.)*"|-?\d+|true|false|null|\[\]|\{\})')


@st.composite
def valued(draw: st.DrawFn, start: Start, fmt: str) -> str:
    """A valid export with one to three of its values (or cells) replaced by HOSTILE ones."""
    text_ = draw(st.sampled_from(start.texts[fmt]))
    for _ in range(draw(st.integers(1, 3))):
        hostile = draw(st.sampled_from(HOSTILE[fmt]))
        if fmt == "csv":
            try:
                rows = list(csv.reader(io.StringIO(text_, newline="")))
            except csv.Error:  # an earlier cell is over the limit: leave the text as it is
                break
            row = draw(st.integers(0, len(rows) - 1))
            nested = [i for i, name in enumerate(rows[0]) if name in NESTED]
            if rows[row]:  # half the time a cell read as JSON or a list
                column = draw(st.sampled_from(nested) if nested and draw(st.booleans())
                              else st.integers(0, len(rows[row]) - 1))
                rows[row][min(column, len(rows[row]) - 1)] = hostile
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(rows)
            text_ = out.getvalue()
            continue
        spots = list((_YAML_VALUE if fmt == "yaml" else _JSON_VALUE).finditer(text_))
        if spots:
            spot = spots[draw(st.integers(0, len(spots) - 1))]
            text_ = text_[:spot.start()] + hostile + text_[spot.end():]
    return text_


def files(start: Start, fmt: str) -> st.SearchStrategy[bytes]:
    encode = st.sampled_from(["utf-8", "utf-8-sig"])
    plausible = st.tuples(documents(start), st.booleans()).map(lambda d: written(*d, fmt=fmt))
    as_text = st.one_of(st.text(max_size=300), plausible, mutated(start, fmt),
                        valued(start, fmt), valued(start, fmt))
    return st.one_of(st.binary(max_size=300),
                     st.tuples(as_text, encode).map(lambda te: te[0].encode(te[1], "replace")))


# --- the tests -------------------------------------------------------------------------------

ON_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@ON_SQLITE
@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
def test_no_file_crashes_hangs_or_half_imports(start: Start, fmt: str) -> None:
    cli("import", str(SMALL), "--db", start.fresh())  # warm up (imports, first connections)

    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        check_import(start, fmt, data.draw(files(start, fmt)))

    run()


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_a_postgres_smoke_example(start: Start, db_url: str) -> None:
    """PostgreSQL refuses what SQLite stores (NUL, 64-bit numbers): the same hostile files."""
    risks = start.texts["csv"][0]
    for suffix, data in [
        ("yaml", start.texts["yaml"][0].replace("key: CA-TST-001", 'key: "CA-TST-001\\0"', 1)),
        ("yaml", start.texts["yaml"][0].replace("version: 1", "version: 9223372036854775808")),
        ("yaml", "risks:\n- &r {key: CA-X-1, me: *r}\n"),
        ("json", start.texts["json"][0].replace('"CA-TST-002"', '"CA-\\u0000"', 1)),
        ("json", '{"risks": [' + "[" * 100_000 + "]" * 100_000 + "]}"),
        ("csv", risks.replace("CA-TST-001", "CA-TST-001\x00", 1)),
        ("csv", risks.replace(",1\n", ",2147483648\n", 1)),
    ]:
        check_import(start, suffix, data.encode("utf-8"), db_url=db_url)
