"""The early-warning pages: a field report filed through the form, the alert it raises shown
on /alerts, its page and the dashboard to a member and to nobody else (the partner,
anonymous), status changes by form (CSRF checked, viewers refused), Russian pages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from riskatlas.audit.service import Who
from riskatlas.cli_options import operator_scope
from riskatlas.runtime import Runtime
from riskatlas.warning import alerts
from riskatlas.warning.indicators import parse_indicators
from riskatlas.warning.models import Alert, Event
from tests.warning.test_alerts import RIOTS, WEEK
from tests.web.pages.frame_kit import (  # noqa: F401 - fast_hashing: a fixture
    add_user,
    app_for,
    fast_hashing,
    field,
    settings_for,
    sign_in,
)


def _report(client: TestClient, csrf: str, day: date, n: int, event_type: str = "Riots",
            sub_type: str = "Mob violence") -> int:
    answer = client.post("/reports/new", data={
        "csrf": csrf, "date": day.isoformat(), "country": "KAZ", "admin1": "Almaty",
        "location": f"Almaty {n}", "event_type": event_type, "sub_type": sub_type,
        "actor1": "Rioters (Kazakhstan)", "fatalities": "0", "notes": f"report {n}",
        "tlp": "amber"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].split("created=")[1])


def _run(db_url: str) -> None:
    with Runtime(settings_for(db_url)).transaction() as session:
        alerts.run(session, operator_scope(), parse_indicators(RIOTS, "riots.yaml"),
                   WEEK - timedelta(weeks=8), WEEK + timedelta(days=6), Who("test"))


def _app(db_url: str) -> Any:
    """The app with a reporter (KAZ editor), a member (KGZ viewer) and a partner (SAU)."""
    for name, org, role in (("kaz", "KAZ-SC", "editor"), ("kgz", "KGZ-SC", "viewer"),
                            ("sau", "SAU-GOV", "editor")):
        add_user(db_url, name, org, role)
    return app_for(db_url)


def test_a_report_filed_by_form_raises_an_alert_only_members_see(
        db_url: str, fast_hashing: None) -> None:  # noqa: F811
    app = _app(db_url)
    with TestClient(app) as reporter, TestClient(app) as member, \
            TestClient(app) as partner, TestClient(app) as anonymous:
        csrf = sign_in(reporter, "kaz")
        form = reporter.get("/reports/new")
        assert form.status_code == 200 and 'name="event_type"' in form.text
        ids = [_report(reporter, field(form.text, "csrf"), WEEK + timedelta(days=n % 7), n)
               for n in range(5)]
        # the data's coverage starts half a year before (a report of another kind)
        _report(reporter, csrf, WEEK - timedelta(weeks=26), 9, event_type="Protests",
                sub_type="Peaceful protest")
        assert f"Report {ids[-1]} filed." in reporter.get(f"/reports/new?created={ids[-1]}").text
        with Runtime(settings_for(db_url)).transaction() as session:
            owners = set(session.scalars(select(Event.tlp).where(Event.source == "report")))
        assert owners == {"amber"}
        # a bad report: named problems, nothing filed
        bad = reporter.post("/reports/new", data={
            "csrf": csrf, "date": "2024-05-40", "country": "XXX", "event_type": "Riots",
            "tlp": "amber"})
        assert bad.status_code == 422 and "The report was not filed" in bad.text
        assert "date" in bad.text and "country" in bad.text
        _run(db_url)
        with Runtime(settings_for(db_url)).transaction() as session:
            (alert_id,) = session.scalars(select(Alert.id))

        sign_in(member, "kgz")
        listed = member.get("/alerts")
        assert listed.status_code == 200
        assert f'href="/alerts/{alert_id}"' in listed.text and "T-RIOTS" in listed.text
        page = member.get(f"/alerts/{alert_id}")
        assert page.status_code == 200 and "CA-UNR-001" in page.text
        # the events behind it: the week's five reports, not the protest half a year before
        behind = page.text[page.text.index("Events behind it"):]
        assert all(f"report {n}" in behind for n in range(5)) and "report 9" not in behind
        assert 'action="/alerts/' not in page.text  # a viewer gets no status buttons
        latest = member.get("/alerts/latest")
        assert f'href="/alerts/{alert_id}"' in latest.text
        assert f'href="/alerts/{alert_id}"' in member.get("/alerts/latest?country=KAZ").text
        assert f'href="/alerts/{alert_id}"' not in member.get("/alerts/latest?country=KGZ").text
        assert 'hx-get="/alerts/latest?country=KAZ"' in member.get("/countries/KAZ").text
        assert 'hx-get="/alerts/latest"' in member.get("/").text
        # a viewer of an organisation files reports (as over the API), not status changes
        assert 'name="event_type"' in member.get("/reports/new").text

        sign_in(partner, "sau")
        for client in (partner, anonymous):
            assert "T-RIOTS" not in client.get("/alerts").text
            assert client.get(f"/alerts/{alert_id}").status_code == 404
            assert f"/alerts/{alert_id}" not in client.get("/alerts/latest").text
            assert "T-RIOTS" not in client.get("/alerts?status=new&country=KAZ").text
        # the partner cannot change it either: it does not exist for them
        partner_csrf = field(partner.get("/reports/new").text, "csrf")
        assert partner.post(f"/alerts/{alert_id}/status", data={
            "csrf": partner_csrf, "status": "dismissed"}).status_code == 404
        # anonymous: sent to sign in, not shown the form
        assert anonymous.get("/reports/new", follow_redirects=False).status_code == 303

        # the reporter's organisation acknowledges it, by form
        page = reporter.get(f"/alerts/{alert_id}")
        assert 'value="acknowledged"' in page.text
        refused = reporter.post(f"/alerts/{alert_id}/status", data={
            "csrf": "not the token", "status": "acknowledged"})
        assert refused.status_code == 403
        done = reporter.post(f"/alerts/{alert_id}/status", data={
            "csrf": field(page.text, "csrf"), "status": "acknowledged", "note": "seen"},
            follow_redirects=False)
        assert done.status_code == 303
        shown = member.get(f"/alerts/{alert_id}").text
        assert "acknowledged" in shown and "kaz" in shown and "seen" in shown
        viewer = member.post(f"/alerts/{alert_id}/status", data={
            "csrf": field(member.get("/account").text, "csrf"), "status": "dismissed"})
        assert viewer.status_code == 403
        assert "acknowledged" in member.get(f"/alerts/{alert_id}").text

        russian = member.get("/alerts?lang=ru")
        assert russian.status_code == 200 and "Оповещения" in russian.text


def test_the_events_page_shows_what_the_reader_may_see(
        db_url: str, fast_hashing: None) -> None:  # noqa: F811
    app = _app(db_url)
    with TestClient(app) as reporter, TestClient(app) as member, \
            TestClient(app) as partner, TestClient(app) as anonymous:
        csrf = sign_in(reporter, "kaz")
        _report(reporter, csrf, WEEK, 1)  # AMBER riots in Almaty
        green = reporter.post("/reports/new", data={
            "csrf": csrf, "date": WEEK.isoformat(), "country": "KAZ", "admin1": "Astana",
            "event_type": "Protests", "sub_type": "Peaceful protest", "notes": "report 2",
            "tlp": "green"}, follow_redirects=False)
        assert green.status_code == 303, green.text
        sign_in(member, "kgz")
        page = member.get("/events")
        assert page.status_code == 200 and "2 event(s)" in page.text
        assert "report 1" in page.text and "report 2" in page.text
        assert "KAZ · Almaty · Almaty 1" in page.text  # the place, country first
        riots = member.get("/events?event_type=Riots").text
        assert "report 1" in riots and "report 2" not in riots
        assert "report 2" in member.get("/events?admin1=Astana").text
        assert "report 1" not in member.get("/events?admin1=Astana").text
        assert "None that you may see" in member.get("/events?country=KGZ").text
        later = (WEEK + timedelta(days=1)).isoformat()
        assert "0 event(s)" in member.get(f"/events?since={later}").text
        # what the form cannot have sent is left out, not an error
        odd = member.get("/events?since=someday&source=nope&event_type=Parade&page=x")
        assert odd.status_code == 200 and "2 event(s)" in odd.text
        sign_in(partner, "sau")
        shown = partner.get("/events").text  # a partner: the GREEN report, not the AMBER one
        assert "report 2" in shown and "report 1" not in shown and "1 event(s)" in shown
        nobody = anonymous.get("/events").text
        assert "0 event(s)" in nobody and "report 1" not in nobody and "report 2" not in nobody
        assert "События" in member.get("/events?lang=ru").text
