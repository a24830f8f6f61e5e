"""Structured logs: one JSON object a line (structlog), with secrets scrubbed from every line.

`configure` routes structlog's events and the standard library's records (uvicorn, alembic,
anything else propagating to the root logger) through one handler and one chain of processors,
so every line, ours or a library's, gets the request id bound for the request (contextvars) and
goes through `redact`. Called by the app factory and by `riskatlas serve`; calling it again
replaces the handler it added before (and leaves other handlers, such as pytest's, alone).
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor

REDACTED = "[redacted]"
# Keys whose values are never written, whatever they hold.
SECRET_KEY = re.compile(r"pass|token|authori[sz]ation|cookie|secret|session|csrf|api.?key|"
                        r"credential", re.IGNORECASE)
# Values that carry a credential: an Authorization header's value, a Risk Atlas API token
# (parties.accounts.TOKEN_MARK "ra_"), a secret-named parameter of a query string or form.
BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
RA_TOKEN = re.compile(r"\bra_[A-Za-z0-9_-]{8,}")
SECRET_PARAM = re.compile(
    r"((?:^|[?&;\s])[^=&;\s]*(?:pass|token|secret|session|csrf|key|auth|code)[^=&;\s]*=)"
    r"[^&;\s]*", re.IGNORECASE)
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
FORMATS = ("json", "console")


def scrub(text: str) -> str:
    """`text` with bearer/basic credentials, API tokens and secret query parameters removed."""
    text = BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = RA_TOKEN.sub(REDACTED, text)
    return SECRET_PARAM.sub(lambda m: m.group(1) + REDACTED, text)


def _clean(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if depth > 4:
        return value
    if isinstance(value, Mapping):
        return {k: REDACTED if isinstance(k, str) and SECRET_KEY.search(k)
                else _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v, depth + 1) for v in value]
    return value


def redact(_logger: Any, _method: str, event: EventDict) -> EventDict:
    """structlog processor: secret-named keys blanked, secret-looking values scrubbed."""
    event.pop("color_message", None)  # uvicorn's terminal-coloured copy of the message
    for key in list(event):
        if SECRET_KEY.search(key):
            event[key] = REDACTED
        else:
            event[key] = _clean(event[key])
    return event


def request_id(incoming: str | None) -> str:
    """The caller's X-Request-ID when short and of safe characters, else a new random one."""
    if incoming and REQUEST_ID.fullmatch(incoming):
        return incoming
    return secrets.token_hex(8)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """Writes to whatever sys.stderr is when a line is written (not when configured)."""

    @property  # type: ignore[override,unused-ignore]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def _chain() -> list[Processor]:
    # ExtraAdder: a standard-library record's `extra={...}` fields become the line's fields.
    return [structlog.contextvars.merge_contextvars, structlog.stdlib.ExtraAdder(),
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level, structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info, redact]


def configure(fmt: str = "json", level: str = "INFO") -> None:
    """Route structlog and the standard library's logging through one redacting handler."""
    structlog.configure(
        processors=[*_chain(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger, cache_logger_on_first_use=True)
    renderer: Processor = (structlog.dev.ConsoleRenderer(colors=False) if fmt == "console"
                           else structlog.processors.JSONRenderer())
    handler = _Stderr()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_chain(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]))
    handler.riskatlas = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "riskatlas", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    numeric = logging.getLevelName(level.upper())
    for name in ("riskatlas", "uvicorn"):
        logging.getLogger(name).setLevel(numeric)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
