"""The RMM page (``/rmm``): tabs Devices, Alerts, Scripts, Tickets, Quick-support and Sessions (``?tab=``).

Devices are paged server-side (filters by customer, site, status and text; two statements per
page whatever the fleet size). Alert buttons invoke ``rmm-acknowledge-alert`` /
``rmm-resolve-alert`` through the policy gate. The Scripts tab lives in :mod:`ui.pages.rmm_scripts`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from hub.core.bounds import DB_INT_MAX, Id
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from native_rmm.devices import queries as q
from native_rmm.devices.agent_versions import is_outdated
from native_rmm.devices.groups import list_groups
from native_rmm.devices.labels import all_tags
from native_rmm.devices.queries import DeviceFilters
from native_rmm.devices.service import count_by_status
from native_rmm.devices.targets import MAX_TARGETS, find_group, group_filters
from native_rmm.models.devices import DeviceStatus
from native_rmm.plane import DevicePlane
from native_rmm.remote import queries as remote_queries
from native_rmm.scripts import service as scripts
from native_rmm.updates.releases import latest_version
from policies.deps import GateDep
from policies.outcome import InvocationStatus
from ui.page import Page, PageDep, render
from ui.pages.rmm_actions import invoke, outcome_html
from ui.pages.rmm_patch_policies import patch_policies_context
from ui.pages.rmm_schedules import schedules_context
from ui.pages.rmm_tickets import TicketFilters, tickets_context

router = APIRouter(include_in_schema=False)

Tab = Literal["devices", "alerts", "scripts", "schedules", "patch-policies", "tickets", "quick-support", "sessions"]
PAGE_SIZE = 50
ALERT_PAGE = 100


def _int_or_none(value: str) -> int | None:
    return int(value) if value.strip().isdigit() and int(value) <= DB_INT_MAX else None


class ListQuery(BaseModel):
    """The device list's query string (empty values mean "any"; unknown values are ignored)."""

    customer_id: str = ""
    site_id: str = ""
    status: str = ""
    q: str = Field(default="", max_length=200)
    user: str = Field(default="", max_length=200)
    tag: str = Field(default="", max_length=64)
    group_id: str = ""
    group_by: Literal["", "customer"] = ""

    async def filters(self, session: DbSession, org_id: int) -> DeviceFilters:
        """The device filter (a saved group's filter combined with the rest)."""
        valid = {s.value for s in DeviceStatus}
        filters = DeviceFilters(
            customer_id=_int_or_none(self.customer_id),
            site_id=_int_or_none(self.site_id),
            status=DeviceStatus(self.status) if self.status in valid else None,
            q=self.q.strip(),
            user=self.user.strip(),
            tag=self.tag.strip().lower(),
        )
        group_id = _int_or_none(self.group_id)
        if group_id is None:
            return filters
        group = group_filters(await find_group(session, org_id=org_id, ref=group_id))
        return filters.model_copy(update=group.model_dump(exclude_defaults=True))

    def query_string(self) -> str:
        """The non-empty values, URL-encoded (paging and the address bar keep the filters)."""
        return urlencode({k: v for k, v in self.model_dump().items() if v})


DeviceFiltersDep = Annotated[ListQuery, Query()]
"""The device list's filters, parsed once from the query string for every route that lists devices."""


def _outdated_ids(page: Page, rows: list[q.DeviceListRow]) -> set[int]:
    """Devices whose agent is older than the hub's current single-file release (the OUTDATED badge)."""
    plane: DevicePlane | None = page.hub.components.find(DevicePlane)
    latest = latest_version(plane.settings.agent_dist_dir) if plane is not None else None
    return {
        r.id
        for r in rows
        if is_outdated(r.agent_version, r.os_family, latest, managed=not (r.is_demo or r.quick_support))
    }


async def devices_context(
    session: DbSession, page: Page, query: ListQuery, offset: int, *, with_choices: bool
) -> dict[str, Any]:
    """The device table (and, for the whole tab, the filter choices, status counts and bulk actions)."""
    filters = await query.filters(session, page.org.id)
    counts = await count_by_status(session, org_id=page.org.id) if with_choices else None
    result = await q.device_page(
        session,
        org_id=page.org.id,
        filters=filters,
        offset=offset,
        limit=PAGE_SIZE,
        status_counts=counts,
        grouped=query.group_by == "customer",
    )
    context: dict[str, Any] = {
        "devices": result,
        "filters": filters,
        "query": query,
        "filter_qs": query.query_string(),
        "max_targets": MAX_TARGETS,
    }
    context["outdated_ids"] = _outdated_ids(page, result.rows)
    if with_choices:
        sites = await q.site_choices(session, org_id=page.org.id)
        customers = list({s.customer_id: s.customer_name for s in sites}.items())
        context.update(
            sites=sites,
            customers=customers,
            statuses=list(DeviceStatus),
            status_counts=counts,
            groups=await list_groups(session, org_id=page.org.id),
            tags=await all_tags(session, org_id=page.org.id),
            scripts=await scripts.list_scripts(session, org_id=page.org.id, enabled=True),
        )
    return context


@router.get("/rmm")
async def rmm_index(
    page: PageDep,
    session: SessionDep,
    query: DeviceFiltersDep,
    tab: Tab = "devices",
    offset: Annotated[int, Query(ge=0)] = 0,
    priority: Annotated[str, Query(max_length=20)] = "",
    device_id: Annotated[str, Query(max_length=20)] = "",
    assignee: Annotated[str, Query(max_length=20)] = "",
    new: Annotated[str, Query(max_length=1)] = "",
    alert_id: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """The RMM page with the selected tab rendered server-side."""
    context: dict[str, Any] = {"tab": tab}
    context["alert_count"] = await q.active_alert_count(session, org_id=page.org.id)
    if tab == "devices":
        context.update(await devices_context(session, page, query, offset, with_choices=True))
    elif tab == "alerts":
        context["alerts"] = await q.alert_rows(session, org_id=page.org.id, limit=ALERT_PAGE)
    elif tab == "scripts":
        context["scripts"] = await scripts.list_scripts(session, org_id=page.org.id)
    elif tab == "schedules":
        context.update(await schedules_context(session, page))
    elif tab == "patch-policies":
        context.update(await patch_policies_context(session, page))
    elif tab == "tickets":
        tfilters = TicketFilters.parse(
            query.status or "active", priority, query.customer_id, device_id, assignee, query.q
        )
        context.update(
            await tickets_context(
                session, page, tfilters, new=new == "1", device_id=tfilters.device_id, alert_id=_int_or_none(alert_id)
            )
        )
    elif tab == "quick-support":
        context["quick"] = await q.quick_support_devices(session, org_id=page.org.id)
    elif tab == "sessions":
        context["sessions"] = await remote_queries.list_sessions(session, org_id=page.org.id)
    return render(page, "rmm/index.html", **context)


@router.get("/rmm/devices")
async def devices_table(
    page: PageDep,
    session: SessionDep,
    query: DeviceFiltersDep,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """The device table fragment (filters and paging re-render only the table)."""
    context = await devices_context(session, page, query, offset, with_choices=False)
    response = render(page, "rmm/_devices_table.html", **context)
    qs = context["filter_qs"]
    response.headers["HX-Push-Url"] = f"/rmm?tab=devices&{qs}{'&' if qs else ''}offset={offset}"
    return response


AlertAction = Literal["acknowledge", "resolve"]
_ALERT_TOOLS: dict[str, str] = {"acknowledge": "rmm-acknowledge-alert", "resolve": "rmm-resolve-alert"}


@router.post("/rmm/alerts/{alert_id}/{action}")
async def alert_action(
    alert_id: Id,
    action: AlertAction,
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
    reason: Annotated[str, Form(max_length=2000)] = "",
    where: Annotated[Literal["list", "device"], Form()] = "list",
) -> HTMLResponse:
    """Acknowledge or resolve an alert through the gate; answers the updated row and the outcome."""
    outcome = await invoke(page, session, gate, _ALERT_TOOLS[action], {"alert_id": alert_id}, reason=reason)
    verb = "Acknowledge" if action == "acknowledge" else "Resolve"
    rows = await q.alert_rows(session, org_id=page.org.id, alert_id=alert_id, active_only=False, limit=1)
    if not rows:
        return outcome_html(page, outcome, action=f"{verb} alert #{alert_id}")
    return render(
        page,
        "rmm/_alert_row.html",
        row=rows[0],
        where=where,
        outcome=outcome,
        action=f"{verb} alert #{alert_id}",
        S=InvocationStatus,
    )
