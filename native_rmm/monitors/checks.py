"""The probes behind synthetic monitors, with their network edges injectable (:class:`Probes`).

Every check returns a :class:`CheckResult` and never raises for an unreachable or unhealthy
target: a failure is a result (``critical``, or ``warning`` for a certificate close to expiry)
whose message says what was wrong.

Ping: ICMP through the system ``ping`` binary (Linux iputils syntax, ``-c 1 -W <s>``). When the
binary is missing the check fails with a message saying so; a monitor with a ``port`` checks with
a TCP connect instead, which needs no privileges and works where ICMP is filtered.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from native_rmm.models.monitors import CheckState, Monitor, MonitorKind

MAX_BODY_BYTES = 1024 * 1024
DEFAULT_TLS_PORT = 443
Resolver = Callable[[str], Awaitable[str]]


async def system_resolver(host: str) -> str:
    """Leave name resolution to the operating system (the default)."""
    return host


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one probe."""

    state: CheckState
    message: str
    latency_ms: float | None = None

    @property
    def ok(self) -> bool:
        """Whether the probe passed."""
        return self.state is CheckState.OK


@dataclass(frozen=True)
class MonitorSpec:
    """What a probe needs to know about a monitor (a plain copy, usable outside a DB session)."""

    id: int
    kind: MonitorKind
    target: str
    port: int | None
    expected_status: int
    content_match: str | None
    timeout_seconds: float
    tls_warn_days: int

    @classmethod
    def of(cls, monitor: Monitor) -> MonitorSpec:
        """Copy the probe settings of a monitor row."""
        return cls(
            id=monitor.id,
            kind=monitor.kind,
            target=monitor.target,
            port=monitor.port,
            expected_status=monitor.expected_status,
            content_match=monitor.content_match,
            timeout_seconds=monitor.timeout_seconds,
            tls_warn_days=monitor.tls_warn_days,
        )


@dataclass(frozen=True)
class Probes:
    """The injectable edges of the checks.

    Attributes:
        http_transport: an httpx transport for HTTP checks (None: real network).
        ssl_context: the trust store for TLS checks and ``https`` HTTP checks (None: system CAs).
        ping_binary: path of ``ping`` (None: not available).
        resolver: maps a host name to the address to connect to (TLS and TCP checks); the TLS
            check still verifies the certificate against the original name.
    """

    http_transport: httpx.AsyncBaseTransport | None = None
    ssl_context: ssl.SSLContext | None = None
    ping_binary: str | None = field(default_factory=lambda: shutil.which("ping"))
    resolver: Resolver = system_resolver

    def trust(self) -> ssl.SSLContext:
        """The SSL context for verified connections."""
        return self.ssl_context or ssl.create_default_context()


def _elapsed_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


async def check_http(spec: MonitorSpec, probes: Probes) -> CheckResult:
    """GET the URL; pass on the expected status and (when set) the content match in the first 1 MiB."""
    start = time.perf_counter()
    try:
        async with (
            httpx.AsyncClient(
                transport=probes.http_transport,
                verify=probes.trust(),
                timeout=spec.timeout_seconds,
                follow_redirects=True,
                headers={"User-Agent": "rmmhub-monitor/1"},
            ) as client,
            client.stream("GET", spec.target) as response,
        ):
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) >= MAX_BODY_BYTES:
                    break
    except httpx.TimeoutException:
        return CheckResult(CheckState.CRITICAL, f"no answer within {spec.timeout_seconds:g} s", _elapsed_ms(start))
    except httpx.HTTPError as exc:
        return CheckResult(CheckState.CRITICAL, f"request failed: {type(exc).__name__}: {exc}", _elapsed_ms(start))
    latency = _elapsed_ms(start)
    if response.status_code != spec.expected_status:
        return CheckResult(
            CheckState.CRITICAL, f"HTTP {response.status_code} (expected {spec.expected_status})", latency
        )
    if spec.content_match:
        text = bytes(body[:MAX_BODY_BYTES]).decode(response.encoding or "utf-8", errors="replace")
        if spec.content_match not in text:
            return CheckResult(
                CheckState.CRITICAL, f"HTTP {response.status_code} but the body lacks {spec.content_match!r}", latency
            )
    return CheckResult(CheckState.OK, f"HTTP {response.status_code} in {latency:g} ms", latency)


async def check_tcp(spec: MonitorSpec, probes: Probes) -> CheckResult:
    """Open (and close) a TCP connection to ``target:port``."""
    assert spec.port is not None
    start = time.perf_counter()
    try:
        address = await probes.resolver(spec.target)
        async with asyncio.timeout(spec.timeout_seconds):
            _, writer = await asyncio.open_connection(address, spec.port)
    except TimeoutError:
        return CheckResult(
            CheckState.CRITICAL, f"TCP {spec.target}:{spec.port}: no answer within {spec.timeout_seconds:g} s"
        )
    except OSError as exc:
        return CheckResult(CheckState.CRITICAL, f"TCP {spec.target}:{spec.port}: {exc.strerror or exc}")
    latency = _elapsed_ms(start)
    writer.close()
    await writer.wait_closed()
    return CheckResult(CheckState.OK, f"TCP {spec.target}:{spec.port} connected in {latency:g} ms", latency)


_PING_TIME = re.compile(r"time[=<]([\d.]+)\s*ms")


async def check_icmp(spec: MonitorSpec, probes: Probes) -> CheckResult:
    """One ICMP echo through the system ``ping`` binary."""
    if probes.ping_binary is None:
        return CheckResult(
            CheckState.CRITICAL,
            "the system `ping` binary is not installed on the hub; install iputils-ping, "
            "or set a port on this monitor to check with a TCP connect instead",
        )
    wait = max(1, round(spec.timeout_seconds))
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        probes.ping_binary,
        "-n",
        "-c",
        "1",
        "-W",
        str(wait),
        spec.target,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(wait + 5):
            out, _ = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return CheckResult(CheckState.CRITICAL, f"ping {spec.target}: no answer within {wait} s")
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        last = text.strip().splitlines()[-1] if text.strip() else f"exit code {proc.returncode}"
        return CheckResult(CheckState.CRITICAL, f"ping {spec.target} failed: {last}")
    found = _PING_TIME.search(text)
    latency = float(found.group(1)) if found else _elapsed_ms(start)
    return CheckResult(CheckState.OK, f"ping {spec.target}: reply in {latency:g} ms", latency)


async def check_tls(spec: MonitorSpec, probes: Probes, *, now: datetime | None = None) -> CheckResult:
    """Handshake with verification (chain and host name), then judge the certificate's expiry."""
    port = spec.port or DEFAULT_TLS_PORT
    start = time.perf_counter()
    try:
        address = await probes.resolver(spec.target)
        async with asyncio.timeout(spec.timeout_seconds):
            _, writer = await asyncio.open_connection(address, port, ssl=probes.trust(), server_hostname=spec.target)
    except TimeoutError:
        return CheckResult(
            CheckState.CRITICAL, f"TLS {spec.target}:{port}: no handshake within {spec.timeout_seconds:g} s"
        )
    except ssl.SSLCertVerificationError as exc:
        return CheckResult(
            CheckState.CRITICAL, f"TLS {spec.target}:{port}: certificate not valid: {exc.verify_message}"
        )
    except (ssl.SSLError, OSError) as exc:
        return CheckResult(CheckState.CRITICAL, f"TLS {spec.target}:{port}: {type(exc).__name__}: {exc}")
    latency = _elapsed_ms(start)
    cert = writer.get_extra_info("peercert") or {}
    writer.close()
    with contextlib.suppress(ssl.SSLError, OSError):  # the peer may hang up first; the handshake succeeded
        await writer.wait_closed()
    not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), UTC)
    days_left = (not_after - (now or datetime.now(UTC))).total_seconds() / 86400
    when = f"{not_after:%Y-%m-%d %H:%M} UTC"
    if days_left < spec.tls_warn_days:
        return CheckResult(
            CheckState.WARNING,
            f"certificate of {spec.target} expires in {days_left:.1f} days ({when}); renew it",
            latency,
        )
    return CheckResult(
        CheckState.OK, f"certificate of {spec.target} valid until {when} ({days_left:.0f} days)", latency
    )


async def run_check(spec: MonitorSpec, probes: Probes) -> CheckResult:
    """Run the probe of ``spec``'s kind."""
    if spec.kind is MonitorKind.HTTP:
        return await check_http(spec, probes)
    if spec.kind is MonitorKind.TLS:
        return await check_tls(spec, probes)
    if spec.port is not None:
        return await check_tcp(spec, probes)
    return await check_icmp(spec, probes)
