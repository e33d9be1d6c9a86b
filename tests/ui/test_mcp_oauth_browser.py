"""The MCP OAuth flow end to end: discovery, registration, PKCE, consent in real Chromium, token use, revocation."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest

from tests.conftest import LiveServer, Tenancy
from tests.hub.mcp.conftest import mcp_session
from tests.ui.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
CALLBACK = "http://127.0.0.1:9/callback"  # never reached: the browser's navigation to it is intercepted


async def test_oauth_code_pkce_consent_token_revoke(live_server: LiveServer, tenancy: Tenancy, browser: Any) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        resource = (await client.get("/.well-known/oauth-protected-resource/mcp")).json()
        assert (
            resource["authorization_servers"] == [live_server.url]
            or resource["authorization_servers"][0].rstrip("/") == live_server.url
        )
        meta = (await client.get("/.well-known/oauth-authorization-server")).json()
        assert meta["code_challenge_methods_supported"] == ["S256"]
        registered = await client.post(
            meta["registration_endpoint"],
            json={"client_name": "Test Desktop", "redirect_uris": [CALLBACK], "token_endpoint_auth_method": "none",
                  "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]},
        )  # fmt: skip
        assert registered.status_code == 201, registered.text
        client_id = registered.json()["client_id"]

        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK, "state": "s-42",
                 "code_challenge": challenge, "code_challenge_method": "S256", "scope": "mcp"}  # fmt: skip
        authorize = f"{meta['authorization_endpoint']}?{urlencode(query)}"

        context = await browser.new_context()
        try:
            page = await context.new_page()
            captured: list[str] = []

            async def on_callback(route: Any) -> None:
                captured.append(route.request.url)
                await route.fulfill(status=200, body="ok")

            await page.route("http://127.0.0.1:9/**", on_callback)
            await page.goto(authorize)
            await page.fill("#username", tenancy.operator.username)
            await page.fill("#password", tenancy.operator.password)
            await page.click("button[type=submit]")
            await page.wait_for_selector("#consent-title")
            assert "Test Desktop" in await page.inner_text("#consent-title")
            await page.screenshot(path=str(ARTIFACTS / "mcp-oauth-consent.png"))
            async with page.expect_request("http://127.0.0.1:9/**") as callback:
                await page.click("button[value=allow]")
            back = parse_qs(urlparse((await callback.value).url).query)
            assert back["state"] == ["s-42"]
            code = back["code"][0]

            wrong = await client.post(
                meta["token_endpoint"],
                data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
                      "client_id": client_id, "code_verifier": "x" * 50},
            )  # fmt: skip
            assert wrong.status_code == 400  # PKCE: a wrong verifier gets nothing
            issued = await client.post(
                meta["token_endpoint"],
                data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
                      "client_id": client_id, "code_verifier": verifier},
            )  # fmt: skip
            assert issued.status_code == 200, issued.text
            first = issued.json()
            # Refresh rotates the access token in place (one API-token row per grant); the old one stops working.
            refreshed = await client.post(
                meta["token_endpoint"],
                data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": client_id},
            )
            assert refreshed.status_code == 200, refreshed.text
            token = refreshed.json()["access_token"]
            assert token != first["access_token"]
            init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
            stale = await client.post(
                "/mcp", json=init,
                headers={"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {first['access_token']}"},
            )  # fmt: skip
            assert stale.status_code == 401

            async with mcp_session(live_server, token) as session:
                names = {t.name for t in (await session.list_tools()).tools}
            assert "hub-get-approval" in names

            # The admin revokes it from Admin -> API tokens, in the browser.
            admin = await context.new_page()
            await context.clear_cookies()
            await admin.goto(f"{live_server.url}/login?next=/admin/tokens")
            await admin.fill("#username", tenancy.admin.username)
            await admin.fill("#password", tenancy.admin.password)
            await admin.click("button[type=submit]")
            await admin.wait_for_selector("text=MCP OAuth: Test Desktop")
            await admin.click("button[aria-label='Revoke MCP OAuth: Test Desktop of olga']")
            await admin.wait_for_selector("text=revoked")
        finally:
            await context.close()
        body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
        refused = await client.post(
            "/mcp", json=body,
            headers={"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {token}"},
        )  # fmt: skip
        assert refused.status_code == 401
