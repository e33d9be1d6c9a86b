"""RustDesk per installer, for real: a real agent process against the real hub on loopback, with a
stand-in ``rustdesk`` executable that follows the client's command-line contract (``--get-id`` prints
the ID, ``--password <pw>`` sets the permanent password, ``--config <string>`` imports the server
config string; anything else fails as the client does).

1. The client is already on PATH: the agent configures it, sets the hub's password, reports the ID;
   the device header shows the panel with the ID and a ``rustdesk://`` link; only admins reveal the
   password (through the gate; audited without the password itself).
2. The client is missing: the agent fetches the AppImage staged on the hub (SHA-256 checked), runs
   the Linux install steps, then configures it the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.core.audit import AuditEntry
from native_rmm.models.rustdesk import DeviceRustDesk
from native_rmm.plane import DevicePlane
from tests.conftest import LiveServer
from tests.e2e.conftest import E2EHub, StartAgent, agent_env, invoke, set_policy
from tests.ui.conftest import ui_login
from tests.waiting import eventually

pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the agent on Linux"),
              pytest.mark.slow]  # fmt: skip
STANDIN_ID = "123456789"
ID_SERVER, RELAY, KEY = "rd.example.test", "rd.example.test:21117", "OeVuKk5nlHiXp+APNn0Y3pC1Iwpwn44JGqrQCsWqmBw="

STANDIN = '''#!{python}
"""Stand-in for the RustDesk client: its command-line contract, recorded under RUSTDESK_STANDIN_DIR."""
import base64, json, os, sys
from pathlib import Path

home = Path(os.environ["RUSTDESK_STANDIN_DIR"])
home.mkdir(parents=True, exist_ok=True)
args = sys.argv[1:]
with (home / "calls.log").open("a") as log:
    log.write((args[0] if args else "") + "\\n")
if args == ["--get-id"]:
    print("{id}")
elif len(args) == 2 and args[0] == "--password":
    (home / "password").write_text(args[1])
    print("Done!")
elif len(args) == 2 and args[0] == "--config":
    raw = args[1][::-1]
    config = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    (home / "config.json").write_text(json.dumps(config))
elif len(args) == 3 and args[0] == "--option":
    (home / ("option-" + args[1])).write_text(args[2])
else:
    print("unknown arguments: " + " ".join(args), file=sys.stderr)
    sys.exit(1)
'''


def _standin(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STANDIN.replace("{python}", sys.executable).replace("{id}", STANDIN_ID))
    path.chmod(0o755)
    return path


async def _opt_in_base(hub: E2EHub) -> dict[str, Any]:
    admin = hub.client(hub.tenancy.admin)
    (base,) = [i for i in (await admin.get("/api/v1/rmm/installers")).json() if i["kind"] == "base"]
    bad = await admin.put(f"/api/v1/rmm/installers/{base['id']}/rustdesk", json={"enabled": True, "id_server": "a b"})
    assert bad.status_code == 400 and "host or host:port" in bad.text, bad.text
    saved = await admin.put(f"/api/v1/rmm/installers/{base['id']}/rustdesk",
                            json={"enabled": True, "id_server": ID_SERVER, "relay_server": RELAY, "key": KEY})  # fmt: skip
    assert saved.status_code == 200, saved.text
    assert saved.json()["rustdesk"] == {"enabled": True, "id_server": ID_SERVER, "relay_server": RELAY, "key": KEY}
    forbidden = await hub.client(hub.tenancy.operator).put(
        f"/api/v1/rmm/installers/{base['id']}/rustdesk", json={"enabled": False}
    )
    assert forbidden.status_code == 403
    result: dict[str, Any] = saved.json()
    return result


async def _reported(hub: E2EHub) -> DeviceRustDesk | None:
    async with hub.db.sessionmaker() as session:
        row = (await session.execute(select(DeviceRustDesk))).scalar_one_or_none()
        return row if row is not None and (row.rustdesk_id or row.error) else None


def _path_with(bin_dir: Path) -> str:
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


async def test_rustdesk_on_path_is_configured_and_reported(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path
) -> None:
    await _opt_in_base(e2e_hub)
    standin_home = tmp_path / "rustdesk-home"
    _standin(tmp_path / "bin" / "rustdesk")
    state = tmp_path / "state"
    env = agent_env(PATH=_path_with(tmp_path / "bin"), RUSTDESK_STANDIN_DIR=str(standin_home))
    agent = await start_agent("run", "--state-dir", str(state), "--hub", e2e_hub.url, "--token", e2e_hub.base_token,
                              env=env)  # fmt: skip
    device = await e2e_hub.connected_device()
    row = await eventually(lambda: _reported(e2e_hub), within=60, message="the RustDesk ID reported")
    assert row.rustdesk_id == STANDIN_ID and row.error is None, (row.error, agent.log()[-3000:])

    # What the client was told: the server config string and the hub's password (kept only encrypted).
    assert json.loads((standin_home / "config.json").read_text()) == {
        "key": KEY, "host": ID_SERVER, "api": "", "relay": RELAY
    }  # fmt: skip
    password = (standin_home / "password").read_text()
    assert len(password) == 16 and password not in row.password_encrypted
    assert json.loads((state / "rustdesk.json").read_text()) == {"done": True}  # the agent forgot the password

    # Only admins reveal it, through the gate; the audit says who and when, never the password.
    refused = await e2e_hub.client(e2e_hub.tenancy.operator).post(
        "/api/v1/tools/rmm-reveal-rustdesk-password/invoke", json={"args": {"device": device.id}}
    )
    assert refused.status_code == 403 and "needs admin" in refused.json()["message"], refused.text
    admin = e2e_hub.client(e2e_hub.tenancy.admin)
    await set_policy(admin, "rmm-reveal-rustdesk-password", "auto")
    revealed = await invoke(admin, "rmm-reveal-rustdesk-password", {"device": device.id})
    assert revealed["status"] == "done", revealed
    assert revealed["result"]["password"] == password
    assert revealed["result"]["link"] == f"rustdesk://{STANDIN_ID}"
    async with e2e_hub.db.sessionmaker() as session:
        entries = list((await session.execute(select(AuditEntry))).scalars())
    assert any(e.outcome == "rustdesk.password_revealed" for e in entries)
    assert not any(password in json.dumps(e.detail) for e in entries), "the password leaked into the audit log"

    # The device header's panel (viewer: ID and link, no reveal button; admin: the button reveals).
    viewer = e2e_hub.client()
    await ui_login(viewer, e2e_hub.tenancy.viewer.username, e2e_hub.tenancy.viewer.password)
    page = await viewer.get(f"/rmm/devices/{device.id}")
    assert f'hx-get="/rmm/devices/{device.id}/rustdesk"' in page.text
    panel = await viewer.get(f"/rmm/devices/{device.id}/rustdesk")
    assert f'data-testid="rustdesk-id">{STANDIN_ID}<' in panel.text
    assert f'href="rustdesk://{STANDIN_ID}"' in panel.text and "rustdesk-reveal" not in panel.text
    ui_admin = e2e_hub.client()
    csrf = await ui_login(ui_admin, e2e_hub.tenancy.admin.username, e2e_hub.tenancy.admin.password)
    shown = await ui_admin.post(f"/rmm/devices/{device.id}/rustdesk/reveal",
                                headers={"hx-request": "true", "x-csrf-token": csrf})  # fmt: skip
    assert shown.status_code == 200 and f'data-testid="rustdesk-password">{password}<' in shown.text, shown.text

    # After a restart the agent reports the ID again (and sets nothing again).
    await agent.stop()
    async with e2e_hub.db.transaction() as session:
        stored = await session.get(DeviceRustDesk, device.id)
        assert stored is not None
        stored.rustdesk_id = None
    (standin_home / "calls.log").unlink()
    await start_agent("run", "--state-dir", str(state), env=env)
    await eventually(lambda: _reported(e2e_hub), within=60, message="the ID reported again after a restart")
    assert (standin_home / "calls.log").read_text().split() == ["--get-id"]


async def test_missing_client_is_installed_from_the_hub(
    e2e_hub: E2EHub, live_server: LiveServer, start_agent: StartAgent, tmp_path: Path
) -> None:
    """No client anywhere: the agent downloads the hub-staged AppImage and runs the Linux steps."""
    await _opt_in_base(e2e_hub)
    plane: DevicePlane = live_server.app.state.hub.components.get(DevicePlane)
    dist = tmp_path / "dist"
    _standin(dist / "rustdesk" / "linux-appimage" / "RustDesk-x86_64.AppImage")
    original = plane.settings
    plane.settings = original.model_copy(update={"agent_dist_dir": dist})
    try:
        # A PATH with no package manager (so this machine takes the AppImage) and no rustdesk yet.
        tools = tmp_path / "tools"
        tools.mkdir()
        for tool in ("bash", "install", "mkdir", "env", "cat", "uname", "id"):
            found = shutil.which(tool)
            assert found is not None
            (tools / tool).symlink_to(found)
        bin_dir = tmp_path / "bin"
        env = agent_env(PATH=f"{bin_dir}{os.pathsep}{tools}", RUSTDESK_STANDIN_DIR=str(tmp_path / "rustdesk-home"),
                        RMMHUB_AGENT_RUSTDESK_BIN_DIR=str(bin_dir))  # fmt: skip
        agent = await start_agent("run", "--state-dir", str(tmp_path / "state"), "--hub", e2e_hub.url, "--token",
                                  e2e_hub.base_token, env=env)  # fmt: skip
        await e2e_hub.connected_device()
        row = await eventually(lambda: _reported(e2e_hub), within=90, message="the RustDesk ID reported")
        assert row.rustdesk_id == STANDIN_ID, (row.error, agent.log()[-3000:])
        assert os.access(bin_dir / "rustdesk", os.X_OK)
        assert (tmp_path / "rustdesk-home" / "password").is_file()
        # The staged file is served with its digest; an unstaged kind is a plain 404.
        missing = await e2e_hub.client().get("/agent/v1/download/rustdesk/windows")
        assert missing.status_code == 404 and "has not staged" in missing.text
        served = await e2e_hub.client().get("/agent/v1/download/rustdesk/linux-appimage")
        assert served.status_code == 200 and served.content.startswith(b"#!")
    finally:
        plane.settings = original
