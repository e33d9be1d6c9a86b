"""The integration pages in-process (httpx): card status, connect form, tool list, roles."""

from __future__ import annotations

import httpx
from cw_tenant import FakeTenant
from cw_world import CWWorld
from fastapi import FastAPI

from tests.conftest import Tenancy
from tests.ui.conftest import ui_login

PAGE = "/integrations/connectwise-rmm"


def _browser(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test")


async def test_connect_form_card_and_tool_list(
    app: FastAPI, tenancy: Tenancy, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    async with _browser(app) as client:
        csrf = await ui_login(client, tenancy.admin.username, tenancy.admin.password)
        card = await client.get("/integrations")
        assert "ConnectWise RMM" in card.text and "Not connected" in card.text

        empty = await client.get(PAGE)
        assert empty.status_code == 200 and 'type="password"' in empty.text and "Not connected" in empty.text

        form = {"client_id": tenant.client_id, "client_secret": "bad", "region": "au", "csrf_token": csrf}
        failed = await client.post(f"{PAGE}/connect", data=form)
        assert failed.status_code == 400
        assert "Client authentication failed" in failed.text and "HTTP 401" in failed.text
        assert 'value="bad"' not in failed.text

        form["client_secret"] = tenant.client_secret
        saved = await client.post(f"{PAGE}/connect", data=form)
        assert saved.status_code == 303 and saved.headers["location"] == f"{PAGE}?done=connected"
        detail = await client.get(saved.headers["location"])
        assert detail.status_code == 200
        assert tenant.client_secret not in detail.text
        assert "18 static, 2 scripts" in detail.text
        for name in ("cw-rmm-list-companies", "cw-rmm-create-ticket", "cw-rmm-script-disk-cleanup"):
            assert f'aria-label="Mode for connectwise_rmm:{name}"' in detail.text
        assert "runs a script on endpoints" in detail.text and "annotated as read-only" in detail.text

        card = await client.get("/integrations")
        assert ">Connected<" in card.text

        redo = await client.post(f"{PAGE}/rediscover", data={"csrf_token": csrf})
        assert redo.status_code == 303
        assert "Rediscovered 2 active scripts" in (await client.get(redo.headers["location"])).text

        gone = await client.post(f"{PAGE}/disconnect", data={"csrf_token": csrf})
        assert gone.status_code == 303
        assert "Not connected" in (await client.get("/integrations")).text


async def test_operators_see_status_but_cannot_connect(
    app: FastAPI, tenancy: Tenancy, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    async with _browser(app) as client:
        csrf = await ui_login(client, tenancy.operator.username, tenancy.operator.password)
        page = await client.get(PAGE)
        assert page.status_code == 200 and 'type="password"' not in page.text
        form = {"client_id": tenant.client_id, "client_secret": tenant.client_secret, "csrf_token": csrf}
        refused = await client.post(f"{PAGE}/connect", data=form)
        assert refused.status_code == 403
    assert tenant.requests == []
