"""Pages, sign-in CSRF and the policy change over plain HTTP (no browser), against the in-process app."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from hub.core.audit import AuditEntry
from hub.core.context import HubContext
from hub.core.db import Database, utcnow
from policies.models import Approval
from tests.conftest import Tenancy, TestUser
from tests.ui.conftest import CSRF_INPUT, register_ui_tools, ui_login
from ui import assets
from ui.login_csrf import COOKIE as LOGIN_COOKIE


async def test_login_form_sets_a_signed_csrf_cookie(anon: httpx.AsyncClient, tenancy: Tenancy) -> None:
    page = await anon.get("/login")
    assert page.status_code == 200
    assert CSRF_INPUT.search(page.text)
    assert LOGIN_COOKIE in page.cookies
    assert 'label for="username"' in page.text


async def test_login_without_csrf_is_rejected(anon: httpx.AsyncClient, tenancy: Tenancy) -> None:
    response = await anon.post("/login", data={"username": "alice", "password": tenancy.admin.password})
    assert response.status_code == 403
    assert "sign-in form expired" in response.text
    assert "rmmhub_session" not in response.cookies


async def test_login_with_a_token_from_another_cookie_is_rejected(anon: httpx.AsyncClient, tenancy: Tenancy) -> None:
    token = CSRF_INPUT.search((await anon.get("/login")).text)
    assert token
    anon.cookies.clear()
    await anon.get("/login")  # a fresh nonce: the old form token no longer matches
    data = {"username": "alice", "password": tenancy.admin.password, "csrf_token": token.group(1)}
    response = await anon.post("/login", data=data)
    assert response.status_code == 403


async def test_wrong_password_then_success_with_safe_next(anon: httpx.AsyncClient, tenancy: Tenancy) -> None:
    token = CSRF_INPUT.search((await anon.get("/login")).text)
    assert token
    data = {"username": "alice", "password": "nope-nope-nope", "csrf_token": token.group(1), "next": "/admin"}
    wrong = await anon.post("/login", data=data)
    assert wrong.status_code == 401
    assert "wrong username or password" in wrong.text

    token = CSRF_INPUT.search(wrong.text)
    assert token
    data.update(password=tenancy.admin.password, csrf_token=token.group(1), next="//evil.example/x")
    ok = await anon.post("/login", data=data)
    assert ok.status_code == 303
    assert ok.headers["location"] == "/"
    assert "rmmhub_session" in ok.cookies


async def test_login_throttling_answers_429(anon: httpx.AsyncClient, tenancy: Tenancy, hub: HubContext) -> None:
    for _ in range(hub.settings.login_max_failures):
        token = CSRF_INPUT.search((await anon.get("/login")).text)
        assert token
        await anon.post("/login", data={"username": "vic", "password": "bad-password!", "csrf_token": token.group(1)})
    token = CSRF_INPUT.search((await anon.get("/login")).text)
    assert token
    data = {"username": "vic", "password": tenancy.viewer.password, "csrf_token": token.group(1)}
    throttled = await anon.post("/login", data=data)
    assert throttled.status_code == 429
    assert "too many failed sign-ins" in throttled.text


async def test_root_redirects_to_rmm_and_pages_need_a_session(anon: httpx.AsyncClient, tenancy: Tenancy) -> None:
    page = await anon.get("/policies", headers={"accept": "text/html"})
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")
    await ui_login(anon, "olga", tenancy.operator.password)
    root = await anon.get("/")
    assert root.status_code == 303
    assert root.headers["location"] == "/rmm", "the RMM pages are installed, so / lands there"


async def test_logout_needs_csrf(anon: httpx.AsyncClient, tenancy: Tenancy) -> None:
    csrf = await ui_login(anon, "olga", tenancy.operator.password)
    refused = await anon.post("/logout", headers={"accept": "text/html"})
    assert refused.status_code == 403
    assert (await anon.get("/api/v1/me")).status_code == 200
    done = await anon.post("/logout", data={"csrf_token": csrf})
    assert done.status_code == 303
    assert (await anon.get("/api/v1/me")).status_code == 401


async def test_policy_change_needs_csrf_and_admin(
    anon: httpx.AsyncClient, tenancy: Tenancy, hub: HubContext, client_for: Callable[[TestUser], httpx.AsyncClient]
) -> None:
    register_ui_tools(hub.registry)
    csrf = await ui_login(anon, "alice", tenancy.admin.password)
    form = {"tool": "uitest:restart-service", "mode": "auto"}
    no_token = await anon.post("/policies/tools/mode", data=form, headers={"hx-request": "true"})
    assert no_token.status_code == 403
    assert no_token.headers["hx-retarget"] == "#flash"
    assert "CSRF" in no_token.text

    changed = await anon.post("/policies/tools/mode", data=form, headers={"hx-request": "true", "x-csrf-token": csrf})
    assert changed.status_code == 200, changed.text
    assert 'data-mode="auto"' in changed.text
    api = client_for(tenancy.admin)
    policies = {p["tool"]: p for p in (await api.get("/api/v1/policies")).json()}
    assert policies["uitest:restart-service"]["mode"] == "auto"
    assert policies["uitest:restart-service"]["origin"] == "admin"

    reset = await anon.post(
        "/policies/tools/reset", data={"tool": "uitest:restart-service"}, headers={"x-csrf-token": csrf}
    )
    assert reset.status_code == 200
    policies = {p["tool"]: p for p in (await api.get("/api/v1/policies")).json()}
    assert policies["uitest:restart-service"]["mode"] == "approval"


async def test_operator_cannot_change_policies(anon: httpx.AsyncClient, tenancy: Tenancy, hub: HubContext) -> None:
    register_ui_tools(hub.registry)
    csrf = await ui_login(anon, "olga", tenancy.operator.password)
    page = await anon.get("/policies?tab=policies")
    assert page.status_code == 200
    assert "uitest:restart-service" in page.text
    assert '<select name="mode"' not in page.text
    refused = await anon.post(
        "/policies/tools/mode",
        data={"tool": "uitest:restart-service", "mode": "auto"},
        headers={"x-csrf-token": csrf, "accept": "text/html"},
    )
    assert refused.status_code == 403
    assert "admin role" in refused.text
    assert 'class="sidebar"' in refused.text  # error pages use the layout


async def test_every_page_renders(anon: httpx.AsyncClient, tenancy: Tenancy, hub: HubContext, app: FastAPI) -> None:
    register_ui_tools(hub.registry)
    await ui_login(anon, "alice", tenancy.admin.password)
    for url in [
        "/policies", "/policies?tab=policies&source=uitest&q=restart", "/policies?tab=audit",
        "/policies?tab=audit&event=auth.login", "/admin/users", "/admin/tokens", "/assistant", "/integrations",
        "/policies/approvals", "/policies/tools?q=wipe", "/ui/pending-count",
    ]:  # fmt: skip
        response = await anon.get(url)
        assert response.status_code == 200, (url, response.text)
    assistant = await anon.get("/assistant")
    assert 'id="chat-form"' in assistant.text  # the chat replaced the table of offered tools
    assert "built-in offline model" in assistant.text  # no model configured: the page says which one runs
    integrations = await anon.get("/integrations")
    assert "ConnectWise RMM" in integrations.text
    assert "Not connected" in integrations.text


async def test_viewer_gets_403_page_on_admin(anon: httpx.AsyncClient, tenancy: Tenancy) -> None:
    await ui_login(anon, "vic", tenancy.viewer.password)
    response = await anon.get("/admin/users", headers={"accept": "text/html"})
    assert response.status_code == 403
    assert "Not allowed" in response.text
    page = await anon.get("/policies")
    assert 'href="/admin"' not in page.text


async def test_vendor_assets_are_served_locally(anon: httpx.AsyncClient) -> None:
    htmx = await anon.get("/static/vendor/htmx.min.js")
    assert htmx.status_code == 200
    assert "htmx" in htmx.text[:2000]
    assert (await anon.get("/static/app/app.css")).status_code == 200
    assert (await anon.get("/static/vendor/novnc/core/rfb.js")).status_code == 200
    assert (await anon.get("/static/vendor/package.json")).status_code == 404


async def test_deciding_an_expired_request_says_expired(
    anon: httpx.AsyncClient, tenancy: Tenancy, hub: HubContext, db: Database,
    client_for: Callable[[TestUser], httpx.AsyncClient],
) -> None:  # fmt: skip
    register_ui_tools(hub.registry)
    invoked = await client_for(tenancy.operator).post(
        "/api/v1/tools/uitest:restart-service/invoke", json={"args": {"device": "pc-late"}}
    )
    approval_id = invoked.json()["approval_id"]
    async with db.transaction() as session:
        approval = await session.get(Approval, approval_id)
        assert approval is not None
        approval.expires_at = utcnow() - timedelta(minutes=5)
    csrf = await ui_login(anon, "bob", tenancy.approver.password)
    response = await anon.post(
        f"/policies/approvals/{approval_id}/decide",
        data={"decision": "approve", "note": "too late?"},
        headers={"hx-request": "true", "x-csrf-token": csrf},
    )
    assert response.status_code == 200, response.text
    assert 'data-decision="expired"' in response.text
    assert "expired" in response.text and "nothing ran" in response.text
    state = await client_for(tenancy.admin).get(f"/api/v1/approvals/{approval_id}")
    assert state.json()["status"] == "expired"


async def test_viewer_cannot_decide_even_by_hand(
    anon: httpx.AsyncClient, tenancy: Tenancy, hub: HubContext, client_for: Callable[[TestUser], httpx.AsyncClient]
) -> None:
    register_ui_tools(hub.registry)
    invoked = await client_for(tenancy.operator).post(
        "/api/v1/tools/uitest:restart-service/invoke", json={"args": {"device": "pc-2"}}
    )
    approval_id = invoked.json()["approval_id"]
    csrf = await ui_login(anon, "vic", tenancy.viewer.password)
    queue = await anon.get("/policies/approvals")
    assert f'id="approval-{approval_id}"' in queue.text
    assert "Approve #" not in queue.text
    refused = await anon.post(
        f"/policies/approvals/{approval_id}/decide",
        data={"decision": "approve"},
        headers={"hx-request": "true", "x-csrf-token": csrf},
    )
    assert refused.status_code == 403
    assert (await client_for(tenancy.admin).get(f"/api/v1/approvals/{approval_id}")).json()["status"] == "pending"


async def test_admin_creates_user_and_token_shown_once(anon: httpx.AsyncClient, tenancy: Tenancy, app: FastAPI) -> None:
    csrf = await ui_login(anon, "alice", tenancy.admin.password)
    created = await anon.post(
        "/admin/users", data={"username": "nina", "role": "operator", "display_name": "Nina", "csrf_token": csrf}
    )
    assert created.status_code == 200, created.text
    password = re.search(r'aria-label="Password for nina">([^<]+)<', created.text)
    assert password
    again = await anon.get("/admin/users")
    assert password.group(1) not in again.text

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as nina:
        await ui_login(nina, "nina", password.group(1))

    nina_id = re.search(r'data-username="nina">.*?/admin/users/(\d+)/disabled', again.text, re.S)
    assert nina_id
    token = await anon.post(
        "/admin/tokens", data={"user_id": nina_id.group(1), "name": "backup script", "csrf_token": csrf}
    )
    plain = re.search(r'aria-label="API token backup script for nina">([^<]+)<', token.text)
    assert plain
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://hub.test",
        headers={"Authorization": f"Bearer {plain.group(1)}"},
    ) as bearer:
        assert (await bearer.get("/api/v1/me")).json()["username"] == "nina"
        token_id = re.search(r'data-token-id="(\d+)"', token.text)
        assert token_id
        revoked = await anon.post(f"/admin/tokens/{token_id.group(1)}/revoke", data={"csrf_token": csrf})
        assert revoked.status_code == 200
        assert (await bearer.get("/api/v1/me")).status_code == 401

    disabled = await anon.post(
        f"/admin/users/{nina_id.group(1)}/disabled", data={"disabled": "true", "csrf_token": csrf}
    )
    assert "nina disabled" in disabled.text
    own = await anon.post(
        f"/admin/users/{tenancy.admin.id}/disabled",
        data={"disabled": "true", "csrf_token": csrf},
        headers={"accept": "text/html"},
    )
    assert own.status_code == 409


async def test_verify_names_the_first_tampered_entry(anon: httpx.AsyncClient, tenancy: Tenancy, db: Database) -> None:
    await ui_login(anon, "alice", tenancy.admin.password)
    ok = await anon.get("/policies/audit/verify", headers={"hx-request": "true"})
    assert 'data-verify="ok"' in ok.text
    async with db.transaction() as session:
        await session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(outcome="forged"))
    tampered = await anon.get("/policies/audit/verify", headers={"hx-request": "true"})
    assert 'data-verify="tampered"' in tampered.text
    assert "entry #2 was altered" in tampered.text


async def test_only_admins_verify(anon: httpx.AsyncClient, tenancy: Tenancy) -> None:
    await ui_login(anon, "bob", tenancy.approver.password)
    page = await anon.get("/policies?tab=audit")
    assert "auth.login" in page.text
    assert "Verify chain" not in page.text
    assert (await anon.get("/policies/audit/verify", headers={"hx-request": "true"})).status_code == 403


async def test_root_goes_to_rmm_once_installed(anon: httpx.AsyncClient, tenancy: Tenancy, app: FastAPI) -> None:
    async def rmm_page() -> str:
        return "rmm"

    app.add_api_route("/rmm", rmm_page)
    await ui_login(anon, "olga", tenancy.operator.password)
    root = await anon.get("/")
    assert root.headers["location"] == "/rmm"
    page = await anon.get("/assistant")
    assert 'title="Not installed yet"' not in page.text.split('href="/rmm"')[1].split(">")[0]


def test_missing_npm_assets_fail_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assets, "NODE_MODULES", tmp_path)
    monkeypatch.setattr(assets, "NOVNC_DIR", tmp_path / "@novnc" / "novnc")
    with pytest.raises(assets.AssetsMissing, match=r"run `make install` \(npm assets missing"):
        assets.check_assets()
