"""The CLI contract for orgs, users and tokens: exit codes, and stdout holding only secrets."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from riskatlas.parties import accounts, auth
from riskatlas.parties.models import ApiToken, Organisation, User
from riskatlas.runtime import Runtime

from ..helpers import cli
from .conftest import PASSWORD


def _count(rt: Runtime, model: type) -> int:
    with rt.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_orgs_add_and_list(db_url: str) -> None:
    result = cli("orgs", "add", "KAZ-MFA", "--state", "KAZ", "--db", db_url)
    assert result.exit_code == 0, result.output
    listed = cli("orgs", "list", "--format", "json", "--db", db_url)
    assert listed.exit_code == 0
    rows = {r["key"]: r for r in json.loads(listed.stdout)}
    assert rows["KAZ-MFA"]["state"] == "KAZ" and rows["KAZ-MFA"]["standing"] == "member"
    assert rows["C5-SEC"]["standing"] == "regional"


def test_orgs_add_refuses_unknown_state_and_duplicates(db_url: str, rt: Runtime) -> None:
    before = _count(rt, Organisation)
    assert cli("orgs", "add", "X", "--state", "ZZZ", "--db", db_url).exit_code != 0
    dup = cli("orgs", "add", "KAZ-SC", "--state", "KAZ", "--db", db_url)
    assert dup.exit_code != 0 and "already exists" in dup.stderr
    assert _count(rt, Organisation) == before


def test_users_add_with_password_from_stdin(db_url: str, rt: Runtime) -> None:
    result = cli("users", "add", "alice", "--org", "KAZ-SC", "--role", "editor",
                 "--password-stdin", "--db", db_url, input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # nothing generated, nothing to print
    with rt.transaction() as session:
        assert accounts.authenticate(session, "alice", PASSWORD, "cli",
                                     settings=rt.settings).role == "editor"
        stored = session.scalars(select(User.password_hash)).one()
        assert stored and PASSWORD not in stored


def test_users_add_generates_and_prints_password_once(db_url: str, rt: Runtime) -> None:
    result = cli("users", "add", "bob", "--org", "C5-SEC", "--role", "viewer", "--db", db_url)
    assert result.exit_code == 0, result.output
    password = result.stdout.strip()
    assert len(password) >= 16 and "\n" not in password
    with rt.transaction() as session:
        assert accounts.authenticate(session, "bob", password, "cli",
                                     settings=rt.settings).standing == "regional"
    listed = cli("users", "list", "--format", "json", "--db", db_url)
    assert password not in listed.output
    assert [(u["username"], u["active"]) for u in json.loads(listed.stdout)] == [("bob", True)]


def test_users_add_errors_write_nothing(db_url: str, rt: Runtime) -> None:
    for args, stdin in (
        (("--org", "NOPE", "--role", "viewer"), None),
        (("--org", "KAZ-SC", "--role", "boss"), None),
        (("--org", "KAZ-SC", "--role", "viewer", "--password-stdin"), "short\n"),
        (("--org", "KAZ-SC", "--role", "viewer", "--password-stdin"), ""),
    ):
        result = cli("users", "add", "carol", *args, "--db", db_url, input=stdin)
        assert result.exit_code != 0, args
        assert result.stdout == ""
    assert _count(rt, User) == 0


def test_users_disable(db_url: str) -> None:
    cli("users", "add", "alice", "--org", "KAZ-SC", "--role", "editor", "--db", db_url)
    assert cli("users", "disable", "alice", "--db", db_url).exit_code == 0
    again = cli("users", "disable", "alice", "--db", db_url)
    assert again.exit_code != 0 and "already disabled" in again.stderr
    assert cli("users", "disable", "nobody", "--db", db_url).exit_code != 0
    users = json.loads(cli("users", "list", "-f", "json", "--db", db_url).stdout)
    assert users[0]["active"] is False


def test_tokens_create_prints_only_the_token(db_url: str, rt: Runtime) -> None:
    cli("users", "add", "alice", "--org", "KAZ-SC", "--role", "editor", "--db", db_url)
    result = cli("tokens", "create", "alice", "--scope", "write", "--days", "7",
                 "--name", "ci", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1
    raw = result.stdout.strip()
    assert raw.startswith("ra_") and " " not in raw
    with rt.transaction() as session:
        principal = auth.principal_from_token(session, raw)
        assert principal is not None and principal.token_scope == "write"
        stored = session.scalars(select(ApiToken)).one()
        assert stored.token_hash == accounts.sha256_hex(raw) and stored.name == "ci"
    listed = cli("tokens", "list", "alice", "--db", db_url)
    assert listed.exit_code == 0 and raw not in listed.output
    assert stored.prefix in listed.stdout
    rows = json.loads(cli("tokens", "list", "-f", "json", "--db", db_url).stdout)
    assert [(r["prefix"], r["scope"], r["revoked_at"]) for r in rows] == [
        (stored.prefix, "write", None)]
    assert raw not in json.dumps(rows)


def test_tokens_create_errors(db_url: str, rt: Runtime) -> None:
    cli("users", "add", "alice", "--org", "KAZ-SC", "--role", "editor", "--db", db_url)
    for args in (("nobody",), ("alice", "--scope", "admin"), ("alice", "--days", "0")):
        result = cli("tokens", "create", *args, "--db", db_url)
        assert result.exit_code != 0, args
        assert result.stdout == ""
    assert _count(rt, ApiToken) == 0
    assert cli("tokens", "list", "nobody", "--db", db_url).exit_code != 0


def test_tokens_revoke_by_prefix_and_id(db_url: str, rt: Runtime) -> None:
    cli("users", "add", "alice", "--org", "KAZ-SC", "--role", "editor", "--db", db_url)
    first = cli("tokens", "create", "alice", "--db", db_url).stdout.strip()
    second = cli("tokens", "create", "alice", "--db", db_url).stdout.strip()
    assert cli("tokens", "revoke", first[:accounts.PREFIX_LENGTH], "--db", db_url
               ).exit_code == 0
    with rt.transaction() as session:
        second_id = session.scalar(select(ApiToken.id).where(
            ApiToken.token_hash == accounts.sha256_hex(second)))
    assert cli("tokens", "revoke", str(second_id), "--db", db_url).exit_code == 0
    with rt.transaction() as session:
        assert auth.principal_from_token(session, first) is None
        assert auth.principal_from_token(session, second) is None
    assert cli("tokens", "revoke", str(second_id), "--db", db_url).exit_code != 0
    assert cli("tokens", "revoke", "ra_missing", "--db", db_url).exit_code != 0
    rows = json.loads(cli("tokens", "list", "-f", "json", "--db", db_url).stdout)
    assert all(r["revoked_at"] for r in rows)
