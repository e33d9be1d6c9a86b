"""REST for customers, sites, moves, tags and groups: each route is a tool invocation through the gate.

``GET/POST /api/v1/rmm/customers``, ``PATCH /api/v1/rmm/customers/{id}``,
``POST /api/v1/rmm/customers/{id}/sites``, ``PATCH /api/v1/rmm/sites/{id}``,
``POST /api/v1/rmm/devices/move``, ``POST /api/v1/rmm/devices/tags``,
``GET/POST /api/v1/rmm/groups``, ``GET /api/v1/rmm/groups/{ref}/devices``. Bodies are the tools'
own argument models (ids from the path), answers the gate's outcome (200 done, 202 pending
approval, 403 refused, 4xx with the tool's message).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.core.bounds import Id
from hub.core.deps import ApiCallerDep, SessionDep
from native_rmm.devices.manage_tools import (
    CreateGroupArgs,
    MoveDevicesArgs,
    TagDevicesArgs,
)
from policies.deps import GateDep
from policies.outcome import Outcome
from policies.routes import GATED_RESPONSES, outcome_response

router = APIRouter(prefix="/api/v1/rmm", tags=["rmm-customers"])
RESPONSES: dict[int | str, dict[str, Any]] = {**GATED_RESPONSES, 404: {"model": Outcome}, 409: {"model": Outcome}}


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    first_site: str = Field(default="Main", max_length=200)


class Change(BaseModel):
    """A rename and/or archive (``archived: false`` restores)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    archived: bool | None = None


class SiteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


async def _gate(
    gate: GateDep, session: SessionDep, caller: ApiCallerDep, tool: str, args: dict[str, Any]
) -> JSONResponse:
    return outcome_response(await gate.invoke(session, caller, tool, args))


@router.get("/customers", response_model=Outcome)
async def list_customers(session: SessionDep, caller: ApiCallerDep, gate: GateDep) -> JSONResponse:
    """Customers with their sites and device counts (``rmm-list-customers``)."""
    return await _gate(gate, session, caller, "rmm-list-customers", {})


@router.post("/customers", response_model=Outcome, responses=RESPONSES)
async def create_customer(body: CustomerIn, session: SessionDep, caller: ApiCallerDep, gate: GateDep) -> JSONResponse:
    """Create a customer with its first site (``rmm-create-customer``)."""
    return await _gate(gate, session, caller, "rmm-create-customer", body.model_dump())


@router.patch("/customers/{customer_id}", response_model=Outcome, responses=RESPONSES)
async def change_customer(
    customer_id: Id, body: Change, session: SessionDep, caller: ApiCallerDep, gate: GateDep
) -> JSONResponse:
    """Rename, archive or restore a customer (``rmm-update-customer``)."""
    args = {"customer_id": customer_id, **body.model_dump(exclude_none=True)}
    return await _gate(gate, session, caller, "rmm-update-customer", args)


@router.post("/customers/{customer_id}/sites", response_model=Outcome, responses=RESPONSES)
async def create_site(
    customer_id: Id, body: SiteIn, session: SessionDep, caller: ApiCallerDep, gate: GateDep
) -> JSONResponse:
    """Add a site to a customer (``rmm-create-site``)."""
    return await _gate(gate, session, caller, "rmm-create-site", {"customer_id": customer_id, "name": body.name})


@router.patch("/sites/{site_id}", response_model=Outcome, responses=RESPONSES)
async def change_site(
    site_id: Id, body: Change, session: SessionDep, caller: ApiCallerDep, gate: GateDep
) -> JSONResponse:
    """Rename, archive or restore a site (``rmm-update-site``)."""
    return await _gate(
        gate, session, caller, "rmm-update-site", {"site_id": site_id, **body.model_dump(exclude_none=True)}
    )


@router.post("/devices/move", response_model=Outcome, responses=RESPONSES)
async def move_devices(body: MoveDevicesArgs, session: SessionDep, caller: ApiCallerDep, gate: GateDep) -> JSONResponse:
    """Move devices to a site (``rmm-move-devices``)."""
    return await _gate(gate, session, caller, "rmm-move-devices", body.model_dump(mode="json", exclude_none=True))


@router.post("/devices/tags", response_model=Outcome, responses=RESPONSES)
async def tag_devices(body: TagDevicesArgs, session: SessionDep, caller: ApiCallerDep, gate: GateDep) -> JSONResponse:
    """Add / remove tags on devices (``rmm-tag-devices``)."""
    return await _gate(gate, session, caller, "rmm-tag-devices", body.model_dump(mode="json", exclude_none=True))


@router.get("/groups", response_model=Outcome)
async def list_groups(session: SessionDep, caller: ApiCallerDep, gate: GateDep) -> JSONResponse:
    """Saved device groups (``rmm-list-groups``)."""
    return await _gate(gate, session, caller, "rmm-list-groups", {})


@router.post("/groups", response_model=Outcome, responses=RESPONSES)
async def create_group(body: CreateGroupArgs, session: SessionDep, caller: ApiCallerDep, gate: GateDep) -> JSONResponse:
    """Save a device group (``rmm-create-group``)."""
    return await _gate(gate, session, caller, "rmm-create-group", body.model_dump(mode="json", exclude_none=True))


@router.get("/groups/{group_id}/devices", response_model=Outcome, responses=RESPONSES)
async def group_devices(group_id: Id, session: SessionDep, caller: ApiCallerDep, gate: GateDep) -> JSONResponse:
    """The devices a group matches now (``rmm-get-group-devices``)."""
    return await _gate(gate, session, caller, "rmm-get-group-devices", {"group": group_id})
