"""Who may write what, through every write door: the API, the command line (`--as`) and
import (`import --as`), for each kind of principal and each kind of change.

The risk under test is owned by the secretariat (C5-SEC). Each door and principal gets a node
of its own; the changes are tried in order, and after each one the whole catalog is compared
with the one before it: a refused change leaves everything as it was, an allowed one changes
exactly what it should.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.catalog.trust import PENDING, PRINCIPALS, RISK, Node, audit_ok, make_node, measure
from tests.helpers import cli, export

KINDS = ("risk_fields", "tlp_sharing", "measure_link", "link_acceptance", "own_assessment",
         "other_assessment", "retire")
ALLOWED: dict[str, set[str]] = {
    "risk_fields": {"owner_editor"},
    "tlp_sharing": {"owner_editor"},
    # Any editor may link its own measure to a risk it can see; the link is only pending
    # unless the risk's owner made it.
    "measure_link": {"owner_editor", "member_editor", "partner_editor", "observer_editor"},
    "link_acceptance": {"owner_editor"},
    "own_assessment": {"member_editor"},  # only a member state's editors and analysts
    "other_assessment": set(),
    "retire": {"owner_editor"},
}
OWN_STATE = {"member_editor": "KGZ", "partner_editor": "SAU", "observer_editor": "TUR"}
OTHER_STATE = "TJK"  # assessed in small.yaml (version 1)
BODY = {"likelihood": "Low", "impact": "Low", "rationale": {"en": "Ours", "ru": "Наша"}}


def _user(kind: str) -> str | None:
    principal = PRINCIPALS[kind]
    return None if principal is None else principal[0]


def _new_measure_key(kind: str) -> str:
    return f"CA-MSR-{kind[:5].upper()}"


# --- the doors: each tries one change and says whether the door accepted it -----------------


def _api(node: Node, kind: str, change: str, tmp: Path) -> bool:
    user = _user(kind)
    client = node.client
    risk_path = f"/api/v1/risks/{RISK}"

    def if_match() -> dict[str, str]:
        return node.headers(user, **{"If-Match": node.etag(risk_path)})

    if change == "risk_fields":
        response = client.patch(risk_path, json={"summary": {"en": "Changed"}},
                                headers=if_match())
    elif change == "tlp_sharing":
        response = client.patch(risk_path, json={"tlp": "green",
                                                 "sharing": {"orgs": ["KGZ-SC"]}},
                                headers=if_match())
    elif change == "measure_link":
        response = client.post("/api/v1/measures", json=_measure(kind),
                               headers=node.headers(user))
    elif change == "link_acceptance":
        response = client.post(f"{risk_path}/measures/{PENDING}/accept", headers=if_match())
    elif change in {"own_assessment", "other_assessment"}:
        state = _state(kind, change)
        headers = node.headers(user, **({"If-Match": '"1"'} if state == OTHER_STATE else {}))
        response = client.put(f"{risk_path}/assessments/{state}", json=BODY, headers=headers)
    else:
        response = client.post(f"{risk_path}/retire", headers=if_match())
    assert response.status_code < 500, response.text
    if response.status_code < 300:
        return True
    assert response.status_code in {401, 403, 404, 422}, response.text
    return False


def _cli(node: Node, kind: str, change: str, tmp: Path) -> bool:
    as_user = ["--as", _user(kind) or "nobody", "--db", node.db_url]
    if change == "risk_fields":
        result = cli("risks", "edit", RISK, "--set", "summary.en=Changed", *as_user)
    elif change == "tlp_sharing":
        result = cli("risks", "edit", RISK, "--set", "tlp=green", "--set",
                     "sharing={orgs: [KGZ-SC]}", *as_user)
    elif change == "measure_link":
        path = tmp / f"{kind}.yaml"
        path.write_text(yaml.safe_dump(_measure(kind), allow_unicode=True), encoding="utf-8")
        result = cli("measures", "add", "--from", str(path), *as_user)
    elif change == "link_acceptance":
        result = cli("links", "accept", RISK, PENDING, *as_user)
    elif change in {"own_assessment", "other_assessment"}:
        state = _state(kind, change)
        version = ["--version", "1"] if state == OTHER_STATE else []
        result = cli("assessments", "set", RISK, state, "--likelihood", "Low", "--impact",
                     "Low", "--rationale-en", "Ours", "--rationale-ru", "Наша", *version,
                     *as_user)
    else:
        result = cli("risks", "edit", RISK, "--set", "status=retired", *as_user)
    assert result.exit_code in {0, 2}, result.output  # never a traceback
    return bool(result.exit_code == 0)


def _import(node: Node, kind: str, change: str, tmp: Path) -> bool:
    risk = node.risk()
    doc: dict[str, Any] = {"risks": [risk]}
    if change == "risk_fields":
        risk["summary"]["en"] = "Changed"
    elif change == "tlp_sharing":
        risk["tlp"], risk["sharing"]["orgs"] = "green", ["KGZ-SC"]
    elif change == "measure_link":
        doc = {"measures": [_measure(kind)]}
    elif change == "link_acceptance":
        risk["measures"] = sorted([*risk["measures"], PENDING])
    elif change in {"own_assessment", "other_assessment"}:
        state = _state(kind, change)
        risk["assessments"] = [dict(BODY, state=state, version=1)]
    else:
        risk["status"] = "retired"
    path = tmp / f"{kind}-{change}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    result = cli("import", str(path), "--as", _user(kind) or "nobody", "--db", node.db_url)
    assert result.exit_code in {0, 2}, result.output
    return bool(result.exit_code == 0)


DOORS: dict[str, Callable[[Node, str, str, Path], bool]] = {
    "api": _api, "cli": _cli, "import": _import}


def _state(kind: str, change: str) -> str:
    return OWN_STATE.get(kind, "KAZ") if change == "own_assessment" else OTHER_STATE


def _measure(kind: str) -> dict[str, Any]:
    org = PRINCIPALS[kind][1] if PRINCIPALS[kind] else "C5-SEC"  # type: ignore[index]
    return dict(measure(_new_measure_key(kind), [RISK], lead=org), owner=org)


# --- what an allowed change must have changed, and nothing else -----------------------------


def _by_key(doc: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {(section, r["key"]): r for section in ("risks", "measures") for r in doc[section]}


def _check_effect(kind: str, change: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    old, new = _by_key(before), _by_key(after)
    risk_before, risk = old[("risks", RISK)], new[("risks", RISK)]
    touched = {("risks", RISK)}
    if change == "risk_fields":
        assert risk["summary"]["en"] == "Changed"
    elif change == "tlp_sharing":
        assert (risk["tlp"], risk["sharing"]["orgs"]) == ("green", ["KGZ-SC"])
    elif change == "measure_link":
        key = _new_measure_key(kind)
        touched.add(("measures", key))
        status = "accepted" if kind == "owner_editor" else "pending"
        assert {"measure": key, "status": status} in risk["links"]
        if status == "pending":  # a pending link changes no rating
            assert risk["residual_level"] == risk_before["residual_level"]
            assert risk["version"] == risk_before["version"]
    elif change == "link_acceptance":
        assert {"measure": PENDING, "status": "accepted"} in risk["links"]
        assert risk["residual_level"] == "Very Low"
        touched.add(("measures", PENDING))  # its links now show the acceptance
    elif change in {"own_assessment", "other_assessment"}:
        assert {a["state"]: a["likelihood"] for a in risk["assessments"]}[
            _state(kind, change)] == "Low"
        assert risk["version"] == risk_before["version"]  # the risk itself is unchanged
    else:
        assert risk["status"] == "retired"
    for key in old.keys() | new.keys():
        if key not in touched:
            assert old.get(key) == new.get(key), f"{change} by {kind} also changed {key}"


@pytest.mark.parametrize("kind", list(PRINCIPALS))
@pytest.mark.parametrize("door", list(DOORS))
def test_write_permission_matrix(db_url: str, tmp_path: Path, door: str, kind: str) -> None:
    node = make_node(db_url)
    for change in KINDS:
        before = export(db_url)
        accepted = DOORS[door](node, kind, change, tmp_path)
        after = export(db_url)
        expected = kind in ALLOWED[change]
        assert accepted == expected, f"{door}: {change} by {kind}: accepted={accepted}"
        if expected:
            _check_effect(kind, change, before, after)
        else:
            assert after == before, f"{door}: refused {change} by {kind} changed the catalog"
    audit_ok(db_url)
