"""Bulk actions on the device list: the selection (or every device matching the filters) -> one tool call.

``POST /rmm/bulk`` resolves the selection to device ids first (at most
:data:`~native_rmm.devices.targets.MAX_TARGETS`), so an approval holds, and its card names, exactly
the devices the operator saw; then it invokes one tool through the gate with all of them:
``rmm-run-script``, ``rmm-bulk-run-command``, ``rmm-bulk-install-patches``, ``rmm-move-devices`` or
``rmm-tag-devices``. The answer lists every target; commands follow live, one box per device
(each box re-reads its command on the page's ``command.updated`` events). A pending request
re-reads its approval until it has run, then shows the same per-device boxes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from hub.core.bounds import DB_INT_MAX, Id
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from hub.core.errors import InvalidRequest
from native_rmm.commands.bulk import BulkResult, commands_by_id
from native_rmm.commands.schemas import FULL_OUTPUT, CommandOut
from native_rmm.devices.queries import devices_by_id
from native_rmm.devices.targets import (
    MAX_TARGETS,
    TargetDevice,
    Targets,
    match_devices,
    resolve_targets,
    too_many,
)
from native_rmm.scripts.schemas import RunResult
from policies.approvals import get_approval
from policies.deps import GateDep
from policies.outcome import InvocationStatus
from policies.queries import executed_result
from ui.page import Page, PageDep, render
from ui.pages.rmm import ListQuery
from ui.pages.rmm_actions import invoke, outcome_html
from ui.pages.rmm_device import approval_trigger, command_trigger

router = APIRouter(include_in_schema=False)
Action = Literal["script", "command", "patches", "move", "tag", "untag"]
LABELS = {
    "script": "Run script",
    "command": "Run command",
    "patches": "Install patches",
    "move": "Move devices",
    "tag": "Add tag",
    "untag": "Remove tag",
}


def _id(value: str, what: str) -> int:
    if not value.strip().isdigit() or not 0 < int(value) <= DB_INT_MAX:
        raise InvalidRequest(f"choose {what}")
    return int(value)


async def _selection(
    session: DbSession, page: Page, device_ids: list[str], all_matching: bool, query: ListQuery
) -> list[TargetDevice]:
    if all_matching:
        filters = await query.filters(session, page.org.id)
        found, total = await match_devices(session, org_id=page.org.id, filters=filters, limit=MAX_TARGETS + 1)
        if total > MAX_TARGETS:
            raise too_many(total)
        if not found:
            raise InvalidRequest("no device matches these filters")
        return found
    ids = list(dict.fromkeys(_id(i, "devices") for i in device_ids))
    if not ids:
        raise InvalidRequest("select at least one device (or tick “select all matching”)")
    if len(ids) > MAX_TARGETS:
        raise too_many(len(ids))
    return await resolve_targets(session, org_id=page.org.id, targets=Targets(device_ids=ids))


async def _query(request: Request) -> ListQuery:
    """The device list's filters, sent along with a form (``hx-include="#device-filters"``)."""
    submitted = await request.form()
    try:
        return ListQuery.model_validate({k: str(submitted.get(k, "")) for k in ListQuery.model_fields})
    except ValidationError as exc:
        raise InvalidRequest("the device filters are not valid; reload the device list") from exc


def _call(action: Action, ids: list[int], form: dict[str, str]) -> tuple[str, dict[str, Any]]:
    targets = {"device_ids": ids}
    if action == "script":
        return "rmm-run-script", {"script": _id(form["script_id"], "a script"), "device_ids": ids}
    if action == "command":
        if not form["command"].strip():
            raise InvalidRequest("type the command to run")
        return "rmm-bulk-run-command", {"targets": targets, "command": form["command"]}
    if action == "patches":
        return "rmm-bulk-install-patches", {"targets": targets}
    if action == "move":
        return "rmm-move-devices", {"targets": targets, "site_id": _id(form["to_site_id"], "a destination site")}
    tag = form["tag_value"].strip()
    if not tag:
        raise InvalidRequest("type the tag")
    return "rmm-tag-devices", {"targets": targets, "add" if action == "tag" else "remove": [tag]}


async def _boxes(session: DbSession, page: Page, value: Any) -> list[tuple[int, str, CommandOut]]:
    """(device id, device name, command) for each command a bulk result queued."""
    if isinstance(value, RunResult):
        ids = [c.command_id for c in value.commands]
    elif isinstance(value, BulkResult):
        ids = [t.command.id for t in value.targets]
    else:
        return []
    rows = await commands_by_id(session, org_id=page.org.id, command_ids=ids)
    labels = {
        i: label for i, label, _ in await devices_by_id(session, org_id=page.org.id, ids=[c.device_id for c in rows])
    }
    return [
        (c.device_id, labels.get(c.device_id, f"device #{c.device_id}"), CommandOut.of(c, max_chars=FULL_OUTPUT))
        for c in rows
    ]


def _html(page: Page, **context: Any) -> HTMLResponse:
    return render(page, "rmm/_bulk_result.html", S=InvocationStatus, command_trigger=command_trigger, **context)


@router.post("/rmm/bulk")
async def bulk_action(
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
    request: Request,
    action: Annotated[Action, Form()],
    device_ids: Annotated[list[str], Form(max_length=MAX_TARGETS + 1)] = [],  # noqa: B006 - FastAPI copies defaults
    all_matching: Annotated[bool, Form()] = False,
    script_id: Annotated[str, Form(max_length=12)] = "",
    command: Annotated[str, Form(max_length=10_000)] = "",
    to_site_id: Annotated[str, Form(max_length=12)] = "",
    tag_value: Annotated[str, Form(max_length=64)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    """Run one action on the selected devices: one gate invocation, one approval naming every target."""
    query = await _query(request)
    devices = await _selection(session, page, device_ids, all_matching, query)
    form = {"script_id": script_id, "command": command, "to_site_id": to_site_id, "tag_value": tag_value}
    tool, args = _call(action, [d.id for d in devices], form)
    outcome = await invoke(page, session, gate, tool, args, reason=reason)
    boxes = await _boxes(session, page, outcome.value) if outcome.status is InvocationStatus.DONE else []
    return _html(
        page,
        outcome=outcome,
        action=f"{LABELS[action]} on {len(devices)} device(s)",
        devices=devices,
        boxes=boxes,
        poll=approval_trigger(outcome.approval_id or 0),
    )


@router.post("/rmm/groups")
async def save_group(
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
    request: Request,
    group_name: Annotated[str, Form(min_length=1, max_length=200)],
) -> HTMLResponse:
    """Save the device list's current filters as a dynamic group (``rmm-create-group``)."""
    query = await _query(request)
    f = await query.filters(session, page.org.id)
    criteria = {
        "customer_id": f.customer_id,
        "site_id": f.site_id,
        "status": f.status.value if f.status else None,
        "tag": f.tag or None,
        "user": f.user or None,
        "query": f.q or None,
        "os_family": f.os_family,
        "application": f.application or None,
        "open_alert": f.open_alert,
    }
    args = {"name": group_name.strip(), "filter": {k: v for k, v in criteria.items() if v is not None}}
    outcome = await invoke(page, session, gate, "rmm-create-group", args)
    return outcome_html(
        page,
        outcome,
        action=f"Save group {group_name.strip()!r}",
        done_text="Pick it under Group to list its devices; it is a target for scripts and commands.",
    )


@router.get("/rmm/bulk/approvals/{approval_id}")
async def bulk_approval(approval_id: Id, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """A pending bulk request, re-read until it has run; then one live box per device."""
    approval = await get_approval(session, page.org.id, approval_id)
    boxes = await _boxes(session, page, executed_result(gate.registry, approval))
    return render(
        page,
        "rmm/_bulk_approval.html",
        approval=approval,
        boxes=boxes,
        poll=approval_trigger(approval.id),
        command_trigger=command_trigger,
    )
