"""Event import: one file of one format into the event store, all of it or nothing.

Two phases over the file. Phase one reads and validates every row and writes nothing; any bad
row is reported as `file:line: column: reason`, and the import stops there unless
`skip_invalid`, in which case the bad rows are copied, in the input's own format, to a
quarantine file beside it (PATH.quarantine.EXT, which can be fixed and imported again) and the
rest imports. Phase two reads the file again and writes it in one transaction, in chunks of
upserts on (source, source_id) (warning.writer): a re-import of the same file adds nothing, a
changed row is updated, and a killed process leaves none of the file behind (nothing is
committed until the last chunk is written).

Reading twice rather than keeping the rows: a 2.5 M event file held as Python rows would need
several GB; streaming keeps memory flat and the second pass costs one more parse. The exact
reader is the csv module, row by row: errors must name the line of each bad row, and quoted
fields span lines. An ACLED file of 4 MB or more first goes the fast way (warning.bulk): DuckDB
reads and checks it as columns, and only if it finds nothing to report is the file stored as
one batch (warning.batches: a Parquet file in the database, read beside the rows); otherwise
the exact reader reads the file as above and reports each problem. Both give the events the
readers show alike, with the same counts (tests/warning/test_ingest.py, test_batches.py);
benchmarks/README.md, "Event ingest", has the figures.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session

from riskatlas.warning import batches, bulk, inputs
from riskatlas.warning.fields import RowError, RowSkipped
from riskatlas.warning.formats import FORMATS, Format
from riskatlas.warning.writer import WRITTEN, EventWriter, digest_of

CHUNK = 5000  # rows per executemany: large enough to amortise the round trip, small in memory
MAX_FIELD = 1 << 20  # a notes field may be long; a runaway quoted field is not
Progress = Callable[[int], None]  # called with the bytes read so far


class EventImportError(Exception):
    """The file has problems (each `file:line: column: reason`); nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass
class ImportResult:
    read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    quarantine: Path | None = None
    skipped: int = 0  # well-formed rows that are no event (fields.RowSkipped)
    skip_reasons: dict[str, int] | None = None
    problems: list[str] | None = None

    def summary(self) -> str:
        text = (f"{self.read} row(s) read: {self.added} added, {self.updated} updated, "
                f"{self.unchanged} unchanged")
        if self.skipped:
            why = "; ".join(f"{n} {reason}" for reason, n in (self.skip_reasons or {}).items())
            text += f"; {self.skipped} left out ({why})"
        if self.quarantine is not None:
            text += f"; {self.quarantined} bad row(s) put in {self.quarantine}"
        return text


@dataclass
class _Row:
    line: int
    raw: list[str]
    event: dict[str, Any] | None = None
    problem: str | None = None  # "column: reason"
    skipped: str | None = None  # why a well-formed row is no event


def _rows(path: Path, fmt: Format, progress: Progress | None, encoding: str,
          sheet: inputs.Sheet | None = None) -> inputs.Rows:
    if inputs.kind_of(path) == "json" and not fmt.header:
        raise inputs.InputError(f"{fmt.name} has no JSON form: give its text file")
    return inputs.rows(path, fmt.delimiter, fmt.header, MAX_FIELD, progress, CHUNK, encoding,
                       sheet)


def _records(path: Path, fmt: Format, progress: Progress | None,
             header_out: list[list[str]], encoding: str = "utf-8",
             sheet: inputs.Sheet | None = None) -> Iterator[_Row]:
    """Every row of the file with its first line, parsed (event) or refused (problem)."""
    names: tuple[str, ...] = ()
    shown: dict[str, str] = {}
    try:
        rows = _rows(path, fmt, progress, encoding, sheet)
        if fmt.header:
            header: list[str] | None = None
            for line, raw, problem in rows:
                if problem is not None:
                    raise EventImportError([f"{path}:{line}: header: {problem}"])
                if raw and raw != [""]:
                    header = raw
                    break
            if header is None:
                raise EventImportError([f"{path}:1: header: the file is empty"])
            header_out.append(header)
            names = tuple(h.strip().lower() for h in header)
            shown = {n: h.strip() for n, h in zip(names, header, strict=True)}
            missing = fmt.missing(list(names))
            if missing:
                raise EventImportError([f"{path}:{line}: header: missing column(s) "
                                        f"{', '.join(missing)}"])
        elif fmt.columns:
            for columns in fmt.columns.values():
                shown.update({c.lower(): c for c in columns})
        first_row = True
        for line, raw, problem in rows:
            if raw is None:
                yield _Row(line, [], problem=problem)
                continue
            if not raw or raw == [""]:
                continue  # a blank line
            if first_row and fmt.header and is_hxl(raw):
                continue  # the hashtag row of a file from HDX (see is_hxl)
            first_row = False
            row = _Row(line, raw)
            row.problem = _parse(row, fmt, names, shown, encoding)
            yield row
    except inputs.InputError as exc:
        raise EventImportError([f"{path}:1: file: {exc}"]) from None


def is_hxl(raw: list[str]) -> bool:
    """Whether a row is the HXL hashtag row (`#event+code,#date+occurred,...`) that the
    Humanitarian Data Exchange puts under the header of the ACLED and UCDP files it hosts: a
    second header, not an event."""
    values = [v.strip() for v in raw if v.strip()]
    return bool(values) and all(v.startswith("#") and " " not in v for v in values)


def _utf8(encoding: str) -> bool:
    """Whether the encoding is UTF-8 under any of its names (the CLI checked it exists)."""
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _parse(row: _Row, fmt: Format, names: tuple[str, ...], shown: dict[str, str],
           encoding: str = "utf-8") -> str | None:
    raw = row.raw
    if fmt.header:
        if len(raw) != len(names):
            return f"row: {len(raw)} field(s), the header has {len(names)}"
    else:
        assert fmt.columns is not None
        columns = fmt.columns.get(len(raw))
        if columns is None:
            counts = " or ".join(str(n) for n in sorted(fmt.columns, reverse=True))
            return f"row: {len(raw)} field(s), expected {counts}"
        names = tuple(c.lower() for c in columns)
    values = dict(zip(names, raw, strict=True))
    for name, value in values.items():
        if "\x00" in value:
            return f"{shown.get(name, name)}: contains a NUL character"
        if "\ufffd" in value:
            if _utf8(encoding):
                return (f"{shown.get(name, name)}: not valid UTF-8 (a file a spreadsheet "
                        "saved may be in its own encoding: try --encoding cp1251)")
            return f"{shown.get(name, name)}: not valid {encoding}"
    try:
        row.event = fmt.parse(values)
    except RowError as exc:
        return f"{shown.get(exc.column, exc.column)}: {exc.reason}"
    except RowSkipped as exc:
        row.skipped = str(exc)
    return None


def quarantine_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.quarantine{inputs.plain_suffix(path)}")


def import_file(session: Session, path: Path, format_name: str, owner_org_id: int,
                tlp: str, skip_invalid: bool = False, progress: Progress | None = None,
                phase: Callable[[str], None] | None = None,
                encoding: str = "utf-8", only: frozenset[str] | None = None) -> ImportResult:
    """Import one file (see the module's docstring). Raises EventImportError with every
    problem, having written nothing, when a row is bad and `skip_invalid` is false. The
    caller commits: the whole file is one transaction. `only`: the ISO3 codes whose events
    import; the file's other (valid) rows are left out and counted (`OUTSIDE`)."""
    with inputs.Sheet(path) as sheet:  # a workbook is parsed once, not twice
        return _import_file(session, path, format_name, owner_org_id, tlp, skip_invalid,
                            progress, phase, encoding, sheet, only)


OUTSIDE = "outside --country"  # the skip reason of a row of a country not chosen


def _outside(event: dict[str, Any] | None, only: frozenset[str] | None) -> bool:
    return only is not None and event is not None and event["country"] not in only


def _import_file(session: Session, path: Path, format_name: str, owner_org_id: int,
                 tlp: str, skip_invalid: bool, progress: Progress | None,
                 phase: Callable[[str], None] | None, encoding: str,
                 sheet: inputs.Sheet, only: frozenset[str] | None) -> ImportResult:
    fmt = FORMATS[format_name]
    result = ImportResult()
    problems: list[str] = []
    bad: list[list[str]] = []
    bad_lines: set[int] = set()
    seen: dict[str, int] = {}  # source id -> first line: a file must not name one row twice
    header: list[list[str]] = []
    if phase:
        phase("Checking")
    kind = inputs.kind_of(path)
    if fmt.name == "acled" and _utf8(encoding) and kind not in ("xlsx", "json") and \
            path.stat().st_size >= bulk.FAST_MIN_BYTES // (1 if kind == "plain" else 8):
        # a compressed file is unpacked for DuckDB to a scratch file; only a clean one is
        # imported from it, so no problem ever names the scratch file
        try:
            with inputs.unpacked(path) as plain:
                checked = bulk.read_acled(plain)
                if checked is not None:
                    try:
                        return _import_checked(session, plain, checked, owner_org_id, tlp,
                                               progress, phase, only)
                    finally:
                        checked.close()
        except inputs.InputError as exc:
            raise EventImportError([f"{path}:1: file: {exc}"]) from None
    for row in _records(path, fmt, progress, header, encoding, sheet):
        result.read += 1
        if row.problem is None and _outside(row.event, only):
            row.skipped = OUTSIDE
        if row.skipped is not None:
            result.skipped += 1
            reasons = result.skip_reasons = result.skip_reasons or {}
            reasons[row.skipped] = reasons.get(row.skipped, 0) + 1
            continue
        if row.problem is None and row.event is not None:
            first = seen.setdefault(row.event["source_id"], row.line)
            if first != row.line:
                row.problem = f"{_id_column(fmt, header)}: the same id as line {first}"
        if row.problem is not None:
            problems.append(f"{path}:{row.line}: {row.problem}")
            bad.append(row.raw)
            bad_lines.add(row.line)
    result.problems = problems
    if problems and not skip_invalid:
        raise EventImportError(problems)
    if bad:
        result.quarantine = quarantine_path(path)
        result.quarantined = len(bad)
        _write_quarantine(result.quarantine, fmt, header, bad)
    if phase:
        phase("Writing")
    stamp = datetime.now(UTC)
    # the batches' versions of the file's events are retired: the rows written take their place
    in_batches = batches.live_ids(session, fmt.name, list(seen))
    moved: list[str] = []  # of those, the events whose new version is written as a row
    # the rows to write: whether this is a first import, or one of a few rows into many
    writer = EventWriter(session, fmt.name, stamp, result.read - len(bad) - result.skipped)
    try:
        chunk: list[tuple[Any, ...]] = []
        for row in _records(path, fmt, progress, [], encoding, sheet):
            if row.event is None or row.line in bad_lines or _outside(row.event, only):
                continue
            event = dict(row.event, source=fmt.name, owner_org_id=owner_org_id, tlp=tlp)
            event["digest"] = digest_of(event)
            event["imported_at"] = stamp
            held = in_batches.get(event["source_id"])
            if held is not None:
                if held[1] == event["digest"]:
                    continue  # unchanged, in its batch
                moved.append(event["source_id"])
            chunk.append(tuple(event[k] for k in WRITTEN))
            if len(chunk) >= CHUNK:
                writer.write(chunk)
                chunk = []
        if chunk:
            writer.write(chunk)
        result.added, touched = writer.finish()
        batches.retire(session, batches.by_batch(in_batches, moved))
    finally:
        writer.close()
    # an event a batch held is a new row of `events`, and an update of the event
    again = len(moved)
    result.added, result.updated = result.added - again, touched - result.added + again
    result.unchanged = result.read - result.quarantined - result.skipped - touched
    return result


def _import_checked(session: Session, path: Path, checked: bulk.Checked, owner_org_id: int,
                    tlp: str, progress: Progress | None,
                    phase: Callable[[str], None] | None,
                    only: frozenset[str] | None) -> ImportResult:
    """The write phase of a file DuckDB has read and found clean (warning.bulk): one batch
    (warning.batches), or rows when the batch would be too large."""
    if phase:
        phase("Writing")
    result = ImportResult(read=checked.count)
    kept = checked.count if only is None else checked.count_in(only)
    if kept < checked.count:
        result.skipped = checked.count - kept
        result.skip_reasons = {OUTSIDE: result.skipped}
    stamp = datetime.now(UTC)
    size = path.stat().st_size
    checked.normalise(only)
    if progress is not None:
        progress(size // 3)
    written = batches.store(session, checked.con, "acled", path.name, owner_org_id, tlp, stamp,
                            Path(checked.folder.name), kept,
                            None if progress is None else lambda: progress(size * 2 // 3))
    if written is not None:
        result.added, result.updated, result.unchanged = (written.added, written.updated,
                                                          written.unchanged)
        result.problems = []
        if progress is not None:
            progress(size)
        return result
    # too large for one batch (nothing written yet): rows of `events`; the batches' versions
    # of the events it changes are retired, as by the row-by-row import
    in_batches = batches.live_ids(session, "acled", [sid for (sid,) in checked.con.execute(
        "SELECT coalesce(event_id_cnty, data_id) FROM raw").fetchall()])
    moved: list[str] = []
    done = 0
    dumps, sort, blake2b = orjson.dumps, orjson.OPT_SORT_KEYS, hashlib.blake2b
    writer = EventWriter(session, "acled", stamp, kept)
    # Values as the driver takes them, converted once each where they repeat (days, stamp)
    written_day: dict[date, Any] = {}
    stamp_value = writer.value("imported_at", stamp)
    extra_value = writer.processors.get("extra", lambda v: v)
    try:
        for batch in checked.rows(CHUNK):
            rows = []
            for (sid, day, country, admin1, location, lat, lon, event_type, sub_type, actor1,
                 actor2, fatalities, notes, extra) in batch:
                if only is not None and country not in only:
                    continue
                # The body of digest_of, in WRITTEN order, built in place (a third faster).
                body = ["acled", sid, "day", day.isoformat(), country, admin1, location, lat,
                        lon, event_type, sub_type, actor1, actor2, fatalities, 1, notes, extra,
                        owner_org_id, tlp]
                digest = blake2b(dumps(body, option=sort), digest_size=16).hexdigest()
                held = in_batches.get(sid)
                if held is not None:
                    if held[1] == digest:
                        continue  # unchanged, in its batch
                    moved.append(sid)
                if day not in written_day:
                    written_day[day] = writer.value("date", day)
                rows.append(("acled", sid, "day", written_day[day], country, admin1, location,
                             lat, lon, event_type, sub_type, actor1, actor2, fatalities, 1,
                             notes, extra_value(extra), owner_org_id, tlp, digest, stamp_value))
            writer.write(rows, converted=True)
            done += len(batch)
            if progress is not None:
                progress(size * done // max(checked.count, 1))
        result.added, touched = writer.finish()
        batches.retire(session, batches.by_batch(in_batches, moved))
    finally:
        writer.close()
    result.added, result.updated = result.added - len(moved), touched - result.added + len(moved)
    result.unchanged = kept - touched
    result.problems = []
    return result


def _id_column(fmt: Format, header: list[list[str]]) -> str:
    wanted = {"acled": ("event_id_cnty", "data_id"), "acled-weekly": ("WEEK",),
              "ucdp-ged": ("id",), "gdelt": ("GLOBALEVENTID",)}[fmt.name]
    names = {h.strip().lower(): h.strip() for h in (header[0] if header else [])}
    for name in wanted:
        if name.lower() in names:
            return names[name.lower()]
    return wanted[0]


def _write_quarantine(target: Path, fmt: Format, header: list[list[str]],
                      rows: list[list[str]]) -> None:
    with target.open("w", encoding="utf-8", newline="") as out:
        if not fmt.header:  # tab-separated, unquoted (GDELT): the fields as they were read
            out.writelines("\t".join(row) + "\n" for row in rows)
            return
        writer = csv.writer(out, delimiter=fmt.delimiter)
        if header:
            writer.writerow(header[0])
        writer.writerows(rows)


def parse_file(path: Path, format_name: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Every event of a (small) file and every problem, writing nothing: phase one alone."""
    events: list[dict[str, Any]] = []
    problems: list[str] = []
    for row in _records(path, FORMATS[format_name], None, []):
        if row.problem is not None:
            problems.append(f"{path}:{row.line}: {row.problem}")
        elif row.event is not None:
            events.append(row.event)
    return events, problems
