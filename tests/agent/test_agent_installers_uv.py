"""The uv-based Windows and macOS installers and the single-file Linux route, checked statically.

Golden files pin the rendered scripts (with the hub's uv list and a CPython mirror); shellcheck
lints the shell ones; PowerShell is parsed by pwsh's AST parser when pwsh is installed, and always
by the tree-sitter PowerShell grammar and a strict tokenizer (tests/agent/powershell_check.py: pwsh
is not installable on this machine).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from agent import __version__
from agent.installers.render import InstallerError, render_installer
from tests.agent.powershell_check import check_powershell, tree_sitter_errors

GOLDEN = Path(__file__).parent / "golden"
HUB = "https://hub.example.com"
TOKEN = "tok_0123456789abcdef"
UV = {"windows-x86_64": "a" * 64, "windows-aarch64": "b" * 64, "macos-x86_64": "c" * 64, "macos-aarch64": "d" * 64}
BINARIES = {"x86_64": "e" * 64}
MIRROR = "https://mirror.example.com/python-build-standalone"


def _render(os_name: str) -> str:
    return render_installer(
        os_name,  # type: ignore[arg-type]
        hub_url=HUB,
        token=TOKEN,
        uv=UV,
        binaries=BINARIES,
        python_mirror=MIRROR,
    ).replace(__version__, "@VERSION@")


@pytest.mark.parametrize("os_name", ["windows", "macos", "linux"])
def test_uv_installer_golden(os_name: str) -> None:
    rendered = _render(os_name)
    golden = GOLDEN / f"{os_name}-uv.{'ps1' if os_name == 'windows' else 'sh'}"
    if os.environ.get("RMMHUB_UPDATE_GOLDEN"):
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8"), "re-run with RMMHUB_UPDATE_GOLDEN=1 after reviewing the diff"


def test_windows_installer_needs_no_python_and_no_winget() -> None:
    script = _render("windows")
    assert "winget" not in script.replace("no winget", "") and "Find-Python" not in script
    assert f"$UvList = '{' '.join(f'{k}:{v}' for k, v in sorted(UV.items()))}'" in script
    assert f"$PythonMirror = '{MIRROR}'" in script
    for step in (
        "uv python install",
        "--managed-python",
        "uv pip install",
        "Get-FileHash -Algorithm SHA256",
        "$HubUrl/agent/v1/download/uv/$platform",
        "UV_PYTHON_INSTALL_MIRROR",
        "UV_PYTHON_INSTALL_DIR",
    ):
        assert step.replace("uv ", "$uv ", 1) in script or step in script, step


def test_macos_installer_provisions_cpython_with_uv() -> None:
    script = _render("macos")
    assert f"PYTHON_MIRROR={MIRROR}\n" in script
    for step in (
        '"$uv" python install',
        "--managed-python",
        '"$uv" pip install',
        "shasum -a 256",
        '"$HUB_URL/agent/v1/download/uv/$2"',
        "UV_PYTHON_INSTALL_MIRROR",
    ):
        assert step in script, step


def test_linux_installer_carries_the_binary_digests() -> None:
    script = _render("linux")
    assert f"BINARIES=x86_64:{'e' * 64}\n" in script
    assert '"$HUB_URL/agent/v1/download/linux-$arch/rmmhub-agent"' in script


@pytest.mark.parametrize(
    "bad",
    [{"windows-x86_64": "zz"}, {"windows x86_64": "a" * 64}, {"a;rm -rf /": "a" * 64}],
)
def test_render_refuses_bad_digests(bad: dict[str, str]) -> None:
    with pytest.raises(InstallerError):
        render_installer("windows", hub_url=HUB, token=TOKEN, uv=bad)
    with pytest.raises(InstallerError):
        render_installer("linux", hub_url=HUB, token=TOKEN, binaries=bad)


def test_render_refuses_a_bad_mirror() -> None:
    with pytest.raises(InstallerError):
        render_installer("macos", hub_url=HUB, token=TOKEN, python_mirror="https://m.example/$(reboot)\n")


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (Debian: shellcheck)")
@pytest.mark.parametrize("os_name", ["macos", "linux"])
def test_uv_shell_installers_pass_shellcheck(os_name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{os_name}.sh"
    path.write_text(_render(os_name))
    done = subprocess.run(["shellcheck", "--severity=style", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("os_name", ["windows"])
def test_windows_installer_tokenizes_and_parses(os_name: str) -> None:
    script = _render(os_name)
    check_powershell(script)
    assert tree_sitter_errors(script) == []


@pytest.mark.skipif(shutil.which("pwsh") is None, reason="pwsh (PowerShell 7) is not installed here")
def test_windows_installer_parses_with_the_powershell_ast(tmp_path: Path) -> None:
    path = tmp_path / "install.ps1"
    path.write_text(_render("windows"), encoding="utf-8")
    command = (
        "$e = $null; [System.Management.Automation.Language.Parser]::ParseFile("
        f"'{path}', [ref]$null, [ref]$e) | Out-Null; if ($e.Count) {{ $e | Out-String; exit 1 }}"
    )
    done = subprocess.run(["pwsh", "-NoProfile", "-Command", command], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
