"""UI test helpers: a small tool source, sign-in for httpx clients, and Playwright for browser tests."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import pytest_asyncio

from hub.core.registry import Tool, ToolAnnotations, ToolContext, ToolRegistry
from hub.core.roles import Role

ARTIFACTS = Path(__file__).parents[1] / "artifacts" / "ui"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCHEMA = {
    "type": "object",
    "properties": {"device": {"type": "string", "minLength": 1}, "service": {"type": "string"}},
    "required": ["device"],
    "additionalProperties": False,
}
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')

if TYPE_CHECKING:
    from playwright.async_api import Page

    from tests.conftest import LiveServer, TestUser


@dataclass
class UiTools:
    """Records handler calls of the UI test tools (``uitest:restart-service`` needs approval)."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def register_ui_tools(registry: ToolRegistry) -> UiTools:
    """Register a read tool (auto), a write tool (approval) and a destructive one (never)."""
    record = UiTools()

    def handler(name: str) -> Any:
        async def run(ctx: ToolContext, args: dict[str, Any]) -> Any:
            record.calls.append((name, args))
            return {"ok": True, "tool": name, "device": args["device"], "approval": ctx.approval_id}

        return run

    registry.register_all(
        [
            Tool(
                "uitest",
                "get-device-info",
                "Get details of a device.",
                SCHEMA,
                handler("get-device-info"),
                ToolAnnotations(read_only=True),
                min_role=Role.VIEWER,
                title="Device info",
                result_type=dict[str, Any],
            ),
            Tool(
                "uitest",
                "restart-service",
                "Restart a service on a device.",
                SCHEMA,
                handler("restart-service"),
                title="Restart service",
                result_type=dict[str, Any],
            ),
            Tool(
                "uitest",
                "wipe-device",
                "Erase every disk of a device.",
                SCHEMA,
                handler("wipe-device"),
                result_type=dict[str, Any],
            ),
        ]
    )
    return record


async def ui_login(client: httpx.AsyncClient, username: str, password: str) -> str:
    """Sign ``client`` in through the login form; returns the session's CSRF token."""
    form = await client.get("/login")
    token = CSRF_INPUT.search(form.text)
    assert token, form.text
    response = await client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token.group(1), "next": "/"}
    )
    assert response.status_code == 303, response.text
    me = await client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    csrf: str = me.json()["csrf_token"]
    return csrf


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where browser tests save screenshots."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make system-deps)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser(artifacts: Path) -> AsyncIterator[Any]:
    """One headless Chromium per test module (each test opens its own context)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        await instance.close()


@contextlib.asynccontextmanager
async def csp_page(
    browser: Any, base_url: str, *, viewport: tuple[int, int] = (1360, 900), permissions: tuple[str, ...] = ()
) -> AsyncIterator[Page]:
    """A fresh browser context (own cookies) and page; a Content-Security-Policy violation fails the test after it."""
    from tests.csp import watch_csp

    context = await browser.new_context(base_url=base_url, viewport={"width": viewport[0], "height": viewport[1]})
    if permissions:
        await context.grant_permissions(list(permissions), origin=base_url)
    context.set_default_timeout(15_000)
    csp = await watch_csp(context)
    try:
        yield await context.new_page()
    finally:
        await context.close()
    csp.check()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Any, live_server: LiveServer) -> AsyncIterator[Page]:
    """A fresh browser context and page per test, against the live hub (see :func:`csp_page`)."""
    async with csp_page(browser, live_server.url) as tab:
        yield tab


@pytest.fixture(scope="module")
def shots(artifacts: Path, request: pytest.FixtureRequest) -> Path:
    """The test module's screenshot folder (its ``SHOTS``, under tests/artifacts/), created."""
    folder: Path = request.module.SHOTS
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def sign_in(page: Page, user: TestUser, *, target: str = "/policies") -> None:
    """Sign ``user`` in through the login form of a headless browser and wait until ``target`` shows."""
    await page.goto(f"/login?next={target}")
    await page.get_by_label("Username").fill(user.username)
    await page.get_by_label("Password").fill(user.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"**{target}")
