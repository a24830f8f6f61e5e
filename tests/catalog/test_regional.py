"""The regional rating combines national assessments by the configured rule."""

from __future__ import annotations

import pytest

from riskatlas.audit.service import Who
from riskatlas.catalog import assessments
from riskatlas.catalog.matrix import active_matrix
from riskatlas.catalog.models import Risk
from riskatlas.catalog.records import risk_records
from riskatlas.cli_options import operator_scope
from riskatlas.runtime import Runtime
from tests.helpers import SMALL, load

ASSESSMENTS = [
    {
        "state": "KAZ",
        "likelihood": "Low",
        "impact": "Moderate",
        "rationale": {"en": "a", "ru": "а"},
    },
    {"state": "KGZ", "likelihood": "High", "impact": "High", "rationale": {"en": "b", "ru": "б"}},
    {
        "state": "TJK",
        "likelihood": "Very High",
        "impact": "Low",
        "rationale": {"en": "c", "ru": "в"},
    },
]


@pytest.mark.parametrize(
    "rule, expected",
    [
        ("max", ("Very High", "High", "High")),
        ("median", ("High", "Moderate", "Moderate")),
        ("mean", ("High", "Moderate", "Moderate")),  # (2+4+5)/3 = 3.67 -> 4; (3+4+2)/3 = 3
    ],
)
def test_regional_rating_follows_the_rule(runtime: Runtime, rule: str, expected: tuple) -> None:  # type: ignore[type-arg]
    load(runtime.settings.database_url, SMALL)
    matrix, everything = active_matrix(runtime.settings), operator_scope()
    with runtime.transaction() as session:
        stored = {a["state"]: a["version"] for a in risk_records(
            session, matrix, everything, [Risk.key == "CA-TST-001"])[0]["assessments"]}
        for assessment in ASSESSMENTS:
            assessments.put(session, matrix, everything, None, "CA-TST-001",
                            assessment["state"], assessment, Who("test"),
                            stored.get(assessment["state"]))
    with runtime.transaction() as session:
        risk, other = risk_records(
            session,
            matrix,
            everything,
            [Risk.key.in_(["CA-TST-001", "CA-TST-002"])],
            aggregation=rule,
        )
    regional = risk["regional"]
    assert (regional["likelihood"], regional["impact"], regional["level"]) == expected
    assert regional["rule"] == rule
    assert other["regional"] is None  # nobody assessed it
