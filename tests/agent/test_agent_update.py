"""Self-update checks on the agent side: SHA-256 and signature verification against the hub's key, and
the rollback watchdog run against real processes (the end-to-end N -> N+1 runs in tests/e2e)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.protocol import UpdateManifest, update_signed_message
from agent.update import PendingUpdate, UpdateRefused, confirm, swap, verify, watchdog
from native_rmm.updates.signing import UpdateSigner

DATA = b"\x7fELF pretend this is the next agent" * 100


def _manifest(signer: UpdateSigner, data: bytes = DATA, version: str = "0.1.1") -> UpdateManifest:
    sha = hashlib.sha256(data).hexdigest()
    return UpdateManifest(
        version=version,
        platform="linux-x86_64",
        sha256=sha,
        size=len(data),
        path=f"/agent/v1/download/releases/linux-x86_64/{version}/rmmhub-agent",
        signature=signer.sign(update_signed_message(version, "linux-x86_64", sha, len(data))),
    )


def test_a_release_signed_by_the_pinned_key_verifies() -> None:
    signer = UpdateSigner("hub-secret-one")
    verify(_manifest(signer), DATA, signer.public_key)
    assert UpdateSigner("hub-secret-one").public_key == signer.public_key  # derived, nothing stored


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("tampered", "SHA-256 mismatch"),
        ("size", "bytes, the hub published"),
        ("other_hub", "not signed with this hub's update key"),
        ("version_swapped", "not signed with this hub's update key"),
        ("no_key", "no hub update key was pinned"),
        ("garbage_signature", "not signed with this hub's update key"),
    ],
)
def test_verification_refuses(change: str, reason: str) -> None:
    signer, other = UpdateSigner("hub-secret-one"), UpdateSigner("another-hub")
    manifest, data, key = _manifest(signer), DATA, signer.public_key
    if change == "tampered":
        data = bytes([DATA[0] ^ 1]) + DATA[1:]
    elif change == "size":
        data = DATA + b"x"
    elif change == "other_hub":
        manifest = _manifest(other)
    elif change == "version_swapped":  # a valid signature for 0.1.1 re-used to claim 9.9.9
        manifest = manifest.model_copy(update={"version": "9.9.9"})
    elif change == "no_key":
        key = ""
    else:
        manifest = manifest.model_copy(update={"signature": "not base64!"})
    with pytest.raises(UpdateRefused, match=reason):
        verify(manifest, data, key)


def test_swap_keeps_the_previous_executable_and_records_the_update(tmp_path: Path) -> None:
    exe, state = tmp_path / "rmmhub-agent", tmp_path / "state"
    state.mkdir()
    exe.write_bytes(b"version N")
    swap(exe, DATA, _manifest(UpdateSigner("k")), state)
    assert exe.read_bytes() == DATA and (tmp_path / "rmmhub-agent.prev").read_bytes() == b"version N"
    pending = PendingUpdate.read(state)
    assert pending is not None and pending.to_version == "0.1.1" and pending.state == "pending"
    assert not confirm(state)  # this process is not 0.1.1: only the new version confirms


def _fake_agent(path: Path, marker: Path) -> None:
    path.write_text(f'#!/bin/sh\necho "$@" > {marker}\n')
    path.chmod(0o755)


def test_watchdog_rolls_back_a_silent_version_and_restarts_the_previous(tmp_path: Path) -> None:
    state, exe, marker = tmp_path / "state", tmp_path / "rmmhub-agent", tmp_path / "restarted"
    state.mkdir()
    exe.write_text("#!/bin/sh\nexec sleep 600\n")  # the new version: never checks in
    _fake_agent(tmp_path / "rmmhub-agent.prev", marker)
    silent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        PendingUpdate("0.1.0", "0.1.1", datetime.now(UTC) + timedelta(seconds=1), "pending").write(state)
        assert watchdog(state, silent.pid, exe, "none", None) == 0
        assert silent.wait(timeout=15) is not None  # the silent process was stopped
    finally:
        silent.kill()
    assert not (tmp_path / "rmmhub-agent.prev").exists() and "echo" in exe.read_text()
    pending = PendingUpdate.read(state)
    assert pending is not None and pending.state == "rolled_back"
    deadline = time.monotonic() + 15
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text().split() == ["run", "--state-dir", str(state)]


def test_watchdog_leaves_a_confirmed_update_alone(tmp_path: Path) -> None:
    state, exe = tmp_path / "state", tmp_path / "rmmhub-agent"
    state.mkdir()
    exe.write_bytes(b"N+1")
    (tmp_path / "rmmhub-agent.prev").write_bytes(b"N")
    PendingUpdate("0.1.0", "0.1.1", datetime.now(UTC) + timedelta(seconds=60), "confirmed").write(state)
    assert watchdog(state, 2**22 + 12345, exe, "none", None) == 0
    assert exe.read_bytes() == b"N+1" and not (tmp_path / "rmmhub-agent.prev").exists()
