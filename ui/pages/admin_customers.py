"""Admin → Customers: create, rename, archive customers and their sites, each a tool through the gate.

Every form invokes ``rmm-create-customer`` / ``rmm-update-customer`` / ``rmm-create-site`` /
``rmm-update-site`` for the signed-in admin; the page re-renders with the gate's answer (done,
pending approval, refused, or the tool's message such as "still has 2 device(s)").
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse

from hub.core.bounds import Id
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from hub.core.roles import Role
from native_rmm.devices.queries import customer_overview
from policies.deps import GateDep
from policies.outcome import InvocationStatus, Outcome
from ui.page import Page, PageDep, render
from ui.pages.rmm_actions import invoke

router = APIRouter(include_in_schema=False)
Name = Annotated[str, Form(min_length=1, max_length=200)]
Archive = Literal["archive", "restore", ""]


async def _page(page: Page, session: DbSession, outcome: Outcome | None = None, action: str = "") -> HTMLResponse:
    customers = await customer_overview(session, org_id=page.org.id)
    status = 200 if outcome is None or outcome.status is not InvocationStatus.FAILED else (outcome.error_status or 400)
    return render(page, "admin/customers.html", customers=customers, outcome=outcome, action=action,
                  S=InvocationStatus, status_code=status)  # fmt: skip


@router.get("/admin/rmm/customers")
async def customers_page(page: PageDep, session: SessionDep) -> HTMLResponse:
    """Customers with their sites and device counts."""
    page.require(Role.ADMIN)
    return await _page(page, session)


@router.post("/admin/rmm/customers")
async def create_customer(
    page: PageDep, session: SessionDep, gate: GateDep, name: Name, first_site: Annotated[str, Form(max_length=200)] = ""
) -> HTMLResponse:
    """``rmm-create-customer``."""
    page.require(Role.ADMIN)
    args = {"name": name.strip(), "first_site": first_site.strip() or "Main"}
    outcome = await invoke(page, session, gate, "rmm-create-customer", args)
    return await _page(page, session, outcome, f"Create customer {name.strip()}")


@router.post("/admin/rmm/customers/{customer_id}")
async def change_customer(
    customer_id: Id, page: PageDep, session: SessionDep, gate: GateDep,
    name: Annotated[str, Form(max_length=200)] = "", archive: Annotated[Archive, Form()] = "",
) -> HTMLResponse:  # fmt: skip
    """``rmm-update-customer``: rename (``name``) or archive / restore."""
    page.require(Role.ADMIN)
    args: dict[str, Any] = {"customer_id": customer_id}
    if name.strip():
        args["name"] = name.strip()
    if archive:
        args["archived"] = archive == "archive"
    outcome = await invoke(page, session, gate, "rmm-update-customer", args)
    verb = {"archive": "Archive", "restore": "Restore"}.get(archive, "Rename")
    return await _page(page, session, outcome, f"{verb} customer #{customer_id}")


@router.post("/admin/rmm/customers/{customer_id}/sites")
async def create_site(customer_id: Id, page: PageDep, session: SessionDep, gate: GateDep, name: Name) -> HTMLResponse:
    """``rmm-create-site``."""
    page.require(Role.ADMIN)
    outcome = await invoke(page, session, gate, "rmm-create-site", {"customer_id": customer_id, "name": name.strip()})
    return await _page(page, session, outcome, f"Add site {name.strip()}")


@router.post("/admin/rmm/sites/{site_id}")
async def change_site(
    site_id: Id, page: PageDep, session: SessionDep, gate: GateDep,
    name: Annotated[str, Form(max_length=200)] = "", archive: Annotated[Archive, Form()] = "",
) -> HTMLResponse:  # fmt: skip
    """``rmm-update-site``: rename or archive / restore."""
    page.require(Role.ADMIN)
    args: dict[str, Any] = {"site_id": site_id}
    if name.strip():
        args["name"] = name.strip()
    if archive:
        args["archived"] = archive == "archive"
    outcome = await invoke(page, session, gate, "rmm-update-site", args)
    verb = {"archive": "Archive", "restore": "Restore"}.get(archive, "Rename")
    return await _page(page, session, outcome, f"{verb} site #{site_id}")
