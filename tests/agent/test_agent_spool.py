"""Result spool, command ledger and state files: durable, atomic, private."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent import protocol as p
from agent.config import AgentEnv, AgentState, ConfigError, StateStore, write_atomic
from agent.ledger import CommandLedger
from agent.spool import ResultSpool

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _result(cid: str, out: str = "ok") -> p.CommandResult:
    return p.CommandResult(command_id=cid, status=p.CommandStatus.SUCCEEDED, exit_code=0, stdout=out, finished_at=NOW)


def test_spool_survives_a_restart_and_keeps_order(tmp_path: Path) -> None:
    spool = ResultSpool(tmp_path / "spool")
    spool.put(_result("a:1"))
    spool.put(_result("b"))
    reopened = ResultSpool(tmp_path / "spool")  # a new agent process
    assert [r.command_id for r in reopened.pending()] == ["a:1", "b"]
    assert "a:1" in reopened and len(reopened) == 2
    reopened.remove("a:1")
    assert [r.command_id for r in ResultSpool(tmp_path / "spool").pending()] == ["b"]


def test_spool_files_are_private_and_writes_leave_no_temporaries(tmp_path: Path) -> None:
    spool = ResultSpool(tmp_path / "spool")
    spool.put(_result("x"))
    spool.put(_result("x", "replaced"))
    files = list((tmp_path / "spool").iterdir())
    assert len(files) == 1 and files[0].suffix == ".json"
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert spool.pending()[0].stdout == "replaced"


def test_a_crash_mid_write_leaves_the_old_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "file"
    write_atomic(target, b"old")

    def crash(src: object, dst: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr("agent.config.os.replace", crash)
    with pytest.raises(OSError, match="power cut"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [f.name for f in tmp_path.iterdir()] == ["file"]


def test_spool_sets_corrupt_and_rejected_files_aside(tmp_path: Path) -> None:
    spool = ResultSpool(tmp_path)
    spool.put(_result("good"))
    spool.put(_result("bad"))
    spool.reject("bad")
    (tmp_path / "torn.json").write_text("{not json")
    assert [r.command_id for r in spool.pending()] == ["good"]
    assert sorted(f.suffix for f in tmp_path.iterdir()) == [".corrupt", ".json", ".rejected"]


def test_ledger_runs_each_command_once_across_restarts(tmp_path: Path) -> None:
    ledger = CommandLedger(tmp_path / "ledger.json")
    assert ledger.start("c1")
    assert not ledger.start("c1")
    assert ledger.start("c2")
    ledger.finish("c2")
    reopened = CommandLedger(tmp_path / "ledger.json")
    assert not reopened.start("c1") and not reopened.start("c2")
    assert reopened.unfinished() == ["c1"]


def test_corrupt_ledger_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "ledger.json").write_text("[]")
    with pytest.raises(ConfigError, match="delete it"):
        CommandLedger(tmp_path / "ledger.json")


def test_state_store_writes_credential_0600(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    assert not store.is_enrolled()
    with pytest.raises(ConfigError, match="not enrolled"):
        store.load()
    state = AgentState(hub_url="http://hub", device_id="d", websocket_path=p.WEBSOCKET_PATH, enrolled_at=NOW)
    store.save(state, "s3cret")
    assert stat.S_IMODE((tmp_path / "state" / "credential").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    assert store.load() == (state, "s3cret")


def test_env_overrides() -> None:
    env = AgentEnv.from_environ({"RMMHUB_AGENT_CHECKIN_INTERVAL": "2.5", "RMMHUB_AGENT_JITTER": "0"})
    assert (env.checkin_interval, env.jitter, env.reconnect_max) == (2.5, 0.0, 60.0)
    assert AgentEnv.from_environ({}).checkin_interval is None
    with pytest.raises(ConfigError, match="not a number"):
        AgentEnv.from_environ({"RMMHUB_AGENT_CHECKIN_INTERVAL": "soon"})
