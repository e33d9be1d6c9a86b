"""Public status pages through the gate and on the wire: opt-in, an unguessable URL stored only as a
hash, only the chosen entries under their public names, incidents of the last N days, and a bare 404
(the same for every wrong, rotated or disabled URL) that reveals nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from hub.core.audit import AuditEntry
from hub.core.db import Database
from hub.core.redact import redact_secret_fields, redact_target
from native_rmm.models.status_pages import StatusPage
from native_rmm.status_pages import tokens
from tests.conftest import Tenancy, TestUser
from tests.native_rmm.conftest import make_device
from tests.native_rmm.status_pages.seed import Seeded, seed

Clients = Callable[[TestUser], httpx.AsyncClient]
UPDATE, ROTATE = "native_rmm:rmm-update-status-page", "native_rmm:rmm-rotate-status-page-url"


async def _invoke(client: httpx.AsyncClient, tool: str, args: dict[str, Any], status: int = 200) -> Any:
    resp = await client.post(f"/api/v1/tools/{tool}/invoke", json={"args": args})
    assert resp.status_code == status, resp.text
    return resp.json()


def _page_args(s: Seeded, **over: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "customer_id": s.customer_id,
        "enabled": True,
        "items": [
            {"kind": "monitor", "id": s.down_monitor, "label": "Customer portal"},
            {"kind": "monitor", "id": s.up_monitor, "label": "Email"},
            {"kind": "device", "id": s.shown_device, "label": "Front desk PC"},
        ],
        "incident_days": 7,
    }
    return {**args, **over}


def _path(url: str) -> str:
    return url[url.index(tokens.PATH) :]


async def _public(anon: httpx.AsyncClient, path: str) -> httpx.Response:
    resp = await anon.get(path)
    assert resp.headers["x-robots-tag"] == "noindex, nofollow, noarchive"
    assert resp.headers["referrer-policy"] == "no-referrer"
    assert resp.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
    assert "set-cookie" not in resp.headers
    return resp


async def test_status_page_shows_only_what_was_chosen_and_404s_otherwise(
    db: Database, tenancy: Tenancy, client_for: Clients, anon: httpx.AsyncClient
) -> None:
    s = await seed(db, tenancy.org_id)
    admin = client_for(tenancy.admin)
    for tool in (UPDATE, ROTATE):
        resp = await admin.put(f"/api/v1/policies/{tool}", json={"mode": "auto", "note": "test"})
        assert resp.status_code == 200, resp.text

    # Opt-in: nothing exists until an admin sets it up; a disabled page mints no URL.
    draft = (await _invoke(admin, UPDATE, _page_args(s, enabled=False)))["result"]
    assert draft["configured"] and not draft["enabled"] and not draft["has_url"] and draft["status_url"] is None
    first = (await _invoke(admin, UPDATE, _page_args(s)))["result"]
    url: str = first["status_url"]
    token = url.rsplit("/", 1)[1]
    assert tokens.well_formed(token) and first["has_url"]
    # Saving again keeps the URL and never shows it again.
    again = (await _invoke(admin, UPDATE, _page_args(s, title="Contoso status")))["result"]
    assert again["status_url"] is None and again["title"] == "Contoso status"
    await _invoke(admin, UPDATE, _page_args(s))  # back to the default title (the customer's name is internal)

    # Only the hash is stored; the audit log never holds the token.
    async with db.transaction() as session:
        row = await session.scalar(select(StatusPage).where(StatusPage.customer_id == s.customer_id))
        assert row is not None and row.token_digest == tokens.digest(token)
        audit = " ".join(str(e.detail) for e in (await session.scalars(select(AuditEntry))).all())
    assert token not in audit and token[4:20] not in audit

    resp = await _public(anon, _path(url))
    assert resp.status_code == 200, resp.text
    html = resp.text
    assert '<meta name="robots" content="noindex, nofollow, noarchive">' in html
    assert "<script" not in html
    for shown in ("Service status", "Customer portal", "Email", "Front desk PC", "Some systems are down"):
        assert shown in html, shown
    assert html.count('data-testid="status-item"') == 3
    assert 'data-state="down"' in html and html.count('data-state="up"') == 2
    # Incidents of the last 7 days of shown entries only, described without their messages.
    assert html.count('data-testid="incident"') == 2
    assert "Down" in html and "High CPU load" in html and "Ongoing" in html
    assert "Low disk space" not in html  # ten days old
    for secret in s.secrets:
        assert secret not in html, secret
    for internal in (s.shown_device, s.hidden_device, s.down_monitor, s.customer_id):
        assert f"/{internal}" not in html and f"#{internal}" not in html and f'"{internal}"' not in html

    # Wrong, malformed, rotated and disabled URLs all get the same bare 404.
    not_found = await _public(anon, tokens.PATH + tokens.mint()[0])
    assert not_found.status_code == 404
    for path in (tokens.PATH + "x", tokens.PATH + token.upper(), tokens.PATH + token[:-1], tokens.PATH + "a" * 5000):
        other = await _public(anon, path)
        assert other.status_code == 404 and other.text == not_found.text, path
    rotated = (await _invoke(admin, ROTATE, {"customer_id": s.customer_id}))["result"]["status_url"]
    assert rotated != url
    gone = await _public(anon, _path(url))
    assert gone.status_code == 404 and gone.text == not_found.text
    assert (await _public(anon, _path(rotated))).status_code == 200
    await _invoke(admin, UPDATE, _page_args(s, enabled=False))
    off = await _public(anon, _path(rotated))
    assert off.status_code == 404 and off.text == not_found.text
    # Re-enabling keeps the rotated URL (no new one is minted).
    back = (await _invoke(admin, UPDATE, _page_args(s)))["result"]
    assert back["status_url"] is None
    assert (await _public(anon, _path(rotated))).status_code == 200


async def test_status_page_input_is_checked_and_admin_only(db: Database, tenancy: Tenancy, client_for: Clients) -> None:
    s = await seed(db, tenancy.org_id)
    admin, operator = client_for(tenancy.admin), client_for(tenancy.operator)
    resp = await admin.put(f"/api/v1/policies/{UPDATE}", json={"mode": "auto", "note": "test"})
    assert resp.status_code == 200, resp.text
    # A device of another customer (Unassigned) or an unknown monitor is refused by name.
    other = await make_device(db, tenancy.org_id, hostname="elsewhere")
    items = [{"kind": "device", "id": other}, {"kind": "monitor", "id": 9999}]
    bad = await _invoke(admin, UPDATE, _page_args(s, items=items), status=422)
    assert f"device #{other}" in str(bad) and "monitor #9999" in str(bad)
    dup = [{"kind": "device", "id": s.shown_device}, {"kind": "device", "id": s.shown_device}]
    resp = await admin.post(f"/api/v1/tools/{UPDATE}/invoke", json={"args": _page_args(s, items=dup)})
    assert resp.status_code == 422 and "once" in resp.text
    resp = await admin.post(f"/api/v1/tools/{UPDATE}/invoke", json={"args": _page_args(s, incident_days=365)})
    assert resp.status_code == 422 and "incident_days" in resp.text
    # Operators may read the setup (never the URL) but not change it.
    resp = await operator.post(f"/api/v1/tools/{UPDATE}/invoke", json={"args": _page_args(s)})
    assert resp.status_code == 403, resp.text
    read = (await _invoke(operator, "native_rmm:rmm-get-status-page", {"customer_id": s.customer_id}))["result"]
    assert read["configured"] is False and read["status_url"] is None
    missing = await operator.post(
        "/api/v1/tools/native_rmm:rmm-get-status-page/invoke", json={"args": {"customer_id": 4242}}
    )
    assert missing.status_code == 404, missing.text


def test_tokens_are_unguessable_shaped_and_redacted_from_logs() -> None:
    minted = {tokens.mint() for _ in range(50)}
    assert len({t for t, _ in minted}) == 50
    for token, digest in minted:
        assert tokens.well_formed(token) and len(token) == 47 and tokens.same(digest, tokens.digest(token))
        assert token not in digest
        assert redact_target(f"{tokens.PATH}{token}") == f"{tokens.PATH}[redacted]"
        assert token not in str(redact_secret_fields({"status_url": f"http://hub{tokens.PATH}{token}"}))
    assert not tokens.well_formed("rmp_short") and not tokens.well_formed("rmx_" + "a" * 43)
