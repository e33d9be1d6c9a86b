"""The wire contract: round-trips, rejections and helpers of ``agent.protocol``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from agent import protocol as p

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _metrics() -> p.MetricsSample:
    return p.MetricsSample(
        taken_at=NOW,
        cpu_percent=12.5,
        memory_percent=40.0,
        memory_used_bytes=4 << 30,
        memory_total_bytes=16 << 30,
        disks=[p.DiskUsage(mountpoint="/", used_percent=42.0, used_bytes=100, total_bytes=240)],
        load_1=0.5,
        load_5=0.4,
        load_15=0.3,
        uptime_seconds=3600,
    )


def _command(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": "cmd-1",
        "kind": "shell",
        "shell": "bash",
        "body": "echo hi",
        "issued_at": NOW.isoformat(),
    }
    data.update(overrides)
    return data


def test_enroll_round_trip() -> None:
    request = p.EnrollRequest(
        installer_token="tok",
        hostname="lon-ws-04",
        os_family=p.OsFamily.LINUX,
        os_name="Debian GNU/Linux",
        os_version="12",
        agent_version="0.1.0",
        protocol_version=p.PROTOCOL_VERSION,
        hardware=p.Hardware(cpu_model="Xeon", cpu_cores=4, ram_bytes=1 << 34),
    )
    assert p.EnrollRequest.model_validate_json(request.model_dump_json()) == request
    response = p.EnrollResponse.model_validate(
        {"device_id": "d1", "device_credential": "s3cret", "protocol_version": 1}
    )
    assert response.websocket_path == p.WEBSOCKET_PATH
    assert response.checkin_interval_seconds == p.DEFAULT_CHECKIN_INTERVAL_SECONDS


def test_inbound_rejects_extra_fields_and_wrong_types() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        p.DeregisterRequest.model_validate({"reason": "uninstalled", "sneaky": 1})
    with pytest.raises(ValidationError):
        p.MetricsSample.model_validate({**_metrics().model_dump(), "cpu_percent": "lots"})
    with pytest.raises(ValidationError):
        p.MetricsSample.model_validate({**_metrics().model_dump(), "cpu_percent": 150})
    with pytest.raises(ValidationError, match="timezone"):
        p.MetricsSample.model_validate({**_metrics().model_dump(), "taken_at": "2026-01-01T00:00:00"})
    with pytest.raises(ValidationError):
        p.EnrollRequest.model_validate({"installer_token": "t"})


def test_outbound_ignores_unknown_fields_for_forward_compatibility() -> None:
    spec = p.CommandSpec.model_validate(_command(new_field_from_newer_hub=True))
    assert spec.kind is p.CommandKind.SHELL


def test_command_spec_needs_shell_and_body_for_shell_kinds() -> None:
    with pytest.raises(ValidationError, match="needs a shell and a body"):
        p.CommandSpec.model_validate(_command(shell=None))
    assert p.CommandSpec.model_validate(_command(kind="uninstall_agent", shell=None, body="")).body == ""
    with pytest.raises(ValidationError):
        p.CommandSpec.model_validate(_command(env={"1BAD": "x"}))
    with pytest.raises(ValidationError):
        p.CommandSpec.model_validate(_command(timeout_seconds=0))
    with pytest.raises(ValidationError):
        p.CommandSpec.model_validate(_command(body="x" * (p.MAX_SCRIPT_BYTES + 1)))


def test_command_result_output_cap_is_on_utf8_bytes_of_both_streams() -> None:
    half = p.MAX_OUTPUT_BYTES // 2
    ok = p.CommandResult(
        command_id="c", status=p.CommandStatus.SUCCEEDED, stdout="a" * half, stderr="b" * half, finished_at=NOW
    )
    assert p.CommandResult.model_validate_json(ok.model_dump_json()) == ok
    with pytest.raises(ValidationError, match="cap is"):
        p.CommandResult(command_id="c", status=p.CommandStatus.FAILED, stdout="é" * (half + 1), finished_at=NOW)
    with pytest.raises(ValidationError):
        p.CommandResult.model_validate({"command_id": "c", "status": "running", "finished_at": NOW.isoformat()})


def test_checkin_hashes_must_match_lists() -> None:
    apps = [p.Application(name="curl", version="8.0"), p.Application(name="bash", version="5.2")]
    request = p.CheckinRequest(
        protocol_version=1,
        agent_version="0.1.0",
        metrics=_metrics(),
        applications=apps,
        applications_hash=p.content_hash(reversed(apps)),
    )
    assert p.CheckinRequest.model_validate_json(request.model_dump_json()) == request
    with pytest.raises(ValidationError, match="applications_hash"):
        p.CheckinRequest(
            protocol_version=1, agent_version="0.1.0", metrics=_metrics(), applications=apps, applications_hash="0" * 64
        )


def test_ws_messages_round_trip() -> None:
    result = p.CommandResult(command_id="c", status=p.CommandStatus.TIMED_OUT, finished_at=NOW, truncated=True)
    for message in (
        p.HelloMessage(device_credential="cred", protocol_version=1, agent_version="0.1.0"),
        p.CommandAckMessage(command_id="c"),
        p.CommandStatusMessage(update=p.CommandStatusUpdate(command_id="c", started_at=NOW)),
        p.CommandResultMessage(result=result),
        p.PongMessage(nonce="n"),
    ):
        assert p.parse_agent_message(message.model_dump_json()) == message
    for server_message in (
        p.HelloAckMessage(protocol_version=1, device_id="d"),
        p.CommandMessage(command=p.CommandSpec.model_validate(_command())),
        p.PingMessage(nonce="n"),
        p.ResultAckMessage(command_id="c"),
        p.ErrorMessage(error=p.AgentApiError(code=p.ErrorCode.INVALID_CREDENTIAL, message="revoked")),
    ):
        assert p.parse_server_message(server_message.model_dump_json().encode()) == server_message


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("not json", "invalid agent message"),
        (json.dumps({"type": "teleport"}), "type"),
        (json.dumps({"type": "pong"}), "nonce"),
        (json.dumps({"type": "pong", "nonce": "n", "extra": 1}), "extra"),
        (json.dumps({"type": "hello_ack", "protocol_version": 1, "device_id": "d"}), "type"),
    ],
)
def test_parse_agent_message_rejects(raw: str, match: str) -> None:
    with pytest.raises(p.ProtocolError, match=match):
        p.parse_agent_message(raw)


def test_parse_rejects_oversize_before_parsing() -> None:
    with pytest.raises(p.ProtocolError, match="limit"):
        p.parse_server_message(b" " * (p.MAX_MESSAGE_BYTES + 1))


def test_negotiation() -> None:
    assert p.negotiate_protocol_version(p.PROTOCOL_VERSION) == p.PROTOCOL_VERSION
    assert p.PROTOCOL_VERSION in p.SUPPORTED_PROTOCOL_VERSIONS
    with pytest.raises(p.UnsupportedProtocolVersion) as info:
        p.negotiate_protocol_version(99)
    error = p.unsupported_protocol_error(info.value)
    assert error.code is p.ErrorCode.UNSUPPORTED_PROTOCOL
    assert error.supported_protocol_versions == sorted(p.SUPPORTED_PROTOCOL_VERSIONS)


def test_script_param_env_naming_rule() -> None:
    env = p.script_param_env({"count": 3, "target-dir": "/tmp/x", "PATH": "evil", "force": True, "note": None})
    assert env == {
        "RMM_PARAM_COUNT": "3",
        "count": "3",
        "RMM_PARAM_TARGET_DIR": "/tmp/x",
        "RMM_PARAM_PATH": "evil",
        "RMM_PARAM_FORCE": "true",
        "force": "true",
        "RMM_PARAM_NOTE": "",
        "note": "",
    }
    with pytest.raises(ValueError, match="collides"):
        p.script_param_env({"a-b": 1, "a_b": 2})
    p.CommandSpec.model_validate(_command(env=env))
