"""Field incident reports over the JSON API: who may file one, what is refused (422 naming
the fields), and who reads it back (through the sharing scope)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app

USERS = {"kaz": ("KAZ-SC", "analyst"), "kgz": ("KGZ-SC", "viewer"),
         "sau": ("SAU-GOV", "viewer")}
REPORT = {"date": "2024-05-01", "country": "kaz", "admin1": "Almaty", "location": "Almaty",
          "latitude": 43.25, "longitude": 76.9, "event_type": "Riots",
          "sub_type": "Mob violence", "actor1": "Rioters (Kazakhstan)", "fatalities": 0,
          "notes": "Crowd at the bazaar"}


@pytest.fixture
def api(db_url: str) -> tuple[TestClient, dict[str, dict[str, str]]]:
    runtime = Runtime(Settings(database_url=db_url))
    headers = {}
    with runtime.transaction() as session:
        for name, (org, role) in USERS.items():
            accounts.add_user(session, name, org, role, f"pw-{name}-0123456789")
            headers[name] = {"Authorization": "Bearer "
                             + accounts.create_token(session, name, "write")}
        headers["kaz_read"] = {"Authorization": "Bearer "
                               + accounts.create_token(session, "kaz", "read")}
    client = TestClient(create_app(Settings(database_url=db_url, cookie_secure=False)))
    return client, headers


def _items(client: TestClient, headers: dict[str, str], query: str = "") -> list[Any]:
    response = client.get(f"/api/v1/events{query}", headers=headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


def test_a_report_is_owned_by_the_reporter_and_amber_by_default(
        api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, headers = api
    response = client.post("/api/v1/events", json=REPORT, headers=headers["kaz"])
    assert response.status_code == 201, response.text
    event = response.json()
    assert (event["owner"], event["tlp"], event["source"]) == ("KAZ-SC", "amber", "report")
    assert (event["country"], event["event_type"], event["date"]) == ("KAZ", "Riots",
                                                                     "2024-05-01")
    assert response.headers["location"] == f"/api/v1/events/{event['id']}"
    assert [e["id"] for e in _items(client, headers["kgz"])] == [event["id"]]  # a member
    assert _items(client, headers["sau"]) == []  # a partner does not see AMBER
    assert client.get(f"/api/v1/events/{event['id']}",
                      headers=headers["sau"]).status_code == 404
    assert client.get("/api/v1/events").status_code == 200  # anonymous: nothing, not an error
    assert _items(client, {}) == []


def test_green_reports_reach_partners_and_filters_page(
        api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, headers = api
    for day, country in (("2024-05-01", "KAZ"), ("2024-05-02", "KGZ"), ("2024-06-01", "KAZ")):
        made = client.post("/api/v1/events", headers=headers["kaz"],
                           json={**REPORT, "date": day, "country": country, "tlp": "GREEN"})
        assert made.status_code == 201, made.text
    assert len(_items(client, headers["sau"])) == 3
    assert [e["date"] for e in _items(client, headers["sau"], "?country=KAZ")] == [
        "2024-06-01", "2024-05-01"]
    assert [e["date"] for e in _items(client, headers["sau"], "?since=2024-05-02")] == [
        "2024-06-01", "2024-05-02"]
    page = client.get("/api/v1/events?limit=1&offset=1", headers=headers["sau"]).json()
    assert (page["total"], len(page["items"]), page["items"][0]["date"]) == (3, 1, "2024-05-02")
    assert client.get("/api/v1/events?source=acled", headers=headers["sau"]).json()[
        "total"] == 0
    assert client.get("/api/v1/events?source=nope",
                      headers=headers["sau"]).status_code == 422
    made = client.post("/api/v1/events", headers=headers["kaz"],
                       json={**REPORT, "admin1": "Osh", "country": "KGZ", "tlp": "GREEN",
                             "event_type": "Protests", "sub_type": "Peaceful protest"})
    assert made.status_code == 201, made.text
    assert [e["admin1"] for e in _items(client, headers["sau"], "?admin1=Osh")] == ["Osh"]
    assert [e["event_type"] for e in _items(client, headers["sau"], "?event_type=Riots")] == [
        "Riots"] * 3


def test_invalid_reports_are_422_with_field_names(
        api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, headers = api
    bad = {**REPORT, "country": "XYZ", "event_type": "Battles", "latitude": 91,
           "tlp": "purple", "colour": "red"}
    response = client.post("/api/v1/events", json=bad, headers=headers["kaz"])
    assert response.status_code == 422, response.text
    fields = {p["field"] for p in response.json()["problems"]}
    assert {"body.country", "body.sub_type", "body.latitude", "body.tlp",
            "body.colour"} <= fields
    assert _items(client, headers["kaz"]) == []


def test_who_may_file(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, headers = api
    assert client.post("/api/v1/events", json=REPORT).status_code == 401
    assert client.post("/api/v1/events", json=REPORT,
                       headers=headers["kaz_read"]).status_code == 403
    red = client.post("/api/v1/events", json={**REPORT, "tlp": "red"}, headers=headers["kgz"])
    assert red.status_code == 201, red.text  # RED: the reporter is named on it
    assert [e["tlp"] for e in _items(client, headers["kgz"])] == ["red"]
    assert _items(client, headers["kaz"]) == []  # nobody else, not even other members
