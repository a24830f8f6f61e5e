"""Browser-facing hardening: security headers on every answer, forwarded headers believed only
from the proxies named in RISKATLAS_TRUSTED_PROXIES.

Both are applied by the application itself rather than left to the server's options, so they
hold under any ASGI server. (`riskatlas serve` also turns uvicorn's own forwarded-header handling
off: by default it believes X-Forwarded-For from 127.0.0.1, which let a local caller, or anything
relaying through the same host, choose the address that the login limit and the audit trail see.)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from riskatlas.config import Settings

# The pages load their styles and scripts from /static only and hold no inline script or style
# (checked by tests/web/test_security_headers.py), so the policy can be this strict.
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_NAMES = frozenset(name for name, _ in HEADERS)


class SecurityHeaders:
    """Adds HEADERS to every HTTP answer that does not set them itself. Plain ASGI, outermost,
    so errors from the other middleware and answers reused by web.cache get them too."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))  # a new list: the cache keeps its own
                present = {name.lower() for name, _ in headers} & _NAMES
                headers.extend(h for h in HEADERS if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def install(app: FastAPI, settings: Settings) -> None:
    """Outermost middleware: call after every other add_middleware."""
    if settings.trusted_proxy_list:
        # Rewrites the scope's client (and scheme) from X-Forwarded-For/-Proto, only when the
        # connection comes from a trusted proxy; request.client then is the real caller for
        # the login limit (parties.routes) and the audit trail (web.deps.who).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
    app.add_middleware(SecurityHeaders)
