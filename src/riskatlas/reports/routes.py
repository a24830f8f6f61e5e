"""Briefing packs over the JSON API and pages."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["reports"])
