"""``rmm-install-rustdesk`` for real: RustDesk added to a device that enrolled without it, through the
gate (approval by default), with a real agent process on the real hub and the stand-in ``rustdesk``
client on PATH (tests/e2e/test_e2e_rustdesk.py). The password is stored encrypted, never in the
command, the tool's result or the audit log; the agent fetches it only while its command is open;
the ID comes back in the command's result and the device's RustDesk panel.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from agent.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION, RUSTDESK_SETUP_PATH
from hub.core.audit import AuditEntry
from native_rmm.models.commands import Command
from native_rmm.models.rustdesk import DeviceRustDesk
from tests.e2e.conftest import E2EHub, StartAgent, agent_env, approve, finished_command, invoke, set_policy
from tests.e2e.test_e2e_rustdesk import KEY, RELAY, STANDIN_ID, _path_with, _standin
from tests.ui.conftest import ui_login
from tests.waiting import eventually

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the agent on Linux"),
    pytest.mark.slow,
]
ID_SERVER = "rd2.example.test"


async def _row(hub: E2EHub, device_id: int) -> DeviceRustDesk | None:
    async with hub.db.sessionmaker() as session:
        return await session.get(DeviceRustDesk, device_id)


async def test_rustdesk_added_to_an_enrolled_device(e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path) -> None:
    standin_home = tmp_path / "rustdesk-home"
    _standin(tmp_path / "bin" / "rustdesk")
    state = tmp_path / "state"
    env = agent_env(PATH=_path_with(tmp_path / "bin"), RUSTDESK_STANDIN_DIR=str(standin_home))
    agent = await start_agent(
        "run", "--state-dir", str(state), "--hub", e2e_hub.url, "--token", e2e_hub.base_token, env=env
    )
    device = await e2e_hub.connected_device()
    assert await _row(e2e_hub, device.id) is None and not standin_home.exists()  # the installer did not opt in

    # The device header offers the install to operators, not to viewers.
    ui_viewer, ui_operator = e2e_hub.client(), e2e_hub.client()
    await ui_login(ui_viewer, e2e_hub.tenancy.viewer.username, e2e_hub.tenancy.viewer.password)
    operator_csrf = await ui_login(ui_operator, e2e_hub.tenancy.operator.username, e2e_hub.tenancy.operator.password)
    assert 'id="rustdesk-install"' not in (await ui_viewer.get(f"/rmm/devices/{device.id}/rustdesk")).text
    assert 'id="rustdesk-install"' in (await ui_operator.get(f"/rmm/devices/{device.id}/rustdesk")).text

    operator = e2e_hub.client(e2e_hub.tenancy.operator)
    viewer = e2e_hub.client(e2e_hub.tenancy.viewer)
    refused = await viewer.post("/api/v1/tools/rmm-install-rustdesk/invoke", json={"args": {"device": device.id}})
    assert refused.status_code == 403, refused.text
    bad = await operator.post(
        "/api/v1/tools/rmm-install-rustdesk/invoke", json={"args": {"device": device.id, "id_server": "a b"}}
    )
    assert bad.status_code == 422 and "id_server" in bad.text, bad.text  # before any approval

    args = {"device": device.id, "id_server": ID_SERVER, "relay_server": RELAY, "key": KEY}
    pending = await invoke(operator, "rmm-install-rustdesk", args, reason="unattended access for the helpdesk")
    assert pending["status"] == "pending_approval", pending  # approval by default
    approver = e2e_hub.client(e2e_hub.tenancy.approver)
    shown = (await approver.get(f"/api/v1/approvals/{pending['approval_id']}")).json()
    assert shown["description_detail"]["summary"] == (
        f"Install RustDesk with a new permanent password (ID server {ID_SERVER}) on {device.hostname} "
        "(Unassigned / Unassigned) as root"
    ), shown["description_detail"]
    approval = await approve(approver, pending["approval_id"])
    queued = approval["result"]
    assert queued["device_id"] == device.id and queued["replaced_password"] is False, approval

    done = await finished_command(operator, queued["command_id"], within=60)
    assert done["status"] == "succeeded" and done["stdout"] == f"RustDesk ID {STANDIN_ID}\n", (
        done,
        agent.log()[-3000:],
    )

    async def reported() -> DeviceRustDesk | None:
        row = await _row(e2e_hub, device.id)
        return row if row is not None and row.rustdesk_id else None

    row = await eventually(reported, within=30, message="the ID on the device's RustDesk panel")
    assert row.rustdesk_id == STANDIN_ID and row.error is None
    assert json.loads((standin_home / "config.json").read_text()) == {
        "key": KEY,
        "host": ID_SERVER,
        "api": "",
        "relay": RELAY,
    }
    password = (standin_home / "password").read_text()
    assert len(password) == 16 and password not in row.password_encrypted
    assert json.loads((state / "rustdesk.json").read_text()) == {"done": True}

    # The password is nowhere but encrypted: not in the command, not in the audit log.
    async with e2e_hub.db.sessionmaker() as session:
        command = (await session.execute(select(Command).where(Command.id == queued["command_id"]))).scalar_one()
        entries = list((await session.execute(select(AuditEntry))).scalars())
    assert password not in command.body and "password" not in json.loads(command.body)
    assert any(e.tool_id == "native_rmm:rmm-install-rustdesk" for e in entries)
    assert not any(password in json.dumps(e.detail) for e in entries), "the password leaked into the audit log"
    admin = e2e_hub.client(e2e_hub.tenancy.admin)
    await set_policy(admin, "rmm-reveal-rustdesk-password", "auto")
    revealed = await invoke(admin, "rmm-reveal-rustdesk-password", {"device": device.id})
    assert revealed["result"]["password"] == password and revealed["result"]["rustdesk_id"] == STANDIN_ID

    # The device's credential no longer fetches the set-up: its command has ended.
    credential = (state / "credential").read_text().strip()
    async with httpx.AsyncClient(base_url=e2e_hub.url) as raw:
        late = await raw.post(
            RUSTDESK_SETUP_PATH,
            json={"command_id": command.uid},
            headers={"Authorization": f"Bearer {credential}", PROTOCOL_HEADER: str(PROTOCOL_VERSION)},
        )
    assert late.status_code == 404 and password not in late.text, late.text

    # Again, from the panel's button under an auto policy: a new password replaces the old one.
    await set_policy(admin, "rmm-install-rustdesk", "auto")
    clicked = await ui_operator.post(
        f"/rmm/devices/{device.id}/rustdesk/install", headers={"hx-request": "true", "x-csrf-token": operator_csrf}
    )
    assert clicked.status_code == 200 and "Install RustDesk" in clicked.text, clicked.text

    async def second_install() -> Command | None:
        async with e2e_hub.db.sessionmaker() as session:
            stmt = select(Command).where(Command.device_id == device.id, Command.id != command.id)
            found = [c for c in (await session.execute(stmt)).scalars() if c.kind == "install_rustdesk"]
        return found[0] if found and found[0].status == "succeeded" else None

    await eventually(second_install, within=60, message="the second install_rustdesk command succeeded")
    assert (standin_home / "password").read_text() != password
