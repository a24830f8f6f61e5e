"""Prometheus metrics (prometheus_client): requests counted in the process, the rest read from
the database at scrape time.

Requests: a counter and a latency histogram by method, route template (`/api/v1/risks/{key}`,
never the raw path: the labels stay few) and status class (2xx...5xx). With several workers
(`uvicorn --workers N`), set PROMETHEUS_MULTIPROC_DIR to an empty folder writable by the server
before it starts: each process then writes its samples there and a scrape, answered by any
worker, adds them up (prometheus_client's multiprocess mode). Without it each process counts its
own requests, and a scrape sees those of the worker that answers it.

Database figures (`Database` collector), read with a few aggregate queries per scrape, so every
worker gives the same answer: alerts by status and severity, the audit chain's length, the
events held, and the imports recorded in the audit trail (event imports, catalog records written
by an import). Labels are bounded enumerations only: no key, title or name of a record.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskatlas.audit.models import AuditEntry, AuditHead
from riskatlas.warning.models import Alert, Event, EventBatch

__all__ = ["CONTENT_TYPE_LATEST", "Database", "observe_request", "scrape"]

REQUESTS = Counter("riskatlas_http_requests", "HTTP requests answered.",
                   ["method", "route", "status"])
LATENCY = Histogram("riskatlas_http_request_duration_seconds",
                    "Time to answer an HTTP request, in seconds.", ["method", "route", "status"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    labels = (method if method in METHODS else "other", route, f"{status // 100}xx")
    REQUESTS.labels(*labels).inc()
    LATENCY.labels(*labels).observe(seconds)


class Database:
    """Collector of the figures read from the database at scrape time."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        with self.sessions() as session:
            alerts = GaugeMetricFamily("riskatlas_alerts", "Alerts held, by status and "
                                       "severity (1-4), whatever their sharing.",
                                       labels=["status", "severity"])
            for status, severity, n in session.execute(
                    select(Alert.status, Alert.severity, func.count())
                    .group_by(Alert.status, Alert.severity)):
                alerts.add_metric([str(status), str(severity)], n)
            yield alerts
            length = session.scalar(select(AuditHead.seq)) or 0
            yield GaugeMetricFamily("riskatlas_audit_chain_length",
                                    "Entries in the audit chain.", value=length)
            events = (session.scalar(select(func.count()).select_from(Event)) or 0) + int(
                session.scalar(select(func.sum(EventBatch.rows - EventBatch.dead))) or 0)
            yield GaugeMetricFamily("riskatlas_events", "Events held.", value=events)
            imports = GaugeMetricFamily(
                "riskatlas_imports", "Imports recorded in the audit trail: event files "
                "imported (events.import) and catalog records written by an import "
                "(catalog).", labels=["kind"])
            imports.add_metric(["events"], session.scalar(
                select(func.count()).where(AuditEntry.action == "events.import")) or 0)
            imports.add_metric(["catalog"], session.scalar(
                select(func.count()).where(AuditEntry.actor == "import")) or 0)
            yield imports


class _Together:
    def __init__(self, *parts: Any) -> None:
        self.parts = parts

    def collect(self) -> Iterator[Metric]:
        for part in self.parts:
            yield from part.collect()


def scrape(database: Database) -> bytes:
    """The text exposition of every metric: this process's (or, in multiprocess mode, every
    worker's) request figures, then the database figures."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(_Together(registry, database))
    return generate_latest(_Together(REGISTRY, database))
