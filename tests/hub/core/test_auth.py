"""Sign-in, sessions, CSRF, throttling, tokens and role gates over the REST API."""

from __future__ import annotations

import httpx

from hub.core.context import HubContext
from hub.core.deps import SESSION_COOKIE
from tests.conftest import Tenancy, rest_login


async def test_login_sets_httponly_cookie_and_me_works(tenancy: Tenancy, anon: httpx.AsyncClient) -> None:
    r = await rest_login(anon, "olga", tenancy.operator.password)
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    me = await anon.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["role"] == "operator"


async def test_secure_cookie_when_public_url_is_https(
    tenancy: Tenancy, anon: httpx.AsyncClient, hub: HubContext
) -> None:
    hub.settings.public_url = "https://hub.example.com"
    r = await rest_login(anon, "olga", tenancy.operator.password)
    assert "Secure" in r.headers["set-cookie"]


async def test_wrong_password_is_401_and_unauthenticated_is_401(tenancy: Tenancy, anon: httpx.AsyncClient) -> None:
    r = await rest_login(anon, "olga", "wrong-password")
    assert r.status_code == 401 and r.json()["message"] == "wrong username or password"
    assert (await anon.get("/api/v1/me")).status_code == 401
    assert (await anon.get("/api/v1/tools")).status_code == 401


async def test_login_throttling(tenancy: Tenancy, anon: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await rest_login(anon, "olga", "nope")).status_code == 401
    r = await rest_login(anon, "olga", tenancy.operator.password)
    assert r.status_code == 429 and "too many failed sign-ins" in r.json()["message"]


async def test_cookie_writes_need_csrf(tenancy: Tenancy, anon: httpx.AsyncClient) -> None:
    me = (await rest_login(anon, "alice", tenancy.admin.password)).json()
    body = {"args": {}, "reason": ""}
    r = await anon.post("/api/v1/tools/anything/invoke", json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["message"]
    r = await anon.post("/api/v1/tools/anything/invoke", json=body, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    r = await anon.post("/api/v1/tools/anything/invoke", json=body, headers={"X-CSRF-Token": me["csrf_token"]})
    assert r.status_code == 404  # past CSRF: the tool simply does not exist


async def test_logout_ends_session(tenancy: Tenancy, anon: httpx.AsyncClient) -> None:
    me = (await rest_login(anon, "olga", tenancy.operator.password)).json()
    assert (await anon.post("/api/v1/auth/logout", headers={"X-CSRF-Token": me["csrf_token"]})).status_code == 204
    assert (await anon.get("/api/v1/me")).status_code == 401


async def test_bad_and_revoked_tokens(tenancy: Tenancy, anon: httpx.AsyncClient, hub: HubContext) -> None:
    r = await anon.get("/api/v1/me", headers={"Authorization": "Bearer rmh_nonsense"})
    assert r.status_code == 401 and "unknown, revoked or expired" in r.json()["message"]
    ok = await anon.get("/api/v1/me", headers={"Authorization": f"Bearer {tenancy.viewer.token}"})
    assert ok.status_code == 200
    from hub.core.auth import service

    async with hub.db.transaction() as s:
        user = await service.get_user_by_username(s, "vic")
        await service.set_disabled(s, user, True)
    r = await anon.get("/api/v1/me", headers={"Authorization": f"Bearer {tenancy.viewer.token}"})
    assert r.status_code == 401


async def test_tokens_are_hashed_at_rest(tenancy: Tenancy, hub: HubContext) -> None:
    from sqlalchemy import select

    from hub.core.models import ApiToken, User

    async with hub.db.sessionmaker() as s:
        stored = [t.token_hash for t in (await s.execute(select(ApiToken))).scalars()]
        hashes = [u.password_hash for u in (await s.execute(select(User))).scalars()]
    assert tenancy.admin.token not in stored and all(len(h) == 64 for h in stored)
    assert all(h.startswith("$argon2") for h in hashes)


async def test_only_admin_changes_policies(tenancy: Tenancy, client_for: object, hub: HubContext) -> None:
    from hub.core.registry import Tool

    async def handler(ctx: object, args: dict[str, object]) -> str:
        return "ok"

    hub.registry.register(Tool("testsrc", "get-thing", "Get a thing.", {"type": "object"}, handler, result_type=str))
    make = client_for  # type: ignore[assignment]
    r = await make(tenancy.operator).put("/api/v1/policies/get-thing", json={"mode": "never"})  # type: ignore[operator]
    assert r.status_code == 403
    r = await make(tenancy.admin).put("/api/v1/policies/get-thing", json={"mode": "never", "note": "freeze"})  # type: ignore[operator]
    assert r.status_code == 200 and r.json()["mode"] == "never" and r.json()["origin"] == "admin"
    listed = (await make(tenancy.operator).get("/api/v1/tools")).json()  # type: ignore[operator]
    tool = next(t for t in listed if t["id"] == "testsrc:get-thing")
    assert tool["policy"]["mode"] == "never" and "alice" in tool["policy"]["reason"]
    assert tool["policy"]["classifier_mode"] == "auto"
    r = await make(tenancy.admin).delete("/api/v1/policies/testsrc:get-thing")  # type: ignore[operator]
    assert r.json()["mode"] == "auto" and r.json()["origin"] == "classifier"
    audit_rows = (await make(tenancy.admin).get("/api/v1/audit", params={"event": "policy.changed"})).json()  # type: ignore[operator]
    assert [a["outcome"] for a in audit_rows] == ["auto", "never"]
    r = await make(tenancy.admin).put("/api/v1/policies/get-thing", json={"mode": "sometimes"})  # type: ignore[operator]
    assert r.status_code == 422 and "mode" in r.json()["message"]


async def test_healthz(anon: httpx.AsyncClient, hub: HubContext) -> None:
    r = await anon.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["database"] == hub.db.dialect and r.json()["version"]
