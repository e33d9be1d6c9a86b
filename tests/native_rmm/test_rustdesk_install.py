"""``rmm-install-rustdesk`` at the hub (simulated agents, in process): what the command carries, and
who may fetch the password from ``/agent/v1/rustdesk/setup`` (only the device the command is for,
only an open ``install_rustdesk`` command); the installer's servers are the default; bad input and
devices without a permanent agent are refused."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from agent.protocol import CHECKIN_PATH, RUSTDESK_SETUP_PATH, CommandKind, RustDeskReport, RustDeskSetup
from hub.core.db import Database
from hub.core.errors import ToolArgumentError
from native_rmm.devices import rustdesk
from native_rmm.installers.service import RustDeskOption, set_rustdesk
from native_rmm.models.devices import Device
from native_rmm.models.rustdesk import DeviceRustDesk
from native_rmm.testing.agentsim import SimAgent, ok_result
from policies.models import PolicyMode
from policies.outcome import InvocationStatus, Outcome
from policies.service import set_policy
from tests.conftest import Tenancy
from tests.native_rmm.conftest import caller_of

Invoke = Callable[..., Awaitable[Outcome]]


async def _auto(hub: Any, db: Database, tenancy: Tenancy) -> None:
    tool = hub.registry.resolve("rmm-install-rustdesk", tenancy.org_id)
    async with db.transaction() as session:
        await set_policy(session, caller=caller_of(tenancy.admin), tool=tool, mode=PolicyMode.AUTO)


async def test_only_the_device_fetches_the_password_while_its_command_is_open(
    make_agent: Callable[..., SimAgent], base_token: str, invoke: Invoke, hub: Any, db: Database, tenancy: Tenancy
) -> None:
    first, other = make_agent("PC-1"), make_agent("PC-2")
    await first.enroll(base_token)
    await other.enroll(base_token)
    asked = await invoke(tenancy.operator, "rmm-install-rustdesk", {"device": first.device_id})
    assert asked.status is InvocationStatus.PENDING_APPROVAL, asked.message  # approval by default
    await _auto(hub, db, tenancy)
    with pytest.raises(ToolArgumentError, match=r"at \$\.key"):  # the REST API answers 422 with the path
        await invoke(tenancy.operator, "rmm-install-rustdesk", {"device": first.device_id, "key": "x y"})
    keyless = await invoke(tenancy.operator, "rmm-install-rustdesk", {"device": first.device_id, "key": "abc"})
    assert keyless.status is InvocationStatus.FAILED and "needs the ID server" in keyless.message
    done = await invoke(tenancy.operator, "rmm-install-rustdesk", {"device": first.device_id})
    assert done.status is InvocationStatus.DONE, done.message
    assert done.result["replaced_password"] is False and done.result["id_server"] == ""

    (spec,) = (await first.checkin()).commands
    assert spec.kind is CommandKind.INSTALL_RUSTDESK and "password" not in json.loads(spec.body)
    ask = json.dumps({"command_id": spec.id})
    stolen = await other.post(RUSTDESK_SETUP_PATH, ask)
    assert stolen.status_code == 404, stolen.text
    fetched = await first.post(RUSTDESK_SETUP_PATH, ask)
    assert fetched.status_code == 200, fetched.text
    setup = RustDeskSetup.model_validate_json(fetched.content)
    async with db.transaction() as session:
        row = await session.get(DeviceRustDesk, first.device_id)
        assert row is not None and setup.password == rustdesk.reveal(session, row) and len(setup.password) == 16
        assert setup.password not in row.password_encrypted
    malformed = await first.post(RUSTDESK_SETUP_PATH, json.dumps({"command_id": "a b"}))
    assert malformed.status_code == 400 and "command_id" in malformed.text

    await first.report_result(ok_result(spec.id, "RustDesk ID 123\n"))
    closed = await first.post(RUSTDESK_SETUP_PATH, ask)
    assert closed.status_code == 404 and setup.password not in closed.text
    report = first.checkin_body().model_copy(update={"rustdesk": RustDeskReport(id="123")})
    assert (await first.post(CHECKIN_PATH, report.model_dump_json())).status_code == 200
    async with db.transaction() as session:
        row = await session.get(DeviceRustDesk, first.device_id)
        assert row is not None and row.rustdesk_id == "123"


async def test_the_installers_servers_are_the_default(
    make_agent: Callable[..., SimAgent], base_token: str, invoke: Invoke, hub: Any, db: Database, tenancy: Tenancy
) -> None:
    sim = make_agent("PC-3")
    await sim.enroll(base_token)
    async with db.transaction() as session:
        device = await session.get(Device, sim.device_id)
        assert device is not None and device.installer_id is not None
        await set_rustdesk(
            session,
            org_id=tenancy.org_id,
            installer_id=device.installer_id,
            option=RustDeskOption(True, "rd.example.test", "rd.example.test:21117", ""),
            actor=caller_of(tenancy.admin).actor,
        )
    await _auto(hub, db, tenancy)
    done = await invoke(tenancy.operator, "rmm-install-rustdesk", {"device": sim.device_id})
    assert done.status is InvocationStatus.DONE and done.result["id_server"] == "rd.example.test", done.message
    (spec,) = (await sim.checkin()).commands
    assert json.loads(spec.body)["relay_server"] == "rd.example.test:21117"
    again = await invoke(tenancy.operator, "rmm-install-rustdesk", {"device": sim.device_id, "id_server": "other.test"})
    assert again.status is InvocationStatus.DONE and again.result["replaced_password"] is True
    assert again.result["id_server"] == "other.test"
