"""Unexpected errors answer with an error id only; the log holds the traceback under that id (issue 8, item 4)."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hub.core.context import HubContext
from hub.core.registry import Tool, ToolAnnotations, ToolContext
from hub.core.roles import Role
from tests.conftest import Tenancy

SECRET_DETAIL = "password=hunter2 at /srv/rmmhub/internal.py"


async def test_an_unexpected_error_answers_an_id_and_logs_the_traceback(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom() -> None:
        raise RuntimeError(SECRET_DETAIL)

    app.add_api_route("/api/v1/test-boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with caplog.at_level(logging.ERROR):
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            response = await client.get("/api/v1/test-boom")
    assert response.status_code == 500
    body = response.json()
    assert SECRET_DETAIL not in response.text and "RuntimeError" not in response.text
    assert re.fullmatch(r"[0-9a-f]{12}", body["error_id"]) and body["error_id"] in body["message"]
    [record] = [r for r in caplog.records if body["error_id"] in r.getMessage()]
    assert record.exc_info is not None and SECRET_DETAIL in str(record.exc_info[1])


async def test_a_crashing_tool_handler_returns_only_the_error_id(
    hub: HubContext, tenancy: Tenancy, client_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async def crash(ctx: ToolContext, args: dict[str, Any]) -> Any:
        raise KeyError(SECRET_DETAIL)

    hub.registry.register(
        Tool(
            source="native_rmm",
            name="rmm-get-crash",
            description="Get a crash (test).",
            input_schema={"type": "object", "properties": {}},
            handler=crash,
            annotations=ToolAnnotations(read_only=True),
            min_role=Role.VIEWER,
            result_type=None,
        )
    )
    with caplog.at_level(logging.ERROR):
        response = await client_for(tenancy.admin).post("/api/v1/tools/rmm-get-crash/invoke", json={"args": {}})
    assert response.status_code == 500, response.text
    body = response.json()
    assert body["status"] == "failed" and SECRET_DETAIL not in response.text and "KeyError" not in response.text
    reference = re.search(r"error id ([0-9a-f]{12})", body["message"])
    assert reference is not None
    [record] = [r for r in caplog.records if reference.group(1) in r.getMessage()]
    assert record.exc_info is not None and SECRET_DETAIL in str(record.exc_info[1])
