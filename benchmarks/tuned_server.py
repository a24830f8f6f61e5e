"""Diagnostics for api_load.py: the real app under uvicorn with one setting changed, to measure
what a proposed fix would give before anyone changes the application.

    python benchmarks/tuned_server.py [uvicorn arguments]      # instead of python -m uvicorn

BENCH_NODELAY=1  sets TCP_NODELAY on the listening socket that uvicorn binds itself for
                 --workers N > 1 (accepted sockets inherit it on Linux). Works around
                 uvicorn issue #3149: with a pre-bound socket asyncio leaves Nagle's algorithm
                 on, and every small keep-alive response waits ~40 ms for a delayed ACK.
BENCH_THREADS=N  limits the thread pool that runs FastAPI's sync endpoints and dependencies
                 (anyio's default is 40 threads per worker process).

The factory `tuned_server:create_app` wraps riskatlas.web.app:create_app.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any


def create_app() -> Any:
    from riskatlas.web.app import create_app as real_create_app

    app = real_create_app()
    threads = int(os.environ.get("BENCH_THREADS") or 0)
    if not threads:
        return app
    done = False

    async def limited(scope: Any, receive: Any, send: Any) -> None:
        nonlocal done
        if not done:  # the limiter belongs to the running event loop of this worker
            import anyio.to_thread

            anyio.to_thread.current_default_thread_limiter().total_tokens = threads
            done = True
        await app(scope, receive, send)

    return limited


def _patch_nodelay() -> None:
    from uvicorn.config import Config

    bind = Config.bind_socket

    def bind_socket(self: Config) -> socket.socket:
        sock = bind(self)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    Config.bind_socket = bind_socket  # type: ignore[method-assign]


if __name__ == "__main__":
    if os.environ.get("BENCH_NODELAY") == "1":
        _patch_nodelay()
    import uvicorn.main

    sys.argv[0] = "uvicorn"
    uvicorn.main.main()
