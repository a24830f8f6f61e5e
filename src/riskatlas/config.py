"""The one Settings class. Every setting is read here, from RISKATLAS_* variables or a .env file."""

from __future__ import annotations

import ipaddress
from functools import cached_property, lru_cache
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RISKATLAS_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite:///riskatlas.db", description="SQLAlchemy URL of the database."
    )
    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: int = Field(8000, description="Port the server listens on.")
    matrix: str = Field(
        "nist-800-30",
        description="Risk matrix: a name shipped in the library or a path to a YAML file.",
    )
    aggregation: Literal["max", "median", "mean"] = Field(
        "max", description="How national assessments combine into the regional rating."
    )
    public_mode: bool = Field(
        False, description="Let anonymous visitors read TLP:CLEAR records."
    )
    admin_password: str | None = Field(
        None, description="Password of the first administrator (random when unset)."
    )
    cookie_secure: bool = Field(True, description="Send session cookies only over HTTPS.")
    token_days: int = Field(90, description="Default lifetime of API tokens, in days.")
    login_attempts: int = Field(
        5, description="Failed logins allowed per account and per address in the window."
    )
    login_window_seconds: int = Field(300, description="Window of the login rate limit.")
    read_cache_mb: int = Field(
        64, ge=0, description="Memory per server process for reusing API read answers "
        "(0: off; see docs/api.md)."
    )
    read_index: bool = Field(
        True, description="Keep the risk list's filter, sort and search-match columns, and "
        "the risks' records, in memory per server process, for one read generation (see "
        "docs/api.md)."
    )
    inline_reads: bool | None = Field(
        None, description="Run short database reads (a page, a record) on the server's event "
        "loop rather than in its thread pool (default: on for SQLite, off for PostgreSQL, "
        "whose waits would hold up the other requests; see docs/api.md)."
    )
    max_body_bytes: int = Field(
        2 << 20, ge=1, description="Largest request body accepted, in bytes; larger ones get "
        "413 (default 2 MiB)."
    )
    trusted_proxies: str = Field(
        "", description="Comma-separated addresses or networks (CIDR) of reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed; empty: none."
    )
    backup_dir: str | None = Field(
        None, description="Folder for the backup `riskatlas db upgrade` takes first (default: "
        "`backups` beside the SQLite file; for PostgreSQL, in the current directory)."
    )
    event_columns: str | None = Field(
        None, description="Folder of the early-warning engine's columnar copy of the events "
        "(derived data, built again when missing; default: `<file>.columns` beside a SQLite "
        "file, else the user's cache folder). `off`: every evaluation reads the events table "
        "(see docs/early-warning.md)."
    )

    log_format: Literal["json", "console"] = Field(
        "json", description="Server log lines: `json` (one JSON object a line) or `console` "
        "(readable, for a terminal); see docs/operations.md."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level of the server's log lines."
    )
    metrics_public: bool = Field(
        False, description="Let anyone read /metrics (default: an administrator's session or "
        "API token only)."
    )

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _any_case(cls, value: object, info: ValidationInfo) -> object:
        """`warning` is WARNING, `JSON` is json: operators write either."""
        if not isinstance(value, str):
            return value
        return value.upper() if info.field_name == "log_level" else value.lower()

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for item in _items(value):
            try:
                _network(item)
            except ValueError:
                raise ValueError(f"RISKATLAS_TRUSTED_PROXIES: {item!r} is not an IP address "
                                 "or network (e.g. 10.0.0.5 or 10.0.0.0/8)") from None
        return value

    @cached_property
    def trusted_proxy_list(self) -> list[str]:
        """The trusted proxies, each a normalised address or network (10.1.2.3/8 is 10.0.0.0/8:
        uvicorn's ProxyHeadersMiddleware would silently never match the former)."""
        return [_network(item) for item in _items(self.trusted_proxies)]

    @model_validator(mode="after")
    def _refuse_insecure_cookies_when_exposed(self) -> Settings:
        # Sessions hold random ids kept hashed in the database, so there is no signing secret
        # to guard; what must not leave localhost is a session cookie sent over plain HTTP.
        if self.host not in LOCAL_HOSTS and not self.cookie_secure:
            raise ValueError(
                "RISKATLAS_COOKIE_SECURE=false is only allowed while the server listens on "
                "localhost"
            )
        return self


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _network(item: str) -> str:
    """An address as written, or a network with its host bits cleared; ValueError otherwise."""
    if "/" in item:
        return str(ipaddress.ip_network(item, strict=False))
    return str(ipaddress.ip_address(item))


@lru_cache
def get_settings() -> Settings:
    return Settings()
