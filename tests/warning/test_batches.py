"""Batches (warning.batches): a large clean ACLED file stored as one Parquet file reads as its
rows would, through every reader (list, detail, stats, the engine direct and through the
columnar copy, --changed, the backtest); re-imports leave unchanged events alone and retire the
old version of a changed one; withdrawn events go; and the sharing policy governs a batch as
any record: an AMBER batch is invisible to a partner through every door, and so are the alerts
built from it."""

from __future__ import annotations

import json
from dataclasses import astuple
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from riskatlas.audit.service import Who
from riskatlas.cli_options import operator_scope
from riskatlas.config import Settings
from riskatlas.runtime import Runtime
from riskatlas.warning import alerts, batches, bulk, service
from riskatlas.warning.indicators import parse_indicators
from riskatlas.warning.models import Alert, Event, EventBatch, EventBatchDead, WarningMark
from riskatlas.warning.store import ColumnStore
from tests.helpers import cli
from tests.warning import files as g
from tests.warning.test_pages import _app
from tests.web.pages.frame_kit import fast_hashing, sign_in  # noqa: F401 - a fixture

START = date(2023, 1, 7)  # a Saturday
WEEKS = 60
# Border clashes in Batken: one a week, then a surge; riots in Osh every other week, then more
INDICATORS = """
indicators:
  - key: T-CLASH
    title: {en: Clashes, ru: Столкновения}
    risks: [CA-BRD-001]
    filter: {countries: [KGZ], event_types: [Battles]}
    detector: {name: record, params: {window: 8, minimum: 3}}
  - key: T-RIOT
    title: {en: Riots, ru: Беспорядки}
    risks: [CA-UNR-001]
    level: admin1
    filter: {countries: [KGZ], event_types: [Riots]}
    detector: {name: surge, params: {window: 4, threshold_pct: 100, min_count: 3}}
"""


def _history(surge_week: int = WEEKS - 1) -> list[dict[str, Any]]:
    rows = []
    n = 0
    for week in range(WEEKS):
        day = START + timedelta(weeks=week, days=2)
        clashes = 6 if week == surge_week else 1
        for _ in range(clashes):
            n += 1
            rows.append(g.acled_row(n, event_date=day.isoformat(), fatalities=str(n % 3)))
        riots = 5 if week == surge_week - 3 else week % 2
        for _ in range(riots):
            n += 1
            rows.append(g.acled_row(n, event_date=day.isoformat(), admin1="Osh",
                                    location="Osh", event_type="Riots",
                                    sub_event_type="Mob violence", actor1="Rioters (Kyrgyzstan)",
                                    inter1="5", actor2="", inter2="", interaction="50",
                                    fatalities="0"))
    return rows


def _import(db_url: str, path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool,
            *extra: str) -> str:
    with monkeypatch.context() as patch:
        patch.setattr(bulk, "FAST_MIN_BYTES", 0 if fast else 1 << 62)
        result = cli("events", "import", str(path), "--format", "acled", "--db", db_url, *extra)
    assert result.exit_code == 0, result.output
    return str(result.output)


def _events(db_url: str, **filters: Any) -> list[tuple[Any, ...]]:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        _, found = service.list_events(session, operator_scope(),
                                       service.EventFilters(**filters), limit=100_000)
    return [tuple(orjson.dumps(v, option=orjson.OPT_SORT_KEYS) for k, v in e.items()
                  if k != "id") for e in found]


def _stats(db_url: str) -> dict[str, Any]:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        return service.stats(session, operator_scope())


def _read_events(db_url: str) -> list[Any]:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        return sorted((astuple(s.event), s.tlp, s.owner) for s in alerts.read_events(
            session, operator_scope()))


def _run(db_url: str, changed: bool = False, store: ColumnStore | None = None,
         until: date = START + timedelta(weeks=WEEKS + 1)) -> list[tuple[Any, ...]]:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        alerts.run(session, operator_scope(), parse_indicators(INDICATORS, "t.yaml"),
                   START, until, Who("test"), changed=changed, store=store)
        return sorted(tuple(row) for row in session.execute(select(
            Alert.indicator, Alert.country, Alert.admin1, Alert.period_start, Alert.observed,
            Alert.expected, Alert.score, Alert.severity, Alert.tier, Alert.tlp)))


def _forget(db_url: str) -> None:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        for model in (Alert, WarningMark, EventBatchDead, EventBatch, Event):
            session.execute(delete(model))


def _counts(db_url: str) -> tuple[int, int]:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        return (session.scalar(select(func.count()).select_from(Event)) or 0,
                session.scalar(select(func.count()).select_from(EventBatch)) or 0)


def test_a_batch_reads_as_its_rows_would(db_url: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = g.write_csv(tmp_path / "acled.csv", g.ACLED_COLUMNS, _history())
    total = len(_history())
    _import(db_url, path, monkeypatch, fast=False)
    assert _counts(db_url) == (total, 0)
    as_rows = (_events(db_url), _events(db_url, admin1="Osh", since=START + timedelta(weeks=30)),
               _stats(db_url), _run(db_url), _read_events(db_url))
    assert len(as_rows[4]) == total
    backtest = cli("warning", "backtest", "--since", START.isoformat(), "--until",
                   (START + timedelta(weeks=WEEKS)).isoformat(), "--db", db_url)
    assert as_rows[3], "the history raises alerts"
    _forget(db_url)

    out = _import(db_url, path, monkeypatch, fast=True)
    assert f"{total} row(s) read: {total} added, 0 updated, 0 unchanged" in out, out
    assert _counts(db_url) == (0, 1)  # one batch, no row
    store = ColumnStore(tmp_path / "columns")
    as_batch = (_events(db_url), _events(db_url, admin1="Osh",
                                         since=START + timedelta(weeks=30)),
                _stats(db_url), _run(db_url, store=store), _read_events(db_url))
    assert as_batch == as_rows
    assert _run(db_url) == as_rows[3]  # direct, without the columnar copy
    again = cli("warning", "backtest", "--since", START.isoformat(), "--until",
                (START + timedelta(weeks=WEEKS)).isoformat(), "--db", db_url)
    assert json.loads(again.stdout) == json.loads(backtest.stdout)
    assert json.loads(again.stdout)["alerts"]
    # a filter's value is a value, never SQL (the batches' statements have their values
    # written in): quotes and backslashes find nothing and break nothing
    for odd in ("x' OR '1'='1", "Osh\\", "Osh'; DROP TABLE events; --"):
        assert _events(db_url, admin1=odd) == []
    assert len(_events(db_url, admin1="Osh")) == sum(r["admin1"] == "Osh" for r in _history())
    # the detail of a batch event is the list's entry
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        _, page = service.list_events(session, operator_scope(), service.EventFilters(),
                                      limit=3, offset=5)
        assert [service.get_event(session, operator_scope(), e["id"]) for e in page] == page
        assert service.get_event(session, operator_scope(), page[0]["id"] + 10**6) is None


def test_warning_run_changed_sees_a_new_batch(db_url: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The surge arrives in a later file: --changed evaluates its geography and finds what a
    full evaluation finds."""
    quiet = [r for r in _history(surge_week=-10) if r["event_date"] <
             (START + timedelta(weeks=WEEKS - 1)).isoformat()]
    _import(db_url, g.write_csv(tmp_path / "a.csv", g.ACLED_COLUMNS, quiet), monkeypatch,
            fast=True)
    store = ColumnStore(tmp_path / "columns")
    first = _run(db_url, changed=True, store=store)
    assert not [a for a in first if a[0] == "T-CLASH" and a[3] >= START + timedelta(
        weeks=WEEKS - 1)]
    surge = [r for r in _history() if r["event_date"] >= (
        START + timedelta(weeks=WEEKS - 1)).isoformat()]
    out = _import(db_url, g.write_csv(tmp_path / "b.csv", g.ACLED_COLUMNS, surge),
                  monkeypatch, fast=True)
    assert "0 updated, 0 unchanged" in out, out
    assert _counts(db_url) == (0, 2)
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        result = alerts.run(session, operator_scope(), parse_indicators(INDICATORS, "t.yaml"),
                            START, START + timedelta(weeks=WEEKS + 1), Who("test"),
                            changed=True, store=store)
        assert result.cells is not None and result.cells > 0
        assert result.added >= 1
    changed = _run(db_url, changed=True, store=store)
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        session.execute(delete(Alert))
    assert _run(db_url) == changed
    assert [a for a in changed if a[0] == "T-CLASH" and a[3] == START + timedelta(
        weeks=WEEKS - 1)]


def test_re_imports_retire_old_versions_and_withdrawals_go(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _history()[:40]
    path = g.write_csv(tmp_path / "acled.csv", g.ACLED_COLUMNS, rows)
    _import(db_url, path, monkeypatch, fast=True)
    out = _import(db_url, path, monkeypatch, fast=True)
    assert "40 row(s) read: 0 added, 0 updated, 40 unchanged" in out, out
    assert _counts(db_url) == (0, 1)
    rows[3]["fatalities"] = "9"
    g.write_csv(path, g.ACLED_COLUMNS, rows)
    out = _import(db_url, path, monkeypatch, fast=True)
    assert "40 row(s) read: 0 added, 1 updated, 39 unchanged" in out, out
    assert _counts(db_url) == (0, 2)
    listed = {e["source_id"]: e for e in _listed(db_url)}
    assert len(listed) == 40 and listed[rows[3]["event_id_cnty"]]["fatalities"] == 9
    # the row-by-row reader (a small weekly file) over batch events: unchanged stays, a
    # change becomes a row of `events` and retires the batch's version
    rows[4]["notes"] = "updated"
    out = _import(db_url, g.write_csv(tmp_path / "small.csv", g.ACLED_COLUMNS, rows[3:6]),
                  monkeypatch, fast=False)
    assert "3 row(s) read: 0 added, 1 updated, 2 unchanged" in out, out
    assert _counts(db_url) == (1, 2)
    listed = {e["source_id"]: e for e in _listed(db_url)}
    assert len(listed) == 40 and listed[rows[4]["event_id_cnty"]]["notes"] == "updated"
    # pages over a row and two batches: newest first, each event once, as the whole list
    whole = _listed(db_url)
    assert [(e["date"], e["id"]) for e in whole] == sorted(
        ((e["date"], e["id"]) for e in whole), reverse=True)
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        pages = [e for start in range(0, 40, 7) for e in service.list_events(
            session, operator_scope(), service.EventFilters(), limit=7, offset=start)[1]]
    assert pages == whole
    # withdrawn by the source: gone from every reader, from a batch and from the rows
    withdrawn = tmp_path / "deleted.csv"
    withdrawn.write_text("event_id_cnty,deleted_timestamp\n" + "".join(
        f"{rows[i]['event_id_cnty']},1700000000\n" for i in (0, 4, 7)))
    done = cli("events", "delete", str(withdrawn), "--source", "acled", "--db", db_url)
    assert done.exit_code == 0, done.output
    # ids 0 and 7 in a batch, 4 a row of `events` since the small file
    assert "3 id(s) listed: 3 event(s) deleted, 0 not stored" in done.output, done.output
    listed = {e["source_id"]: e for e in _listed(db_url)}
    assert len(listed) == 37 and rows[0]["event_id_cnty"] not in listed
    assert _stats(db_url)["total"]["rows"] == 37
    # a file that rewrites every live event of the first batch: that batch goes
    for row in rows:
        row["notes"] = "all new"
    g.write_csv(path, g.ACLED_COLUMNS, rows)
    out = _import(db_url, path, monkeypatch, fast=True)
    assert "40 row(s) read: 3 added, 37 updated, 0 unchanged" in out, out
    assert _counts(db_url) == (0, 1)
    assert {e["notes"] for e in _listed(db_url)} == {"all new"}


def test_a_file_too_large_for_one_batch_is_written_as_rows(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over batches.MAX_FILE the clean file is written row by row, nothing of a batch left
    half-made: its changed events become rows and retire their batch versions; unchanged
    ones stay where they are."""
    rows = _history()[:30]
    path = g.write_csv(tmp_path / "acled.csv", g.ACLED_COLUMNS, rows)
    _import(db_url, path, monkeypatch, fast=True)
    assert _counts(db_url) == (0, 1)
    rows[2]["fatalities"] = "9"
    rows[5]["notes"] = "revised"
    g.write_csv(path, g.ACLED_COLUMNS, rows)
    for expected in ("30 row(s) read: 0 added, 2 updated, 28 unchanged",
                     "30 row(s) read: 0 added, 0 updated, 30 unchanged"):
        with monkeypatch.context() as patch:
            patch.setattr(batches, "MAX_FILE", 0)
            out = _import(db_url, path, monkeypatch, fast=True)
        assert expected in out, out
        assert _counts(db_url) == (2, 1)
        listed = {e["source_id"]: e for e in _listed(db_url)}
        assert len(listed) == 30 and listed[rows[2]["event_id_cnty"]]["fatalities"] == 9
        assert listed[rows[5]["event_id_cnty"]]["notes"] == "revised"


def _listed(db_url: str) -> list[dict[str, Any]]:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        return service.list_events(session, operator_scope(), service.EventFilters(),
                                   limit=1000)[1]


def test_an_amber_batch_is_invisible_to_a_partner_through_every_door(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        fast_hashing: None) -> None:  # noqa: F811
    path = g.write_csv(tmp_path / "acled.csv", g.ACLED_COLUMNS, _history())
    _import(db_url, path, monkeypatch, True, "--tlp", "amber", "--owner", "KAZ-SC")
    assert _counts(db_url) == (0, 1)
    assert _run(db_url)
    app = _app(db_url)
    with TestClient(app) as member, TestClient(app) as partner, \
            TestClient(app) as anonymous:
        sign_in(member, "kgz")
        sign_in(partner, "sau")
        seen = member.get("/api/v1/events", params={"limit": 5}).json()
        assert seen["total"] == len(_history()) and len(seen["items"]) == 5
        event_id = seen["items"][0]["id"]
        assert member.get(f"/api/v1/events/{event_id}").status_code == 200
        assert member.get("/api/v1/alerts").json()["items"]
        assert "Kulundu" in member.get("/events").text
        for client in (partner, anonymous):
            page = client.get("/api/v1/events")
            assert page.status_code in (200, 401)
            if page.status_code == 200:
                assert page.json()["total"] == 0 and page.json()["items"] == []
            assert client.get(f"/api/v1/events/{event_id}").status_code in (401, 404)
            alerts_page = client.get("/api/v1/alerts")
            assert alerts_page.status_code in (200, 401)
            if alerts_page.status_code == 200:
                assert alerts_page.json()["items"] == []
            assert "Kulundu" not in client.get("/events").text
    for who in ("sau",):
        listed = cli("events", "list", "--format", "json", "--as", who, "--db", db_url)
        assert listed.exit_code == 0, listed.output
        assert json.loads(listed.stdout) == []
        stats = cli("events", "stats", "--format", "json", "--as", who, "--db", db_url)
        assert json.loads(stats.stdout)["total"]["rows"] == 0, stats.stdout
        backtest = cli("warning", "backtest", "--since", START.isoformat(), "--until",
                       (START + timedelta(weeks=WEEKS)).isoformat(), "--as", who,
                       "--db", db_url)
        assert json.loads(backtest.stdout) == {"alerts": []}
    member_list = cli("events", "list", "--format", "json", "--as", "kgz", "--db", db_url)
    assert len(json.loads(member_list.stdout)) > 0
