"""Users over REST and the admin pages: create with a role, change role, disable, reset and change passwords;
the lone-user banner offers to create an approver."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from hub.core.auth.service import create_user
from hub.core.db import Database
from hub.core.roles import Role
from hub.core.tenancy import create_organization
from tests.conftest import Tenancy, TestUser
from tests.ui.conftest import ui_login

Clients = Callable[[TestUser], httpx.AsyncClient]


async def _login(anon: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await anon.post("/api/v1/auth/login", json={"username": username, "password": password})


async def test_admin_manages_users_over_rest(tenancy: Tenancy, client_for: Clients, anon: httpx.AsyncClient) -> None:
    admin = client_for(tenancy.admin)
    made = await admin.post("/api/v1/users", json={"username": "Ann", "role": "approver", "display_name": "Ann A"})
    assert made.status_code == 201, made.text
    ann, password = made.json()["user"], made.json()["password"]
    assert ann["username"] == "ann" and ann["role"] == "approver" and len(password) >= 10
    assert (await _login(anon, "ann", password)).status_code == 200
    assert "ann" in [u["username"] for u in (await admin.get("/api/v1/users")).json()]

    changed = await admin.patch(f"/api/v1/users/{ann['id']}", json={"role": "operator"})
    assert changed.json()["user"]["role"] == "operator"
    reset = await admin.post(f"/api/v1/users/{ann['id']}/password")
    assert reset.status_code == 200 and reset.json()["password"] != password
    assert (await _login(anon, "ann", password)).status_code == 401
    assert (await _login(anon, "ann", reset.json()["password"])).status_code == 200

    disabled = await admin.patch(f"/api/v1/users/{ann['id']}", json={"disabled": True})
    assert disabled.json()["user"]["disabled"] is True
    assert (await _login(anon, "ann", reset.json()["password"])).status_code == 401

    assert (await admin.patch(f"/api/v1/users/{tenancy.admin.id}", json={"disabled": True})).status_code == 409
    assert (await client_for(tenancy.approver).get("/api/v1/users")).status_code == 403
    assert (
        await client_for(tenancy.operator).post("/api/v1/users", json={"username": "x", "role": "admin"})
    ).status_code == 403
    dup = await admin.post("/api/v1/users", json={"username": "ann", "role": "viewer"})
    assert dup.status_code == 409


async def test_users_change_their_own_password(tenancy: Tenancy, client_for: Clients, anon: httpx.AsyncClient) -> None:
    olga = client_for(tenancy.operator)
    wrong = await olga.post("/api/v1/me/password", json={"current_password": "nope", "new_password": "x" * 12})
    assert wrong.status_code == 403
    short = await olga.post(
        "/api/v1/me/password", json={"current_password": tenancy.operator.password, "new_password": "short"}
    )
    assert short.status_code == 422
    ok = await olga.post(
        "/api/v1/me/password",
        json={"current_password": tenancy.operator.password, "new_password": "olga-new-password-1"},
    )
    assert ok.status_code == 204
    assert (await _login(anon, "olga", "olga-new-password-1")).status_code == 200
    assert (await _login(anon, "olga", tenancy.operator.password)).status_code == 401


async def test_lone_admin_sees_the_second_person_banner_and_can_create_an_approver(
    db: Database, app: object, anon: httpx.AsyncClient
) -> None:
    async with db.transaction() as session:
        org = await create_organization(session, name="Solo IT")
        await create_user(session, org_id=org.id, username="solo", password="solo-password-1", role=Role.ADMIN)
    csrf = await ui_login(anon, "solo", "solo-password-1")
    anon.headers["X-CSRF-Token"] = csrf
    for path in ("/rmm", "/policies", "/admin/users"):
        page = await anon.get(path)
        assert 'data-testid="second-person-banner"' in page.text, path
    users = (await anon.get("/admin/users", params={"new": "approver"})).text
    assert '<option value="approver" selected>' in users
    made = await anon.post("/admin/users", data={"username": "second", "role": "approver", "csrf_token": csrf})
    assert made.status_code == 200 and "Password for second" in made.text
    assert 'data-testid="second-person-banner"' not in (await anon.get("/policies")).text

    form = await anon.post("/account/password", data={
        "current_password": "solo-password-1", "new_password": "solo-password-2", "confirm_password": "solo-password-2",
    })  # fmt: skip
    assert form.status_code == 200 and "Password changed" in form.text
    mismatch = await anon.post("/account/password", data={
        "current_password": "solo-password-2", "new_password": "aaaaaaaaaaaa", "confirm_password": "bbbbbbbbbbbb",
    })  # fmt: skip
    assert mismatch.status_code == 400 and "do not match" in mismatch.text


async def test_admin_page_resets_a_password(tenancy: Tenancy, anon: httpx.AsyncClient) -> None:
    csrf = await ui_login(anon, "alice", tenancy.admin.password)
    anon.headers["X-CSRF-Token"] = csrf
    page = await anon.post(f"/admin/users/{tenancy.operator.id}/password", data={"csrf_token": csrf})
    assert page.status_code == 200 and "New password for olga" in page.text
