"""The Scripts tab of ``/rmm``: run a library script on devices, and (admins) create, edit, disable.

Running is a tool invocation through the policy gate: the script's own tool ``rmm-script-<slug>``
(its schema is the script's parameters plus ``device_ids``), so the approver sees exactly what runs.
Changing the library is admin configuration, done through the script service as its REST API does
(audited there; the dynamic tool follows on commit).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from hub.core.bounds import Id
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from hub.core.errors import RmmHubError, ToolArgumentError, ToolError
from hub.core.roles import Role
from native_rmm.devices import queries as q
from native_rmm.models.scripts import Script, ScriptOsType
from native_rmm.scripts import service as scripts
from native_rmm.scripts.schemas import ScriptIn, ScriptUpdate
from policies.deps import GateDep
from ui.page import Page, PageDep, render
from ui.pages.rmm_actions import invoke, outcome_html
from ui.pages.rmm_device import SHELLS

router = APIRouter(include_in_schema=False)
MAX_PICKED = 100


def param_fields(script: Script) -> list[dict[str, Any]]:
    """The script's parameters as form fields (name, type, title, default, enum, bounds, required)."""
    schema = script.parameters or {}
    required = set(schema.get("required", []))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        fields.append({"name": name, "required": name in required, **prop, "type": prop.get("type", "string")})
    return fields


def parse_params(script: Script, form: dict[str, Any]) -> dict[str, Any]:
    """Typed parameter values from the run form (``p.<name>`` fields; empty optional ones are left out)."""
    values: dict[str, Any] = {}
    for field in param_fields(script):
        name, kind = field["name"], field["type"]
        if kind == "boolean":
            values[name] = form.get(f"p.{name}") == "true"
            continue
        raw = str(form.get(f"p.{name}", "")).strip()
        if raw == "":
            if field["required"]:
                raise ToolArgumentError(script.tool_name, f"$.{name}", f"{field.get('title') or name} is required")
            continue
        try:
            values[name] = int(raw) if kind == "integer" else float(raw) if kind == "number" else raw
        except ValueError as exc:
            raise ToolArgumentError(script.tool_name, f"$.{name}", f"{raw!r} is not a valid {kind}") from exc
    return values


async def _picker_context(
    page: Page, session: DbSession, script: Script, search: str, picked: list[int]
) -> dict[str, Any]:
    matches = await q.pick_devices(session, org_id=page.org.id, q=search)
    chosen = await q.devices_by_id(session, org_id=page.org.id, ids=picked[:MAX_PICKED])
    chosen_ids = {d[0] for d in chosen}
    return {"script": script, "chosen": chosen, "matches": [m for m in matches if m[0] not in chosen_ids], "q": search}


@router.get("/rmm/scripts/{script_id}/run")
async def run_dialog(
    script_id: Id,
    page: PageDep,
    session: SessionDep,
    device_id: Annotated[list[int], Query()] = [],  # noqa: B006
) -> HTMLResponse:
    """The run dialog: choose devices, fill the typed parameters."""
    script = await scripts.get_script(session, org_id=page.org.id, script_id=script_id)
    picker = await _picker_context(page, session, script, "", device_id)
    return render(page, "rmm/_script_run.html", fields=param_fields(script), **picker)


@router.get("/rmm/devices/{device_id}/run-script")
async def run_dialog_for_device(
    device_id: Id, page: PageDep, session: SessionDep, script_id: Annotated[Id, Query()]
) -> HTMLResponse:
    """The run dialog opened from a device page, with that device already ticked."""
    return await run_dialog(script_id, page, session, device_id=[device_id])


@router.get("/rmm/scripts/{script_id}/devices")
async def device_picker(
    script_id: Id,
    page: PageDep,
    session: SessionDep,
    q_: Annotated[str, Query(alias="q", max_length=200)] = "",
    device_ids: Annotated[list[int], Query()] = [],  # noqa: B006
) -> HTMLResponse:
    """Matching devices for the run dialog; devices already ticked stay at the top."""
    script = await scripts.get_script(session, org_id=page.org.id, script_id=script_id)
    return render(page, "rmm/_device_picker.html", **await _picker_context(page, session, script, q_, device_ids))


@router.post("/rmm/scripts/{script_id}/run")
async def run_script(
    script_id: Id, request: Request, page: PageDep, session: SessionDep, gate: GateDep
) -> HTMLResponse:
    """Invoke the script's tool ``rmm-script-<slug>`` through the gate."""
    script = await scripts.get_script(session, org_id=page.org.id, script_id=script_id)
    form = await request.form()
    device_ids = [int(str(v)) for v in form.getlist("device_ids") if str(v).isdigit()]
    if not device_ids:
        # Answered into the dialog's own outcome area (an error page would open behind the modal dialog).
        return render(page, "rmm/_dialog_error.html", message="Choose at least one device to run the script on.")
    if not script.enabled:
        raise ToolError(f"script {script.name!r} is disabled; an admin must enable it before it can run")
    args = {**parse_params(script, dict(form)), "device_ids": device_ids}
    reason = str(form.get("reason", ""))[:2000]
    outcome = await invoke(page, session, gate, script.tool_name, args, reason=reason)
    count = len(device_ids)
    done = f"{count} command{'s' if count != 1 else ''} queued; output appears in each device's Script Runs tab."
    return outcome_html(page, outcome, action=f"Run {script.name} on {count} device{'s' if count != 1 else ''}",
                        done_text=done)  # fmt: skip


@router.post("/rmm/scripts/{script_id}/enabled")
async def toggle_script(
    script_id: Id, page: PageDep, session: SessionDep, gate: GateDep, enabled: Annotated[bool, Form()]
) -> HTMLResponse:
    """Enable or disable a script (admin): its tool appears or disappears."""
    page.require(Role.ADMIN)
    script = await scripts.update_script(
        session, gate, actor=page.caller, script_id=script_id, data=ScriptUpdate(enabled=enabled)
    )
    return render(page, "rmm/_script_row.html", s=script)


def _form_values(script: Script | None) -> dict[str, Any]:
    if script is None:
        return {"name": "", "description": "", "os_type": "LINUX", "shell": "bash", "body": "", "timeout_seconds": 300,
                "enabled": True, "parameters": "{}"}  # fmt: skip
    return {
        "name": script.name, "description": script.description, "os_type": script.os_type.value,
        "shell": script.shell.value, "body": script.body, "timeout_seconds": script.timeout_seconds,
        "enabled": script.enabled, "parameters": json.dumps(script.parameters, indent=2),
    }  # fmt: skip


def _editor(
    page: Page, script: Script | None, values: dict[str, Any], errors: list[str], status: int = 200
) -> HTMLResponse:
    return render(
        page, "rmm/script_edit.html", script=script, values=values, errors=errors, status_code=status,
        os_types=[o.value for o in ScriptOsType], shells=SHELLS,
    )  # fmt: skip


@router.get("/rmm/scripts/new")
async def new_script(page: PageDep) -> HTMLResponse:
    """The script editor for a new script (admin)."""
    page.require(Role.ADMIN)
    return _editor(page, None, _form_values(None), [])


@router.get("/rmm/scripts/{script_id}/edit")
async def edit_script(script_id: Id, page: PageDep, session: SessionDep) -> HTMLResponse:
    """The script editor (admin)."""
    page.require(Role.ADMIN)
    script = await scripts.get_script(session, org_id=page.org.id, script_id=script_id)
    return _editor(page, script, _form_values(script), [])


def _errors(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc']) or 'script'}: {e['msg']}" for e in exc.errors()]


@router.post("/rmm/scripts/save", response_model=None)
async def save_script(
    request: Request, page: PageDep, session: SessionDep, gate: GateDep
) -> HTMLResponse | RedirectResponse:
    """Create (no ``script_id``) or update a script (admin); errors re-render the editor."""
    page.require(Role.ADMIN)
    form = await request.form()
    raw_id = str(form.get("script_id", ""))
    script = await scripts.get_script(session, org_id=page.org.id, script_id=int(raw_id)) if raw_id.isdigit() else None
    values: dict[str, Any] = {
        k: str(form.get(k, "")) for k in ("name", "description", "os_type", "shell", "body", "parameters")
    }
    values["timeout_seconds"] = str(form.get("timeout_seconds", "300"))
    values["enabled"] = "true" in form.getlist("enabled")
    try:
        parameters = json.loads(values["parameters"] or "{}")
    except json.JSONDecodeError as exc:
        return _editor(page, script, values, [f"parameters: not valid JSON ({exc.msg} at line {exc.lineno})"], 422)
    data = {**values, "parameters": parameters, "body": values["body"].replace("\r\n", "\n")}
    try:
        if script is None:
            saved = await scripts.create_script(session, gate, actor=page.caller, data=ScriptIn(**data))
        else:
            saved = await scripts.update_script(
                session, gate, actor=page.caller, script_id=script.id, data=ScriptUpdate(**data)
            )
    except ValidationError as exc:
        return _editor(page, script, values, _errors(exc), 422)
    except RmmHubError as exc:
        return _editor(page, script, values, [exc.message], exc.status_code)
    return RedirectResponse(f"/rmm?tab=scripts&saved={saved.id}", status_code=303)
