"""Request bodies are capped while they stream in; errors never echo large input (issue 8, item 5)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from tests.conftest import LiveServer, Tenancy

MIB = 1024 * 1024


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    status = int(head.split(b" ", 2)[1])
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        0,
    )
    return status, await asyncio.wait_for(reader.readexactly(length), 10)


@pytest.fixture
async def raw_connection(live_server: LiveServer) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    host, port = live_server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    yield reader, writer
    writer.close()
    await writer.wait_closed()


async def test_a_declared_50_mib_login_is_refused_before_its_body_is_sent(
    raw_connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    reader, writer = raw_connection
    writer.write(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {50 * MIB}\r\n\r\n".encode()
        + b'{"username": "'
    )
    await writer.drain()
    # Only the headers and 14 bytes went out: the answer cannot have waited for the 50 MiB.
    status, body = await _read_response(reader)
    assert status == 413 and "limit of 1048576 bytes" in json.loads(body)["message"]


async def test_a_chunked_body_is_refused_once_it_passes_the_limit(
    raw_connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    reader, writer = raw_connection
    writer.write(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b" " * (256 * 1024)
    for _ in range(5):  # 1.25 MiB of a body that would go on for ever
        writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    await writer.drain()
    status, body = await _read_response(reader)
    assert status == 413 and json.loads(body)["status"] == "error"


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/api/v1/tools/rmm-list-devices/invoke", "json"), ("/login", "form"), ("/admin/users", "form")],
)
async def test_api_ui_forms_and_login_refuse_an_oversized_body(
    tenancy: Tenancy, client_for: Callable[..., httpx.AsyncClient], path: str, kind: str
) -> None:
    client = client_for(tenancy.admin)
    big = "x" * (MIB + 1)
    if kind == "json":
        response = await client.post(path, json={"args": {}, "reason": big})
    else:
        response = await client.post(path, data={"username": big, "password": "p"}, headers={"accept": "text/html"})
    assert response.status_code == 413, response.text[:200]
    assert len(response.content) < 20_000


async def test_a_body_under_the_limit_is_served(tenancy: Tenancy, client_for: Callable[..., httpx.AsyncClient]) -> None:
    response = await client_for(tenancy.admin).post(
        "/api/v1/tools/rmm-list-devices/invoke", json={"args": {}, "reason": "r" * 1000}
    )
    assert response.status_code == 200, response.text


async def test_a_large_invalid_argument_is_not_echoed_back(
    tenancy: Tenancy, client_for: Callable[..., httpx.AsyncClient]
) -> None:
    title = "T" * 900_000
    response = await client_for(tenancy.admin).post(
        "/api/v1/tools/rmm-create-ticket/invoke", json={"args": {"title": title}}
    )
    assert response.status_code == 422, response.text[:300]
    assert len(response.content) < 2_000 and "too long" in response.json()["problem"]


async def test_a_large_invalid_body_field_is_not_echoed_back(
    tenancy: Tenancy, client_for: Callable[..., httpx.AsyncClient]
) -> None:
    response = await client_for(tenancy.admin).post(
        "/api/v1/rmm/tickets", json={"title": "ok", "description": "d" * 900_000, "surprise" + "k" * 5000: 1}
    )
    assert response.status_code == 422
    assert len(response.content) < 4_000 and "description" in response.json()["message"]
