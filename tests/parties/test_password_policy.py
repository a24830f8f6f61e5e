"""Passwords: at least 12 characters, not blank, not common or easy to guess.

Found against a live node: `12345678`, `password` and eight spaces were accepted. Each is tried
again the ways a password is set: `users add`, `init` with RISKATLAS_ADMIN_PASSWORD, the
service itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from riskatlas.config import get_settings
from riskatlas.parties import accounts
from riskatlas.parties.models import User
from riskatlas.runtime import Runtime
from tests.conftest import audit_verified
from tests.helpers import cli

pytestmark = pytest.mark.audited  # issue 8: the audit chain holds after each test

WEAK = ["12345678", "password", " " * 8]
# Long enough, but common or built from guessable parts.
GUESSABLE = ["password1234", "123456789012", "qwertyuiopas", "aaaaaaaaaaaaaaaa",
             "Password123!", "riskatlas2024"]
GOOD = ["correct horse battery", "fuzz-password-123", "Tr0ub4dor&3-staple"]


def _users(runtime: Runtime) -> int:
    with runtime.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


@pytest.mark.parametrize("password", WEAK)
def test_users_add_refuses_the_weak_passwords(db_url: str, runtime: Runtime,
                                              password: str) -> None:
    result = cli("users", "add", "carol", "--org", "KAZ-SC", "--role", "viewer",
                 "--password-stdin", "--db", db_url, input=password + "\n")
    assert result.exit_code != 0
    assert "password" in result.stderr and ("12 characters" in result.stderr)
    assert _users(runtime) == 0


@pytest.mark.parametrize("password", [*WEAK, "password1234"])
def test_init_refuses_a_weak_admin_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            password: str) -> None:
    monkeypatch.setenv("RISKATLAS_ADMIN_PASSWORD", password)
    get_settings.cache_clear()  # read the variable again (and forget it after)
    try:
        result = cli("init", "--db", f"sqlite:///{tmp_path / 'node.db'}")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "cannot create the administrator: password" in result.stderr
    if (tmp_path / "node.db").exists():  # whatever init left behind still verifies
        audit_verified(f"sqlite:///{tmp_path / 'node.db'}")


@pytest.mark.parametrize(("password", "reason"), [
    ("12345678", "password too short: use at least 12 characters (this one has 8)"),
    ("password", "password too short"),
    (" " * 8, "password is blank"),
    (" " * 20, "password is blank"),
    ("x" * 1025, "password too long"),
    *[(password, "password too easy to guess") for password in GUESSABLE],
])
def test_the_policy_says_why(password: str, reason: str) -> None:
    with pytest.raises(accounts.AccountError) as refused:
        accounts.check_password_policy(password)
    assert str(refused.value).startswith(reason)


def test_a_common_password_is_named_as_such() -> None:
    with pytest.raises(accounts.AccountError, match="very common password"):
        accounts.check_password_policy("password1234")


@pytest.mark.parametrize("password", GOOD)
def test_good_passwords_are_accepted(runtime: Runtime, password: str) -> None:
    accounts.check_password_policy(password)
    with runtime.transaction() as session:
        accounts.add_user(session, "dana", "KAZ-SC", "viewer", password)
    assert _users(runtime) == 1


def test_generated_passwords_pass_the_policy(runtime: Runtime) -> None:
    with runtime.transaction() as session:
        for i in range(3):
            _, generated = accounts.add_user(session, f"gen{i}", "KAZ-SC", "viewer", None)
            assert generated and len(generated) >= accounts.MIN_PASSWORD
