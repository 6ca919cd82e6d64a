"""A minimal HTTP/1.1 keep-alive connection for the load test: POST pre-encoded JSON, read the answer.

Why not httpx: the load generator shares the machine's two cores with the server it measures, so
its own CPU per request is taken from the server. httpx costs about 0.9 ms of client CPU per request
(and ~16 ms per client made); this costs a small fraction of that, so the figures describe the
server rather than the client. It speaks only what the load test needs: ``POST`` with a
``Content-Length`` body over one persistent connection, answers with ``Content-Length`` or chunked
bodies, reconnecting when the server closes the connection.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


class ConnectionFailed(Exception):
    """The connection broke or the answer was not HTTP/1.1 the client understands."""


@dataclass
class Response:
    status: int
    body: bytes


class KeepAliveConnection:
    """One persistent connection to ``host:port``; ``post`` calls must not overlap (one at a time)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: bytes) -> Response:
        """Send ``body`` (JSON) to ``path``; reconnects once if the kept-alive connection was closed."""
        for attempt in (1, 2):
            if self._writer is None:
                await self.connect()
            try:
                return await self._exchange(path, body)
            except (ConnectionError, asyncio.IncompleteReadError, ConnectionFailed):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, path: str, body: bytes) -> Response:
        assert self._reader is not None and self._writer is not None
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode("ascii")
        self._writer.write(head + body)
        await self._writer.drain()
        raw = await self._reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ConnectionFailed(f"not an HTTP/1.1 status line: {lines[0][:80]!r}")
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            data = await self._reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            data = await self._chunked()
        else:
            raise ConnectionFailed("answer without Content-Length or chunked body")
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Response(int(parts[1]), data)

    async def _chunked(self) -> bytes:
        assert self._reader is not None
        chunks = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(chunks)
            chunks.append(await self._reader.readexactly(size + 2))
            chunks[-1] = chunks[-1][:-2]

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass
