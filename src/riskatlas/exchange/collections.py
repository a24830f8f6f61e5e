"""The TAXII collections of this node and where their objects come from: the catalog (risks,
measures, links, actors, the organisations and states they name) and the alerts, each the
STIX export of what the reader may see (exchange.stix_export)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskatlas.audit.service import Who
from riskatlas.catalog.matrix import active_matrix
from riskatlas.config import Settings
from riskatlas.exchange import stix_export, stix_import
from riskatlas.exchange.taxii import Collection
from riskatlas.generation import READ_GENERATION
from riskatlas.sharing.policy import Principal, Scope
from riskatlas.warning.models import Alert

ALERT_TYPES = {"note"}
# What an alert's note needs beside it: who made it, its marking, the extension it uses.
ALERT_CONTEXT = {"identity", "marking-definition", "extension-definition"}


def _bundle(session: Session, scope: Scope, settings: Settings) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = stix_export.export_bundle(
        session, active_matrix(settings), scope)["objects"]
    return objects


def catalog_objects(session: Session, scope: Scope, settings: Settings,
                    ) -> Iterable[dict[str, Any]]:
    return [o for o in _bundle(session, scope, settings) if o["type"] not in ALERT_TYPES]


def alert_objects(session: Session, scope: Scope, settings: Settings,
                  ) -> Iterable[dict[str, Any]]:
    return [o for o in _bundle(session, scope, settings)
            if o["type"] in ALERT_TYPES | ALERT_CONTEXT]


CATALOG = Collection("catalog", "Catalog", "Risks, measures and the links between them, with "
                     "the organisations and states they name.", catalog_objects, writable=True)
ALERTS = Collection("alerts", "Alerts", "Early-warning alerts, as notes on the risks they "
                    "signal.", alert_objects)


def collections() -> list[Collection]:
    return [CATALOG, ALERTS]


def state_of(session: Session, c: Collection) -> tuple[Any, ...]:
    """What a collection's objects depend on, cheap to read: the read generation (every
    change of the catalog, parties and sharing moves it) and, for alerts (which do not move
    it: generation.UNRELATED), their number and latest change."""
    generation = session.execute(READ_GENERATION).scalar() or 0
    if c is ALERTS:
        count, latest = session.execute(select(func.count(), func.max(Alert.updated_at))).one()
        return (generation, count, latest)
    return (generation,)


# Types an add stores (exchange.stix_import maps them); any other is refused in the status.
IMPORTED = {"x-riskatlas-risk", "course-of-action", "relationship", "identity", "location",
            "marking-definition", "extension-definition", "threat-actor", "intrusion-set"}


def add(session: Session, principal: Principal, who: Who, objects: list[dict[str, Any]],
        settings: Settings) -> tuple[list[str], dict[str, str]]:
    """Import posted objects as a STIX bundle from this principal (all or nothing, in the
    caller's transaction): the ids stored, and the ids refused with why."""
    matrix = active_matrix(settings)
    try:
        plan = stix_import.plan_import(session, matrix, Path("taxii"), objects, principal)
    except stix_import.StixError as exc:
        failed = {}
        for obj in objects:
            ident = str(obj.get("id", ""))
            mine = [p for p in exc.problems if ident and ident in p]
            failed[ident] = "; ".join(mine or exc.problems[:1])[:1000]
        return [], failed
    stix_import.write_import(session, matrix, plan, who)
    stored = [str(o["id"]) for o in objects if o.get("type") in IMPORTED]
    refused = {str(o.get("id", "")): f"type {o.get('type')!r} is not imported here"
               for o in objects if o.get("type") not in IMPORTED}
    return stored, refused
