"""/metrics: administrators only (unless public), request counters by route template, database
figures read at scrape time, no record key in any label."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app
from tests.helpers import SMALL, load


def _tokens(db_url: str) -> dict[str, str]:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        accounts.add_user(session, "boss", "C5-SEC", "admin", "correct horse battery")
        accounts.add_user(session, "ed", "C5-SEC", "editor", "correct horse battery")
        return {name: accounts.create_token(session, name, "read") for name in ("boss", "ed")}


def _value(body: str, name: str, **labels: str) -> float:
    for line in body.splitlines():
        if not line.startswith(name + ("{" if labels else " ")):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_are_for_administrators(db_url: str) -> None:
    tokens = _tokens(db_url)
    client = TestClient(create_app(Settings(database_url=db_url)))
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {tokens['ed']}"}
                      ).status_code == 403
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {tokens['boss']}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert "riskatlas_audit_chain_length" in answer.text


def test_the_public_setting_opens_them(db_url: str) -> None:
    client = TestClient(create_app(Settings(database_url=db_url, metrics_public=True)))
    assert client.get("/metrics").status_code == 200


def test_counters_move_and_labels_stay_templates(db_url: str) -> None:
    load(db_url, SMALL)
    tokens = _tokens(db_url)
    client = TestClient(create_app(Settings(database_url=db_url)))
    admin = {"Authorization": f"Bearer {tokens['boss']}"}
    before = client.get("/metrics", headers=admin).text
    route = "/api/v1/risks/{key}"
    for _ in range(3):
        assert client.get("/api/v1/risks/CA-TST-001", headers=admin).status_code == 200
    client.get("/api/v1/risks/CA-NOPE-404", headers=admin)
    client.get("/no/such/page/CA-TST-001")
    after = client.get("/metrics", headers=admin).text
    def moved(**labels: str) -> float:
        return (_value(after, "riskatlas_http_requests_total", **labels)
                - _value(before, "riskatlas_http_requests_total", **labels))
    # The second and third reads may come from the answer cache: counted all the same.
    assert moved(method="GET", route=route, status="2xx") == 3
    assert moved(method="GET", route=route, status="4xx") == 1
    assert moved(route="(unmatched)", status="4xx") == 1
    # method too: other tests in the process may have answered PUTs on the same route
    assert (_value(after, "riskatlas_http_request_duration_seconds_count", method="GET",
                   route=route, status="2xx")
            - _value(before, "riskatlas_http_request_duration_seconds_count", method="GET",
                     route=route, status="2xx")) == 3
    assert "CA-TST-001" not in after and "CA-NOPE" not in after  # no record in a label
    length = _value(after, "riskatlas_audit_chain_length")
    assert length > 0 and length == _value(before, "riskatlas_audit_chain_length")
    assert _value(after, "riskatlas_imports", kind="catalog") > 0  # `load` is an import
    # Every route label is a route's template (other tests in this process may have added
    # theirs) or "(unmatched)": never a raw path.
    from riskatlas.web.observe import _flat_routes

    templates = {getattr(r, "path", None) for r in _flat_routes(client.app)}
    labels = set(re.findall(r'route="([^"]*)"', after))
    assert route in labels and "(unmatched)" in labels
    assert labels <= templates | {"(unmatched)"}, labels - templates


def test_alerts_by_status_and_severity(db_url: str) -> None:
    from datetime import date

    from riskatlas.warning.models import Alert

    with Runtime(Settings(database_url=db_url)).transaction() as session:
        for i, (status, severity) in enumerate([("new", 3), ("new", 3), ("dismissed", 1)]):
            session.add(Alert(
                cell=f"ind|KAZ||2026-0{i + 1}-01", tier="clear", rank=0, indicator="ind",
                country="KAZ", period="month", period_start=date(2026, i + 1, 1),
                period_end=date(2026, i + 1, 28), observed=5.0, score=3.0, severity=severity,
                status=status, tlp="clear", owner_org_id=1, detector="zscore",
                risks=[]))
    client = TestClient(create_app(Settings(database_url=db_url, metrics_public=True)))
    body = client.get("/metrics").text
    assert _value(body, "riskatlas_alerts", status="new", severity="3") == 2
    assert _value(body, "riskatlas_alerts", status="dismissed", severity="1") == 1
