"""Accounts service: password storage, tokens, sessions, the first administrator, sign-in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from riskatlas.audit.models import AuditEntry
from riskatlas.config import Settings
from riskatlas.db import utcnow
from riskatlas.parties import accounts, auth
from riskatlas.parties.models import ApiToken, LoginAttempt, User, WebSession
from riskatlas.runtime import Runtime

from .conftest import ATTEMPTS, PASSWORD


def _actions(rt: Runtime) -> list[tuple[str, str | None]]:
    with rt.transaction() as session:
        return [(a, d) for a, d in session.execute(
            select(AuditEntry.action, AuditEntry.detail).order_by(AuditEntry.seq))]


def test_password_is_stored_as_argon2_hash_only(rt: Runtime) -> None:
    with rt.transaction() as session:
        user, generated = accounts.add_user(session, "alice", "KAZ-SC", "analyst", PASSWORD)
        assert generated is None
        assert user.password_hash is not None
        assert PASSWORD not in user.password_hash
        assert user.password_hash.startswith("$argon2id$")
        assert accounts.verify_password(user.password_hash, PASSWORD)
        assert not accounts.verify_password(user.password_hash, PASSWORD + "x")
        assert not accounts.verify_password(None, PASSWORD)
    assert _actions(rt) == [("user.create", None)]


def test_add_user_without_password_generates_one(rt: Runtime) -> None:
    with rt.transaction() as session:
        user, generated = accounts.add_user(session, "bob", "C5-SEC", "viewer", None)
        assert generated and len(generated) >= 16
        assert accounts.verify_password(user.password_hash, generated)


@pytest.mark.parametrize("username,org,role,password,message", [
    ("carol", "NOPE", "viewer", PASSWORD, "no organisation"),
    ("carol", "KAZ-SC", "boss", PASSWORD, "invalid role"),
    ("carol", "KAZ-SC", "viewer", "short", "too short"),
    ("bad name", "KAZ-SC", "viewer", PASSWORD, "invalid username"),
])
def test_add_user_refuses_bad_input(rt: Runtime, username: str, org: str, role: str,
                                    password: str, message: str) -> None:
    with rt.transaction() as session, pytest.raises(accounts.AccountError, match=message):
        accounts.add_user(session, username, org, role, password)


def test_duplicate_username_refused(rt: Runtime, add_user: Callable[..., None]) -> None:
    add_user("alice")
    with rt.transaction() as session, pytest.raises(accounts.AccountError, match="exists"):
        accounts.add_user(session, "alice", "C5-SEC", "viewer", PASSWORD)


def test_principal_standing(rt: Runtime, add_user: Callable[..., None]) -> None:
    add_user("kaz", "KAZ-SC")
    add_user("sau", "SAU-GOV")
    add_user("sec", "C5-SEC")
    with rt.transaction() as session:
        standing = {u: accounts.principal_for(session, session.scalars(
            select(User).where(User.username == u)).one()).standing
            for u in ("kaz", "sau", "sec")}
    assert standing == {"kaz": "member", "sau": "partner", "sec": "regional"}


def test_ensure_admin_once_with_random_password(rt: Runtime) -> None:
    settings = Settings(database_url=rt.settings.database_url, admin_password=None)
    with rt.transaction() as session:
        first = accounts.ensure_admin(session, settings)
        second = accounts.ensure_admin(session, settings)
    assert first and len(first) >= 16
    assert second is None
    with rt.transaction() as session:
        assert accounts.ensure_admin(session, settings) is None
        admins = session.scalars(select(User).where(User.role == "admin")).all()
        assert [a.username for a in admins] == ["admin"]
        assert accounts.principal_for(session, admins[0]).org_key == "C5-SEC"
        principal = accounts.authenticate(session, "admin", first, "127.0.0.1",
                                          settings=rt.settings)
    assert principal.role == "admin"


def test_ensure_admin_never_repeats_a_password(settings: Settings, db_url: str) -> None:
    # Two fresh installations never share a password: there is no default.
    passwords = set()
    for _ in range(2):
        with Runtime(settings).transaction() as session:
            session.execute(update(User).values(role="viewer"))  # no admin any more
            session.execute(update(User).where(User.username == "admin")
                            .values(username=f"old{len(passwords)}"))
            generated = accounts.ensure_admin(session, settings)
        assert generated is not None
        passwords.add(generated)
    assert len(passwords) == 2


def test_ensure_admin_uses_configured_password(rt: Runtime) -> None:
    settings = Settings(database_url=rt.settings.database_url, admin_password="from-settings-1")
    with rt.transaction() as session:
        assert accounts.ensure_admin(session, settings) is None  # nothing to show
        accounts.authenticate(session, "admin", "from-settings-1", "127.0.0.1",
                              settings=rt.settings)


# --- tokens ------------------------------------------------------------------------------------

def test_token_stored_hashed_and_resolves(rt: Runtime, add_user: Callable[..., None]) -> None:
    add_user("alice")
    with rt.transaction() as session:
        raw = accounts.create_token(session, "alice", "read", 30, "ci")
    assert raw.startswith("ra_") and len(raw) > 40
    with rt.transaction() as session:
        stored = session.scalars(select(ApiToken)).one()
        assert stored.token_hash == accounts.sha256_hex(raw)
        assert raw not in (stored.token_hash, stored.prefix) and raw.startswith(stored.prefix)
        listed = accounts.list_tokens(session, "alice")
        assert raw not in repr(listed) and stored.token_hash not in repr(listed)
        principal = auth.principal_from_token(session, raw)
    assert principal is not None
    assert (principal.username, principal.org_key, principal.token_scope) == (
        "alice", "KAZ-SC", "read")
    assert not principal.can_write  # an editor's read token cannot write
    assert ("token.create", None) in _actions(rt)


def test_write_scope_allows_writes(rt: Runtime, add_user: Callable[..., None]) -> None:
    add_user("alice")
    with rt.transaction() as session:
        raw = accounts.create_token(session, "alice", "write", 30)
        principal = auth.principal_from_token(session, raw)
    assert principal is not None and principal.token_scope == "write" and principal.can_write


def test_unknown_expired_revoked_and_disabled_tokens_refused(
    rt: Runtime, add_user: Callable[..., None],
) -> None:
    add_user("alice")
    add_user("bob")
    with rt.transaction() as session:
        expired = accounts.create_token(session, "alice", "read", 1)
        revoked = accounts.create_token(session, "alice", "read", 1)
        disabled = accounts.create_token(session, "bob", "read", 1)
        session.execute(update(ApiToken).where(
            ApiToken.token_hash == accounts.sha256_hex(expired))
            .values(expires_at=utcnow() - timedelta(seconds=1)))
    with rt.transaction() as session:
        accounts.revoke_token(session, revoked[:accounts.PREFIX_LENGTH])
        accounts.disable_user(session, "bob")
    with rt.transaction() as session:
        for raw in (expired, revoked, disabled, "ra_unknown", "", None):
            assert auth.principal_from_token(session, raw) is None
    assert ("token.revoke", None) in _actions(rt)
    assert ("user.disable", None) in _actions(rt)


def test_revoke_by_id_and_errors(rt: Runtime, add_user: Callable[..., None]) -> None:
    add_user("alice")
    with rt.transaction() as session:
        accounts.create_token(session, "alice")
        token_id = session.scalar(select(ApiToken.id))
        assert accounts.revoke_token(session, str(token_id)).revoked_at is not None
        with pytest.raises(accounts.AccountError, match="already revoked"):
            accounts.revoke_token(session, str(token_id))
        with pytest.raises(accounts.AccountError, match="no token"):
            accounts.revoke_token(session, "ra_nothere")


def test_token_input_checked(rt: Runtime, add_user: Callable[..., None]) -> None:
    add_user("alice")
    with rt.transaction() as session:
        for kwargs, message in (({"scope": "admin"}, "scope"), ({"days": 0}, "lifetime")):
            with pytest.raises(accounts.AccountError, match=message):
                accounts.create_token(session, "alice", **kwargs)
        with pytest.raises(accounts.AccountError, match="no user"):
            accounts.create_token(session, "nobody")


def test_last_used_written_at_most_once_a_minute(
    rt: Runtime, add_user: Callable[..., None],
) -> None:
    add_user("alice")
    with rt.transaction() as session:
        raw = accounts.create_token(session, "alice", "read", 1)
    with rt.transaction() as session:
        auth.principal_from_token(session, raw)
    with rt.transaction() as session:
        first = session.scalars(select(ApiToken)).one().last_used_at
        assert first is not None
        auth.principal_from_token(session, raw)
        assert session.scalars(select(ApiToken)).one().last_used_at == first
        stale = first - timedelta(minutes=2)
        session.execute(update(ApiToken).values(last_used_at=stale))
    with rt.transaction() as session:
        auth.principal_from_token(session, raw)
    with rt.transaction() as session:
        assert accounts.as_utc(session.scalars(select(ApiToken)).one().last_used_at) \
            > accounts.as_utc(stale)


# --- sessions ----------------------------------------------------------------------------------

def test_session_round_trip(rt: Runtime, add_user: Callable[..., None]) -> None:
    add_user("alice")
    with rt.transaction() as session:
        principal = accounts.authenticate(session, "alice", PASSWORD, "10.0.0.1",
                                          settings=rt.settings)
        cookie, csrf = auth.start_session(session, principal)
    with rt.transaction() as session:
        assert cookie not in session.scalars(select(WebSession.session_hash)).all()
        found = auth.principal_from_session(session, cookie)
        assert found is not None
        assert found[0].username == "alice" and found[0].token_scope is None
        assert found[1] == csrf
        assert auth.principal_from_session(session, cookie + "x") is None
        auth.end_session(session, cookie)
    with rt.transaction() as session:
        assert auth.principal_from_session(session, cookie) is None


def test_expired_session_and_disabled_user_refused(
    rt: Runtime, add_user: Callable[..., None],
) -> None:
    add_user("alice")
    add_user("bob")
    with rt.transaction() as session:
        alice = accounts.authenticate(session, "alice", PASSWORD, "a", settings=rt.settings)
        bob = accounts.authenticate(session, "bob", PASSWORD, "a", settings=rt.settings)
        old, _ = auth.start_session(session, alice)
        bobs, _ = auth.start_session(session, bob)
        session.execute(update(WebSession).where(
            WebSession.session_hash == accounts.sha256_hex(old))
            .values(expires_at=utcnow() - timedelta(seconds=1)))
        accounts.disable_user(session, "bob")
    with rt.transaction() as session:
        assert auth.principal_from_session(session, old) is None
        assert auth.principal_from_session(session, bobs) is None


# --- sign-in -----------------------------------------------------------------------------------

def _fail(rt: Runtime, username: str, password: str, address: str) -> accounts.LoginFailed:
    """One attempt in its own committed transaction, as the routes do."""
    with rt.transaction() as session:
        try:
            accounts.authenticate(session, username, password, address, settings=rt.settings)
        except accounts.LoginFailed as exc:
            return exc
    raise AssertionError("sign-in unexpectedly succeeded")


def test_unknown_user_and_wrong_password_look_the_same(
    rt: Runtime, add_user: Callable[..., None],
) -> None:
    add_user("alice")
    unknown = _fail(rt, "nobody", PASSWORD, "10.0.0.1")
    wrong = _fail(rt, "alice", "wrong password", "10.0.0.2")
    assert type(unknown) is type(wrong) is accounts.LoginFailed
    assert str(unknown) == str(wrong)
    assert [d for a, d in _actions(rt) if a == "login.failure"] == ["unknown user",
                                                                    "wrong password"]


def test_disabled_user_refused(rt: Runtime, add_user: Callable[..., None]) -> None:
    add_user("alice")
    with rt.transaction() as session:
        accounts.disable_user(session, "alice")
    exc = _fail(rt, "alice", PASSWORD, "10.0.0.1")
    assert str(exc) == accounts.BAD_CREDENTIALS and exc.reason == "disabled"


def test_rate_limit_per_account_skips_password_check(
    rt: Runtime, add_user: Callable[..., None],
) -> None:
    add_user("alice")
    for i in range(ATTEMPTS):
        assert not isinstance(_fail(rt, "alice", "wrong", f"10.0.0.{i}"), accounts.RateLimited)
    # Right password, fresh address: still refused, because the account is locked.
    exc = _fail(rt, "alice", PASSWORD, "10.0.1.1")
    assert isinstance(exc, accounts.RateLimited)
    assert 1 <= exc.retry_after_seconds <= rt.settings.login_window_seconds
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(LoginAttempt)) == ATTEMPTS + 1
    assert _actions(rt)[-1] == ("login.failure", "rate limited")
    # Once the failures are older than the window, the account opens again.
    with rt.transaction() as session:
        session.execute(update(LoginAttempt).values(
            at=utcnow() - timedelta(seconds=rt.settings.login_window_seconds + 1)))
    with rt.transaction() as session:
        assert accounts.authenticate(session, "alice", PASSWORD, "10.0.1.1",
                                     settings=rt.settings).username == "alice"
    assert _actions(rt)[-1] == ("login.success", None)


def test_rate_limit_per_address(rt: Runtime, add_user: Callable[..., None]) -> None:
    add_user("alice")
    for i in range(ATTEMPTS):
        _fail(rt, f"guess{i}", "wrong", "10.9.9.9")
    assert isinstance(_fail(rt, "alice", PASSWORD, "10.9.9.9"), accounts.RateLimited)
    with rt.transaction() as session:  # the same account from elsewhere is fine
        accounts.authenticate(session, "alice", PASSWORD, "10.9.9.10", settings=rt.settings)


def test_successes_do_not_count(rt: Runtime, add_user: Callable[..., None]) -> None:
    add_user("alice")
    for _ in range(ATTEMPTS + 1):
        with rt.transaction() as session:
            accounts.authenticate(session, "alice", PASSWORD, "10.0.0.1", settings=rt.settings)
