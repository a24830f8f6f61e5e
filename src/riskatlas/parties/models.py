from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from riskatlas.db import Base


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
    # None for a regional body such as the secretariat.
    state_code: Mapped[str | None] = mapped_column(ForeignKey("states.code"))
