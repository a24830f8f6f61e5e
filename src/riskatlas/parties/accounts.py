"""Users, passwords, API tokens and sign-in: the rules behind the CLI, the JSON API and the pages.

Passwords are hashed with Argon2id. API tokens are 256-bit random strings, so only their SHA-256
is stored (a slow hash adds nothing against guessing, and every request must look one up).
Sign-in is rate-limited per account and per address, counted from `LoginAttempt` rows so the
limit holds across worker processes.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from riskatlas.audit.service import append as audit
from riskatlas.config import Settings, get_settings
from riskatlas.db import utcnow
from riskatlas.parties.models import ApiToken, LoginAttempt, Organisation, State, User, WebSession
from riskatlas.parties.principal import Principal

ROLES = ("viewer", "analyst", "editor", "admin")
SCOPES = ("read", "write")
ADMIN_USERNAME = "admin"
ADMIN_ORG = "C5-SEC"
# OWASP ASVS 4.0 (V2.1.1) asks at least 12 characters, with the check for common and
# guessable passwords below (V2.1.7).
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 cost grows with input length; refuse absurd inputs
TOKEN_MARK = "ra_"  # makes leaked tokens easy to spot (secret scanners, logs)
PREFIX_LENGTH = 10  # the mark and 7 random characters: tells a user's tokens apart
MAX_TOKEN_DAYS = 3650
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# One message for unknown user, wrong password and disabled account: a caller must not be able
# to learn which accounts exist. The reason goes to the audit log only.
BAD_CREDENTIALS = "unknown username or wrong password"
# Keep recent attempts long enough for the rate limit and a little forensics; older rows are
# pruned on successful sign-ins (the audit log keeps the permanent record).
ATTEMPT_RETENTION = timedelta(days=1)

_hasher = PasswordHasher()


class AccountError(ValueError):
    """A refused account operation; the message is fit to show to the operator."""


class LoginFailed(Exception):
    """Sign-in refused. `str(exc)` is safe to show; `reason` is for the audit log only."""

    def __init__(self, reason: str, message: str = BAD_CREDENTIALS) -> None:
        super().__init__(message)
        self.reason = reason


class RateLimited(LoginFailed):
    """Too many recent failures for the account or the address; the password was not checked."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("rate limited", "too many failed sign-ins; try again in "
                         f"{retry_after_seconds} seconds")
        self.retry_after_seconds = retry_after_seconds


# --- small shared helpers ----------------------------------------------------------------------

def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def as_utc(at: datetime) -> datetime:
    """SQLite hands back naive datetimes; every timestamp here was written as UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _iso(at: datetime | None) -> str | None:
    return None if at is None else as_utc(at).strftime("%Y-%m-%dT%H:%M:%SZ")


# The one place a standing is computed, as SQL so each look-up stays one query (the caller
# outer-joins State on Organisation.state_code): the state's role for an organisation of a
# state, else the organisation's own standing. A stateless body with none recorded (added
# before standings were explicit) gets the least, observer, rather than a member's reach.
STANDING: ColumnElement[str] = func.coalesce(State.role, Organisation.standing, "observer")


def build_principal(user: User, org_key: str, standing: str,
                    token_scope: str | None = None) -> Principal:
    """A principal from a user row, its organisation's key and standing (see STANDING)."""
    return Principal(user_id=user.id, username=user.username, org_id=user.org_id,
                     org_key=org_key, role=user.role, standing=standing,
                     token_scope=token_scope)


def principal_for(session: Session, user: User) -> Principal:
    """The principal of a signed-in user, with the standing of its organisation."""
    org_key, standing = session.execute(
        select(Organisation.key, STANDING)
        .outerjoin(State, State.code == Organisation.state_code)
        .where(Organisation.id == user.org_id)).one()
    return build_principal(user, org_key, standing)


# --- passwords ---------------------------------------------------------------------------------

# zxcvbn's score from 0 to 4: 3 and up means over 10^8 guesses even for an attacker who tries
# common passwords, words, names, dates, keyboard runs and repeats first.
MIN_STRENGTH = 3
# Words a password for this product must not lean on (zxcvbn's "user inputs").
CONTEXT_WORDS = ("riskatlas", "risk atlas", "atlas", "c5-sec", "admin")


def check_password_policy(password: str) -> None:
    """Refuse a password that is blank, shorter than MIN_PASSWORD, longer than MAX_PASSWORD, or
    easy to guess: a common password (zxcvbn ships the 30,000 most used, with English words and
    names, offline) or one built from such parts, repeats or sequences. The message says why."""
    if not password.strip():
        raise AccountError("password is blank: use at least "
                           f"{MIN_PASSWORD} characters that are not all spaces")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password too short: use at least {MIN_PASSWORD} characters "
                           f"(this one has {len(password)})")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"password too long: use at most {MAX_PASSWORD} characters")
    from zxcvbn import zxcvbn  # 25 ms to import its word lists: only when a password is set

    # zxcvbn refuses more than 72 characters (its matching grows fast with length); a password
    # whose first 72 characters are guessable is refused as a whole.
    verdict = zxcvbn(password[:72], user_inputs=list(CONTEXT_WORDS))
    if verdict["score"] < MIN_STRENGTH:
        feedback = verdict["feedback"]
        reasons = " ".join(filter(None, [feedback.get("warning"), *feedback["suggestions"]]))
        raise AccountError("password too easy to guess: it is a common password or made of "
                           "common words, names, dates, sequences or repeats"
                           + (f" ({reasons})" if reasons else ""))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches. Always does one Argon2 verification, even without a
    hash, so response times do not reveal whether an account exists."""
    try:
        return _hasher.verify(password_hash or _decoy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


# --- users -------------------------------------------------------------------------------------

def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"no user {username!r}")
    return user


def add_user(
    session: Session, username: str, org_key: str, role: str, password: str | None,
    *, actor: str | None = "cli", address: str | None = None,
) -> tuple[User, str | None]:
    """Create an active user. Without a password a random one is made and returned (the only
    time it can be seen); with one, the second element is None."""
    if not USERNAME.match(username):
        raise AccountError(f"invalid username {username!r}: 1-64 letters, digits or ._@- "
                           "starting with a letter or digit")
    if role not in ROLES:
        raise AccountError(f"invalid role {role!r}: one of {', '.join(ROLES)}")
    # Keys are stored upper-case (the catalog's rule for organisation codes); the key as given
    # still finds one made before that rule (e.g. "Ministry of Emergencies").
    org = session.scalar(select(Organisation).where(
        Organisation.key.in_({org_key, org_key.strip().upper()})).order_by(Organisation.key))
    if org is None:
        raise AccountError(f"no organisation {org_key!r} (see: riskatlas orgs list)")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} already exists")
    generated = None if password is not None else secrets.token_urlsafe(16)
    secret = password if password is not None else generated
    assert secret is not None
    check_password_policy(secret)
    user = User(username=username, org_id=org.id, role=role, password_hash=hash_password(secret),
                active=True)
    session.add(user)
    session.flush()
    audit(session, actor=actor, address=address, action="user.create", entity="user",
          key=username, after={"username": username, "org": org.key, "role": role})
    return user, generated


def list_users(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(User, Organisation.key).join(Organisation)
                           .order_by(User.username))
    return [{"username": u.username, "org": org, "role": u.role, "active": u.active,
             "created_at": _iso(u.created_at)} for u, org in rows]


def disable_user(session: Session, username: str, *, actor: str | None = "cli",
                 address: str | None = None) -> None:
    """Disable an account: it can no longer sign in, and its sessions end at once. Its tokens
    stop working too (they are checked against the account on every use)."""
    user = _user(session, username)
    if not user.active:
        raise AccountError(f"user {username!r} is already disabled")
    user.active = False
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    audit(session, actor=actor, address=address, action="user.disable", entity="user",
          key=username, before={"active": True}, after={"active": False})


def set_role(session: Session, username: str, role: str, *, actor: str | None = "cli",
             address: str | None = None) -> None:
    """Change what a user may do; it counts from their next request (sessions and tokens are
    checked against the account each time). The last active administrator keeps the role."""
    if role not in ROLES:
        raise AccountError(f"invalid role {role!r}: one of {', '.join(ROLES)}")
    user = _user(session, username)
    if user.role == role:
        raise AccountError(f"user {username!r} is already {role}")
    if user.role == "admin" and user.active and session.scalar(
            select(func.count()).select_from(User).where(
                User.role == "admin", User.active.is_(True), User.id != user.id)) == 0:
        raise AccountError(f"user {username!r} is the last active administrator")
    before = user.role
    user.role = role
    audit(session, actor=actor, address=address, action="user.role", entity="user",
          key=username, before={"role": before}, after={"role": role})


# A language code as the pages know them (en, ru, kk, ...); which ones exist is the web side's
# to say (web.i18n.available), so the pages check that before calling set_language.
LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]{2,8})?$")


def set_language(session: Session, username: str, language: str | None, *,
                 actor: str | None = "cli", address: str | None = None) -> None:
    """Record the page language a user prefers; None goes back to the browser's choice."""
    if language is not None and not LANGUAGE.match(language):
        raise AccountError(f"invalid language {language!r}")
    user = _user(session, username)
    if user.language == language:
        return
    before = user.language
    user.language = language
    audit(session, actor=actor, address=address, action="user.language", entity="user",
          key=username, before={"language": before}, after={"language": language})


def language_of(session: Session, user_id: int) -> str | None:
    return session.scalar(select(User.language).where(User.id == user_id))


def change_password(session: Session, username: str, current: str, new: str, *,
                    actor: str | None = "cli", address: str | None = None,
                    keep_session: str | None = None) -> None:
    """Change a user's own password: the current one must be right, the new one pass the
    policy (check_password_policy). The user's other browser sessions end (a stolen session
    should not outlive the password); `keep_session`: the SHA-256 of the one to keep."""
    user = _user(session, username)
    if not verify_password(user.password_hash, current):
        raise AccountError("the current password is wrong")
    if new == current:
        raise AccountError("the new password is the same as the current one")
    check_password_policy(new)
    user.password_hash = hash_password(new)
    ended = delete(WebSession).where(WebSession.user_id == user.id)
    if keep_session is not None:
        ended = ended.where(WebSession.session_hash != keep_session)
    session.execute(ended)
    audit(session, actor=actor, address=address, action="user.password", entity="user",
          key=username)


def ensure_admin(session: Session, settings: Settings) -> str | None:
    """On first start, when no administrator exists, create `admin` in the secretariat.

    Its password is settings.admin_password or, when unset, a random one that is returned so the
    caller can show it once. Returns None when nothing was generated. Never a default password.
    """
    if session.scalar(select(User.id).where(User.role == "admin").limit(1)) is not None:
        return None
    _, generated = add_user(session, ADMIN_USERNAME, ADMIN_ORG, "admin",
                            settings.admin_password or None, actor="system")
    return generated


# --- API tokens --------------------------------------------------------------------------------

def create_token(
    session: Session, username: str, scope: str = "read", days: int | None = None,
    name: str | None = None, *, actor: str | None = "cli", address: str | None = None,
) -> str:
    """Issue a token and return it. This is the only time it exists in clear: the database
    keeps its SHA-256 and a short prefix for listings. `days` defaults to settings.token_days."""
    days = get_settings().token_days if days is None else days
    if scope not in SCOPES:
        raise AccountError(f"invalid scope {scope!r}: read or write")
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise AccountError(f"invalid lifetime {days} days: 1 to {MAX_TOKEN_DAYS}")
    if name is not None and len(name) > 128:
        raise AccountError("token name too long: at most 128 characters")
    user = _user(session, username)
    if not user.active:
        raise AccountError(f"user {username!r} is disabled")
    raw = TOKEN_MARK + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(days=days)
    token = ApiToken(user_id=user.id, token_hash=sha256_hex(raw), prefix=raw[:PREFIX_LENGTH],
                     scope=scope, name=name, expires_at=expires)
    session.add(token)
    session.flush()
    audit(session, actor=actor, address=address, action="token.create", entity="token",
          key=token.prefix, after={"id": token.id, "user": username, "scope": scope,
                                   "name": name, "expires_at": _iso(expires)})
    return raw


def list_tokens(session: Session, username: str | None = None) -> list[dict[str, Any]]:
    """Token metadata for listings; never the token or its hash."""
    query = select(ApiToken, User.username).join(User).order_by(ApiToken.id)
    if username is not None:
        query = query.where(ApiToken.user_id == _user(session, username).id)
    return [{"id": t.id, "user": user, "prefix": t.prefix, "name": t.name, "scope": t.scope,
             "created_at": _iso(t.created_at), "expires_at": _iso(t.expires_at),
             "last_used_at": _iso(t.last_used_at), "revoked_at": _iso(t.revoked_at)}
            for t, user in session.execute(query)]


def revoke_token(session: Session, token_id_or_prefix: str, *, actor: str | None = "cli",
                 address: str | None = None) -> ApiToken:
    """Revoke by id (digits), by the prefix shown in listings, or by the whole token."""
    ref = token_id_or_prefix.strip()
    where: ColumnElement[bool]
    if ref.isascii() and ref.isdigit() and len(ref) <= 18:  # str.isdigit takes '²' too
        where = ApiToken.id == int(ref)
    elif len(ref) > PREFIX_LENGTH:
        where = ApiToken.token_hash == sha256_hex(ref)
    else:
        where = ApiToken.prefix == ref
    found = session.scalars(select(ApiToken).where(where).limit(2)).all()
    if not found:
        raise AccountError(f"no token {ref!r} (see: riskatlas tokens list)")
    if len(found) > 1:
        raise AccountError(f"prefix {ref!r} matches several tokens: revoke by id")
    token = found[0]
    if token.revoked_at is not None:
        raise AccountError(f"token {token.prefix} (id {token.id}) is already revoked")
    token.revoked_at = utcnow()
    audit(session, actor=actor, address=address, action="token.revoke", entity="token",
          key=token.prefix, before={"revoked_at": None},
          after={"id": token.id, "revoked_at": _iso(token.revoked_at)})
    return token


def revoke_own_token(session: Session, username: str, token_id: int, *,
                     actor: str | None = "cli", address: str | None = None) -> ApiToken:
    """Revoke one of a user's own tokens by id; another user's token is "no token" to them."""
    owner = session.scalar(select(ApiToken.user_id).where(ApiToken.id == token_id))
    if owner is None or owner != _user(session, username).id:
        raise AccountError(f"no token {token_id} of user {username!r}")
    return revoke_token(session, str(token_id), actor=actor, address=address)


# --- sign-in -----------------------------------------------------------------------------------

def _wait(session: Session, column: InstrumentedAttribute[str], value: str, now: datetime,
          settings: Settings) -> int:
    """Seconds until fewer than `login_attempts` failures remain in the window; 0 if already."""
    limit, window = settings.login_attempts, timedelta(seconds=settings.login_window_seconds)
    if limit <= 0:  # a limit of zero switches rate limiting off
        return 0
    recent = session.scalars(
        select(LoginAttempt.at)
        .where(column == value, LoginAttempt.success.is_(False), LoginAttempt.at > now - window)
        .order_by(LoginAttempt.at.desc()).limit(limit)).all()
    if len(recent) < limit:
        return 0
    # Once the limit-th most recent failure leaves the window, one more attempt is allowed.
    return max(1, math.ceil((as_utc(recent[-1]) + window - now).total_seconds()))


def _record(session: Session, username: str, address: str, now: datetime, user: User | None,
            org_key: str | None, reason: str | None) -> None:
    session.add(LoginAttempt(username=username, address=address, at=now, success=reason is None))
    audit(session, actor=username, org=org_key, address=address,
          action="login.failure" if reason else "login.success", entity="user",
          key=user.username if user else None, detail=reason)


def authenticate(session: Session, username: str, password: str, address: str | None,
                 *, settings: Settings | None = None) -> Principal:
    """Check a username and password and return the principal, or raise LoginFailed.

    Rate limit: when either the account or the address has `login_attempts` failures within
    `login_window_seconds`, raise RateLimited without checking the password. Refused attempts
    count as failures too, so hammering keeps the lock closed. Every attempt is recorded (and
    audited) in `session` before raising: callers must commit it, i.e. catch the exception
    inside their transaction. The check and the insert are not atomic, so parallel requests
    may overshoot the limit by a few; that is acceptable for throttling guesses.
    """
    settings = settings or get_settings()
    now = utcnow()
    # NUL cannot be stored or compared in PostgreSQL text; no real username or address has one.
    username = username[:64].replace("\x00", "\ufffd")
    address = (address or "unknown")[:64].replace("\x00", "\ufffd")
    wait = max(_wait(session, LoginAttempt.username, username, now, settings),
               _wait(session, LoginAttempt.address, address, now, settings))
    if wait:
        _record(session, username, address, now, None, None, "rate limited")
        raise RateLimited(wait)
    row = session.execute(select(User, Organisation.key).join(Organisation)
                          .where(User.username == username)).first()
    user, org_key = (row[0], row[1]) if row else (None, None)
    if not verify_password(user.password_hash if user else None, password):
        reason = "wrong password" if user else "unknown user"
    elif user is None or not user.active:
        reason = "disabled"
    else:
        assert user.password_hash is not None
        if _hasher.check_needs_rehash(user.password_hash):  # parameters were raised since
            user.password_hash = hash_password(password)
        _record(session, username, address, now, user, org_key, None)
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - ATTEMPT_RETENTION))
        return principal_for(session, user)
    _record(session, username, address, now, user, org_key, reason)
    raise LoginFailed(reason)

