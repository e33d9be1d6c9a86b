"""The Remote Connection window (``/rmm/remote/{device_id}``) and the tickets its tabs ask for.

The window is a locked popup with the tabs Screen (noVNC), SSH (xterm.js), Commands and Files.
Each live tab joins its own relay session with a single-use ticket, and every ticket comes from a
tool invocation through the policy gate (``rmm-open-screen-session``, ``rmm-open-shell-session``,
``rmm-open-files-session``): the window never mints anything itself. The Commands tab is the device's command
queue: it posts to the device page's run-command route and its boxes follow each command's
``command.updated`` events over the page's event stream (pushed, not polled). The device page's panel opens
the window with a first ticket in the URL fragment; the other tabs ask :func:`ticket` for theirs.
When a tool needs approval, the tab waits on the page's event stream for that approval's decision
and then asks :func:`approved_ticket` for the ticket the approved run minted (requester only).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path
from fastapi.responses import HTMLResponse, JSONResponse

from hub.core.bounds import Id
from hub.core.deps import SessionDep
from hub.core.tickets import TransferDirection
from native_rmm.commands.schemas import FULL_OUTPUT, CommandOut
from native_rmm.devices import queries as device_queries
from native_rmm.devices import service as devices
from native_rmm.installers import service as installers
from native_rmm.models.commands import ACTIVE_STATUSES
from native_rmm.models.devices import DeviceStatus
from native_rmm.remote import queries as remote_queries
from native_rmm.remote.tools import RemoteSessionOut
from policies.approvals import get_approval
from policies.deps import GateDep
from policies.models import ApprovalStatus
from policies.outcome import InvocationStatus
from policies.queries import executed_result
from ui.page import PageDep, render
from ui.pages.rmm_actions import invoke
from ui.pages.rmm_device import command_trigger

router = APIRouter(include_in_schema=False)

RemoteKind = Literal["shell", "screen", "files"]
TOOLS: dict[str, str] = {
    "shell": "rmm-open-shell-session",
    "screen": "rmm-open-screen-session",
    "files": "rmm-open-files-session",
}
RECENT_COMMANDS = 10
#: The most a browser may upload through the Files tab (the agent enforces its own limit too).
DEFAULT_FILE_LIMIT = 2 << 30


@router.get("/rmm/remote/{device_id}")
async def remote_window(device_id: Id, page: PageDep, session: SessionDep) -> HTMLResponse:
    """The window (a ticket for the first tab arrives in the URL fragment, read by the page's script)."""
    device = await devices.get_device(session, org_id=page.org.id, device_id=device_id)
    recent = await remote_queries.window_commands(
        session, org_id=page.org.id, device_id=device.id, limit=RECENT_COMMANDS
    )
    queue = [
        {"c": out, "finished": out.status not in ACTIVE_STATUSES, "poll": command_trigger(out.id)}
        for out in (CommandOut.of(command, max_chars=FULL_OUTPUT) for command in recent)
    ]
    return render(
        page,
        "rmm/remote_window.html",
        device=device,
        online=device.status is DeviceStatus.ONLINE,
        file_limit=DEFAULT_FILE_LIMIT,
        commands=queue,
    )


@router.post("/rmm/devices/{device_id}/remote/{kind}")
async def open_session(
    device_id: Id, kind: RemoteKind, page: PageDep, session: SessionDep, gate: GateDep
) -> HTMLResponse:
    """The device page's panel: invoke the kind's tool; when it runs, the answer links the window."""
    outcome = await invoke(page, session, gate, TOOLS[kind], {"device": device_id})
    return render(
        page,
        "rmm/_remote_opened.html",
        outcome=outcome,
        action=f"Open {kind} session",
        S=InvocationStatus,
        device_id=device_id,
        kind=kind,
    )


@router.post("/rmm/devices/{device_id}/remote/{kind}/ticket")
async def ticket(device_id: Id, kind: RemoteKind, page: PageDep, session: SessionDep, gate: GateDep) -> JSONResponse:
    """Invoke the kind's open-session tool; answer the ticket (JSON) or why there is none."""
    outcome = await invoke(page, session, gate, TOOLS[kind], {"device": device_id})
    body: dict[str, object] = {"status": outcome.status.value, "message": outcome.message}
    if outcome.status is InvocationStatus.DONE:
        result = outcome.result
        body.update(session=result["session"], relay_url=result["relay_url"], ticket=result["ticket"], kind=kind)
        body["note"] = result.get("note", "")
    elif outcome.status is InvocationStatus.PENDING_APPROVAL:
        body.update(approval_id=outcome.approval_id, message=f"waiting for approval #{outcome.approval_id}")
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/rmm/devices/{device_id}/remote/{kind}/approved/{approval_id}")
async def approved_ticket(
    device_id: Id, kind: RemoteKind, approval_id: Id, page: PageDep, session: SessionDep, gate: GateDep
) -> JSONResponse:
    """The ticket an approved open-session request minted when it ran, for the tab that asked for it.

    Only the requester gets it, and only for the tool and device the tab asked for; until the
    approval is decided the answer is ``pending_approval``.
    """
    approval = await get_approval(session, page.org.id, approval_id)
    if (
        approval.requester_user_id != page.user.id
        or approval.tool_name != TOOLS[kind]
        or approval.args.get("device") != device_id
    ):
        return JSONResponse(
            {"status": "failed", "message": f"approval #{approval_id} is not your {kind} session on this device"},
            status_code=404,
        )
    body: dict[str, object]
    if approval.status in (ApprovalStatus.PENDING, ApprovalStatus.APPROVED):
        body = {"status": "pending_approval", "message": f"waiting for approval #{approval_id}"}
    elif (result := executed_result(gate.registry, approval)) is not None and isinstance(result, RemoteSessionOut):
        body = {
            "status": "done",
            "message": f"approved by {approval.decided_by_label or 'an approver'}",
            "session": result.session,
            "relay_url": result.relay_url,
            "ticket": result.ticket,
            "kind": kind,
            "note": result.note,
        }
    else:
        why = approval.decision_note or approval.status.value
        body = {"status": "failed", "message": f"approval #{approval_id} {approval.status.value}: {why}"}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/rmm/remote/sessions/{sid}/transfer")
async def transfer(
    sid: Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
    direction: Annotated[TransferDirection, Form()],
    path: Annotated[str, Form(min_length=1, max_length=4096)],
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
) -> JSONResponse:
    """Invoke ``rmm-transfer-file`` for one transfer of the Files tab; answer its grant (JSON) or why not."""
    outcome = await invoke(
        page, session, gate, "rmm-transfer-file", {"session": sid, "direction": direction.value, "path": path}
    )
    body: dict[str, object] = {"status": outcome.status.value, "message": outcome.message}
    if outcome.status is InvocationStatus.DONE:
        body["grant"] = outcome.result["grant"]
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/rmm/quick-support/sessions")
async def create_quick_support(
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
    name: Annotated[str, Form(max_length=120)] = "",
) -> HTMLResponse:
    """Quick-support tab: invoke ``rmm-create-quick-support-session``; show the one-shot command to read out."""
    outcome = await invoke(page, session, gate, "rmm-create-quick-support-session", {"name": name})
    commands: dict[str, str] = {}
    if outcome.status is InvocationStatus.DONE:
        # The command names the URL this browser reached the hub at unless RMMHUB_PUBLIC_URL says otherwise.
        base = (page.hub.settings.public_url or str(page.request.base_url)).rstrip("/")
        commands = {
            str(os): cmd
            for os, cmd in installers.install_commands(base, outcome.result["token"], quick_support=True).items()
        }
    return render(page, "rmm/_quick_support_created.html", outcome=outcome, commands=commands, S=InvocationStatus)


@router.get("/rmm/quick-support/devices")
async def quick_support_table(page: PageDep, session: SessionDep) -> HTMLResponse:
    """The tab's device table, re-read every few seconds so the end user's machine appears by itself."""
    quick = await device_queries.quick_support_devices(session, org_id=page.org.id)
    return render(page, "rmm/_quick_support_table.html", quick=quick)
