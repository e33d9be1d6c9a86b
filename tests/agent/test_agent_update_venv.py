"""The virtualenv agent's wheel swap, on a site-packages folder of the test's: what is kept, what is
refused (foreign files, wrong version, a requirement this environment lacks), and the restore; and the
update offer the hub builds (single-file manifest carrying the wheel of the same version)."""

from __future__ import annotations

import io
import json
import platform
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from agent.protocol import UpdateManifest
from agent.update import PendingUpdate, UpdateRefused
from agent.update_venv import UvLayout, restore, swap_wheel
from native_rmm.settings import RmmSettings
from native_rmm.updates.releases import WHEEL_PLATFORM, publish
from native_rmm.updates.signing import UpdateSigner
from native_rmm.updates.tools import current_offer

SHA = "0" * 64


def _wheel(version: str, *, extra: dict[str, str] | None = None, requires: tuple[str, ...] = ("httpx>=0.27",)) -> bytes:
    buf = io.BytesIO()
    info = f"rmmhub_agent-{version}.dist-info"
    with zipfile.ZipFile(buf, "w") as wheel:
        wheel.writestr("agent/__init__.py", f'__version__ = "{version}"\n')
        wheel.writestr("agent/main.py", "# new\n")
        meta = "Metadata-Version: 2.1\nName: rmmhub-agent\nVersion: " + version + "\n"
        meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
        wheel.writestr(f"{info}/METADATA", meta)
        wheel.writestr(f"{info}/RECORD", "")
        for name, body in (extra or {}).items():
            wheel.writestr(name, body)
    return buf.getvalue()


def _manifest(version: str) -> UpdateManifest:
    return UpdateManifest(
        version=version,
        platform="python",
        path="/agent/v1/download/releases/python/x",
        sha256=SHA,
        size=1,
        signature="s",
        confirm_within_seconds=30,
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site-packages"
    (site / "agent").mkdir(parents=True)
    (site / "agent" / "__init__.py").write_text('__version__ = "0.1.0"\n')
    (site / "agent" / "old_only.py").write_text("# gone in N+1\n")
    (site / "rmmhub_agent-0.1.0.dist-info").mkdir()
    (site / "rmmhub_agent-0.1.0.dist-info" / "METADATA").write_text("Version: 0.1.0\n")
    (site / "httpx").mkdir()  # a neighbour that must not be touched
    return site


def test_swap_installs_the_wheel_and_keeps_the_running_version(site: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    swap_wheel(site, _wheel("0.1.1"), _manifest("0.1.1"), state)
    assert (site / "agent" / "__init__.py").read_text() == '__version__ = "0.1.1"\n'
    assert not (site / "agent" / "old_only.py").exists()
    assert sorted(p.name for p in site.glob("rmmhub_agent-*")) == ["rmmhub_agent-0.1.1.dist-info"]
    assert (site / "httpx").is_dir() and not list(site.glob(".*"))
    pending = PendingUpdate.read(state)
    assert pending is not None and (pending.from_version, pending.to_version, pending.state) == (
        "0.1.0",
        "0.1.1",
        "pending",
    )
    assert (state / "rollback" / "site" / "agent" / "old_only.py").is_file()

    restore(site, state)
    assert (site / "agent" / "__init__.py").read_text() == '__version__ = "0.1.0"\n'
    assert (site / "agent" / "old_only.py").is_file()
    assert sorted(p.name for p in site.glob("rmmhub_agent-*")) == ["rmmhub_agent-0.1.0.dist-info"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not a zip", "not a wheel"),
        (_wheel("0.1.1", extra={"evil/__init__.py": ""}), "outside agent/"),
        (_wheel("0.1.9"), "outside agent/ and rmmhub_agent-0.1.1.dist-info"),
        (_wheel("0.1.1", requires=("surely-not-installed-pkg>=1",)), "needs surely-not-installed-pkg"),
    ],
)
def test_swap_refuses(site: Path, tmp_path: Path, data: bytes, reason: str) -> None:
    state = tmp_path / "state"
    state.mkdir()
    with pytest.raises(UpdateRefused, match=reason):
        swap_wheel(site, data, _manifest("0.1.1"), state)
    assert (site / "agent" / "__init__.py").read_text() == '__version__ = "0.1.0"\n'
    assert not (state / "update.json").exists()


def test_offer_carries_the_wheel_of_the_same_version(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    assert current_offer(dist) is None
    wheel = tmp_path / "w.whl"
    wheel.write_bytes(_wheel("0.2.0"))
    publish(dist, wheel, "0.2.0", WHEEL_PLATFORM)
    offer = current_offer(dist)
    assert offer is not None and offer.version == "0.2.0" and offer.binary is None
    manifest = offer.manifest(UpdateSigner("s" * 40), 60)
    assert manifest.platform == "python" and manifest.path.endswith("/python/0.2.0/rmmhub_agent.whl")
    binary = tmp_path / "agent-bin"
    binary.write_bytes(b"\x7fELF...")
    publish(dist, binary, "0.2.0")
    both = current_offer(dist)
    assert both is not None and both.binary is not None and both.wheel is not None
    combined = both.manifest(UpdateSigner("s" * 40), 60)
    assert combined.platform.startswith("linux-") and combined.wheel is not None
    assert json.loads(combined.model_dump_json())["wheel"]["platform"] == "python"
    # An older agent reads the same body as before (the wheel is an extra field it ignores).
    assert UpdateManifest.model_validate_json(combined.model_dump_json()).version == "0.2.0"


def _uv_prefix(tmp_path: Path) -> Path:
    """A uv layout (PREFIX/bin/uv from the hub's staged uv, PREFIX/venv) around a fresh virtualenv."""
    staged = sorted((RmmSettings().agent_dist_dir / "uv").glob(f"*/linux-{platform.machine()}/uv"))
    if not staged:
        pytest.skip("no uv staged for this machine (make agent-dist)")
    prefix = tmp_path / "rmmhub-agent"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "uv").symlink_to(staged[-1].resolve())
    subprocess.run(
        [str(prefix / "bin" / "uv"), "venv", "--quiet", "--python", sys.executable, str(prefix / "venv")], check=True
    )
    return prefix


def test_uv_layout_adds_requirements_or_refuses_with_uvs_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert UvLayout.around(tmp_path / "venv") is None  # a virtualenv made without the hub's uv
    prefix = _uv_prefix(tmp_path)
    layout = UvLayout.around(prefix / "venv")
    assert layout is not None and layout.uv == prefix / "bin" / "uv"
    python = str(prefix / "venv" / "bin" / "python")
    links = tmp_path / "links"
    links.mkdir()
    source = tmp_path / "tinydep"
    (source / "tinydep").mkdir(parents=True)
    (source / "tinydep" / "__init__.py").write_text("")
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=69"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "tinydep"\nversion = "2.0"\n'
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(links),
            str(source),
        ],
        check=True,
    )
    monkeypatch.setenv("UV_NO_INDEX", "1")
    monkeypatch.setenv("UV_FIND_LINKS", str(links))
    layout.install(["tinydep>=2"], python)
    listed = subprocess.run(
        [python, "-c", "import tinydep, importlib.metadata as m; print(m.version('tinydep'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.stdout.strip() == "2.0" and not (prefix / "cache").exists()
    with pytest.raises(UpdateRefused, match=r"uv could not add surely-not-there>=9 \(exit \d+\)"):
        layout.install(["surely-not-there>=9"], python)
