"""The agent wire protocol: the one contract between endpoint agents and the hub.

Transport: HTTPS+JSON under ``/agent/v1`` plus one persistent WebSocket per agent.

Endpoints (server side lives in ``native_rmm``; every request carries ``X-RMMHub-Protocol: <int>``,
every authenticated one ``Authorization: Bearer <device credential>``):

==========================================  ==============================  ===========================
``POST /agent/v1/enroll``                   :class:`EnrollRequest`          201 :class:`EnrollResponse`
``POST /agent/v1/checkin``                  :class:`CheckinRequest`         200 :class:`CheckinResponse`
``POST /agent/v1/commands/status``          :class:`CommandStatusUpdate`    204
``POST /agent/v1/commands/result``          :class:`CommandResult`          204 (idempotent per id)
``POST /agent/v1/deregister``               :class:`DeregisterRequest`      204 (credential revoked)
``GET  /agent/v1/ws``                       WebSocket, see below
``GET  /agent/v1/download/agent.whl``       the agent wheel (no auth)
``GET  /agent/v1/download/releases/...``    a signed agent release (no auth; see :class:`UpdateManifest`)
==========================================  ==============================  ===========================

Errors are JSON :class:`AgentApiError` with a 4xx/5xx status: 400 ``malformed_payload``, 401
``invalid_token`` / ``invalid_credential``, 404 ``unknown_command`` (the agent drops that result),
413 ``payload_too_large``, 426 ``unsupported_protocol`` (with the server's supported versions).

Version negotiation: the agent sends the version it speaks (header and ``protocol_version`` in
enroll/check-in/hello bodies). The server speaks exactly that version when it is in its supported
set (see :func:`negotiate_protocol_version`) and echoes it in the ``X-RMMHub-Protocol`` response
header and response bodies; otherwise it answers 426 (or WebSocket close 4426).

WebSocket: the agent sends :class:`HelloMessage` first (within ``HELLO_TIMEOUT_SECONDS``); the
server answers :class:`HelloAckMessage`, then pushes :class:`CommandMessage` the moment a command
is queued and sends :class:`PingMessage` (the agent answers :class:`PongMessage` with the nonce).
The agent acks each pushed command (:class:`CommandAckMessage`), reports
:class:`CommandStatusMessage` / :class:`CommandResultMessage`; the server confirms a stored result
with :class:`ResultAckMessage`. Close codes: see ``WS_CLOSE_*``.

Delivery: the server marks a command ``delivered`` when it pushes it or hands it out at check-in,
and keeps handing it out at check-ins until the agent acknowledges it (``command_ack``, or any
status or result for that id). A command may thus reach the agent more than once; the agent runs
each command id at most once. Results are spooled on the agent until the server confirms them
(HTTP 2xx or ``result_ack``); the server keeps the first result for a command id and acks repeats.

Model strictness: everything the server receives is ``extra="forbid"`` (malformed payloads are
rejected, never half-stored); everything the agent receives ignores unknown fields so a newer hub
can add optional fields without breaking older agents.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

PROTOCOL_VERSION = 1
SUPPORTED_PROTOCOL_VERSIONS: frozenset[int] = frozenset({1})
PROTOCOL_HEADER = "X-RMMHub-Protocol"
API_PREFIX = "/agent/v1"
ENROLL_PATH = f"{API_PREFIX}/enroll"
CHECKIN_PATH = f"{API_PREFIX}/checkin"
COMMAND_STATUS_PATH = f"{API_PREFIX}/commands/status"
COMMAND_RESULT_PATH = f"{API_PREFIX}/commands/result"
DEREGISTER_PATH = f"{API_PREFIX}/deregister"
WEBSOCKET_PATH = f"{API_PREFIX}/ws"
WHEEL_PATH = f"{API_PREFIX}/download/agent.whl"
RUSTDESK_SETUP_PATH = f"{API_PREFIX}/rustdesk/setup"

MAX_OUTPUT_BYTES = 1024 * 1024
"""Cap on ``len(stdout.encode()) + len(stderr.encode())`` of one result (see :class:`CommandResult`)."""
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""Cap on one HTTP body or WebSocket message (JSON escaping can inflate a 1 MiB output)."""
MAX_SCRIPT_BYTES = 1024 * 1024
MAX_ENV_VARS = 128
MAX_ENV_VALUE_CHARS = 32 * 1024
MAX_APPLICATIONS = 20_000
MAX_PATCHES = 5_000
MAX_LIST_ITEMS = 512
"""Cap on disks, interfaces, IP addresses and patch ids in one message."""
MAX_TIMEOUT_SECONDS = 24 * 3600
DEFAULT_TIMEOUT_SECONDS = 300
DEFAULT_CHECKIN_INTERVAL_SECONDS = 60
HELLO_TIMEOUT_SECONDS = 10
WS_CLOSE_PROTOCOL_ERROR = 4400
WS_CLOSE_UNAUTHORIZED = 4401
WS_CLOSE_REPLACED = 4409
"""Another connection for the same device took over; the agent must not reconnect in a tight loop."""
WS_CLOSE_UNSUPPORTED_PROTOCOL = 4426

ENV_PARAM_PREFIX = "RMM_PARAM_"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_ENV_NAMES = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "IFS", "ENV", "BASH_ENV", "PYTHONPATH", "PYTHONHOME"}
    | {"PYTHONSTARTUP", "SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "PSMODULEPATH", "TEMP", "TMP", "TMPDIR"}
)
RESERVED_ENV_PREFIXES = ("LD_", "DYLD_", "RMM_")

Str64 = Annotated[str, Field(min_length=1, max_length=64)]
Str255 = Annotated[str, Field(max_length=255)]
Text = Annotated[str, Field(max_length=4096)]
CommandId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Percent = Annotated[float, Field(ge=0, le=100)]
Bytes = Annotated[int, Field(ge=0)]
Secret = Annotated[str, Field(min_length=1, max_length=512)]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
ProtocolVersionField = Annotated[int, Field(ge=1, le=1000)]


class ProtocolError(ValueError):
    """A message that does not follow this protocol (bad JSON, wrong shape, too large)."""


class UnsupportedProtocolVersion(ProtocolError):
    """The peer speaks a protocol version this side does not support."""

    def __init__(self, requested: int, supported: Iterable[int]) -> None:
        self.requested = requested
        self.supported = sorted(supported)
        super().__init__(f"protocol version {requested} is not supported; supported versions: {self.supported}")


class _Inbound(BaseModel):
    """Base for agent -> server models: unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Outbound(BaseModel):
    """Base for server -> agent models: unknown fields are ignored (forward compatible)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class OsFamily(StrEnum):
    WINDOWS = "WINDOWS"
    LINUX = "LINUX"
    MACOS = "MACOS"


class CommandKind(StrEnum):
    """What a command asks the agent to do."""

    SHELL = "shell"  # ``body`` is a command line run by ``shell`` (``bash -c``, ``powershell -Command``, ``cmd /c``)
    SCRIPT = "script"  # ``body`` is a script file's content, written to a temp file and run by ``shell``
    INSTALL_PATCHES = "install_patches"  # ``patch_ids`` (empty: all pending) via the OS package manager
    UNINSTALL_AGENT = "uninstall_agent"  # report the result, deregister, remove service and files
    UPDATE_AGENT = "update_agent"  # ``body`` is an :class:`UpdateManifest` (JSON): verify, swap, restart
    END_SESSION = "end_session"  # quick-support only: deregister, remove state, exit
    REMOTE_SESSION = "remote_session"  # ``body`` is the agent's relay ticket: dial it and bridge a shell or screen
    INSTALL_RUSTDESK = "install_rustdesk"  # ``body`` is a :class:`RustDeskInstall`; the password: RUSTDESK_SETUP_PATH


class Shell(StrEnum):
    BASH = "bash"
    SH = "sh"
    ZSH = "zsh"
    POWERSHELL = "powershell"
    CMD = "cmd"
    PYTHON = "python"


class CommandStatus(StrEnum):
    """Lifecycle of a command; the agent reports ``running`` and the four terminal states."""

    QUEUED = "queued"
    DELIVERED = "delivered"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset(
    {CommandStatus.SUCCEEDED, CommandStatus.FAILED, CommandStatus.TIMED_OUT, CommandStatus.CANCELLED}
)


class PatchStatus(StrEnum):
    PENDING = "pending"
    INSTALLED = "installed"
    FAILED = "failed"


class DeregisterReason(StrEnum):
    UNINSTALLED = "uninstalled"
    QUICK_SUPPORT_ENDED = "quick_support_ended"
    QUICK_SUPPORT_EXPIRED = "quick_support_expired"


class ErrorCode(StrEnum):
    MALFORMED_PAYLOAD = "malformed_payload"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    INVALID_TOKEN = "invalid_token"
    INVALID_CREDENTIAL = "invalid_credential"
    UNKNOWN_COMMAND = "unknown_command"
    UNSUPPORTED_PROTOCOL = "unsupported_protocol"
    INTERNAL = "internal"


class AgentApiError(_Outbound):
    """The body of every error response of ``/agent/v1`` (and of the WebSocket ``error`` message)."""

    code: ErrorCode
    message: Text
    detail: Text | None = None
    supported_protocol_versions: list[int] | None = None


# --- inventory and metrics -------------------------------------------------------------------


class DiskInfo(_Inbound):
    device: Str255
    mountpoint: Str255
    fstype: Str255 = ""
    total_bytes: Bytes


class Hardware(_Inbound):
    """Hardware summary; any field the OS does not reveal (e.g. serial without root) is ``None``."""

    cpu_model: Str255 | None = None
    cpu_cores: Annotated[int, Field(ge=0)] | None = None
    cpu_threads: Annotated[int, Field(ge=0)] | None = None
    ram_bytes: Bytes | None = None
    disks: Annotated[list[DiskInfo], Field(max_length=MAX_LIST_ITEMS)] = []
    manufacturer: Str255 | None = None
    model: Str255 | None = None
    serial_number: Str255 | None = None


class NetworkInterface(_Inbound):
    name: Str255
    mac: Str64 | None = None
    ipv4: Annotated[list[Str64], Field(max_length=MAX_LIST_ITEMS)] = []
    ipv6: Annotated[list[Str64], Field(max_length=MAX_LIST_ITEMS)] = []
    is_up: bool = True
    speed_mbps: Annotated[int, Field(ge=0)] | None = None


class UserSession(_Inbound):
    """One login session open now: the user, where (tty / RDP session) and since when."""

    name: Str64
    terminal: Str64 | None = None
    host: Str255 | None = None
    state: Annotated[str, Field(max_length=32)] | None = None  # Windows: Active / Disc
    started_at: AwareDatetime | None = None


class UserSessions(_Inbound):
    """Who uses the machine: sessions open now and the last user to log in (utmp/wtmp, ``query user``)."""

    logged_in: Annotated[list[UserSession], Field(max_length=MAX_LIST_ITEMS)] = []
    last_user: Str64 | None = None
    last_login_at: AwareDatetime | None = None


class InventoryDelta(_Inbound):
    """Inventory fields that changed since the last accepted check-in: present replaces, absent keeps.

    The agent sends every field after enrollment, after its own restart and when the server asks
    (``CheckinResponse.inventory_requested``).
    """

    hostname: Str255 | None = None
    os_family: OsFamily | None = None
    os_name: Str255 | None = None
    os_version: Str255 | None = None
    ip_addresses: Annotated[list[Str64], Field(max_length=MAX_LIST_ITEMS)] | None = None
    interfaces: Annotated[list[NetworkInterface], Field(max_length=MAX_LIST_ITEMS)] | None = None
    hardware: Hardware | None = None
    boot_time: AwareDatetime | None = None
    users: UserSessions | None = None  # optional: an agent that does not send it keeps the stored users


class DiskUsage(_Inbound):
    mountpoint: Str255
    used_percent: Percent
    used_bytes: Bytes
    total_bytes: Bytes


class NetworkThroughput(_Inbound):
    """Bytes per second over every interface since the previous sample (``psutil.net_io_counters`` deltas)."""

    sent_bytes_per_s: Annotated[float, Field(ge=0, le=1e12)]
    recv_bytes_per_s: Annotated[float, Field(ge=0, le=1e12)]


class MetricsSample(_Inbound):
    """One health sample. ``load_*`` is ``None`` where the OS has no load average (Windows).

    ``network`` is ``None`` in an agent's first sample (a rate needs two readings) and from older agents.
    """

    taken_at: AwareDatetime
    cpu_percent: Percent
    memory_percent: Percent
    memory_used_bytes: Bytes
    memory_total_bytes: Bytes
    disks: Annotated[list[DiskUsage], Field(max_length=MAX_LIST_ITEMS)] = []
    load_1: Annotated[float, Field(ge=0)] | None = None
    load_5: Annotated[float, Field(ge=0)] | None = None
    load_15: Annotated[float, Field(ge=0)] | None = None
    uptime_seconds: Annotated[int, Field(ge=0)]
    network: NetworkThroughput | None = None


class Application(_Inbound):
    name: Str255
    version: Str255 = ""
    publisher: Str255 = ""


class Patch(_Inbound):
    """An OS update: ``id`` is a KB number (Windows), package name (apt/dnf) or label (softwareupdate)."""

    id: Str255
    title: Str255 = ""
    severity: Str64 | None = None
    status: PatchStatus = PatchStatus.PENDING


def content_hash(items: Iterable[BaseModel]) -> str:
    """Order-independent sha256 over a list of models; both sides use it for app and patch lists."""
    canonical = sorted(json.dumps(item.model_dump(mode="json"), sort_keys=True) for item in items)
    return hashlib.sha256("\n".join(canonical).encode()).hexdigest()


# --- enrollment and check-in -------------------------------------------------------------------


class RustDeskSetup(_Outbound):
    """What the agent needs to install and configure RustDesk (see :mod:`agent.rustdesk`).

    ``password`` is the permanent password the hub generated (it keeps it encrypted); the agent
    sets it and does not keep it. ``packages`` maps an OS (``linux-deb``, ``linux-rpm``,
    ``linux-appimage``, ``windows``, ``macos``) to a URL to fetch the client from (absolute, or a
    path on the hub) when ``rustdesk`` is not installed yet; ``sha256`` maps the same keys to the
    digest a download must have (hub-staged files).
    """

    id_server: Str255 = ""
    relay_server: Str255 = ""
    key: Str255 = ""
    password: Secret
    packages: dict[Str64, Annotated[str, Field(max_length=2048)]] = {}
    sha256: dict[Str64, Sha256Hex] = {}


class RustDeskInstall(_Outbound):
    """The body of an ``install_rustdesk`` command (RustDesk added to an enrolled device): the
    :class:`RustDeskSetup` without its password, which the agent fetches from
    ``RUSTDESK_SETUP_PATH`` while the command runs (so it is never stored in a command's body)."""

    id_server: Str255 = ""
    relay_server: Str255 = ""
    key: Str255 = ""
    packages: dict[Str64, Annotated[str, Field(max_length=2048)]] = {}
    sha256: dict[Str64, Sha256Hex] = {}


class RustDeskSetupRequest(_Inbound):
    """Fetch the full set-up (with the permanent password) of the ``install_rustdesk`` command running now."""

    command_id: CommandId


class RustDeskReport(_Inbound):
    """The RustDesk ID the client gave (``rustdesk --get-id``), or why setting it up failed."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
    error: Text | None = None


def rustdesk_config_string(id_server: str, relay_server: str, key: str, api: str = "") -> str:
    """The string ``rustdesk --config`` takes: JSON {key, host, api, relay}, URL-safe base64 (no
    padding), reversed, as RustDesk's own "export server config" writes it."""
    body = json.dumps({"key": key, "host": id_server, "api": api, "relay": relay_server}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")[::-1]


class EnrollRequest(_Inbound):
    installer_token: Secret
    hostname: Str255
    os_family: OsFamily
    os_name: Str255
    os_version: Str255
    agent_version: Str64
    protocol_version: ProtocolVersionField
    hardware: Hardware | None = None
    quick_support: bool = False


class EnrollResponse(_Outbound):
    """``device_credential`` is shown once; the agent stores it (mode 0600) and sends it as bearer."""

    device_id: Str64
    device_credential: Secret
    checkin_interval_seconds: Annotated[int, Field(ge=5, le=3600)] = DEFAULT_CHECKIN_INTERVAL_SECONDS
    websocket_path: Str255 = WEBSOCKET_PATH
    protocol_version: ProtocolVersionField
    support_code: Str64 | None = None  # quick-support only: shown to the end user
    session_expires_at: AwareDatetime | None = None  # quick-support only
    update_public_key: Annotated[str, Field(max_length=128)] | None = None  # Ed25519, base64: signs updates
    rustdesk: RustDeskSetup | None = None  # the installer opted in to RustDesk (older agents ignore it)


class CheckinRequest(_Inbound):
    """Periodic check-in. Lists are sent only when their hash differs from the server's last echo."""

    protocol_version: ProtocolVersionField
    agent_version: Str64
    metrics: MetricsSample
    inventory: InventoryDelta | None = None
    applications_hash: Sha256Hex | None = None
    applications: Annotated[list[Application], Field(max_length=MAX_APPLICATIONS)] | None = None
    patches_hash: Sha256Hex | None = None
    pending_patches: Annotated[list[Patch], Field(max_length=MAX_PATCHES)] | None = None
    rustdesk: RustDeskReport | None = None  # sent after RustDesk was set up (and once per agent start)

    @model_validator(mode="after")
    def _hashes_match_lists(self) -> CheckinRequest:
        if self.applications is not None and self.applications_hash != content_hash(self.applications):
            raise ValueError("applications_hash must be content_hash(applications)")
        if self.pending_patches is not None and self.patches_hash != content_hash(self.pending_patches):
            raise ValueError("patches_hash must be content_hash(pending_patches)")
        return self


# --- commands ---------------------------------------------------------------------------------


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))


def script_param_env(params: Mapping[str, str | int | float | bool | None]) -> dict[str, str]:
    """Environment variables for script parameters (the server builds ``CommandSpec.env`` with it).

    Each parameter ``name`` becomes ``RMM_PARAM_<NAME>`` (upper-cased, every character outside
    ``[A-Z0-9_]`` replaced by ``_``) and, when ``name`` is a valid identifier and not reserved
    (``RESERVED_ENV_NAMES``, ``LD_*``, ``DYLD_*``, ``RMM_*``, case-insensitively), also ``name`` as is.
    Values: ``True``/``False`` -> ``"true"``/``"false"``, ``None`` -> ``""``, numbers via ``str``.

    Raises:
        ValueError: two parameter names map to the same variable.
    """
    env: dict[str, str] = {}
    for name, value in params.items():
        text = "" if value is None else ("true" if value else "false") if isinstance(value, bool) else str(value)
        keys = [ENV_PARAM_PREFIX + re.sub(r"[^A-Z0-9_]", "_", name.upper())]
        upper = name.upper()
        if _IDENTIFIER.match(name) and upper not in RESERVED_ENV_NAMES and not upper.startswith(RESERVED_ENV_PREFIXES):
            keys.append(name)
        for key in keys:
            if key in env:
                raise ValueError(f"script parameter {name!r} collides with another parameter as {key}")
            env[key] = text
    return env


class CommandSpec(_Outbound):
    """A command for the agent. ``env`` is added to the agent's environment (script parameters)."""

    id: CommandId
    kind: CommandKind
    shell: Shell | None = None
    body: Annotated[str, Field(max_length=MAX_SCRIPT_BYTES)] = ""
    env: Annotated[
        dict[Annotated[str, Field(pattern=_IDENTIFIER.pattern, max_length=255)], str], Field(max_length=MAX_ENV_VARS)
    ] = {}
    patch_ids: Annotated[list[Str255], Field(max_length=MAX_LIST_ITEMS)] = []
    timeout_seconds: Annotated[int, Field(ge=1, le=MAX_TIMEOUT_SECONDS)] = DEFAULT_TIMEOUT_SECONDS
    issued_at: AwareDatetime

    @model_validator(mode="after")
    def _check(self) -> CommandSpec:
        if self.kind in (CommandKind.SHELL, CommandKind.SCRIPT) and (self.shell is None or not self.body):
            raise ValueError(f"a {self.kind} command needs a shell and a body")
        if self.kind is CommandKind.REMOTE_SESSION and not self.body:
            raise ValueError("a remote_session command needs the relay ticket as its body")
        if any(len(value) > MAX_ENV_VALUE_CHARS for value in self.env.values()):
            raise ValueError(f"environment values are limited to {MAX_ENV_VALUE_CHARS} characters")
        return self


class CommandStatusUpdate(_Inbound):
    command_id: CommandId
    status: Literal[CommandStatus.RUNNING] = CommandStatus.RUNNING
    started_at: AwareDatetime


class CommandResult(_Inbound):
    """The outcome of one command.

    Output cap: the agent keeps the first bytes of stdout and stderr in the order they arrive
    until together they reach ``MAX_OUTPUT_BYTES``, drains and discards the rest, decodes each as
    UTF-8 (invalid bytes -> U+FFFD), trims again on a character boundary so that
    ``len(stdout.encode()) + len(stderr.encode()) <= MAX_OUTPUT_BYTES`` (the validator enforces
    it), and sets ``truncated`` when anything was dropped. ``exit_code`` is ``None`` when the
    process never started or was killed (timed out / cancelled).
    """

    command_id: CommandId
    status: Literal[CommandStatus.SUCCEEDED, CommandStatus.FAILED, CommandStatus.TIMED_OUT, CommandStatus.CANCELLED]
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime

    @model_validator(mode="after")
    def _cap_output(self) -> CommandResult:
        size = _utf8_len(self.stdout) + _utf8_len(self.stderr)
        if size > MAX_OUTPUT_BYTES:
            raise ValueError(
                f"stdout+stderr is {size} bytes; the cap is {MAX_OUTPUT_BYTES} (truncate and set truncated)"
            )
        return self


class CheckinResponse(_Outbound):
    """``commands`` are those not yet acknowledged by the agent; hashes are what the server stores."""

    protocol_version: ProtocolVersionField
    commands: list[CommandSpec] = []
    checkin_interval_seconds: Annotated[int, Field(ge=5, le=3600)] = DEFAULT_CHECKIN_INTERVAL_SECONDS
    applications_hash: Sha256Hex | None = None
    patches_hash: Sha256Hex | None = None
    inventory_requested: bool = False
    server_time: AwareDatetime | None = None


class DeregisterRequest(_Inbound):
    """Sent before the agent removes itself; the server revokes the credential and marks the device."""

    reason: DeregisterReason
    detail: Text | None = None


# --- WebSocket messages -------------------------------------------------------------------------


class HelloMessage(_Inbound):
    type: Literal["hello"] = "hello"
    device_credential: Secret
    protocol_version: ProtocolVersionField
    agent_version: Str64


class CommandAckMessage(_Inbound):
    type: Literal["command_ack"] = "command_ack"
    command_id: CommandId


class CommandStatusMessage(_Inbound):
    type: Literal["command_status"] = "command_status"
    update: CommandStatusUpdate


class CommandResultMessage(_Inbound):
    type: Literal["command_result"] = "command_result"
    result: CommandResult


class PongMessage(_Inbound):
    type: Literal["pong"] = "pong"
    nonce: Str64


class HelloAckMessage(_Outbound):
    type: Literal["hello_ack"] = "hello_ack"
    protocol_version: ProtocolVersionField
    device_id: Str64
    ping_interval_seconds: Annotated[int, Field(ge=1, le=3600)] = 30


class CommandMessage(_Outbound):
    type: Literal["command"] = "command"
    command: CommandSpec


class PingMessage(_Outbound):
    type: Literal["ping"] = "ping"
    nonce: Str64


class ResultAckMessage(_Outbound):
    type: Literal["result_ack"] = "result_ack"
    command_id: CommandId


class ErrorMessage(_Outbound):
    """Sent before the server closes the socket for a protocol, auth or version error."""

    type: Literal["error"] = "error"
    error: AgentApiError


AgentMessage = Annotated[
    HelloMessage | CommandAckMessage | CommandStatusMessage | CommandResultMessage | PongMessage,
    Field(discriminator="type"),
]
ServerMessage = Annotated[
    HelloAckMessage | CommandMessage | PingMessage | ResultAckMessage | ErrorMessage,
    Field(discriminator="type"),
]
_AGENT_MESSAGE: TypeAdapter[AgentMessage] = TypeAdapter(AgentMessage)
_SERVER_MESSAGE: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def _check_size(raw: str | bytes) -> None:
    size = len(raw) if isinstance(raw, bytes) else _utf8_len(raw)
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message is {size} bytes; the limit is {MAX_MESSAGE_BYTES}")


def _describe(exc: ValidationError) -> str:
    # The agent imports nothing of the server, so this is the one copy of hub.core.validation it keeps.
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors())


def parse_agent_message(raw: str | bytes) -> AgentMessage:
    """Parse one agent -> server WebSocket message.

    Raises:
        ProtocolError: not JSON, unknown ``type``, wrong shape, or larger than ``MAX_MESSAGE_BYTES``.
    """
    _check_size(raw)
    try:
        return _AGENT_MESSAGE.validate_json(raw)
    except ValidationError as exc:
        raise ProtocolError(f"invalid agent message: {_describe(exc)}") from exc


def parse_server_message(raw: str | bytes) -> ServerMessage:
    """Parse one server -> agent WebSocket message.

    Raises:
        ProtocolError: not JSON, unknown ``type``, wrong shape, or larger than ``MAX_MESSAGE_BYTES``.
    """
    _check_size(raw)
    try:
        return _SERVER_MESSAGE.validate_json(raw)
    except ValidationError as exc:
        raise ProtocolError(f"invalid server message: {_describe(exc)}") from exc


def negotiate_protocol_version(requested: int, supported: Iterable[int] = SUPPORTED_PROTOCOL_VERSIONS) -> int:
    """Return the version the server will speak with a peer that asked for ``requested``.

    Raises:
        UnsupportedProtocolVersion: ``requested`` is not supported; answer 426 / close 4426 with
            :meth:`unsupported_protocol_error`.
    """
    versions = frozenset(supported)
    if requested not in versions:
        raise UnsupportedProtocolVersion(requested, versions)
    return requested


def unsupported_protocol_error(exc: UnsupportedProtocolVersion) -> AgentApiError:
    """The 426 body for an unsupported version, naming what the server supports."""
    return AgentApiError(
        code=ErrorCode.UNSUPPORTED_PROTOCOL,
        message=f"{exc} Upgrade the agent (reinstall from the hub) or the hub.",
        supported_protocol_versions=exc.supported,
    )


# --- self-update ------------------------------------------------------------------------------


class UpdateManifest(_Outbound):
    """One signed agent release, carried in an ``update_agent`` command's body.

    ``signature`` is Ed25519 by the hub's update key (sent at enrollment) over
    :func:`update_signed_message`; the agent refuses a download whose SHA-256 or signature differs.
    """

    version: Str64
    platform: Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$")]
    path: Annotated[str, Field(pattern=r"^/agent/v1/download/releases/[A-Za-z0-9/._-]+$", max_length=255)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Field(ge=1, le=512 * 1024 * 1024)]
    signature: Annotated[str, Field(max_length=256)]
    confirm_within_seconds: Annotated[int, Field(ge=5, le=3600)] = 300
    #: The same version as a wheel (``platform == "python"``), for agents installed into a virtualenv.
    wheel: UpdateManifest | None = None


def update_signed_message(version: str, platform: str, sha256: str, size: int) -> bytes:
    """The bytes the hub signs for a release (and the agent verifies)."""
    return f"rmmhub-agent-update:v1:{platform}:{version}:{sha256}:{size}".encode()
