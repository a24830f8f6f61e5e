"""Field incident reports in (JSON API) and events out."""

from __future__ import annotations

from datetime import date as Date  # noqa: N812 - the field is called date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from riskatlas.warning import countries
from riskatlas.warning.formats import ACLED_TYPES

Tlp = Literal["clear", "green", "amber", "amber+strict", "red"]


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class ReportIn(BaseModel):
    """A field incident report, in ACLED's event types so indicators read it beside ACLED's
    events. The owner is the reporter's organisation; the marking defaults to AMBER."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    date: Date
    country: str = Field(min_length=3, max_length=3, description="ISO 3166-1 alpha-3")
    admin1: str | None = Field(default=None, max_length=120)
    location: str | None = Field(default=None, max_length=255)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    event_type: str = Field(max_length=64, description="One of ACLED's six event types")
    sub_type: str | None = Field(default=None, max_length=80)
    actor1: str | None = Field(default=None, max_length=255)
    actor2: str | None = Field(default=None, max_length=255)
    fatalities: int | None = Field(default=None, ge=0, le=2**31 - 1)
    notes: str | None = Field(default=None, max_length=10_000)
    tlp: Annotated[Tlp, BeforeValidator(_lower)] = "amber"

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        try:
            return countries.from_iso3(value)
        except countries.UnknownCountry as exc:
            raise ValueError(str(exc)) from None

    @field_validator("admin1", "location", "actor1", "actor2", "notes", mode="before")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("contains a NUL character")
        return value or None

    @field_validator("event_type")
    @classmethod
    def _event_type(cls, value: str) -> str:
        if value not in ACLED_TYPES:
            raise ValueError(f"unknown event type {value!r} (one of {', '.join(ACLED_TYPES)})")
        return value

    @field_validator("sub_type")
    @classmethod
    def _sub_type(cls, value: str | None, info: ValidationInfo) -> str | None:
        event_type = info.data.get("event_type")
        if value is not None and event_type in ACLED_TYPES and \
                value not in ACLED_TYPES[event_type]:
            raise ValueError(f"{value!r} is not a sub-event type of {event_type!r}")
        return value


class EventOut(BaseModel):
    id: int
    source: str
    source_id: str
    period: str
    date: Date
    country: str
    admin1: str | None
    location: str | None
    latitude: float | None
    longitude: float | None
    event_type: str
    sub_type: str | None
    actor1: str | None
    actor2: str | None
    fatalities: int | None
    events: int
    notes: str | None
    extra: dict[str, Any] | None
    owner: str
    tlp: str


class EventPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[EventOut]


AlertStatus = Literal["new", "acknowledged", "dismissed", "escalated"]


class AlertOut(BaseModel):
    id: int
    indicator: str
    country: str
    admin1: str | None
    period: str
    period_start: Date
    period_end: Date
    observed: float
    expected: float | None
    score: float
    probability: float | None
    severity: int = Field(ge=1, le=4)
    severity_label: Literal["low", "moderate", "high", "critical"]
    detector: str
    risks: list[str]
    status: AlertStatus
    status_by: str | None
    status_at: str | None
    status_note: str | None
    owner: str
    tlp: Tlp


class LinkedMeasure(BaseModel):
    key: str
    title: dict[str, str]
    status: str


class LinkedRisk(BaseModel):
    key: str
    title: dict[str, str]
    level: int
    residual_level: int
    measures: list[LinkedMeasure]


class AlertDetail(AlertOut):
    linked: list[LinkedRisk] = Field(description="The linked risks you may see, with their "
                                     "accepted measures you may see")


class AlertPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[AlertOut]


class AlertStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: AlertStatus
    note: str | None = Field(default=None, max_length=2000)
