"""Security headers on every response, and pages the Content-Security-Policy can hold (issue 8, item 7)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from hub.core.settings import Settings
from hub.main import create_app
from tests.conftest import Tenancy, make_settings
from tests.ui.conftest import ui_login

TEMPLATES = Path(__file__).parents[3] / "ui" / "templates"


def _assert_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert re.fullmatch(r"'self' 'nonce-[A-Za-z0-9_-]{20,}'", directives["script-src"])
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp and "*" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


async def test_every_kind_of_response_carries_the_headers(anon: httpx.AsyncClient, tenancy: Tenancy) -> None:
    """Reproduction: the approvals page could be framed (no frame-ancestors, no X-Frame-Options)."""
    responses = [
        await anon.get("/login"),
        await anon.get("/policies", headers={"accept": "text/html"}),  # redirect to sign in
        await anon.get("/api/v1/me"),  # 401 JSON
        await anon.get("/healthz"),
        await anon.get("/static/app/app.js"),
        await anon.get("/no/such/page"),
    ]
    await ui_login(anon, "bob", tenancy.approver.password)
    responses += [await anon.get("/policies"), await anon.get("/policies?tab=approvals")]
    for response in responses:
        _assert_headers(response)
    assert responses[-1].status_code == 200
    assert "strict-transport-security" not in responses[-1].headers


async def test_each_response_has_its_own_nonce(anon: httpx.AsyncClient) -> None:
    nonces = {
        re.search(r"'nonce-([^']+)'", (await anon.get("/login")).headers["content-security-policy"]) for _ in "ab"
    }
    assert len({m.group(1) for m in nonces if m}) == 2


async def test_hsts_when_the_public_url_is_https(settings: Settings) -> None:
    app = create_app(make_settings(settings.database_url, public_url="https://hub.example.com"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://hub.example.com") as client,
    ):
        response = await client.get("/login")
    assert response.headers["strict-transport-security"] == "max-age=31536000"
    _assert_headers(response)


async def test_no_swagger_pages_that_need_a_cdn_and_inline_script(anon: httpx.AsyncClient) -> None:
    assert (await anon.get("/docs")).status_code == 404
    assert (await anon.get("/redoc")).status_code == 404
    assert (await anon.get("/openapi.json")).status_code == 200


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)[^>]*>", re.I), "inline <script> without a nonce"),
    (re.compile(r"<style(?![^>]*\bnonce=)[^>]*>", re.I), "inline <style> without a nonce"),
    (re.compile(r"<[a-z][^>]*?\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"<[a-z][^>]*?\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
    (re.compile(r"\bhx-on[:-]", re.I), "hx-on (evaluated code)"),
]


@pytest.mark.parametrize("template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")))
def test_templates_hold_nothing_the_policy_blocks(template: str) -> None:
    text = (TEMPLATES / template).read_text()
    found = [f"{what}: {m.group(0).strip()!r}" for pattern, what in INLINE for m in pattern.finditer(text)]
    assert not found, f"{template}: " + "; ".join(found)
