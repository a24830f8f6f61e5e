"""Malformed rows never crash the reader and never half-import (hypothesis), on both engines."""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from riskatlas.audit.service import Who
from riskatlas.config import Settings
from riskatlas.runtime import Runtime
from riskatlas.warning import service
from riskatlas.warning.ingest import EventImportError, parse_file
from riskatlas.warning.models import Event
from tests.warning import files as g

_serial = itertools.count(1)
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
CORRUPTION = st.one_of(
    st.tuples(st.just("field"), st.integers(0, 3), st.sampled_from(g.ACLED_COLUMNS), TEXT),
    st.tuples(st.just("line"), st.integers(0, 3), st.binary(max_size=60)),
    st.tuples(st.just("cut"), st.integers(0, 3), st.integers(0, 30)),
)


def _file(path: Path, corruptions: list[tuple[object, ...]]) -> Path:
    first = next(_serial) * 10
    rows = [g.acled_row(first + n) for n in range(4)]
    cut: dict[int, int] = {}
    extra: dict[int, bytes] = {}
    for kind, index, *rest in corruptions:
        assert isinstance(index, int)
        if kind == "field":
            rows[index][str(rest[0])] = rest[1]
        elif kind == "line":
            extra[index] = bytes(rest[0])  # type: ignore[arg-type]
        else:
            cut[index] = int(rest[0])  # type: ignore[call-overload]
    out = io.BytesIO()
    text = io.StringIO(newline="")
    csv.writer(text).writerow(g.ACLED_COLUMNS)
    out.write(text.getvalue().encode())
    for n, row in enumerate(rows):
        text = io.StringIO(newline="")
        values = [row[c] for c in g.ACLED_COLUMNS]
        csv.writer(text).writerow(values[: cut[n]] if n in cut else values)
        out.write(text.getvalue().encode("utf-8"))
        if n in extra:
            out.write(extra[n] + b"\n")
    path.write_bytes(out.getvalue())
    return path


def _count(runtime: Runtime) -> int:
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(Event)) or 0


def _ids(runtime: Runtime) -> set[str]:
    with runtime.transaction() as session:
        return set(session.scalars(select(Event.source_id)))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corruptions=st.lists(CORRUPTION, max_size=3))
def test_malformed_rows_never_crash_nor_half_import(db_url: str, tmp_path: Path,
                                                    corruptions: list[tuple[object, ...]]
                                                    ) -> None:
    runtime = Runtime(Settings(database_url=db_url))
    path = _file(tmp_path / f"acled-{next(_serial)}.csv", corruptions)
    events, problems = parse_file(path, "acled")  # the reader alone: never raises
    before, known = _count(runtime), _ids(runtime)
    try:
        with runtime.transaction() as session:
            result = service.import_events(session, path, "acled", Who("test"))
    except EventImportError as exc:
        # the reader's problems, and the import's own: two rows of one id (a corrupted id)
        assert [p for p in exc.problems if ": the same id as line " not in p] == problems
        assert exc.problems
        assert _count(runtime) == before  # nothing of the file
        return
    assert problems == []
    # the examples share one database: a corrupted id may repeat an earlier example's, and
    # that event is then unchanged or updated, not added
    new = {e["source_id"] for e in events} - known
    assert result.added == len(new) and _count(runtime) == before + len(new)
    assert result.added + result.updated + result.unchanged == len(events)


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) |
    st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8)
JSON_RECORD = st.one_of(
    # a good row with some fields replaced by any JSON value (numbers, nulls, nesting)
    st.dictionaries(st.sampled_from(g.ACLED_COLUMNS), JSON_VALUE, max_size=4).map(
        lambda changes: {**g.acled_row(next(_serial) * 10), **changes}),
    JSON_VALUE)


def _outcome(runtime: Runtime, path: Path, fmt: str) -> None:
    """The reader gives events and problems or refuses the file; an import writes all of the
    good file or nothing of a bad one."""
    try:
        events, problems = parse_file(path, fmt)
    except EventImportError as exc:  # the file as a whole (header, archive, JSON)
        events, problems = [], exc.problems
        assert problems and all(p.startswith(f"{path}:") for p in problems)
    before = _count(runtime)
    try:
        with runtime.transaction() as session:
            result = service.import_events(session, path, fmt, Who("test"))
    except EventImportError as exc:
        assert exc.problems == problems and problems
        assert _count(runtime) == before
        return
    assert problems == []
    assert result.added + result.updated + result.unchanged == len(events)
    assert _count(runtime) == before + result.added


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.one_of(st.lists(JSON_RECORD, max_size=4),
                          st.dictionaries(st.sampled_from(["data", "Result", "count"]),
                                          st.lists(JSON_RECORD, max_size=3), max_size=2),
                          JSON_VALUE))
def test_malformed_json_never_crashes_nor_half_imports(db_url: str, tmp_path: Path,
                                                       document: object) -> None:
    import orjson

    path = tmp_path / f"acled-{next(_serial)}.json"
    path.write_bytes(orjson.dumps(document))
    _outcome(Runtime(Settings(database_url=db_url)), path, "acled")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(suffix=st.sampled_from([".csv.gz", ".CSV.zip", ".xlsx"]), cut=st.integers(0, 400),
       noise=st.binary(max_size=40))
def test_broken_archives_and_workbooks_never_crash(db_url: str, tmp_path: Path, suffix: str,
                                                   cut: int, noise: bytes) -> None:
    """A good file packed, then cut short and followed by noise."""
    import gzip
    import zipfile

    from openpyxl import Workbook

    rows = [g.acled_row(next(_serial) * 10 + n) for n in range(3)]
    plain = g.write_csv(tmp_path / f"p-{next(_serial)}.csv", g.ACLED_COLUMNS, rows)
    path = tmp_path / f"acled-{next(_serial)}{suffix}"
    if suffix == ".csv.gz":
        path.write_bytes(gzip.compress(plain.read_bytes()))
    elif suffix == ".CSV.zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(plain, "acled.csv")
    else:
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(g.ACLED_COLUMNS)
        for row in rows:
            sheet.append([row[c] for c in g.ACLED_COLUMNS])
        book.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: max(len(data) - cut, 0)] + noise)
    _outcome(Runtime(Settings(database_url=db_url)), path, "acled")
