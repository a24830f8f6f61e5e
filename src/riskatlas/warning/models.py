"""The one normalised event table: ACLED events and weekly aggregates, UCDP GED, GDELT and
field reports, all as rows of `events`.

An event is a shared record like a risk: it has an owner organisation and a TLP marking, and
every read goes through the sharing policy (its clause `Scope.events`), which this module names
(`policy.govern_events`) so that the policy imports no model of ours.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from riskatlas.db import Base, JSONType, utcnow
from riskatlas.sharing import policy

SOURCES = ("acled", "acled-weekly", "ucdp-ged", "gdelt", "report")
PERIODS = ("day", "week")  # a single dated event, or a weekly aggregate (ACLED's Saturday weeks)

# A 64-bit key on PostgreSQL (ACLED's global history alone is millions of rows); SQLite's rowid
# is already 64 bits, and only INTEGER PRIMARY KEY makes a column that rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        # Idempotent import: a source's own id names one row (a changed row updates it).
        UniqueConstraint("source", "source_id", name="uq_events_source_source_id"),
        # Series: an indicator reads one country (and admin1) and some event types over time.
        Index("ix_events_series", "country", "admin1", "event_type", "date"),
        Index("ix_events_source_date", "source", "date"),
        Index("ix_events_date", "date"),
        # The sharing scope reads the marking and the owner first (as for risks).
        Index("ix_events_tlp_owner", "tlp", "owner_org_id"),
        # `warning run --changed` finds the rows (re)written since its last run
        Index("ix_events_imported_at", "imported_at"),
        CheckConstraint("source IN ('acled', 'acled-weekly', 'ucdp-ged', 'gdelt', 'report')",
                        name="source"),
        CheckConstraint("period IN ('day', 'week')", name="period"),
        CheckConstraint("tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')", name="tlp"),
        CheckConstraint("events >= 1", name="events"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(8), default="day")
    date: Mapped[date] = mapped_column(Date)  # the event's day, or the first day of its week
    country: Mapped[str] = mapped_column(String(3))  # ISO 3166-1 alpha-3
    admin1: Mapped[str | None] = mapped_column(String(120))
    location: Mapped[str | None] = mapped_column(String(255))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    event_type: Mapped[str] = mapped_column(String(64))
    sub_type: Mapped[str | None] = mapped_column(String(80))
    actor1: Mapped[str | None] = mapped_column(Text)
    actor2: Mapped[str | None] = mapped_column(Text)
    fatalities: Mapped[int | None]
    events: Mapped[int] = mapped_column(default=1)  # 1, or the weekly aggregate's EVENTS
    notes: Mapped[str | None] = mapped_column(Text)
    # What a source says beyond the common columns (ACLED's interaction and disorder type,
    # UCDP's violence type and estimates, GDELT's CAMEO codes and Goldstein score).
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    tlp: Mapped[str] = mapped_column(String(16), default="amber")
    # A digest of the normalised row: a re-import rewrites only rows whose content changed.
    digest: Mapped[str] = mapped_column(String(32))
    # When the row was last written (by the import that wrote it: its counts come from this).
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


# A batch event's id: its batch's id in the high bits, its row in the batch in the low ones, so
# that it never meets a row of `events` (whose ids stay far below 2**32) and names its batch.
BATCH_SHIFT = 32


class EventBatch(Base):
    """The events of one large import, as one Parquet file stored in the database.

    Why: a row table with the indexes its readers need costs 7.5x (SQLite) / 7.8x (PostgreSQL)
    DuckDB's own read of an ACLED file, with no Python per row (benchmarks/README.md); the
    issue's target is 3x. A file DuckDB has checked clean (warning.bulk) is therefore stored
    as one columnar file and read by DuckDB (warning.batches), not split into rows. A batch is
    a shared record like an event: one owner and one TLP for all of its events (an import
    marks its whole file), read through the sharing policy's `Scope.batches` clause, and its
    events become readable with the commit that stores it, all of them or none.

    An event of a batch that a later import rewrote, or a source withdrew, is listed in
    `event_batch_dead`; a batch none of whose events is alive is deleted."""

    __tablename__ = "event_batches"
    __table_args__ = (
        Index("ix_event_batches_source", "source"),
        Index("ix_event_batches_tlp_owner", "tlp", "owner_org_id"),
        CheckConstraint("tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')", name="tlp"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # names the file's content in local caches: a batch id can be used again after a delete
    uuid: Mapped[str] = mapped_column(String(32), unique=True)
    source: Mapped[str] = mapped_column(String(16))
    file: Mapped[str] = mapped_column(String(255))
    rows: Mapped[int]  # the events the file holds (the dead ones included)
    # the file's size in bytes (a local copy of another size is fetched again)
    size: Mapped[int] = mapped_column(BigInteger)
    dead: Mapped[int] = mapped_column(default=0)
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    tlp: Mapped[str] = mapped_column(String(16))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class EventBatchDead(Base):
    """An event of a batch that is no more: rewritten by a later import, or withdrawn."""

    __tablename__ = "event_batch_dead"

    batch_id: Mapped[int] = mapped_column(ForeignKey("event_batches.id", ondelete="CASCADE"),
                                          primary_key=True)
    source_id: Mapped[str] = mapped_column(String(200), primary_key=True)


ALERT_STATUSES = ("new", "acknowledged", "dismissed", "escalated")
# The audiences an alert is computed for, from the least to the most complete data (`rank`):
# CLEAR events only, then GREEN, AMBER, and one organisation's own AMBER+STRICT events. RED
# events feed no alert (their readers are named users, not an audience). See warning.alerts.
TIERS = ("clear", "green", "amber", "amber+strict")


class Alert(Base):
    """A detection stored: an indicator fired for a geography and a period.

    One alert per cell (indicator, country, admin1, period start) and audience: the tier says
    which events it was computed from, and its TLP and owner are those of that data, so the
    sharing policy shows an alert only to those who may read what it was built from. Of the
    alerts of a cell, a reader sees the one of the most complete data they may see (the policy's
    `Scope.alerts`). The status is the analysts' own and survives re-evaluation."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("cell", "tier", name="uq_alerts_cell_tier"),
        Index("ix_alerts_period", "period_start"),
        Index("ix_alerts_tlp_owner", "tlp", "owner_org_id"),
        Index("ix_alerts_cell_rank", "cell", "rank"),
        CheckConstraint("status IN ('new', 'acknowledged', 'dismissed', 'escalated')",
                        name="status"),
        CheckConstraint("severity BETWEEN 1 AND 4", name="severity"),
        CheckConstraint("tlp IN ('clear', 'green', 'amber', 'amber+strict')", name="tlp"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # indicator|country|admin1|period start: the same detection of different audiences
    cell: Mapped[str] = mapped_column(String(260))
    tier: Mapped[str] = mapped_column(String(40))  # a TIERS value, ":org id" for amber+strict
    rank: Mapped[int]  # TIERS.index: the larger, the more complete the data
    indicator: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(3))
    admin1: Mapped[str | None] = mapped_column(String(120))
    period: Mapped[str] = mapped_column(String(8))  # week or month
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    observed: Mapped[float] = mapped_column(Float)
    expected: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    probability: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[int]
    detector: Mapped[str] = mapped_column(String(32))
    risks: Mapped[list[str]] = mapped_column(JSONType)
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    tlp: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="new")
    status_by: Mapped[str | None] = mapped_column(String(120))
    status_at: Mapped[datetime | None]
    status_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WarningMark(Base):
    """What the last `warning run --changed` of one set of indicators had seen: the newest
    event id and import time (as the database wrote it), so that the next run re-evaluates only
    the geographies with events imported since. Keyed by a digest of the indicators and the
    alerts' owner: another indicator file starts from nothing (a full evaluation)."""

    __tablename__ = "warning_marks"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    imported_at: Mapped[str | None] = mapped_column(String(40))
    ran_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventEpoch(Base):
    """One row (id 1): `n` moves by trigger (migration 0015) on a delete or an in-place edit of
    events, which the columnar copy (warning.store) cannot see from ids and import times;
    `token` names the database that copy belongs to."""

    __tablename__ = "event_epoch"

    id: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
    token: Mapped[str] = mapped_column(String(32))


policy.govern_events(Event, EventBatch)
policy.govern_alerts(Alert)
