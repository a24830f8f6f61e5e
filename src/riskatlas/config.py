"""The one Settings class. Every setting is read here, from RISKATLAS_* variables or a .env file."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
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
    grouping: str = Field("c5", description="Code of the grouping this node serves.")
    public_mode: bool = Field(
        False, description="Let anonymous visitors read TLP:CLEAR records."
    )
    secret_key: str = Field(
        "dev-insecure-secret", description="Signs session cookies and CSRF tokens."
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
    languages: list[str] = Field(
        default_factory=lambda: ["en", "ru"], description="Languages every text must have."
    )

    @model_validator(mode="after")
    def _refuse_default_secret_when_exposed(self) -> Settings:
        if self.host not in LOCAL_HOSTS and self.secret_key == "dev-insecure-secret":
            raise ValueError(
                "RISKATLAS_SECRET_KEY must be set when the server listens beyond localhost"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
