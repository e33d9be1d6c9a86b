"""After a patch install the agent reports pending updates as they are after it, never a list collected during it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from agent_fakes import offline_runtime

from agent import protocol as p
from agent import runtime as agent_runtime
from tests.waiting import eventually


async def test_a_collection_that_ran_during_the_install_is_not_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = threading.Event()  # the package manager's state: openssl installed or not
    release = threading.Event()

    def collect() -> list[p.Patch]:
        before = installed.is_set()
        release.wait(10)  # a slow apt: it read the package state, then takes its time to answer
        return [p.Patch(id="vim")] if before else [p.Patch(id="openssl"), p.Patch(id="vim")]

    monkeypatch.setattr(agent_runtime, "collect_patches", collect)
    monkeypatch.setattr(agent_runtime, "install_patches_command", lambda ids: (p.Shell.SH, "true"))
    runtime = offline_runtime(tmp_path)
    try:
        assert runtime._patch_list() is None  # a check-in during the install starts a collection
        spec = p.CommandSpec(
            id="c-1", kind=p.CommandKind.INSTALL_PATCHES, patch_ids=["openssl"], issued_at=datetime.now(UTC)
        )
        await runtime._execute(spec)
        installed.set()
        release.set()  # the collection begun before the install ended answers now, with openssl pending
        reported = await eventually(runtime._patch_list, within=10, message="a pending-updates list")
        assert [patch.id for patch in reported] == ["vim"]
        assert runtime.spool.pending()[0].status is p.CommandStatus.SUCCEEDED
    finally:
        release.set()
        await runtime.client.aclose()
