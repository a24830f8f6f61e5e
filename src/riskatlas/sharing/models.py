from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from riskatlas.db import Base


class SharingGroup(Base):
    """Named set of organisations a record can be shared with (AMBER)."""

    __tablename__ = "sharing_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))


class SharingGroupMember(Base):
    __tablename__ = "sharing_group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("sharing_groups.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)


class RecordShare(Base):
    """One grant on one record: a sharing group (AMBER), an organisation (AMBER+STRICT) or a
    user (RED). Which grants count depends on the record's TLP; see sharing.policy."""

    __tablename__ = "record_shares"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))  # risk | measure | event
    record_id: Mapped[int]
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("sharing_groups.id", ondelete="CASCADE"))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    __table_args__ = (
        Index("ix_record_shares_record", "entity", "record_id"),
        CheckConstraint(
            "(CASE WHEN group_id IS NULL THEN 0 ELSE 1 END) + "
            "(CASE WHEN org_id IS NULL THEN 0 ELSE 1 END) + "
            "(CASE WHEN user_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_grantee",
        ),
    )
