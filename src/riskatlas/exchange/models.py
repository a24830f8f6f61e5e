"""Peers: the other nodes this node pulls records from over TAXII (riskatlas sync)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from riskatlas.db import Base, JSONType, utcnow


class Peer(Base):
    __tablename__ = "peers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(500))  # the peer's TAXII discovery or API root URL
    username: Mapped[str | None] = mapped_column(String(64))  # HTTP Basic; None: bearer
    # The peer's API token for us (a read-only token of an account on the peer): sent with
    # each request, so kept as given. The peer decides what it shows us; we store nothing
    # it did not.
    token: Mapped[str | None] = mapped_column(Text)
    # Per collection id: the newest date added already pulled (the next sync's added_after)
    cursors: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
