"""The virtualenv agent's wheel swap, on a site-packages folder of the test's: what is kept, what is
refused (foreign files, wrong version, a requirement this environment lacks), and the restore; and the
update offer the hub builds (single-file manifest carrying the wheel of the same version)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from agent.protocol import UpdateManifest
from agent.update import PendingUpdate, UpdateRefused
from agent.update_venv import restore, swap_wheel
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
    return UpdateManifest(version=version, platform="python", path="/agent/v1/download/releases/python/x", sha256=SHA,
                          size=1, signature="s", confirm_within_seconds=30)  # fmt: skip


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
