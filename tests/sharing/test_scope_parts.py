"""A scope's clauses split into parts (sharing.policy.Scope.risk_parts, measure_parts): their
union allows exactly what the whole clause allows, for every principal of the policy world; the
part an organisation's users share is one object for all of them; and the list index's sets,
kept per part, are the clause's."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from riskatlas.catalog import listing
from riskatlas.catalog.models import Measure, Risk
from riskatlas.config import Settings
from riskatlas.parties.accounts import principal_for
from riskatlas.parties.models import User
from riskatlas.runtime import Runtime
from riskatlas.sharing.policy import ANONYMOUS, MEMBER_VIEW, Scope, scope_for
from tests.sharing import world as w


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Runtime:
    made = Runtime(Settings(database_url=db_url))
    w.build(made, tmp_path)
    return made


def _keys(session: object, model: type, clause: object) -> set[str]:
    return set(session.scalars(select(model.key).where(clause)))  # type: ignore[attr-defined]


def _scopes(runtime: Runtime) -> dict[str, Scope]:
    with runtime.sessions() as session:
        users = {u.username: principal_for(session, u) for u in session.scalars(select(User))}
    out = {name: scope_for(users[name]) for name in w.USERS}
    out |= {"anonymous": scope_for(ANONYMOUS), "anonymous_public": scope_for(ANONYMOUS, True),
            "member view": scope_for(MEMBER_VIEW)}
    return out


def test_the_parts_allow_what_the_clause_allows(runtime: Runtime) -> None:
    scopes = _scopes(runtime)
    with runtime.sessions() as session:
        for name, scope in scopes.items():
            for model, whole, parts in ((Risk, scope.risks, scope.risk_parts),
                                        (Measure, scope.measures, scope.measure_parts)):
                assert len(parts) == 2, name
                union = set().union(*(_keys(session, model, part) for part in parts))
                assert union == _keys(session, model, whole), (name, model.__name__)
            if name in w.EXPECTED:  # the hand-written policy, for the risks
                assert _keys(session, Risk, scope.risks) == {
                    w.risk_key(suffix) for suffix in w.EXPECTED[name]}, name
        # What a member state's user sees whoever they are (every AMBER record, a group's
        # too), and nothing held for one organisation (AMBER+STRICT, RED): the member view of
        # the briefing and of the warm start.
        assert _keys(session, Risk, scopes["member view"].risks) == {
            w.risk_key(s) for s in ("CLEAR", "GREEN", "AMBER", "GROUP")}


def test_users_of_one_organisation_share_its_part(runtime: Runtime) -> None:
    scopes = _scopes(runtime)
    kgz, red, kaz = scopes["kgz_viewer"], scopes["kgz_red"], scopes["kaz_viewer"]
    assert kgz.risk_parts[0] is red.risk_parts[0]
    assert kgz.measure_parts[0] is red.measure_parts[0]
    assert kgz.risk_parts[1] is not red.risk_parts[1]  # each user's own grants
    assert kgz.risk_parts[0] is not kaz.risk_parts[0]
    assert scopes["kaz_editor"].risk_parts[0] is kaz.risk_parts[0]  # roles do not widen


def test_the_index_keeps_sets_per_part(runtime: Runtime) -> None:
    scopes = _scopes(runtime)
    index = listing.Listing()
    with runtime.sessions() as session:
        gen = index.at(session)
        ids = dict(session.execute(select(Risk.key, Risk.id)).all())
        measures = dict(session.execute(select(Measure.key, Measure.id)).all())
        for name, scope in scopes.items():
            seen = listing.visible(gen, session, scope)
            assert seen == {ids[k] for k in _keys(session, Risk, scope.risks)}, name
            hidden = listing.hidden_measures(gen, session, scope)
            assert hidden == set(measures.values()) - {
                measures[k] for k in _keys(session, Measure, scope.measures)}, name
        kgz = listing.visible(gen, session, scopes["kgz_viewer"])
        red = listing.visible(gen, session, scopes["kgz_red"])
        assert red - kgz == {ids[w.risk_key("RED")]}
        # A user with no RED grant has the organisation's set itself, not a copy of it.
        assert kgz is gen.allowed[scopes["kgz_viewer"].risk_parts[0]]
        assert (listing.hidden_measures(gen, session, scopes["kgz_viewer"])
                is gen.denied[scopes["kgz_viewer"].measure_parts[0]])
