"""The ConnectWise RMM integration page: connect form, status, rediscover, disconnect, per-tool policies.

Thin: parse the form, call ``connectors.connectwise_rmm.service``, render. Writes redirect after
success (post/redirect/get), so the page shown next reflects the committed connection and the tools
the manager registered after commit. A failed connect renders the form again with ConnectWise's exact
reason (nothing is stored). Policy selectors reuse the policy dashboard's row (``/policies/tools/mode``,
admins only, through ``policies.service.set_policy``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import SecretStr

from connectors.connectwise_rmm import service
from connectors.connectwise_rmm.service import DEFAULT_REGION, Region
from hub.core.deps import SessionDep
from policies.service import policies_for
from ui.page import AdminPageDep, Page, PageDep, render
from ui.pages.policies import MODE_CHOICES, ROLES

router = APIRouter(include_in_schema=False)
PATH = "/integrations/connectwise-rmm"
REGIONS: list[tuple[str, str]] = [
    (Region.AU.value, "AU — auplatform.connectwise.com"),
    (Region.NA.value, "NA — itsupport247.net"),
    (Region.EU.value, "EU — euplatform.connectwise.com"),
]


async def _page(
    page: Page, session: SessionDep, *, status_code: int = 200, notice: tuple[str, str] | None = None, **form: Any
) -> HTMLResponse:
    manager = service.manager_of(page.hub)
    connection = await service.status(session, manager, page.org.id)
    static_tools, script_tools = service.connection_tools(manager, page.org.id)
    policies = await policies_for(session, page.org.id, [*static_tools, *script_tools])
    static = [(t, policies[t.id]) for t in static_tools]
    scripts = [(t, policies[t.id]) for t in script_tools]
    return render(
        page,
        "integrations/connectwise_rmm.html",
        status_code=status_code,
        connection=connection,
        missing_scopes=service.missing_default_scopes(connection),
        static_rows=static,
        script_rows=scripts,
        modes=MODE_CHOICES,
        role_choices=ROLES,
        regions=REGIONS,
        form_client_id=form.get("client_id", connection.client_id or ""),
        form_region=form.get("region", (connection.region or DEFAULT_REGION).value),
        notice=notice,
        source=service.SOURCE,
    )


NOTICES: dict[str, tuple[str, str]] = {
    "connected": ("ok", "Connected."),
    "disconnected": ("ok", "Disconnected: the API key was forgotten and every ConnectWise RMM tool removed."),
}


@router.get(PATH)
async def detail(page: PageDep, session: SessionDep, done: str = "") -> HTMLResponse:
    """Status, the connect form (admins), and every tool of the connection with its policy."""
    notice = NOTICES.get(done)
    if done == "rediscovered":
        counts = (await service.status(session, service.manager_of(page.hub), page.org.id)).last_discovery_counts
        notice = (
            "ok",
            f"Rediscovered {counts.get('scripts', 0)} active scripts: {counts.get('added', 0)} added, "
            f"{counts.get('updated', 0)} updated, {counts.get('removed', 0)} removed.",
        )
    return await _page(page, session, notice=notice)


@router.post(f"{PATH}/connect")
async def connect(
    page: AdminPageDep,
    session: SessionDep,
    client_id: Annotated[str, Form(min_length=1, max_length=200)],
    client_secret: Annotated[SecretStr, Form(min_length=1, max_length=1000)],
    region: Annotated[Region, Form()] = DEFAULT_REGION,
) -> Response:
    """Save: authenticate against ConnectWise; Connected, or the exact reason it failed."""
    result = await service.connect(
        session,
        service.manager_of(page.hub),
        caller=page.caller,
        client_id=client_id,
        client_secret=client_secret,
        region=region,
    )
    if result.status == "connected":
        return RedirectResponse(f"{PATH}?done=connected", status_code=303)
    return await _page(
        page,
        session,
        status_code=result.http_status,
        notice=("bad", result.message),
        client_id=client_id,
        region=region.value,
    )


@router.post(f"{PATH}/disconnect")
async def disconnect(page: AdminPageDep, session: SessionDep) -> Response:
    """Disconnect: forget the key, remove the tools, fail their pending approvals."""
    await service.disconnect(session, service.manager_of(page.hub), caller=page.caller)
    return RedirectResponse(f"{PATH}?done=disconnected", status_code=303)


@router.post(f"{PATH}/rediscover")
async def rediscover(page: AdminPageDep, session: SessionDep) -> Response:
    """List the tenant's shell scripts now and update the script tools."""
    result = await service.rediscover(
        session, service.manager_of(page.hub), org_id=page.org.id, actor=page.caller.actor
    )
    if result.status == "ok":
        return RedirectResponse(f"{PATH}?done=rediscovered", status_code=303)
    return await _page(page, session, status_code=result.http_status, notice=("bad", result.message))
