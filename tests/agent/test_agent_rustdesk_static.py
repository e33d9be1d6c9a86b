"""RustDesk install steps per OS, checked statically: golden files of the rendered steps, shellcheck and
``bash -n`` for Linux/macOS, the bracket/string tokenizer (and pwsh's AST parser when installed) for
Windows; the ``--config`` string round-trips the way RustDesk decodes it; unit checks of the agent's
choice of package and of refusing a tampered download."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from agent.protocol import RustDeskReport, RustDeskSetup, rustdesk_config_string
from agent.rustdesk import PackageKind, RustDeskError, _download, install_client, install_script, package_kind
from tests.agent.powershell_check import check_powershell, tree_sitter_errors
from tests.conftest import free_port
from tests.waiting import ThreadedServer

GOLDEN = Path(__file__).parent / "golden"
PACKAGE = "/tmp/rmmhub-rustdesk-x/rustdesk pkg"  # a space: the path must come out quoted
KINDS: list[PackageKind] = ["linux-deb", "linux-rpm", "linux-appimage", "macos", "windows"]


def _golden(name: str, rendered: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("RMMHUB_UPDATE_GOLDEN"):
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8"), "re-run with RMMHUB_UPDATE_GOLDEN=1 after reviewing the diff"


@pytest.mark.parametrize("kind", KINDS)
def test_install_steps_golden(kind: PackageKind) -> None:
    ext = "ps1" if kind == "windows" else "sh"
    _golden(f"rustdesk-{kind}.{ext}", install_script(kind, PACKAGE))


@pytest.mark.parametrize("kind", ["linux-deb", "linux-rpm", "linux-appimage", "macos"])
def test_shell_steps_parse_and_pass_shellcheck(kind: PackageKind, tmp_path: Path) -> None:
    path = tmp_path / "steps.sh"
    path.write_text(install_script(kind, PACKAGE))
    subprocess.run(["bash", "-n", str(path)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    done = subprocess.run(["shellcheck", "--severity=style", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout


def test_windows_steps_tokenize_and_quote() -> None:
    script = install_script("windows", "C:\\Temp\\it's\\rustdesk.exe")
    check_powershell(script)
    assert tree_sitter_errors(script) == []
    assert "$Package = 'C:\\Temp\\it''s\\rustdesk.exe'" in script
    assert "--silent-install" in script and "msiexec.exe" in script


@pytest.mark.skipif(shutil.which("pwsh") is None, reason="pwsh (PowerShell 7) is not installed here")
def test_windows_steps_parse_with_the_powershell_ast(tmp_path: Path) -> None:
    path = tmp_path / "steps.ps1"
    path.write_text(install_script("windows", PACKAGE), encoding="utf-8")
    command = (
        "$e = $null; [System.Management.Automation.Language.Parser]::ParseFile("
        f"'{path}', [ref]$null, [ref]$e) | Out-Null; if ($e.Count) {{ $e | Out-String; exit 1 }}"
    )
    done = subprocess.run(["pwsh", "-NoProfile", "-Command", command], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_appimage_steps_install_the_file(tmp_path: Path) -> None:
    """The AppImage steps run for real (into a directory of the test's): the client lands executable."""
    package = tmp_path / "RustDesk.AppImage"
    package.write_text("#!/bin/sh\necho appimage\n")
    script = tmp_path / "steps.sh"
    script.write_text(install_script("linux-appimage", str(package)))
    env = {**os.environ, "RMMHUB_AGENT_RUSTDESK_BIN_DIR": str(tmp_path / "bin")}
    subprocess.run(["bash", str(script)], check=True, env=env)
    installed = tmp_path / "bin" / "rustdesk"
    assert os.access(installed, os.X_OK)
    assert subprocess.run([str(installed)], capture_output=True, text=True, check=True).stdout == "appimage\n"


def test_config_string_decodes_as_rustdesk_does() -> None:
    encoded = rustdesk_config_string("rd.example.test", "rd.example.test:21117", "K3y+/=")
    reversed_back = encoded[::-1]
    decoded = json.loads(base64.urlsafe_b64decode(reversed_back + "=" * (-len(reversed_back) % 4)))
    assert decoded == {"key": "K3y+/=", "host": "rd.example.test", "api": "", "relay": "rd.example.test:21117"}
    # RustDesk's own example (key + host, from its custom_server tests) decodes the same way.
    example = "0nI900VsFHZVBVdIlncwpHS4V0bOZ0dtVldrpVO4JHdCp0YV5WdzUGZzdnYRVjI6ISeltmIsISMuEjLx4SMiojI0N3boJye"
    assert json.loads(base64.urlsafe_b64decode(example[::-1] + "==")) == {
        "host": "1.1.1.1",
        "key": "5Qbwsde3unUcJBtrx9ZkvUmwFNoExHzpryHuPUdqlWM=",
    }


def test_package_kind_follows_the_package_tools() -> None:
    def which_of(*present: str):  # type: ignore[no-untyped-def]
        return lambda name: f"/usr/bin/{name}" if name in present else None

    assert package_kind("linux", which_of("apt-get", "dpkg")) == "linux-deb"
    assert package_kind("linux", which_of("rpm", "dnf")) == "linux-rpm"
    assert package_kind("linux", which_of("rpm", "zypper")) == "linux-rpm"
    assert package_kind("linux", which_of()) == "linux-appimage"
    assert package_kind("windows") == "windows" and package_kind("macos") == "macos"


def test_setup_and_report_are_strict_where_they_come_in() -> None:
    # outbound (hub -> agent): unknown fields ignored, so a newer hub can add some
    setup = RustDeskSetup.model_validate({"password": "pw", "id_server": "h", "future": 1})
    assert setup.password == "pw"
    # inbound (agent -> hub): unknown fields and a malformed ID are refused
    with pytest.raises(ValueError):
        RustDeskReport.model_validate({"id": "12 34"})
    with pytest.raises(ValueError):
        RustDeskReport.model_validate({"id": "123", "extra": True})


def test_tampered_package_is_refused(tmp_path: Path) -> None:
    """A download whose SHA-256 is not the published one is refused before anything is installed."""
    body = b"#!/bin/sh\necho tampered\n"
    app = Starlette(
        routes=[
            Route(
                "/agent/v1/download/rustdesk/linux-appimage",
                lambda request: Response(body, media_type="application/octet-stream"),
            )
        ]
    )
    port = free_port()
    server = ThreadedServer(app, port=port, name="package server")
    server.start()
    try:
        target = tmp_path / "pkg"
        published = hashlib.sha256(b"the genuine package").hexdigest()
        with pytest.raises(RustDeskError, match="refused the RustDesk package"):
            _download("/agent/v1/download/rustdesk/linux-appimage", f"http://127.0.0.1:{port}", published, target)
        _download(
            "/agent/v1/download/rustdesk/linux-appimage",
            f"http://127.0.0.1:{port}",
            hashlib.sha256(body).hexdigest(),
            target,
        )
        assert target.read_bytes() == body
    finally:
        server.stop()


def test_missing_package_is_reported() -> None:
    with pytest.raises(RustDeskError, match="the hub offers no linux-appimage package"):
        install_client(RustDeskSetup(password="pw"), "http://127.0.0.1:9", "linux", kind="linux-appimage")
