"""The fast path of an ACLED import: DuckDB reads and checks the whole file, Python only
builds each row's digest.

DuckDB parses the CSV on every core into a scratch database and checks it column by column:
ids (present, unique, at most 200 characters), lengths, coordinates, fatalities, NUL and
U+FFFD characters. The columns of few distinct values (dates, countries, event and sub-event
types, actor types, interactions) are checked once per distinct value by the very functions
the row-by-row reader uses (formats.py, fields.py), which also normalise them. The values it
hands on are those the row-by-row reader would have built: the same trimming (Python's
str.strip() set of white space), the same number parsing, the same extra fields in the same
order.

It only ever vouches for a clean file. Anything it cannot vouch for (a bad value, a quoted or
repeated header name, a row DuckDB's strict reader refuses, invalid UTF-8, a number written in
a form it does not check such as "3.0" or "1_000") makes it answer None, and the import reads
the file again row by row: that reader gives the exact `file:line: column: reason` of every
problem, and quarantines with --skip-invalid. So a fast-path import and a row-by-row import of
the same file write the same rows (tests/warning/test_ingest.py checks both engines).
"""

from __future__ import annotations

import concurrent.futures
import mmap
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from riskatlas.warning import fields as f
from riskatlas.warning import formats
from riskatlas.warning.fields import RowError

FAST_MIN_BYTES = 4 << 20  # smaller files: the row-by-row reader is as quick as DuckDB's start
MEMORY_LIMIT = "1GB"  # DuckDB's buffer pool; the scratch database spills to disk beyond it
MAX_FIELD = 1 << 20  # as ingest.MAX_FIELD: a longer field is a problem the exact path reports
WHITESPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
# Python's float() accepts more (underscores, "inf", "nan", Unicode digits): those go the
# exact way. Within this form DuckDB's and Python's parses are both correctly rounded.
NUMBER = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,3})?"
EXTRA = ("disorder_type", "civilian_targeting", "assoc_actor_1", "assoc_actor_2", "region",
         "admin2", "admin3", "time_precision", "geo_precision", "source", "source_scale",
         "tags", "timestamp", "event_id_no_cnty", "data_id")  # formats.parse_acled's order
# Read into the scratch table, each trimmed (NULL when empty), in this order.
COLUMNS = ("event_id_cnty", "data_id", "event_date", "iso3", "iso", "country", "admin1",
           "location", "latitude", "longitude", "event_type", "sub_event_type", "actor1",
           "actor2", "fatalities", "notes", "inter1", "inter2", "interaction",
           *(c for c in EXTRA if c != "data_id"))


@dataclass
class Checked:
    """A clean file, read: `rows()` yields (source_id, day, country, admin1, location,
    latitude, longitude, event_type, sub_type, actor1, actor2, fatalities, notes, extra)."""

    count: int
    con: Any
    folder: tempfile.TemporaryDirectory[str]
    days: dict[str, date]
    countries: dict[tuple[str | None, str | None, str | None], str]
    inters: dict[str, int]
    interactions: dict[str, int]

    def rows(self, chunk: int) -> Iterator[list[tuple[Any, ...]]]:
        # In id order: the unique index on (source, source_id) then grows at its end, and a
        # re-import finds each existing row next to the last one, rather than all over the file.
        cur = self.con.execute(
            "SELECT coalesce(event_id_cnty, data_id), event_date, iso3, iso, country, admin1, "
            "location, CAST(latitude AS DOUBLE), CAST(longitude AS DOUBLE), event_type, "
            "sub_event_type, actor1, actor2, CAST(fatalities AS INTEGER), notes, inter1, "
            f"inter2, interaction, {', '.join(EXTRA)} FROM raw ORDER BY 1")
        days, countries, inters, interactions = (self.days, self.countries, self.inters,
                                                 self.interactions)
        extra_names = EXTRA
        while batch := cur.fetchmany(chunk):
            out = []
            for (sid, day, iso3, iso, country, admin1, location, lat, lon, event_type, sub_type,
                 actor1, actor2, fatalities, notes, inter1, inter2, interaction,
                 *extra_values) in batch:
                extra = {k: v for k, v in zip(extra_names, extra_values, strict=True)
                         if v is not None}
                if inter1 is not None:
                    extra["inter1"] = inters[inter1]
                if inter2 is not None:
                    extra["inter2"] = inters[inter2]
                if interaction is not None:
                    extra["interaction"] = interactions[interaction]
                out.append((sid, days[day], countries[iso3, iso, country], admin1, location,
                            lat, lon, event_type, sub_type, actor1, actor2, fatalities, notes,
                            extra or None))
            yield out

    def normalise(self, only: frozenset[str] | None) -> None:
        """The view `norm`: the rows of `rows()` (of the countries `only`) as warning.batches
        stores them, computed by DuckDB from `raw` and the checked values' look-up tables as
        it is read (once, by the write of the batch's file)."""
        con = self.con

        def table(name: str, columns: dict[str, str], rows: list[tuple[Any, ...]]) -> None:
            # one statement of lists (executemany of thousands of days took 1.4 s)
            values: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in columns]
            con.execute(f"CREATE TABLE {name} AS SELECT " + ", ".join(
                f"CAST(unnest(?) AS {kind}) AS {column}"
                for column, kind in columns.items()), [list(v) for v in values])

        table("m_days", {"v": "VARCHAR", "d": "DATE"}, list(self.days.items()))
        table("m_countries", {"iso3": "VARCHAR", "iso": "VARCHAR", "country": "VARCHAR",
                              "code": "VARCHAR"},
              [(*key, code) for key, code in self.countries.items()])
        table("m_inters", {"v": "VARCHAR", "code": "INTEGER"}, list(self.inters.items()))
        table("m_interactions", {"v": "VARCHAR", "code": "INTEGER"},
              list(self.interactions.items()))
        extra = ", ".join(f"r.{name} AS x_{name}" for name in EXTRA)
        where = "" if only is None else \
            f"WHERE mc.code IN ({', '.join(repr(c) for c in sorted(only))})"
        same = "IS NOT DISTINCT FROM"
        con.execute(
            "CREATE VIEW norm AS SELECT coalesce(r.event_id_cnty, r.data_id) AS source_id, "
            "md.d AS date, mc.code AS country, r.admin1, r.location, "
            "CAST(r.latitude AS DOUBLE) AS latitude, CAST(r.longitude AS DOUBLE) AS longitude, "
            "r.event_type, r.sub_event_type AS sub_type, r.actor1, r.actor2, "
            "CAST(r.fatalities AS INTEGER) AS fatalities, r.notes, "
            f"{extra}, i1.code AS x_inter1, i2.code AS x_inter2, ix.code AS x_interaction "
            f"FROM raw r JOIN m_days md ON r.event_date {same} md.v "
            f"JOIN m_countries mc ON r.iso3 {same} mc.iso3 AND r.iso {same} mc.iso "
            f"AND r.country {same} mc.country "
            "LEFT JOIN m_inters i1 ON r.inter1 = i1.v LEFT JOIN m_inters i2 ON r.inter2 = i2.v "
            f"LEFT JOIN m_interactions ix ON r.interaction = ix.v {where}")

    def count_in(self, only: frozenset[str]) -> int:
        """The rows of these countries (ISO3)."""
        return sum(n for *key, n in self.con.execute(
            "SELECT iso3, iso, country, count(*) FROM raw GROUP BY ALL").fetchall()
            if self.countries[tuple(key)] in only)

    def close(self) -> None:
        self.con.close()
        self.folder.cleanup()


def _header(path: Path) -> list[str] | None:
    with path.open("rb") as stream:
        first = stream.readline().removeprefix(b"\xef\xbb\xbf")
        if stream.readline().startswith(b"#"):
            return None  # an HDX file's hashtag row under the header: the exact reader skips it
    try:
        line = first.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        return None
    if '"' in line or "\r" in line or "\x00" in line:
        return None  # a quoted header: the exact reader parses it
    names = [h.strip().lower() for h in line.split(",")]
    if len(set(names)) != len(names) or formats.FORMATS["acled"].missing(names):
        return None
    return names


def _clean(path: Path) -> bool:
    """No NUL byte and no U+FFFD anywhere (the exact reader reports either): two memchr-speed
    searches of the mapped file, cheaper than a search of every field in SQL."""
    with path.open("rb") as stream:
        if not path.stat().st_size:
            return True
        with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return data.find(b"\x00") < 0 and data.find("\ufffd".encode()) < 0


def read_acled(path: Path) -> Checked | None:
    """The file read and checked by DuckDB, or None when it cannot vouch for every row."""
    import duckdb  # imported here: only large files pay for it

    names = _header(path)
    if names is None:
        return None
    # the bytes searched while DuckDB reads the file (it lets go of the GIL)
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="riskatlas-clean")
    clean = pool.submit(_clean, path)
    folder = tempfile.TemporaryDirectory(prefix="riskatlas-ingest-")
    con = duckdb.connect(str(Path(folder.name) / "scratch.duckdb"), config={
        "memory_limit": MEMORY_LIMIT, "temp_directory": folder.name,
        "preserve_insertion_order": False})
    try:
        con.execute("SET enable_progress_bar = false")
        checked = _check(con, path, names, folder)
    except duckdb.Error:
        checked = None  # DuckDB's strict reader refused the file: the exact reader says why
    if not clean.result():
        checked = None
    pool.shutdown()
    if checked is None:
        con.close()
        folder.cleanup()
    return checked


def _check(con: Any, path: Path, names: list[str],
           folder: tempfile.TemporaryDirectory[str]) -> Checked | None:
    position = {name: i for i, name in enumerate(names)}
    ws = WHITESPACE.replace("'", "''")

    def column(name: str) -> str:
        return f"nullif(c{position[name]}, '')" if name in position else \
            "CAST(NULL AS VARCHAR)"

    # trim() with a set of characters, or a test of each value's ends, cost more than the
    # read itself: one regular expression over the row's values joined by \x01 finds the rows
    # with a value that starts or ends with white space, and only those are trimmed (below).
    used = [f"c{position[c]}" for c in COLUMNS if c in position]
    space = "[" + "".join(f"\\x{{{ord(ch):x}}}" for ch in WHITESPACE) + "]"
    padded = (f"regexp_matches(concat_ws(chr(1), {', '.join(used)}), "
              f"'(^|\\x01){space}|{space}(\\x01|$)')")
    lengths = ", ".join(f"strlen(c{i})" for i in range(len(names)))
    # The longest field in bytes: a stricter bound than the exact reader's characters (a
    # doubtful row goes the exact way). NUL and U+FFFD were looked for in the bytes (_clean).
    odd = f"greatest({lengths}) > {MAX_FIELD}"
    spec = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names)))
    con.execute(
        f"CREATE TABLE raw AS SELECT {', '.join(f'{column(c)} AS {c}' for c in COLUMNS)}, "
        f"coalesce({odd}, false) AS odd, coalesce({padded}, false) AS padded "
        f"FROM read_csv(?, header=true, columns={{{spec}}}, "
        "delim=',', quote='\"', escape='\"', strict_mode=true, auto_detect=false, "
        "null_padding=false, max_line_size=4194304)", [str(path)])
    if con.execute("SELECT count(*) FILTER (padded) FROM raw").fetchone()[0]:
        con.execute("UPDATE raw SET " + ", ".join(
            f"{c} = nullif(trim({c}, '{ws}'), '')" for c in COLUMNS) + " WHERE padded")
    row = con.execute(
        "SELECT count(*), count(DISTINCT coalesce(event_id_cnty, data_id)), "
        "count(*) FILTER (odd "
        " OR length(event_id_cnty) > 200 OR (event_id_cnty IS NULL AND "
        "    (data_id IS NULL OR length(data_id) > 200)) "
        " OR length(admin1) > 120 OR length(location) > 255 "
        f" OR NOT coalesce(regexp_full_match(latitude, '{NUMBER}') AND "
        "        TRY_CAST(latitude AS DOUBLE) BETWEEN -90 AND 90, latitude IS NULL) "
        f" OR NOT coalesce(regexp_full_match(longitude, '{NUMBER}') AND "
        "        TRY_CAST(longitude AS DOUBLE) BETWEEN -180 AND 180, longitude IS NULL) "
        " OR NOT coalesce(regexp_full_match(fatalities, '[0-9]{1,10}') AND "
        f"        CAST(fatalities AS BIGINT) <= {f.INT_MAX}, false)) FROM raw").fetchone()
    count, distinct, bad = row
    if bad or distinct != count:
        return None
    try:
        days = {}
        for (value,) in con.execute("SELECT DISTINCT event_date FROM raw").fetchall():
            days[value] = f.day({"event_date": value or ""}, "event_date")
        countries = {}
        for key in con.execute("SELECT DISTINCT iso3, iso, country FROM raw").fetchall():
            countries[key] = formats._acled_country(dict(zip(("iso3", "iso", "country"),
                                                             key, strict=True)))
        for event_type, sub_type in con.execute(
                "SELECT DISTINCT event_type, sub_event_type FROM raw").fetchall():
            formats._event_type({"event_type": event_type or "",
                                 "sub_event_type": sub_type or ""},
                                "event_type", "sub_event_type", True)
        inters = {}
        for (value,) in con.execute("SELECT inter1 FROM raw WHERE inter1 IS NOT NULL UNION "
                                    "SELECT inter2 FROM raw WHERE inter2 IS NOT NULL"
                                    ).fetchall():
            code = formats._inter({"inter": value}, "inter")
            assert code is not None
            inters[value] = code
        interactions = {}
        for (value,) in con.execute("SELECT DISTINCT interaction FROM raw "
                                    "WHERE interaction IS NOT NULL").fetchall():
            code = formats._interaction({"interaction": value})
            assert code is not None
            interactions[value] = code
    except RowError:
        return None
    return Checked(count, con, folder, days, countries, inters, interactions)
