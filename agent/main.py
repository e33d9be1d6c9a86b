"""Command line: ``python -m agent enroll|run``.

::

    python -m agent enroll --hub URL [--token T | env RMMHUB_AGENT_TOKEN] [--state-dir DIR]
                           [--quick-support] [--service systemd|launchd|scheduled_task|none]
                           [--install-prefix DIR] [--service-file PATH|TASK]
    python -m agent run [--state-dir DIR] [--hub URL --token T] [--quick-support] [--foreground]

``run`` enrolls first when the state directory is empty and ``--hub``/``--token`` are given (the
quick-support one-liner and ``make run`` use this). ``--foreground`` logs to the terminal at INFO
(a service logs to stderr for journald/launchd/the task log either way). Exit codes: 0 stopped or
uninstalled, 1 failure, 2 usage, 3 the hub revoked this device.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import platform
import signal
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

from agent import __version__, update_venv
from agent.client import HubClient, HubError
from agent.collectors.osinfo import os_family, os_name_version
from agent.collectors.system import collect_hardware
from agent.config import AgentEnv, AgentState, ConfigError, InstallInfo, StateStore, default_state_dir
from agent.protocol import PROTOCOL_VERSION, EnrollRequest
from agent.runtime import AgentRuntime
from agent.rustdesk import save_setup as save_rustdesk_setup
from agent.update import PID_FILE, restart_as, watchdog

log = logging.getLogger("agent")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m agent", description="rmmhub endpoint agent")
    parser.add_argument(
        "--version", action="version", version=f"rmmhub-agent {__version__} (protocol {PROTOCOL_VERSION})"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("enroll", "enroll with an installer token"),
        ("run", "run the agent (enrolls first if needed)"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--state-dir", type=Path, help="state directory (default: per OS, or RMMHUB_AGENT_STATE_DIR)")
        sub.add_argument("--hub", help="hub base URL, e.g. https://hub.example.com")
        sub.add_argument("--token", help="installer token (or environment RMMHUB_AGENT_TOKEN)")
        sub.add_argument("--quick-support", action="store_true", help="temporary session: no service, removed at end")
        sub.add_argument("--service", choices=["systemd", "launchd", "scheduled_task", "none"], default="none")
        sub.add_argument("--install-prefix", help="installation prefix the uninstall routine removes")
        sub.add_argument("--service-file", help="systemd unit / launchd plist path, or scheduled task name")
        sub.add_argument("--foreground", action="store_true", help="log to the terminal at INFO level")
        sub.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    dog = commands.add_parser("update-watchdog", help="(internal) roll back a self-update that does not check in")
    dog.add_argument("--state-dir", type=Path, required=True)
    dog.add_argument("--pid", type=int, required=True)
    dog.add_argument("--exe", type=Path, required=True)
    dog.add_argument("--site", type=Path, help="site-packages of a virtualenv agent (wheel update)")
    dog.add_argument("--service", default="none")
    dog.add_argument("--service-file", default="")
    dog.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


class RestartRequested(Exception):
    """A verified self-update is in place: exec the new executable once the runtime has stopped."""

    def __init__(self, exe: Path, *, venv: bool = False) -> None:
        super().__init__(str(exe))
        self.exe = exe
        self.venv = venv


async def enroll(args: argparse.Namespace, store: StateStore) -> AgentState:
    """Exchange the installer token for a device credential and persist both (credential 0600)."""
    token = args.token or os.environ.get("RMMHUB_AGENT_TOKEN")
    if not args.hub or not token:
        raise ConfigError("enrolling needs --hub URL and --token TOKEN (or RMMHUB_AGENT_TOKEN)")
    name, version = await asyncio.to_thread(os_name_version)
    request = EnrollRequest(
        installer_token=token,
        hostname=socket.gethostname()[:255] or platform.node()[:255],
        os_family=os_family(),
        os_name=name[:255],
        os_version=version[:255],
        agent_version=__version__,
        protocol_version=PROTOCOL_VERSION,
        hardware=await asyncio.to_thread(collect_hardware),
        quick_support=args.quick_support,
    )
    async with HubClient(args.hub) as client:
        response = await client.enroll(request)
    state = AgentState(
        hub_url=args.hub.rstrip("/"),
        device_id=response.device_id,
        websocket_path=response.websocket_path,
        checkin_interval_seconds=response.checkin_interval_seconds,
        quick_support=args.quick_support,
        support_code=response.support_code,
        session_expires_at=response.session_expires_at,
        install=InstallInfo(service=args.service, prefix=args.install_prefix, service_file=args.service_file),
        enrolled_at=datetime.now(UTC),
        update_public_key=response.update_public_key,
    )
    store.save(state, response.device_credential)
    if response.rustdesk is not None and not args.quick_support:
        save_rustdesk_setup(store.state_dir, response.rustdesk)
        log.info("RustDesk will be set up when the agent runs")
    log.info("enrolled as device %s with %s", response.device_id, state.hub_url)
    return state


def _show_support_code(state: AgentState) -> None:
    expires = f" until {state.session_expires_at:%H:%M %Z}" if state.session_expires_at else ""
    banner = f"  Your support code: {state.support_code or state.device_id}{expires}  "
    print("\n" + "=" * len(banner) + "\n" + banner + "\n" + "=" * len(banner), flush=True)
    print("Read this code to your technician. Press Ctrl+C to end the session.\n", flush=True)


async def run(args: argparse.Namespace, store: StateStore, env: AgentEnv) -> int:
    """Run the agent until it stops; returns the exit code."""
    if not store.is_enrolled():
        await enroll(args, store)
    runtime = AgentRuntime(store, env=env)
    (store.state_dir / PID_FILE).write_text(f"{os.getpid()}\n")
    if runtime.state.quick_support:
        _show_support_code(runtime.state)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:  # a quick-support session ends when its user stops it
            loop.add_signal_handler(sig, functools.partial(runtime.stop, end_session=runtime.state.quick_support))
        except NotImplementedError:  # Windows: KeyboardInterrupt / task end stop the process
            break
    code = await runtime.run()
    if runtime.restart_into is not None:
        raise RestartRequested(runtime.restart_into, venv=runtime.restart_venv)
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m agent``."""
    args = _parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "update-watchdog" and args.site:
        return update_venv.watchdog(args.state_dir, args.pid, args.site, args.service, args.service_file or None)
    if args.command == "update-watchdog":
        return watchdog(args.state_dir, args.pid, args.exe, args.service, args.service_file or None)
    try:
        env = AgentEnv.from_environ()
        store = StateStore(args.state_dir or env.state_dir or default_state_dir())
        if args.command == "enroll":
            if store.is_enrolled():
                state, _ = store.load()
                print(f"already enrolled as device {state.device_id} with {state.hub_url}; nothing to do")
                return 0
            asyncio.run(enroll(args, store))
            return 0
        return asyncio.run(run(args, store, env))
    except RestartRequested as restart:
        if restart.venv:
            update_venv.restart()
        restart_as(restart.exe)
        return 1  # not reached: the process is now the new version
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    except HubError as exc:
        log.error("%s", exc)
        return 1
    except KeyboardInterrupt:
        return 0
