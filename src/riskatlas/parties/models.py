from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from riskatlas.db import Base, utcnow


class Grouping(Base):
    __tablename__ = "groupings"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[dict[str, Any]]
    adoption_rule: Mapped[str] = mapped_column(String(32), default="unanimity")
    languages: Mapped[dict[str, Any]]  # {"working": ["en", "ru"]}


class State(Base):
    __tablename__ = "states"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)  # ISO 3166-1 alpha-3
    name: Mapped[dict[str, Any]]
    role: Mapped[str] = mapped_column(String(16))  # member | partner | observer
    grouping_code: Mapped[str | None] = mapped_column(ForeignKey("groupings.code"))


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[dict[str, Any]]
    # None for a body without a state (the secretariat, a partner grouping's secretariat).
    state_code: Mapped[str | None] = mapped_column(ForeignKey("states.code"))
    # The standing of a body without a state: regional | partner | observer. An organisation
    # of a state stands where its state does (State.role); this is then None.
    standing: Mapped[str | None] = mapped_column(String(16))


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # viewer | analyst | editor | admin
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The page language chosen on /account (a code such as "ru"); None: follow the browser.
    language: Mapped[str | None] = mapped_column(String(16))


class ApiToken(Base):
    """An API token; only its SHA-256 is kept (tokens are 256-bit random, so no slow hash)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in listings to tell tokens apart
    scope: Mapped[str] = mapped_column(String(8))  # read | write
    name: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class WebSession(Base):
    """A browser session; the cookie holds a random id whose SHA-256 is stored here."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class LoginAttempt(Base):
    """Recent login attempts, counted per account and per address for rate limiting."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    success: Mapped[bool]
