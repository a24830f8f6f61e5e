"""`riskatlas events delete`: the events a source withdrew, all of a list or none, and the
next `warning run --changed` sees them gone."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

from riskatlas.audit.models import AuditEntry
from riskatlas.config import Settings
from riskatlas.runtime import Runtime
from riskatlas.warning.models import Alert, Event, WarningMark

from ..helpers import cli
from .test_alerts import RIOTS, WEEK, _coverage, _events


def _source_ids(db_url: str) -> list[str]:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        return sorted(session.scalars(select(Event.source_id)))


def _deleted_csv(tmp_path: Path, *ids: str) -> Path:
    path = tmp_path / "deleted.csv"
    path.write_text("event_id_cnty,deleted_timestamp\n"
                    + "".join(f"{i},1717171717\n" for i in ids), encoding="utf-8")
    return path


@pytest.mark.audited
def test_listed_events_are_deleted_and_unknown_ids_counted(db_url: str, tmp_path: Path) -> None:
    runtime = Runtime(Settings(database_url=db_url))
    _events(runtime, "green", "C5-SEC", [WEEK] * 3)  # T0, T1, T2
    result = cli("events", "delete", str(_deleted_csv(tmp_path, "T0", "T2", "KGZ999", "T0")),
                 "--source", "acled", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "3 id(s) listed: 2 event(s) deleted, 1 not stored" in result.stderr
    assert _source_ids(db_url) == ["T1"]
    with runtime.transaction() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert entry is not None and entry.action == "events.delete"
    # another source's ids are not these
    other = cli("events", "delete", str(_deleted_csv(tmp_path, "T1")), "--source", "ucdp-ged",
                "--db", db_url)
    assert other.exit_code == 0 and "0 event(s) deleted, 1 not stored" in other.stderr
    assert _source_ids(db_url) == ["T1"]


def test_acled_api_answer_as_json(db_url: str, tmp_path: Path) -> None:
    _events(Runtime(Settings(database_url=db_url)), "green", "C5-SEC", [WEEK] * 2)
    path = tmp_path / "deleted.json"
    path.write_bytes(orjson.dumps({"status": 200, "success": True, "count": 1, "data": [
        {"event_id_cnty": "T1", "deleted_timestamp": 1717171717}]}))
    result = cli("events", "delete", str(path), "--source", "acled", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert _source_ids(db_url) == ["T0"]


@pytest.mark.parametrize(("text", "problem"), [
    ("event_id_cnty,deleted_timestamp\nT0,1\n,2\nT1,3\n",
     "deleted.csv:3: event_id_cnty: required, but empty"),
    ("event_id_cnty\n" + "x" * 201 + "\nT1\n",
     "deleted.csv:2: event_id_cnty: longer than 200 characters"),
    ("deleted_timestamp\n1717171717\n", "deleted.csv:1: header: no id column (one of "
                                        "event_id_cnty, id, globaleventid, source_id)"),
    ("", "deleted.csv:1: header: the file is empty"),
])
def test_a_bad_list_deletes_nothing(db_url: str, tmp_path: Path, text: str,
                                    problem: str) -> None:
    _events(Runtime(Settings(database_url=db_url)), "green", "C5-SEC", [WEEK] * 2)
    path = tmp_path / "deleted.csv"
    path.write_text(text, encoding="utf-8")
    result = cli("events", "delete", str(path), "--source", "acled", "--db", db_url)
    assert result.exit_code == 2
    assert problem in result.stderr and "nothing was deleted" in result.stderr
    assert _source_ids(db_url) == ["T0", "T1"]


def test_the_next_changed_run_withdraws_the_alert_they_raised(db_url: str,
                                                               tmp_path: Path) -> None:
    runtime = Runtime(Settings(database_url=db_url))
    _coverage(runtime)
    _events(runtime, "green", "C5-SEC", [WEEK] * 3)  # T1, T2, T3: three riots, a record
    indicators = tmp_path / "riots.yaml"
    indicators.write_text(RIOTS, encoding="utf-8")
    run = ["warning", "run", "--changed", "--indicators", str(indicators), "--db", db_url]
    first = cli(*run)
    assert first.exit_code == 0 and "1 alert(s) added" in first.stderr, first.output
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(WarningMark)) == 1
    deleted = cli("events", "delete", str(_deleted_csv(tmp_path, "T2")), "--source", "acled",
                  "--db", db_url)
    assert deleted.exit_code == 0, deleted.output
    with runtime.transaction() as session:  # the watermark could not see it: gone
        assert session.scalar(select(func.count()).select_from(WarningMark)) == 0
    again = cli(*run)
    assert again.exit_code == 0 and "1 withdrawn" in again.stderr, again.output
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0
