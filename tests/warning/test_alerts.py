"""Alerts: computed per audience from the events, shown through the sharing policy (AMBER
field reports raise alerts a partner never sees, through the list, the detail or the CLI),
stored with a status that survives re-evaluation, and changed with who and when kept."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from riskatlas.audit.service import Who
from riskatlas.cli_options import operator_scope
from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.parties.models import Organisation
from riskatlas.runtime import Runtime
from riskatlas.warning import alerts, ingest
from riskatlas.warning.indicators import Indicator, parse_indicators
from riskatlas.warning.models import Alert, Event
from riskatlas.web.app import create_app

from ..helpers import cli

USERS = {"kaz": ("KAZ-SC", "editor"), "kgz": ("KGZ-SC", "viewer"),
         "sau": ("SAU-GOV", "editor")}
# A week's unrest in Almaty is a record of the past 4 weeks with at least 3 events
RIOTS = """
indicators:
  - key: T-RIOTS
    title: {en: Riots, ru: Беспорядки}
    risks: [CA-UNR-001]
    filter: {countries: [KAZ], event_types: [Riots]}
    detector: {name: record, params: {window: 4, minimum: 3}}
"""
WEEK = date(2024, 5, 4)  # a Saturday: an ACLED week starts on it


def _indicators() -> list[Indicator]:
    return parse_indicators(RIOTS, "riots.yaml")


def _report(day: date, n: int) -> dict[str, Any]:
    return {"date": day.isoformat(), "country": "KAZ", "admin1": "Almaty",
            "location": f"Almaty {n}", "event_type": "Riots", "sub_type": "Mob violence",
            "actor1": "Rioters (Kazakhstan)", "fatalities": 0, "notes": f"report {n}"}


def _events(runtime: Runtime, tlp: str, org: str, days: list[date],
            event_type: str = "Riots", country: str = "KAZ") -> None:
    """Events as an import writes them (a public dataset's rows)."""
    with runtime.transaction() as session:
        owner = session.scalar(select(Organisation.id).where(Organisation.key == org))
        base = session.scalar(select(func.count()).select_from(Event)) or 0
        for i, day in enumerate(days):
            row = dict(source="acled", source_id=f"T{base + i}", period="day", date=day,
                       country=country, admin1="Almaty", location=f"Almaty {i}",
                       event_type=event_type, sub_type="Mob violence",
                       actor1="Rioters (Kazakhstan)", fatalities=0, events=1,
                       owner_org_id=owner, tlp=tlp)
            session.add(Event(**row, digest=ingest.digest_of(row)))


def _run(runtime: Runtime, until: date = WEEK + timedelta(days=6)) -> alerts.RunResult:
    with runtime.transaction() as session:
        return alerts.run(session, operator_scope(), _indicators(), WEEK - timedelta(weeks=8),
                          until, Who("test"))


@pytest.fixture
def api(db_url: str) -> tuple[TestClient, dict[str, dict[str, str]], Runtime]:
    runtime = Runtime(Settings(database_url=db_url))
    headers = {}
    with runtime.transaction() as session:
        for name, (org, role) in USERS.items():
            accounts.add_user(session, name, org, role, f"pw-{name}-0123456789")
            headers[name] = {"Authorization": "Bearer "
                             + accounts.create_token(session, name, "write")}
    client = TestClient(create_app(Settings(database_url=db_url, cookie_secure=False)))
    _coverage(runtime)
    return client, headers, runtime


def _coverage(runtime: Runtime) -> None:
    """The data's coverage starts half a year before the week (an event of another kind)."""
    _events(runtime, "clear", "C5-SEC", [WEEK - timedelta(weeks=26)], "Protests", "KGZ")


def _alerts(client: TestClient, headers: dict[str, str] | None = None) -> list[Any]:
    response = client.get("/api/v1/alerts", headers=headers or {})
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


@pytest.mark.audited
def test_alerts_from_amber_field_reports_are_invisible_to_a_partner(
        api: tuple[TestClient, dict[str, dict[str, str]], Runtime], db_url: str) -> None:
    client, headers, runtime = api
    for n in range(5):  # five AMBER field reports of a member's security council in one week
        response = client.post("/api/v1/events", json=_report(WEEK + timedelta(days=n % 7), n),
                               headers=headers["kaz"])
        assert response.status_code == 201, response.text
    assert _run(runtime).added == 1
    member = _alerts(client, headers["kgz"])
    assert [(a["indicator"], a["admin1"], a["period_start"], a["observed"], a["tlp"])
            for a in member] == [("T-RIOTS", "Almaty", WEEK.isoformat(), 5.0, "amber")]
    alert_id = member[0]["id"]
    # the partner: not in the list, not by id, not through the CLI with --as
    assert _alerts(client, headers["sau"]) == []
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=headers["sau"]).status_code == 404
    assert client.post(f"/api/v1/alerts/{alert_id}/status", json={"status": "dismissed"},
                       headers=headers["sau"]).status_code == 404
    assert _alerts(client) == []  # anonymous
    shown = cli("alerts", "list", "--format", "json", "--as", "sau", "--db", db_url)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == []
    assert cli("alerts", "show", str(alert_id), "--as", "sau", "--db", db_url).exit_code == 1
    backtest = cli("warning", "backtest", "--since", "2024-01-01", "--until", "2024-06-30",
                   "--as", "sau", "--db", db_url)
    assert backtest.exit_code == 0, backtest.output
    assert json.loads(backtest.stdout) == {"alerts": []}
    # the member sees it through every door
    detail = client.get(f"/api/v1/alerts/{alert_id}", headers=headers["kgz"])
    assert detail.status_code == 200 and detail.json()["risks"] == ["CA-UNR-001"]
    shown = cli("alerts", "list", "--format", "json", "--as", "kgz", "--db", db_url)
    assert [a["id"] for a in json.loads(shown.stdout)] == [alert_id]


def test_each_reader_sees_the_alert_of_the_most_complete_data_they_may_read(
        api: tuple[TestClient, dict[str, dict[str, str]], Runtime]) -> None:
    client, headers, runtime = api
    # three GREEN events (ACLED) and two AMBER reports in the same week and province
    _events(runtime, "green", "C5-SEC", [WEEK, WEEK + timedelta(days=1), WEEK])
    _events(runtime, "amber", "KAZ-SC", [WEEK + timedelta(days=2), WEEK + timedelta(days=3)])
    assert _run(runtime).added == 2
    partner = _alerts(client, headers["sau"])
    member = _alerts(client, headers["kgz"])
    assert [(a["observed"], a["tlp"]) for a in partner] == [(3.0, "green")]
    assert [(a["observed"], a["tlp"]) for a in member] == [(5.0, "amber")]
    with runtime.transaction() as session:  # the operator: the most complete one too
        total, rows = alerts.list_alerts(session, operator_scope(), alerts.AlertFilters())
    assert (total, [r["observed"] for r in rows]) == (1, [5.0])


def test_amber_strict_events_raise_an_alert_for_their_owner_alone(
        api: tuple[TestClient, dict[str, dict[str, str]], Runtime]) -> None:
    client, headers, runtime = api
    _events(runtime, "amber+strict", "KAZ-SC", [WEEK, WEEK, WEEK + timedelta(days=1)])
    _events(runtime, "red", "KAZ-SC", [WEEK] * 4)  # RED feeds no alert at all
    assert _run(runtime).added == 1
    assert [(a["observed"], a["tlp"], a["owner"]) for a in _alerts(client, headers["kaz"])] == [
        (3.0, "amber+strict", "KAZ-SC")]
    assert _alerts(client, headers["kgz"]) == []
    assert _alerts(client, headers["sau"]) == []


@pytest.mark.audited
def test_a_status_is_kept_with_who_and_survives_re_evaluation(
        api: tuple[TestClient, dict[str, dict[str, str]], Runtime], db_url: str) -> None:
    client, headers, runtime = api
    _events(runtime, "green", "C5-SEC", [WEEK] * 4)
    _run(runtime)
    (alert,) = _alerts(client, headers["kaz"])
    assert alert["status"] == "new"
    url = f"/api/v1/alerts/{alert['id']}/status"
    refused = client.post(url, json={"status": "acknowledged"}, headers=headers["kgz"])
    assert refused.status_code == 403  # a viewer
    bad = client.post(url, json={"status": "closed"}, headers=headers["kaz"])
    assert bad.status_code == 422
    done = client.post(url, json={"status": "escalated", "note": "Border unit informed"},
                       headers=headers["kaz"])
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["status_by"],
            done.json()["status_note"]) == ("escalated", "kaz", "Border unit informed")
    _events(runtime, "green", "C5-SEC", [WEEK + timedelta(days=2)])  # a late event
    result = _run(runtime)
    assert (result.added, result.updated) == (0, 1)
    (again,) = _alerts(client, headers["kaz"])
    assert (again["id"], again["observed"], again["status"]) == (alert["id"], 5.0, "escalated")
    # the CLI's verbs, with an audit entry each
    acked = cli("alerts", "ack", str(alert["id"]), "--note", "seen", "--db", db_url)
    assert acked.exit_code == 0, acked.output
    shown = cli("alerts", "show", str(alert["id"]), "--format", "json", "--db", db_url)
    assert json.loads(shown.stdout)["status"] == "acknowledged"
    log = cli("audit", "list", "--format", "json", "--db", db_url)
    assert log.exit_code == 0, log.output
    actions = [e["action"] for e in json.loads(log.stdout)]
    assert {"alert.escalated", "alert.acknowledged", "alerts.run"} <= set(actions)


def test_an_alert_nobody_acted_on_is_withdrawn_when_it_no_longer_fires(
        api: tuple[TestClient, dict[str, dict[str, str]], Runtime]) -> None:
    _, _, runtime = api
    _events(runtime, "green", "C5-SEC", [WEEK] * 3)
    assert _run(runtime).added == 1
    with runtime.transaction() as session:  # the import is corrected: two rows were one
        for event in session.scalars(select(Event).order_by(Event.id).limit(1)):
            session.delete(event)
    assert _run(runtime).removed == 1
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0


def test_an_alert_names_its_risks_and_their_measures_the_reader_may_see(
        api: tuple[TestClient, dict[str, dict[str, str]], Runtime], db_url: str) -> None:
    client, headers, runtime = api
    loaded = cli("init", "--db", db_url)
    assert loaded.exit_code == 0, loaded.output
    _events(runtime, "green", "C5-SEC", [WEEK] * 3)
    _run(runtime)
    (alert,) = _alerts(client, headers["sau"])
    linked = client.get(f"/api/v1/alerts/{alert['id']}", headers=headers["sau"]).json()["linked"]
    assert [r["key"] for r in linked] == ["CA-UNR-001"]
    assert linked[0]["measures"], "the default catalog links measures to CA-UNR-001"
    assert all(m["key"].startswith("CA-") for m in linked[0]["measures"])


def test_warning_run_from_the_command_line(db_url: str, tmp_path: Path) -> None:
    runtime = Runtime(Settings(database_url=db_url))
    _coverage(runtime)
    _events(runtime, "green", "C5-SEC", [WEEK] * 3)
    path = tmp_path / "riots.yaml"
    path.write_text(RIOTS, encoding="utf-8")
    ran = cli("warning", "run", "--indicators", str(path), "--db", db_url)
    assert ran.exit_code == 0, ran.output
    assert "1 alert(s) added" in ran.stderr
    again = cli("warning", "run", "--indicators", str(path), "--db", db_url)
    assert "0 alert(s) added" in again.stderr and "1 unchanged" in again.stderr
    listed = cli("alerts", "list", "--format", "json", "--db", db_url)
    assert [(a["country"], a["period_start"]) for a in json.loads(listed.stdout)] == [
        ("KAZ", WEEK.isoformat())]
    bad = tmp_path / "bad.yaml"
    bad.write_text(RIOTS.replace("record", "crystal_ball"), encoding="utf-8")
    refused = cli("warning", "run", "--indicators", str(bad), "--db", db_url)
    assert refused.exit_code == 2
    assert f"{bad}:7: indicator T-RIOTS: detector.name: unknown detector" in refused.stderr


def test_default_indicators_on_green_events_only(db_url: str) -> None:
    """An ACLED import alone (every event GREEN, the default): the AMBER tier adds no event,
    and a fatalities indicator's matrix for it is the GREEN one (np.bincount of no events
    answered int64 zeros, and adding the tier below's float sums to them failed)."""
    runtime = Runtime(Settings(database_url=db_url))
    with runtime.transaction() as session:
        owner = session.scalar(select(Organisation.id).where(Organisation.key == "C5-SEC"))
        for i in range(60):  # a quiet border province, then a deadly week
            day = WEEK - timedelta(weeks=59 - i)
            deaths = 25 if i == 59 else i % 2
            row = dict(source="acled", source_id=f"B{i}", period="day", date=day,
                       country="KGZ", admin1="Batken", location="Kok-Tash",
                       event_type="Battles", sub_type="Armed clash",
                       actor1="Military Forces of Kyrgyzstan", fatalities=deaths, events=1,
                       owner_org_id=owner, tlp="green")
            session.add(Event(**row, digest=ingest.digest_of(row)))
    ran = cli("warning", "run", "--db", db_url)
    assert ran.exit_code == 0, ran.output
    listed = cli("alerts", "list", "--format", "json", "--db", db_url)
    found = {(a["indicator"], a["period_start"]) for a in json.loads(listed.stdout)}
    assert ("CA-EWI-BRD-002", WEEK.isoformat()) in found
