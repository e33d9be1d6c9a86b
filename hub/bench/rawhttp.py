"""A minimal HTTP/1.1 keep-alive client: the load generator must cost far less than the server.

Both bench phases (check-ins and the trivial endpoint) use it, so their ratio measures the
server, not the client library.
"""

from __future__ import annotations

import asyncio
import contextlib


class RawHttpError(RuntimeError):
    """The server answered something this client does not understand, or closed the connection."""


class RawConnection:
    """One keep-alive connection to ``host:port``."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):  # the server may have closed first
                await self._writer.wait_closed()
            self._writer = self._reader = None

    @staticmethod
    def build(method: str, path: str, host: str, headers: dict[str, str], body: bytes = b"") -> bytes:
        """The bytes of one request (pre-build them once per agent to keep the client cheap)."""
        head = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """Send pre-built request bytes; returns the status and the body.

        A keep-alive connection the server closed while idle is reopened once, transparently.
        """
        reused = self._writer is not None
        try:
            return await self._send_once(request)
        except RawHttpError:
            if not reused:
                raise
        return await self._send_once(request)

    async def _send_once(self, request: bytes) -> tuple[int, bytes]:
        if self._writer is None or self._reader is None:
            await self.open()
        assert self._writer is not None and self._reader is not None
        try:
            self._writer.write(request)
            head = await self._reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            await self.close()
            raise RawHttpError(f"connection closed by the server: {exc!r}") from exc
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            elif name.strip().lower() == "transfer-encoding":
                raise RawHttpError("chunked responses are not supported by the bench client")
        body = await self._reader.readexactly(length) if length else b""
        return status, body
