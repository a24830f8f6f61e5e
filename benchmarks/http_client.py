"""A lean HTTP/1.1 keep-alive client for the API load benchmark.

Written by hand on purpose: on this 2-core machine the load generator shares the CPUs with the
server it measures. httpx spent ~5 ms of CPU per 180 KB response (one core saturated at ~190
requests/s against the in-memory baseline), so the benchmark measured its own client. wrk is
cheap but reports one latency distribution for all requests, not one per endpoint. This client
does only what the benchmark needs: GET on one persistent connection, `Content-Length` or
chunked bodies, nothing else (no redirects, no TLS, no compression).
"""

from __future__ import annotations

import asyncio
import contextlib


class HTTPError(Exception):
    pass


class Connection:
    """One keep-alive connection; requests on it are sequential (one client = one connection)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._head = f"Host: {host}:{port}\r\n{extra}\r\n".encode("latin-1")
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(
            self.host, self.port, limit=1 << 20)

    async def get(self, path: str) -> tuple[int, bytes]:
        """(status, body) of GET path; reconnects once if the server closed an idle connection."""
        for attempt in (1, 2):
            if self._writer is None:
                await self._open()
            try:
                return await self._get(path)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                await self.close()
                if attempt == 2:
                    raise HTTPError(f"{type(exc).__name__}: {exc}") from None
        raise AssertionError("unreachable")

    async def _get(self, path: str) -> tuple[int, bytes]:
        reader, writer = self._reader, self._writer
        assert reader is not None and writer is not None
        writer.write(b"GET " + path.encode("ascii") + b" HTTP/1.1\r\n" + self._head)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, closing = None, False, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                closing = value.strip().lower() == b"close"
        if chunked:
            body = await self._chunks(reader)
        elif length is not None:
            body = await reader.readexactly(length)
        else:
            body = await reader.read()
            closing = True
        if closing:
            await self.close()
        return status, body

    @staticmethod
    async def _chunks(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
