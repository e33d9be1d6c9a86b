"""The device page (``/rmm/devices/{id}``): header, actions and tabs System, Applications, Alerts,
Patches and Script Runs (``?tab=``).

Actions are tool invocations through the policy gate: ``rmm-run-command`` (its output follows the
command's ``command.updated`` events over the page's event stream until it finishes; a pending
approval follows its ``approval.*`` events until decided),
``rmm-uninstall-agent``, ``rmm-install-patches`` and ``rmm-mark-patch-applied``. The System tab's
gauges and sparklines refresh from :func:`metrics_json` every 10 s (``ui/static/rmm.js``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, JSONResponse

from connectors.checkmk import service as checkmk
from connectors.checkmk.manager import CheckmkManager
from hub.core.bounds import Id
from hub.core.db import DbSession, utcnow
from hub.core.deps import SessionDep
from native_rmm.commands import service as commands
from native_rmm.commands.history import command_history
from native_rmm.commands.schemas import FULL_OUTPUT, CommandOut
from native_rmm.commands.tools import shells_for
from native_rmm.devices import queries as q
from native_rmm.devices import service as devices
from native_rmm.models.commands import ACTIVE_STATUSES, Command
from native_rmm.models.devices import Device, DeviceStatus
from native_rmm.scripts import runs
from native_rmm.scripts import service as scripts
from policies.approvals import get_approval
from policies.deps import GateDep
from policies.models import PolicyMode
from policies.outcome import InvocationStatus, Outcome
from policies.pipeline import Gate
from policies.queries import executed_result
from policies.service import policy_for
from ui.page import Page, PageDep, render
from ui.pages.rmm_actions import invoke, outcome_html
from ui.pages.rmm_patch_policies import device_patch_policy

router = APIRouter(include_in_schema=False)

DeviceTab = Literal["system", "applications", "alerts", "patches", "runs", "commands"]
APP_PAGE = 50
RUNS_LIMIT = 50
#: The shells a command can run in (the values of the command table's enum).
SHELLS: list[str] = list(Command.__table__.c.shell.type.enums)  # type: ignore[attr-defined]


async def uninstall_refusal(session: DbSession, gate: Gate, page: Page) -> str:
    """Why the Uninstall button is disabled ("" when it may be pressed): its policy is ``never`` for this role."""
    tool = gate.registry.resolve("native_rmm:rmm-uninstall-agent", page.org.id)
    policy = await policy_for(session, page.org.id, tool)
    if policy.mode_for(page.caller.role.value) is PolicyMode.NEVER:
        return f"Uninstall is not allowed by policy ({policy.reason}); an admin can change it under Policies"
    return ""


def command_trigger(command_id: int) -> str:
    """When a command box re-reads its command: on its ``command.updated`` events (pushed over the page's
    event stream; ``ui/static/app.js`` also catches a box up on an update that came before it was
    swapped in) and after the stream reconnects."""
    return f"command-changed[detail.resync||detail.command_id=={command_id}] from:body"


def approval_trigger(approval_id: int) -> str:
    """When a pending request re-reads its approval: on its ``approval.*`` events and after a reconnect."""
    return f"approvals-changed[detail.resync||detail.approval_id=={approval_id}] from:body"


async def _device(session: DbSession, page: Page, device_id: int) -> Device:
    return await devices.get_device(session, org_id=page.org.id, device_id=device_id)


async def _checkmk_host(page: Page, session: DbSession, device_id: int) -> checkmk.HostOut | None:
    """The Checkmk host mapped to the device (its panel), when the connector runs and a host is mapped."""
    manager = page.hub.components.find(CheckmkManager)
    if manager is None:
        return None
    return await checkmk.host_for_device(session, manager, org_id=page.org.id, device_id=device_id)


async def apps_context(session: DbSession, device: Device, search: str, offset: int) -> dict[str, Any]:
    """A page of the device's applications matching ``search`` (server-side)."""
    apps, total = await devices.list_applications(
        session, device_id=device.id, search=search or None, limit=APP_PAGE, offset=offset
    )
    return {"apps": apps, "apps_total": total, "apps_q": search, "apps_offset": offset, "apps_limit": APP_PAGE}


@router.get("/rmm/devices/{device_id}")
async def device_page(
    device_id: Id,
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
    tab: DeviceTab = "system",
    app_q: Annotated[str, Query(alias="q", max_length=200)] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """The device header, its actions and the selected tab (rendered server-side)."""
    device = await _device(session, page, device_id)
    context: dict[str, Any] = {
        "device": device,
        "where": await q.placement(session, site_id=device.site_id),
        "tab": tab,
        "alert_count": await q.active_alert_count(session, org_id=page.org.id, device_id=device.id),
        "shells": shells_for(device) or SHELLS,
        "uninstall_refusal": await uninstall_refusal(session, gate, page),
        "tags": (await q.tags_of(session, device_ids=[device.id]))[device.id],
        "checkmk_host": await _checkmk_host(page, session, device.id),
    }
    if tab == "system":
        context["sample"] = await q.latest_sample(session, device_id=device.id)
    elif tab == "applications":
        context.update(await apps_context(session, device, app_q.strip(), offset))
    elif tab == "alerts":
        context["alerts"] = await q.alert_rows(session, org_id=page.org.id, device_id=device.id, limit=200)
    elif tab == "patches":
        context["patches"] = await devices.list_patches(session, device_id=device.id)
        context.update(await device_patch_policy(session, page, device.id))
    elif tab == "commands":
        context["history"] = await command_history(session, org_id=page.org.id, device_id=device.id)
        context["run_scripts"] = await scripts.list_scripts(session, org_id=page.org.id, enabled=True)
    else:
        context["runs"] = await runs.list_script_runs(
            session, org_id=page.org.id, device_id=device.id, limit=RUNS_LIMIT
        )
    return render(page, "rmm/device.html", **context)


@router.get("/rmm/devices/{device_id}/metrics")
async def metrics_json(device_id: Id, page: PageDep, session: SessionDep) -> JSONResponse:
    """Gauges and the last 60 minutes of samples for the System tab (JSON, polled every 10 s)."""
    device = await _device(session, page, device_id)
    series = await q.sparkline_series(session, device_id=device.id)
    sample = await q.latest_sample(session, device_id=device.id)
    latest = None
    if sample is not None:
        latest = {
            "taken_at": sample.taken_at.isoformat(),
            "cpu": sample.cpu_percent,
            "memory": sample.memory_percent,
            "disk": sample.disk_percent,
            "load_1": sample.load_1,
            "load_5": sample.load_5,
            "load_15": sample.load_15,
            "net_sent": sample.net_sent_bps,
            "net_recv": sample.net_recv_bps,
            "memory_used": sample.memory_used_bytes,
            "memory_total": sample.memory_total_bytes,
            "cores": (device.hardware or {}).get("cpu_threads") or (device.hardware or {}).get("cpu_cores"),
            "disks": sample.disks,
        }
    return JSONResponse(
        {
            "device_id": device.id,
            "status": device.status.value,
            "now": utcnow().timestamp(),
            "latest": latest,
            "series": {
                "t": series.t,
                "cpu": series.cpu,
                "memory": series.memory,
                "disk": series.disk,
                "load": series.load,
                "net_sent": series.net_sent,
                "net_recv": series.net_recv,
            },
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/rmm/devices/{device_id}/applications")
async def applications(
    device_id: Id,
    page: PageDep,
    session: SessionDep,
    app_q: Annotated[str, Query(alias="q", max_length=200)] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """The applications table fragment (search and paging)."""
    device = await _device(session, page, device_id)
    context = await apps_context(session, device, app_q.strip(), offset)
    return render(page, "rmm/_apps_table.html", device=device, **context)


@router.get("/rmm/devices/{device_id}/remote")
async def remote_panel(device_id: Id, page: PageDep, session: SessionDep) -> HTMLResponse:
    """The Remote Connection panel (the relay issue fills in screen, shell, commands and files)."""
    device = await _device(session, page, device_id)
    return render(page, "rmm/_remote.html", device=device, online=device.status is DeviceStatus.ONLINE)


@router.post("/rmm/devices/{device_id}/command")
async def run_command(
    device_id: Id,
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
    command: Annotated[str, Form(min_length=1, max_length=65536)],
    shell: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    """Invoke ``rmm-run-command``; the answer polls the command (or the approval) until it is done."""
    args: dict[str, Any] = {"device": device_id, "command": command.replace("\r\n", "\n")}
    if shell:
        args["shell"] = shell
    outcome = await invoke(page, session, gate, "rmm-run-command", args, reason=reason)
    return _command_or_outcome(page, device_id, outcome, action="Run command")


def _command_or_outcome(page: Page, device_id: int, outcome: Outcome, *, action: str) -> HTMLResponse:
    """The queued command (followed until it finishes), else the outcome (a pending one follows its approval)."""
    command = outcome.result_as(CommandOut)
    if command is not None:
        return _command_html(page, device_id, command)
    follow = approval_trigger(outcome.approval_id) if outcome.approval_id is not None else ""
    return outcome_html(page, outcome, action=action, device_id=device_id, poll_approval=follow)


def _command_html(page: Page, device_id: int, command: CommandOut) -> HTMLResponse:
    finished = command.status not in ACTIVE_STATUSES
    poll = command_trigger(command.id)
    return render(page, "rmm/_command.html", device_id=device_id, c=command, finished=finished, poll=poll)


@router.get("/rmm/devices/{device_id}/commands/{command_id}")
async def command_result(device_id: Id, command_id: Id, page: PageDep, session: SessionDep) -> HTMLResponse:
    """A command's status and whole output (re-read by the run-command box until it finishes)."""
    command = await commands.get_command(session, org_id=page.org.id, command_id=command_id)
    return _command_html(page, device_id, CommandOut.of(command, max_chars=FULL_OUTPUT))


@router.get("/rmm/devices/{device_id}/approvals/{approval_id}")
async def approval_progress(
    device_id: Id, approval_id: Id, page: PageDep, session: SessionDep, gate: GateDep
) -> HTMLResponse:
    """A pending request from this page, polled: once approved and run, the command's output follows."""
    approval = await get_approval(session, page.org.id, approval_id)
    command = executed_result(gate.registry, approval)
    if isinstance(command, CommandOut):
        return _command_html(page, device_id, command)
    poll = approval_trigger(approval.id)
    return render(page, "rmm/_approval_progress.html", approval=approval, device_id=device_id, poll=poll)


@router.post("/rmm/devices/{device_id}/uninstall")
async def uninstall_agent(
    device_id: Id,
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    """Invoke ``rmm-uninstall-agent`` (seeded ``never``: the page shows the refusal)."""
    outcome = await invoke(page, session, gate, "rmm-uninstall-agent", {"device": device_id}, reason=reason)
    return outcome_html(
        page,
        outcome,
        action="Uninstall agent",
        done_text="The agent removes itself at its next contact; the device then shows as uninstalled.",
    )


@router.post("/rmm/devices/{device_id}/end-session")
async def end_quick_support(device_id: Id, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """Invoke ``rmm-end-quick-support``: the temporary agent signs off and removes itself."""
    outcome = await invoke(page, session, gate, "rmm-end-quick-support", {"device": device_id})
    return outcome_html(
        page,
        outcome,
        action="End quick-support session",
        done_text="The quick-support agent ends the session and removes itself from the computer.",
    )


@router.post("/rmm/devices/{device_id}/patches/install")
async def install_patches(
    device_id: Id,
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
    patch_ids: Annotated[list[str], Form()] = [],  # noqa: B006
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    """Invoke ``rmm-install-patches`` (every pending patch, or the ticked ones)."""
    args: dict[str, Any] = {"device": device_id, "patch_ids": [p for p in patch_ids if p]}
    outcome = await invoke(page, session, gate, "rmm-install-patches", args, reason=reason)
    what = f"{len(args['patch_ids'])} patch(es)" if args["patch_ids"] else "every pending patch"
    return _command_or_outcome(page, device_id, outcome, action=f"Install {what}")


@router.post("/rmm/devices/{device_id}/patches/{patch_id}/applied")
async def mark_applied(device_id: Id, patch_id: Id, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """Invoke ``rmm-mark-patch-applied``; answers the patch row with the outcome."""
    outcome = await invoke(page, session, gate, "rmm-mark-patch-applied", {"device": device_id, "patch": patch_id})
    device = await _device(session, page, device_id)
    patch = next((p for p in await devices.list_patches(session, device_id=device.id) if p.id == patch_id), None)
    if patch is None:
        return outcome_html(page, outcome, action=f"Mark patch #{patch_id} applied")
    return render(
        page,
        "rmm/_patch_row.html",
        device=device,
        p=patch,
        outcome=outcome,
        action=f"Mark {patch.key} applied",
        S=InvocationStatus,
    )
