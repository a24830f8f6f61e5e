"""Who is calling: API tokens and browser sessions turned into a Principal.

Both look-ups are one query each (token or session -> user -> organisation -> state, the
standing computed in SQL by accounts.STANDING), because they run on every request, so a change
of standing counts from the next request. Cookies and tokens are random; only their SHA-256 is
stored, so a copy of the database does not let anyone sign in.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from riskatlas.db import utcnow
from riskatlas.parties.accounts import STANDING, as_utc, build_principal, sha256_hex
from riskatlas.parties.models import ApiToken, Organisation, State, User, WebSession
from riskatlas.parties.principal import Principal

SESSION_COOKIE = "riskatlas_session"
SESSION_LIFETIME = timedelta(hours=12)
# Writing last_used_at on every call would turn each read into a write; a minute is precise
# enough to tell whether a token is still in use.
LAST_USED_PRECISION = timedelta(minutes=1)


def principal_from_token(session: Session, raw_token: str | None) -> Principal | None:
    """The principal of a valid API token: None when unknown, expired, revoked or when its
    user is disabled. The principal carries the token's scope (read or write)."""
    grant = token_grant(session, raw_token)
    return None if grant is None else grant[0]


def token_grant(session: Session, raw_token: str | None) -> tuple[Principal, datetime] | None:
    """As principal_from_token, with the token's expiry (for callers that keep the answer)."""
    if not raw_token:
        return None
    now = utcnow()
    row = session.execute(
        select(ApiToken, User, Organisation.key, STANDING)
        .join(User, User.id == ApiToken.user_id)
        .join(Organisation, Organisation.id == User.org_id)
        .outerjoin(State, State.code == Organisation.state_code)
        .where(ApiToken.token_hash == sha256_hex(raw_token), ApiToken.revoked_at.is_(None),
               ApiToken.expires_at > now, User.active.is_(True))).first()
    if row is None:
        return None
    token, user, org_key, standing = row
    if token.last_used_at is None or as_utc(token.last_used_at) <= now - LAST_USED_PRECISION:
        token.last_used_at = now
    return (build_principal(user, org_key, standing, token.scope),
            as_utc(token.expires_at))


def start_session(session: Session, principal: Principal) -> tuple[str, str]:
    """Open a browser session; returns (cookie value, CSRF token). Lasts 12 hours."""
    if principal.user_id is None:
        raise ValueError("an anonymous principal cannot have a session")
    now = utcnow()
    # Tidy this user's expired sessions while we are writing anyway.
    session.execute(delete(WebSession).where(WebSession.user_id == principal.user_id,
                                             WebSession.expires_at <= now))
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(WebSession(session_hash=sha256_hex(cookie), user_id=principal.user_id,
                           csrf_token=csrf, created_at=now, expires_at=now + SESSION_LIFETIME))
    session.flush()
    return cookie, csrf


def principal_from_session(session: Session,
                           cookie_value: str | None) -> tuple[Principal, str] | None:
    """The principal (token_scope None) and CSRF token of a live session, or None."""
    found = session_grant(session, cookie_value)
    return None if found is None else (found[0], found[1])


def session_grant(session: Session,
                  cookie_value: str | None) -> tuple[Principal, str, str | None] | None:
    """As principal_from_session, with the page language the user chose (for the pages),
    read in the same query."""
    if not cookie_value:
        return None
    row = session.execute(
        select(WebSession.csrf_token, User, Organisation.key, STANDING)
        .join(User, User.id == WebSession.user_id)
        .join(Organisation, Organisation.id == User.org_id)
        .outerjoin(State, State.code == Organisation.state_code)
        .where(WebSession.session_hash == sha256_hex(cookie_value),
               WebSession.expires_at > utcnow(), User.active.is_(True))).first()
    if row is None:
        return None
    csrf, user, org_key, standing = row
    return build_principal(user, org_key, standing), csrf, user.language


def end_session(session: Session, cookie_value: str | None) -> None:
    if cookie_value:
        session.execute(delete(WebSession).where(
            WebSession.session_hash == sha256_hex(cookie_value)))
