"""The events' columnar copy (warning.store): after every kind of write (new rows, an import's
rewrite, a delete, an edit in place, a damaged file) it holds exactly the events table, and an
evaluation through it gives the alerts of an evaluation that reads the table."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import delete, select, update

from riskatlas.audit.service import Who
from riskatlas.cli_options import operator_scope
from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.parties.models import Organisation
from riskatlas.runtime import Runtime
from riskatlas.sharing.policy import scope_for
from riskatlas.warning import alerts, columns, ingest, store
from riskatlas.warning.indicators import parse_indicators
from riskatlas.warning.models import Event, EventEpoch
from riskatlas.warning.store import ColumnStore

INDICATORS = """
indicators:
  - key: S-RIOTS
    title: {en: Riots, ru: Беспорядки}
    risks: [CA-UNR-001]
    filter: {event_types: [Riots, Protests]}
    detector: {name: record, params: {window: 4, minimum: 2}}
  - key: S-DEATHS
    title: {en: Deaths, ru: Погибшие}
    risks: [CA-BRD-001]
    measure: fatalities
    filter: {countries: [KAZ, KGZ]}
    detector: {name: surge, params: {window: 4, threshold_pct: 50, min_baseline: 0.5,
                                     min_count: 2}}
  - key: S-PLACES
    title: {en: Places, ru: Места}
    risks: [CA-UNR-001]
    measure: locations
    level: country
    filter: {actors: [rioters]}
    detector: {name: count_surprise, params: {window: 6, min_count: 2, p_value: 0.05}}
"""
FIRST = date(2024, 1, 6)
TLPS = ("clear", "green", "green", "green", "amber", "amber+strict")
PLACES: dict[str, list[str | None]] = {
    "KAZ": ["Almaty", "Astana", None], "KGZ": ["Osh", "Batken"], "TJK": ["Sughd"]}


def _rows(session: Any, n: int, start: int, rng: random.Random, stamp: datetime,
          days: int = 120) -> list[Event]:
    orgs = list(session.scalars(select(Organisation.id).order_by(Organisation.id)))[:3]
    out = []
    for i in range(start, start + n):
        country = rng.choice(sorted(PLACES))
        row = dict(source="acled", source_id=f"S{i}", period="day",
                   date=FIRST + timedelta(days=rng.randrange(days)), country=country,
                   admin1=rng.choice(PLACES[country]), location=rng.choice(["A", "B", None]),
                   event_type=rng.choice(["Riots", "Protests", "Battles"]),
                   sub_type=rng.choice(["Mob violence", None]),
                   actor1=rng.choice(["Rioters (Kazakhstan)", "Police", None]),
                   actor2=rng.choice(["Protesters", None]), fatalities=rng.randrange(4),
                   events=1, owner_org_id=rng.choice(orgs), tlp=rng.choice(TLPS))
        out.append(Event(**row, digest=ingest.digest_of(row), imported_at=stamp))
    return out


def _add(runtime: Runtime, n: int, start: int, seed: int, stamp: datetime) -> None:
    with runtime.transaction() as session:
        session.add_all(_rows(session, n, start, random.Random(seed), stamp))


def _decoded(cols: columns.Columns) -> list[tuple[Any, ...]]:
    def value(name: str, code: int) -> Any:
        key = "actor1" if name == "actor2" else name
        return cols.values[key][code] if key in cols.values else code

    rows = [tuple(value(name, int(cols[name][i])) if name in cols.values or name == "actor2"
                  else float(cols[name][i]) for name in store.STORED) for i in range(cols.n)]
    return sorted(rows, key=lambda r: r[-1])


def _reads(session: Any, copy: ColumnStore) -> int:
    """The rows one snapshot reads from the table."""
    counted: list[int] = []
    real = store._read

    def counting(session: Any, rows: list[Any], batch_ids: Any = None) -> columns.Columns:
        cols = real(session, rows, batch_ids)
        counted.append(cols.n)
        return cols

    store._read = counting
    try:
        copy.snapshot(session)
    finally:
        store._read = real
    return sum(counted)


class Said(list[str]):
    def __call__(self, message: str) -> None:
        self.append(message)


@pytest.fixture
def setup(db_url: str, tmp_path: Path) -> tuple[Runtime, ColumnStore, Said]:
    runtime = Runtime(Settings(database_url=db_url))
    said = Said()
    _add(runtime, 400, 0, 1, datetime(2026, 1, 1))
    return runtime, ColumnStore(tmp_path / "columns", said), said


def _check(runtime: Runtime, copy: ColumnStore) -> store.Snapshot:
    """The copy holds the table, and evaluates to the same alerts."""
    with runtime.transaction() as session:
        snap = alerts.snapshot_of(session, operator_scope(), copy)
        assert snap is not None
        table = columns.fetch(session, store.STORED, [], scope=None)
        assert _decoded(snap.all()) == _decoded(table)
        owner = session.scalar(select(Organisation.id).where(Organisation.key == "C5-SEC"))
        assert owner is not None
        tiers = alerts.audiences(session, owner)
        indicators = parse_indicators(INDICATORS, "s.yaml")
        until = FIRST + timedelta(days=140)
        through = alerts.evaluate(session, operator_scope(), indicators, tiers, FIRST, until,
                                  None, snap)
        direct = alerts.evaluate(session, operator_scope(), indicators, tiers, FIRST, until)
        assert through == direct
        assert len(direct) > 0  # the data raise alerts: the comparison means something
    return snap


def test_built_once_then_read_from_files(setup: tuple[Runtime, ColumnStore, Said]) -> None:
    runtime, copy, said = setup
    _check(runtime, copy)
    assert len(said) == 1 and "once" in said[0]
    versions = sorted(p.name for p in next((copy.folder).iterdir()).iterdir())
    snap = _check(runtime, copy)
    assert len(said) == 1  # not built again
    assert not snap.base["day"].flags.writeable and snap.fresh.n == 0  # mapped from the file
    assert sorted(p.name for p in next(copy.folder.iterdir()).iterdir()) == versions
    assert bool(np.all(np.diff(snap.base["day"]) >= 0))  # day order, for the window's slice


def test_new_and_rewritten_rows_come_from_the_table(
        setup: tuple[Runtime, ColumnStore, Said]) -> None:
    runtime, copy, said = setup
    _check(runtime, copy)
    _add(runtime, 50, 400, 2, datetime(2026, 2, 1))
    with runtime.transaction() as session:  # an import rewrites rows: a new import time
        session.execute(update(Event).where(Event.id.in_([3, 50, 51, 399])).values(
            admin1="Osh", country="KGZ", tlp="clear", fatalities=9,
            imported_at=datetime(2026, 2, 2)))
    snap = _check(runtime, copy)
    assert len(said) == 1  # brought up to date, not built again
    assert snap.fresh.n == 54 and snap.dead is not None and len(snap.dead) == 4
    # the rows read since are kept beside the files: the next run reads only what is newer,
    # here one more new row, a row of the base rewritten again and a row of that delta
    _add(runtime, 1, 450, 3, datetime(2026, 2, 3))
    with runtime.transaction() as session:
        session.execute(update(Event).where(Event.id.in_([3, 7, 420])).values(
            tlp="amber", admin1="Batken", country="KGZ", imported_at=datetime(2026, 2, 4)))
        read = _reads(session, copy)
    assert read == 4  # not the 54 rows already saved
    snap = _check(runtime, copy)
    assert snap.fresh.n == 56 and snap.dead is not None and len(snap.dead) == 5
    assert len(said) == 1


def test_a_delete_or_an_edit_in_place_builds_it_again(
        setup: tuple[Runtime, ColumnStore, Said]) -> None:
    runtime, copy, said = setup
    _check(runtime, copy)
    with runtime.transaction() as session:
        session.execute(delete(Event).where(Event.id.in_([5, 6, 7])))
    _check(runtime, copy)
    assert len(said) == 2 and "deleted or edited" in said[1]
    with runtime.transaction() as session:  # no new import time: only the epoch tells
        session.execute(update(Event).where(Event.id == 10).values(tlp="red"))
    _check(runtime, copy)
    assert len(said) == 3 and "deleted or edited" in said[2]


def test_a_lost_epoch_row_or_a_damaged_file(setup: tuple[Runtime, ColumnStore, Said]) -> None:
    runtime, copy, said = setup
    _check(runtime, copy)
    home = next(copy.folder.iterdir())
    version = (home / "CURRENT").read_text().strip()
    (home / version / "meta.json").write_text("{not json")
    _check(runtime, copy)
    assert len(said) == 2
    with runtime.transaction() as session:
        session.execute(delete(EventEpoch))
    _check(runtime, copy)  # another token: a copy of its own
    assert len(said) == 3 and len(list(copy.folder.iterdir())) == 2


def test_rewritten_when_many_rows_came_since(setup: tuple[Runtime, ColumnStore, Said],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    runtime, copy, said = setup
    _check(runtime, copy)
    monkeypatch.setattr(store, "REWRITE_AT", 30)
    _add(runtime, 30, 400, 3, datetime(2026, 3, 1))
    snap = _check(runtime, copy)
    assert snap.fresh.n == 0 and snap.base.n == 430  # the files now hold them
    assert _check(runtime, copy).fresh.n == 0 and len(said) == 1


def test_changed_runs_through_the_copy_store_the_same_alerts(db_url: str, tmp_path: Path
                                                             ) -> None:
    indicators = parse_indicators(INDICATORS, "s.yaml")
    until = FIRST + timedelta(days=140)
    stored = []
    for copy in (ColumnStore(tmp_path / "columns"), None):
        runtime = Runtime(Settings(database_url=db_url))
        with runtime.transaction() as session:
            session.execute(delete(Event))
            session.execute(delete(alerts.Alert))
            session.execute(delete(alerts.changes.WarningMark))
        _add(runtime, 300, 0, 4, datetime(2026, 1, 1))
        with runtime.transaction() as session:
            alerts.run(session, operator_scope(), indicators, FIRST, until, Who("t"),
                       changed=True, store=copy)
        _add(runtime, 60, 300, 5, datetime(2026, 1, 2))  # late events in the same months
        with runtime.transaction() as session:
            result = alerts.run(session, operator_scope(), indicators, FIRST, until, Who("t"),
                                changed=True, store=copy)
            assert result.cells
            stored.append(sorted(
                (a.cell, a.tier, a.observed, a.expected, a.score, a.severity)
                for a in session.scalars(select(alerts.Alert))))
    assert stored[0] == stored[1] and stored[0]


def test_only_the_complete_scope_reads_through_it(setup: tuple[Runtime, ColumnStore, Said]
                                                  ) -> None:
    runtime, copy, _ = setup
    with runtime.transaction() as session:
        user, _ = accounts.add_user(session, "kaz", "KAZ-SC", "viewer", "pw-kaz-0123456789")
        assert alerts.snapshot_of(session, operator_scope(), copy) is not None
        partial = scope_for(accounts.principal_for(session, user))
        assert alerts.snapshot_of(session, partial, copy) is None


def test_where_the_copy_lives(tmp_path: Path) -> None:
    def folder(url: str, chosen: str | None = None) -> Path | None:
        return store.folder_of(Settings(database_url=url, event_columns=chosen))

    assert folder(f"sqlite:///{tmp_path}/a.db") == tmp_path / "a.db.columns"
    assert folder("sqlite://") is None and folder("sqlite:///:memory:") is None
    assert folder(f"sqlite:///{tmp_path}/a.db", "OFF") is None
    assert folder("postgresql+psycopg://u@h/db", str(tmp_path / "c")) == tmp_path / "c"
    pg = folder("postgresql+psycopg://u@h/db")
    assert pg is not None and pg.name == "event-columns"
