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


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corruptions=st.lists(CORRUPTION, max_size=3))
def test_malformed_rows_never_crash_nor_half_import(db_url: str, tmp_path: Path,
                                                    corruptions: list[tuple[object, ...]]
                                                    ) -> None:
    runtime = Runtime(Settings(database_url=db_url))
    path = _file(tmp_path / f"acled-{next(_serial)}.csv", corruptions)
    events, problems = parse_file(path, "acled")  # the reader alone: never raises
    before = _count(runtime)
    try:
        with runtime.transaction() as session:
            result = service.import_events(session, path, "acled", Who("test"))
    except EventImportError as exc:
        assert exc.problems == problems and problems
        assert _count(runtime) == before  # nothing of the file
        return
    assert problems == []
    assert result.added == len(events) and _count(runtime) == before + len(events)
