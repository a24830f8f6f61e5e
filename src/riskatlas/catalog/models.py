from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskatlas.db import Base, JSONType, utcnow
from riskatlas.sharing import policy


class Actor(Base):
    __tablename__ = "actors"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[dict[str, Any]]
    kind: Mapped[str] = mapped_column(String(32))


class _Record:
    """Columns every shared catalog record carries: owner, marking, status and version."""

    key: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[dict[str, Any]]
    summary: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), index=True)
    tlp: Mapped[str] = mapped_column(String(16), default="clear")
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Risk(_Record, Base):
    __tablename__ = "risks"
    # The sharing scope filters on marking and owner first (see sharing.policy).
    # The sharing scope reads tlp and owner_org_id, the list filters domain, level, status and
    # category: with them all in the index, counts and pages (by key, or by domain then key)
    # never read the rows, whose JSON texts span several pages (migrations 0004, 0005).
    __table_args__ = (Index("ix_risks_tlp_owner", "tlp", "owner_org_id"),
                      Index("ix_risks_key_scope", "key", "tlp", "owner_org_id", "domain",
                            "level", "status", "category"),
                      Index("ix_risks_domain_scope", "domain", "key", "tlp", "owner_org_id",
                            "level", "status", "category"))

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(16), index=True)
    domain: Mapped[str] = mapped_column(String(32), index=True)
    # Ratings are 1-based positions on the active matrix's scales (1 = lowest).
    likelihood: Mapped[int]
    impact: Mapped[int]
    # Cached from the matrix on every write so lists can filter by level in SQL.
    level: Mapped[int] = mapped_column(index=True)
    residual_level: Mapped[int]
    rationale: Mapped[dict[str, Any]]
    trend: Mapped[str] = mapped_column(String(16), default="unknown")
    horizon: Mapped[str | None] = mapped_column(String(16))
    drivers: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list)
    warning_signs: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list)

    states: Mapped[list[RiskState]] = relationship(
        cascade="all, delete-orphan", order_by="RiskState.position"
    )
    actors: Mapped[list[RiskActor]] = relationship(
        cascade="all, delete-orphan", order_by="RiskActor.position"
    )
    sources: Mapped[list[Source]] = relationship(
        cascade="all, delete-orphan", order_by="Source.position",
        primaryjoin="Risk.id == Source.risk_id",
    )
    assessments: Mapped[list[Assessment]] = relationship(
        cascade="all, delete-orphan", order_by="Assessment.state_code"
    )
    links: Mapped[list[RiskMeasure]] = relationship(
        back_populates="risk", cascade="all, delete-orphan"
    )


class RiskState(Base):
    __tablename__ = "risk_states"

    risk_id: Mapped[int] = mapped_column(
        ForeignKey("risks.id", ondelete="CASCADE"), primary_key=True
    )
    state_code: Mapped[str] = mapped_column(ForeignKey("states.code"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_risk_states_state", "state_code", "risk_id"),)


class RiskActor(Base):
    __tablename__ = "risk_actors"

    risk_id: Mapped[int] = mapped_column(
        ForeignKey("risks.id", ondelete="CASCADE"), primary_key=True
    )
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)


class Source(Base):
    """A dated public source cited by one risk or one measure."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int | None] = mapped_column(
        ForeignKey("risks.id", ondelete="CASCADE"), index=True
    )
    measure_id: Mapped[int | None] = mapped_column(
        ForeignKey("measures.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    # ISO 8601 date at the precision the source gives: YYYY, YYYY-MM or YYYY-MM-DD.
    published: Mapped[str] = mapped_column(String(10))
    publisher: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(
            "(risk_id IS NULL) <> (measure_id IS NULL)", name="one_owner"
        ),
    )


class Assessment(Base):
    """A member state's own likelihood and impact for a risk."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id", ondelete="CASCADE"))
    state_code: Mapped[str] = mapped_column(ForeignKey("states.code"))
    likelihood: Mapped[int]
    impact: Mapped[int]
    rationale: Mapped[dict[str, Any]]
    # Each assessment is its state's own record: its own version (the ETag) and history
    # (Version rows with entity "assessment" and key "RISK-KEY/ISO3").
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    updated_at: Mapped[datetime | None]
    updated_by: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (UniqueConstraint("risk_id", "state_code", name="uq_assessments_risk_state"),)


class Measure(_Record, Base):
    __tablename__ = "measures"
    __table_args__ = (Index("ix_measures_tlp_owner", "tlp", "owner_org_id"),
                      Index("ix_measures_key_scope", "key", "tlp", "owner_org_id", "status",
                            "kind"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    treatment: Mapped[str] = mapped_column(String(16))
    lead_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    # Expected effect: how many levels the measure lowers likelihood and impact.
    effect_likelihood: Mapped[int] = mapped_column(default=0)
    effect_impact: Mapped[int] = mapped_column(default=0)
    start: Mapped[str | None] = mapped_column(String(10))
    end: Mapped[str | None] = mapped_column(String(10))
    progress: Mapped[int | None]
    # What the measure builds on, when no source says it (multilingual text).
    rationale: Mapped[dict[str, Any] | None]

    states: Mapped[list[MeasureState]] = relationship(
        cascade="all, delete-orphan", order_by="MeasureState.position"
    )
    sources: Mapped[list[Source]] = relationship(
        cascade="all, delete-orphan", order_by="Source.position",
        primaryjoin="Measure.id == Source.measure_id",
    )
    links: Mapped[list[RiskMeasure]] = relationship(
        back_populates="measure", cascade="all, delete-orphan"
    )


class MeasureState(Base):
    __tablename__ = "measure_states"

    measure_id: Mapped[int] = mapped_column(
        ForeignKey("measures.id", ondelete="CASCADE"), primary_key=True
    )
    state_code: Mapped[str] = mapped_column(ForeignKey("states.code"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)


LINK_STATUSES = ("pending", "accepted", "rejected")


class RiskMeasure(Base):
    """A measure treats a risk; the expected effect of the link is the measure's effect.

    The link belongs to the risk's owner: one made by anybody else is `pending` until an editor
    of the risk's owner accepts it, and only `accepted` links count in the residual rating."""

    __tablename__ = "risk_measures"

    risk_id: Mapped[int] = mapped_column(
        ForeignKey("risks.id", ondelete="CASCADE"), primary_key=True
    )
    measure_id: Mapped[int] = mapped_column(
        ForeignKey("measures.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="accepted",
                                        server_default="accepted")

    risk: Mapped[Risk] = relationship(back_populates="links")
    measure: Mapped[Measure] = relationship(back_populates="links")


class Version(Base):
    """Every saved state of a risk or measure, as its export record (append-only)."""

    __tablename__ = "versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))  # risk | measure | assessment
    key: Mapped[str] = mapped_column(String(48))  # record key, or RISK-KEY/ISO3
    version: Mapped[int]
    data: Mapped[dict[str, Any]]
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by: Mapped[str | None] = mapped_column(String(128))
    change: Mapped[str] = mapped_column(String(16))  # create | update | retire

    __table_args__ = (
        UniqueConstraint("entity", "key", "version", name="uq_versions_entity_key_version"),
    )


# Risks and measures are what the sharing policy governs (it imports no catalog model).
policy.govern(risks=Risk, measures=Measure)
