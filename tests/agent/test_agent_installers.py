"""Installer templates: rendering, shellcheck, the launchd plist, the PowerShell golden file, and the
Linux installer run for real into a temporary prefix against a fake hub serving a freshly built wheel.
"""

from __future__ import annotations

import asyncio
import os
import plistlib
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest
from agent_fakes import REPO, FakeHub

from agent import __version__
from agent import protocol as p
from agent.installers.render import InstallerError, install_command, render_installer, render_launchd_plist
from tests.waiting import eventually

GOLDEN = Path(__file__).parent / "golden"
HUB = "https://hub.example.com"
TOKEN = "tok_0123456789abcdef"


def test_install_commands_match_the_seed() -> None:
    base = "https://hub.example.com/install/tok123"
    assert install_command("linux", base) == f"curl -fsSL {base}/linux | sudo bash"
    assert install_command("macos", base) == f"curl -fsSL {base}/macos | sudo bash"
    assert install_command("windows", base) == f"iwr -UseBasicParsing {base}/windows | iex"
    assert install_command("linux", base, quick_support=True) == f"curl -fsSL {base}/linux | bash"
    assert (
        install_command("windows", "https://h.example/a&b")
        == "iwr -UseBasicParsing 'https://h.example/a&b/windows' | iex"
    )
    with pytest.raises(InstallerError):
        install_command("linux", "ftp://hub")


def test_render_substitutes_every_placeholder_quoted() -> None:
    for os_name in ("linux", "macos", "windows"):
        script = render_installer(os_name, hub_url=HUB + "/", token=TOKEN)  # type: ignore[arg-type]
        assert "@@" not in script
    linux = render_installer("linux", hub_url=HUB, token=TOKEN, quick_support=True)
    assert f"HUB_URL={HUB}\n" in linux and f"INSTALLER_TOKEN={TOKEN}\n" in linux and "QUICK_SUPPORT=1\n" in linux
    assert f"AGENT_VERSION={__version__}\n" in linux
    windows = render_installer("windows", hub_url=HUB, token=TOKEN)
    assert f"$InstallerToken = '{TOKEN}'" in windows and "$QuickSupport = $false" in windows


@pytest.mark.parametrize(
    ("hub_url", "token"),
    [
        (HUB, "tok'; rm -rf / #"),
        (HUB, "short"),
        (HUB, "tok$(reboot)xxxxx"),
        ("https://hub.example.com/$(reboot)?x=1", TOKEN),
        ("javascript:alert(1)", TOKEN),
        ("https://hub.example.com/\nrm -rf /", TOKEN),
    ],
)
def test_render_refuses_injection(hub_url: str, token: str) -> None:
    with pytest.raises(InstallerError):
        render_installer("linux", hub_url=hub_url, token=token)


def test_url_with_shell_characters_is_quoted() -> None:
    script = render_installer("linux", hub_url="https://hub.example.com/a$b", token=TOKEN)
    assert "HUB_URL='https://hub.example.com/a$b'\n" in script
    windows = render_installer("windows", hub_url="https://hub.example.com/it's", token=TOKEN)
    assert "$HubUrl = 'https://hub.example.com/it''s'" in windows


def _shell_scripts(tmp_path: Path) -> list[Path]:
    paths = []
    for os_name in ("linux", "macos"):
        for quick in (False, True):
            path = tmp_path / f"{os_name}-{int(quick)}.sh"
            path.write_text(render_installer(os_name, hub_url=HUB, token=TOKEN, quick_support=quick))  # type: ignore[arg-type]
            paths.append(path)
    for name in ("uninstall_linux.sh", "uninstall_macos.sh"):
        path = tmp_path / name
        path.write_bytes((resources.files("agent.installers") / name).read_bytes())
        paths.append(path)
    return paths


@pytest.mark.skipif(
    shutil.which("shellcheck") is None, reason="shellcheck is not installed (Debian package: shellcheck)"
)
def test_shell_scripts_pass_shellcheck(tmp_path: Path) -> None:
    for path in _shell_scripts(tmp_path):
        completed = subprocess.run(
            ["shellcheck", "--severity=style", str(path)], capture_output=True, text=True, check=False
        )
        assert completed.returncode == 0, f"{path.name}:\n{completed.stdout}"


def test_shell_scripts_parse(tmp_path: Path) -> None:
    for path in _shell_scripts(tmp_path):
        subprocess.run(["bash", "-n", str(path)], check=True)


def test_launchd_plist_is_valid() -> None:
    plist = plistlib.loads(render_launchd_plist("/usr/local/rmmhub-agent").encode())
    assert plist["Label"] == "com.rmmhub.agent"
    assert plist["ProgramArguments"] == [
        "/usr/local/rmmhub-agent/venv/bin/python",
        "-m",
        "agent",
        "run",
        "--state-dir",
        "/usr/local/rmmhub-agent/state",
    ]
    assert plist["RunAtLoad"] is True and plist["KeepAlive"] == {"SuccessfulExit": False}
    with pytest.raises(InstallerError):
        render_launchd_plist("/tmp/a&b")
    # The plist embedded in macos.sh is the same document.
    script = render_installer("macos", hub_url=HUB, token=TOKEN)
    embedded = re.search(r"<<'PLIST'\n(.*?)\nPLIST\n", script, re.DOTALL)
    assert embedded is not None
    assert plistlib.loads(embedded.group(1).replace("__PREFIX__", "/opt/x").encode())["WorkingDirectory"] == "/opt/x"


@pytest.mark.parametrize("quick", [False, True])
def test_windows_installer_golden(quick: bool) -> None:
    rendered = render_installer("windows", hub_url=HUB, token=TOKEN, quick_support=quick).replace(
        __version__, "@VERSION@"
    )
    golden = GOLDEN / f"windows{'-quick-support' if quick else ''}.ps1"
    if os.environ.get("RMMHUB_UPDATE_GOLDEN"):
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8"), "re-run with RMMHUB_UPDATE_GOLDEN=1 after reviewing the diff"


# --- the Linux installer for real ------------------------------------------------------------


@pytest.fixture(scope="module")
def agent_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip wheel ./agent`` from a copy of the source (the build must not litter the work tree)."""
    work = tmp_path_factory.mktemp("wheel")
    shutil.copytree(REPO / "agent", work / "agent", ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(work / "dist"),
            str(work / "agent"),
        ],
        check=True,
    )
    (wheel,) = (work / "dist").glob("rmmhub_agent-*.whl")
    return wheel


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux installer runs on Linux")
async def test_linux_installer_installs_enrolls_and_uninstalls(
    fake_hub: FakeHub, agent_wheel: Path, tmp_path: Path
) -> None:
    fake_hub.state.wheel = agent_wheel
    prefix, systemd_dir = tmp_path / "opt" / "rmmhub-agent", tmp_path / "systemd"
    script = tmp_path / "linux.sh"
    script.write_text(render_installer("linux", hub_url=fake_hub.url, token=fake_hub.state.token))
    env = {
        **os.environ,
        "RMMHUB_AGENT_PREFIX": str(prefix),
        "RMMHUB_AGENT_SYSTEMD_DIR": str(systemd_dir),
        "RMMHUB_AGENT_PYTHON": sys.executable,
        "RMMHUB_AGENT_NO_START": "1",
        # No network in tests: the wheel comes from the fake hub, its dependencies from the test venv.
        "RMMHUB_AGENT_PIP_ARGS": "--no-deps --no-index",
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
    }
    proc = await asyncio.create_subprocess_exec(
        "bash", str(script), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output = (await asyncio.wait_for(proc.communicate(), 300))[0].decode()
    assert proc.returncode == 0, output

    python = prefix / "venv" / "bin" / "python"
    assert python.exists()
    assert list((prefix / "venv").glob("lib/python3*/site-packages/agent/protocol.py"))
    assert stat.S_IMODE((prefix / "state" / "credential").stat().st_mode) == 0o600
    assert fake_hub.state.enrollments[0].installer_token == fake_hub.state.token
    unit = (systemd_dir / "rmmhub-agent.service").read_text()
    assert f"ExecStart={python} -m agent run --state-dir {prefix}/state" in unit
    assert "Restart=on-failure" in unit and "WantedBy=multi-user.target" in unit
    _verify_unit(systemd_dir / "rmmhub-agent.service")

    # Re-running the installer keeps the enrollment (idempotent).
    proc = await asyncio.create_subprocess_exec("bash", str(script), env=env, stdout=asyncio.subprocess.DEVNULL)
    assert await proc.wait() == 0 and len(fake_hub.state.enrollments) == 1

    # The installed agent runs as the unit would start it, and uninstalls everything it installed.
    run_env = {**env, "RMMHUB_AGENT_CHECKIN_INTERVAL": "1"}
    agent = await asyncio.create_subprocess_exec(
        str(python),
        "-m",
        "agent",
        "run",
        "--state-dir",
        str(prefix / "state"),
        cwd=prefix,
        env=run_env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await eventually(lambda: "dev-1" in fake_hub.sockets, message="the installed agent's push channel")
        command = p.CommandSpec(id="u1", kind=p.CommandKind.UNINSTALL_AGENT, issued_at=datetime.now(UTC))
        await fake_hub.push("dev-1", command)
        assert await asyncio.wait_for(agent.wait(), 30) == 0
    finally:
        if agent.returncode is None:
            agent.kill()
            await agent.wait()
    assert fake_hub.state.deregistered == [("dev-1", p.DeregisterReason.UNINSTALLED)]
    assert not prefix.exists()
    assert not (systemd_dir / "rmmhub-agent.service").exists()


def _verify_unit(unit: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the unit was written but not verified")
    completed = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
