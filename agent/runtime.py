"""The running agent: check-in loop, push channel, command dispatch and result delivery.

Tasks of one :class:`AgentRuntime` (all in one event loop):

- check-in every ``interval`` seconds with +-``jitter`` (the hub sets the interval,
  ``RMMHUB_AGENT_CHECKIN_INTERVAL`` overrides it): metrics, inventory delta, app and patch lists
  when their hash differs from the hub's; commands in the answer are dispatched;
- the push channel (:mod:`agent.push`): commands pushed by the hub are dispatched at once;
- the flusher: spooled results are sent over the WebSocket (confirmed by ``result_ack``) or HTTP,
  and retried every ``FLUSH_RETRY_SECONDS`` while the hub is away;
- quick-support only: the session expiry watcher.

Each command id runs at most once (:mod:`agent.ledger`); its result is spooled before any send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import shutil
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Literal, TypeVar

import httpx
from pydantic import ValidationError

from agent import __version__
from agent.client import CredentialRejected, HubClient, HubError, HubRejected, HubUnavailable
from agent.collectors import (
    collect_applications,
    collect_inventory,
    collect_metrics,
    collect_patches,
    install_patches_command,
    inventory_delta,
    prime_cpu_percent,
)
from agent.config import AgentEnv, StateStore
from agent.ledger import CommandLedger
from agent.protocol import (
    PROTOCOL_VERSION,
    Application,
    CheckinRequest,
    CommandKind,
    CommandResult,
    CommandSpec,
    CommandStatus,
    CommandStatusMessage,
    CommandStatusUpdate,
    DeregisterReason,
    DeregisterRequest,
    ErrorCode,
    InventoryDelta,
    Patch,
    RustDeskInstall,
    RustDeskReport,
    UpdateManifest,
    content_hash,
)
from agent.push import PushChannel, PushRejected, websocket_url
from agent.remote.bridge import BridgeError, bridge_from_ticket
from agent.runner import run_command
from agent.rustdesk import SETUP_FILE as RUSTDESK_SETUP_FILE
from agent.rustdesk import run_pending as run_rustdesk
from agent.rustdesk import save_setup as save_rustdesk_setup
from agent.spool import ResultSpool
from agent.uninstall import run_uninstall
from agent.update import (
    UpdateRefused,
    confirm,
    fetch_verified,
    running_executable,
    spawn_detached,
    start_watchdog,
    swap,
)
from agent.update_restart import hand_over, restarts_in_place
from agent.update_venv import installed_site, swap_wheel
from agent.update_venv import start_watchdog as start_venv_watchdog

log = logging.getLogger(__name__)
FLUSH_RETRY_SECONDS = 10.0
REMOTE_CONNECT_SECONDS = 30.0
APPS_REFRESH_SECONDS = 15 * 60
PATCHES_REFRESH_SECONDS = 60 * 60
EXIT_REVOKED = 3
T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


def _in_daemon_thread(fn: Callable[[], T]) -> asyncio.Future[T]:
    """Run a slow collector in a daemon thread.

    Unlike ``asyncio.to_thread``, the thread never holds up the agent's exit: a package manager can
    take from seconds to minutes to answer (apt simulating, dnf refreshing metadata).
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: Exception | None) -> None:
        if future.done():  # cancelled while the tool ran
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)  # type: ignore[arg-type]

    def work() -> None:
        try:
            value, error = fn(), None
        except Exception as exc:  # noqa: BLE001 - not swallowed: handed to whoever awaits the future
            value, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: the agent has stopped
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=work, name=getattr(fn, "__name__", "collector"), daemon=True).start()
    return future


class AgentRuntime:
    """One enrolled agent, running until stopped, revoked, uninstalled or its session ends.

    Args:
        store: The state directory (must be enrolled).
        env: Environment overrides.
        transport: httpx transport for the hub API (tests inject one).
        rng: Random source for jitter.
    """

    def __init__(
        self,
        store: StateStore,
        *,
        env: AgentEnv | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self._flush_wanted = asyncio.Event()
        self._checkin_now = asyncio.Event()
        self.env = env or AgentEnv()
        self.state, credential = store.load()
        self.client = HubClient(self.state.hub_url, credential=credential, transport=transport)
        self.spool = ResultSpool(store.spool_dir)
        self.ledger = CommandLedger(store.ledger_path)
        self._rng = rng or random.Random()
        self.push = PushChannel(
            websocket_url(self.state.hub_url, self.state.websocket_path),
            credential,
            on_command=self.dispatch,
            on_connected=self._flush_wanted.set,
            reconnect_max=self.env.reconnect_max,
            rng=self._rng,
        )
        self.interval = self.env.checkin_interval or float(self.state.checkin_interval_seconds)
        self.exit_code = 0
        self._stop = asyncio.Event()
        self._end_on_stop = False
        self._leaving = False  # deregistering: the hub forgets our credential because we asked it to
        self._commands: set[asyncio.Task[None]] = set()
        self._sent_inventory: InventoryDelta | None = None
        self._hub_hashes: dict[str, str | None] = {"apps": None, "patches": None}
        self._apps: tuple[float, list[Application]] | None = None
        self._patches: tuple[float, list[Patch] | None] | None = None
        self._patches_refresh: asyncio.Future[list[Patch] | None] | None = None
        self.restart_into: Path | None = None  # set by a verified self-update: exec this after stopping
        self.restart_venv = False  # ... as ``python -m agent`` (a virtualenv agent)
        self._confirmed = False
        self._rustdesk: RustDeskReport | None = None  # goes out with the next check-in

    async def run(self) -> int:
        """Run until stopped; return the process exit code (0, or ``EXIT_REVOKED``)."""
        self._recover_interrupted()
        self._flush_wanted.set()  # results spooled by a previous run go out first
        prime_cpu_percent()
        tasks = [asyncio.create_task(self._checkin_loop()), asyncio.create_task(self._push_loop())]
        tasks.append(asyncio.create_task(self._flush_loop()))
        if self.state.quick_support and self.state.session_expires_at is not None:
            tasks.append(asyncio.create_task(self._expiry_watch()))
        if (self.store.state_dir / RUSTDESK_SETUP_FILE).is_file():
            tasks.append(asyncio.create_task(self._rustdesk_setup()))
        stopper = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and (exc := task.exception()) is not None:
                    if not isinstance(exc, CredentialRejected | PushRejected):
                        raise exc
                    log.error("%s: the device was revoked or deleted on the hub; re-enroll this agent", exc)
                    self.exit_code = EXIT_REVOKED
        finally:
            for task in [*tasks, stopper, *self._commands]:
                task.cancel()
            await asyncio.gather(*tasks, stopper, *self._commands, return_exceptions=True)
            if self._end_on_stop and self.state.quick_support and self.store.state_dir.exists():
                await self.end_session(DeregisterReason.QUICK_SUPPORT_ENDED)
            await self.client.aclose()
        return self.exit_code

    def stop(self, *, end_session: bool = False) -> None:
        """Ask the runtime to stop (signal handlers call this).

        Args:
            end_session: For a quick-support agent, also end the session (deregister, remove state).
        """
        self._end_on_stop = self._end_on_stop or end_session
        self._stop.set()

    async def end_session(self, reason: DeregisterReason) -> None:
        """Quick-support end: tell the hub, remove the state directory, stop."""
        await self._deregister(reason)
        shutil.rmtree(self.store.state_dir, ignore_errors=True)
        log.info("quick-support session ended (%s); local state removed", reason)
        self.stop()

    async def dispatch(self, spec: CommandSpec) -> None:
        """Start a command unless this id was already started (it may arrive by push and check-in)."""
        if not self.ledger.start(spec.id):
            log.debug("command %s already handled; ignoring the repeat", spec.id)
            return
        task = asyncio.create_task(self._execute(spec), name=f"command {spec.id}")
        self._commands.add(task)
        task.add_done_callback(self._command_done)

    def _command_done(self, task: asyncio.Task[None]) -> None:
        self._commands.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("%s crashed: %r (reported as cancelled after the next restart)", task.get_name(), exc)

    async def _execute(self, spec: CommandSpec) -> None:
        log.info("running command %s (%s)", spec.id, spec.kind)
        if spec.kind is CommandKind.UNINSTALL_AGENT:
            await self._uninstall(spec)
            return
        if spec.kind is CommandKind.UPDATE_AGENT:
            await self._update(spec)
            return
        if spec.kind is CommandKind.INSTALL_RUSTDESK:
            await self._install_rustdesk(spec)
            return
        if spec.kind is CommandKind.END_SESSION and self.state.quick_support:
            self._finish(self._result(spec, CommandStatus.SUCCEEDED, "session ended"))
            await self.flush()
            await self.end_session(DeregisterReason.QUICK_SUPPORT_ENDED)
            return
        if spec.kind is CommandKind.END_SESSION:
            self._finish(
                self._result(spec, CommandStatus.FAILED, "", "end_session applies to quick-support agents only")
            )
            return
        if spec.kind is CommandKind.REMOTE_SESSION:
            await self._remote_session(spec)
            return
        installing = spec.kind is CommandKind.INSTALL_PATCHES
        if installing:
            shell, body = install_patches_command(list(spec.patch_ids))
            spec = spec.model_copy(update={"kind": CommandKind.SHELL, "shell": shell, "body": body})

        async def started(at: datetime) -> None:
            await self._report_running(spec.id, at)

        result = await run_command(spec, on_started=started, work_dir=None)
        if installing:
            self._forget_patches()
        self._finish(result)

    def _forget_patches(self) -> None:
        """Re-read pending updates from the next check-in on (after an install changed them).

        A collection still running began before the install ended and would report what is now
        installed as pending for the next hour: its answer is dropped (the thread ends on its own).
        """
        self._patches = None
        self._patches_refresh = None

    async def _remote_session(self, spec: CommandSpec) -> None:
        """Dial the relay; the command succeeds once the session is bridged and the bridge runs on."""
        try:
            bridge = bridge_from_ticket(spec.body)
        except BridgeError as exc:
            self._finish(self._result(spec, CommandStatus.FAILED, "", str(exc)))
            return
        running = asyncio.create_task(bridge.run(), name=f"remote session {spec.id}")
        connected = asyncio.create_task(bridge.connected.wait())
        await asyncio.wait({running, connected}, timeout=REMOTE_CONNECT_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        if connected.done():
            self._finish(self._result(spec, CommandStatus.SUCCEEDED, f"{bridge.kind} session bridged"))
            log.info("remote session ended: %s", await running)
            return
        connected.cancel()
        if not running.done():
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            self._finish(self._result(spec, CommandStatus.FAILED, "", "the relay did not answer in time"))
            return
        try:
            message = f"the session ended before it was bridged: {running.result()}"
        except BridgeError as exc:
            message = str(exc)
        self._finish(self._result(spec, CommandStatus.FAILED, "", message))

    def _result(
        self,
        spec: CommandSpec,
        status: Literal[CommandStatus.SUCCEEDED, CommandStatus.FAILED],
        stdout: str,
        stderr: str = "",
    ) -> CommandResult:
        return CommandResult(
            command_id=spec.id,
            status=status,
            exit_code=0 if status is CommandStatus.SUCCEEDED else None,
            stdout=stdout,
            stderr=stderr,
            started_at=_now(),
            finished_at=_now(),
        )

    def _finish(self, result: CommandResult) -> None:
        self.spool.put(result)
        self.ledger.finish(result.command_id)
        self._flush_wanted.set()

    async def _uninstall(self, spec: CommandSpec) -> None:
        self._finish(self._result(spec, CommandStatus.SUCCEEDED, "agent uninstall started"))
        await self.flush()
        await self._deregister(DeregisterReason.UNINSTALLED)
        await asyncio.to_thread(run_uninstall, self.state.install, self.store.state_dir)
        log.info("agent uninstalled")
        self.stop()

    async def _update(self, spec: CommandSpec) -> None:
        """Self-update (see :mod:`agent.update`, :mod:`agent.update_venv`): verify, swap, report, watchdog, restart."""
        exe = running_executable()
        site = installed_site() if exe is None else None
        try:
            manifest = self._update_manifest(spec, exe, site)
            if manifest.version == __version__:
                self._finish(self._result(spec, CommandStatus.SUCCEEDED, f"already at {__version__}"))
                return
            data = await fetch_verified(self.state.hub_url, manifest, self.state.update_public_key)
            if exe is not None:
                await asyncio.to_thread(swap, exe, data, manifest, self.store.state_dir)
            elif site is not None:
                await asyncio.to_thread(swap_wheel, site, data, manifest, self.store.state_dir)
        except UpdateRefused as exc:
            log.error("update refused: %s", exc)
            self._finish(self._result(spec, CommandStatus.FAILED, "", str(exc)))
            return
        message = f"updating from {__version__} to {manifest.version}; restarting"
        self._finish(self._result(spec, CommandStatus.SUCCEEDED, message))
        await self.flush()
        install = self.state.install
        if exe is not None:
            start_watchdog(exe, self.store.state_dir, install.service, install.service_file)
        elif site is not None:
            start_venv_watchdog(site, self.store.state_dir, install.service, install.service_file)
        log.info("%s (rolled back unless it checks in within %d s)", message, manifest.confirm_within_seconds)
        if restarts_in_place(install.service):
            self.restart_into = exe or Path(sys.executable)
            self.restart_venv = exe is None
        else:  # a scheduled task: its helper starts the new version once this process has exited
            hand_over(install.service, install.service_file, self.store.state_dir, spawn_detached)
        self.stop()

    @staticmethod
    def _update_manifest(spec: CommandSpec, exe: Path | None, site: Path | None) -> UpdateManifest:
        if exe is None and site is None:
            raise UpdateRefused("this agent runs from a source tree, not an installed wheel; re-install to update it")
        try:
            manifest = UpdateManifest.model_validate_json(spec.body)
        except ValidationError as exc:
            raise UpdateRefused(f"the update manifest is malformed: {exc.error_count()} error(s)") from exc
        if exe is not None:
            return manifest
        wheel = manifest if manifest.platform == "python" else manifest.wheel
        if wheel is None:
            raise UpdateRefused(
                f"the hub offers version {manifest.version} only as a single-file agent; this agent runs in a "
                "virtualenv (publish the wheel too: rmmhub agent publish --wheel)"
            )
        return wheel

    async def _deregister(self, reason: DeregisterReason) -> None:
        self._leaving = True
        try:
            await self.client.deregister(DeregisterRequest(reason=reason))
        except HubError as exc:
            log.warning("could not tell the hub about %s: %s", reason, exc)

    async def _report_running(self, command_id: str, started_at: datetime) -> None:
        update = CommandStatusUpdate(command_id=command_id, started_at=started_at)
        if await self.push.send(CommandStatusMessage(update=update)):
            return
        try:
            await self.client.report_status(update)
        except HubError as exc:  # the result will follow; a missed "running" is not worth a retry
            log.info("could not report command %s as running: %s", command_id, exc)

    def _recover_interrupted(self) -> None:
        for command_id in self.ledger.unfinished():
            if command_id not in self.spool:
                self.spool.put(
                    CommandResult(
                        command_id=command_id,
                        status=CommandStatus.CANCELLED,
                        stderr="the agent stopped while this command was running",
                        finished_at=_now(),
                    )
                )
            self.ledger.finish(command_id)

    # --- result delivery ------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FLUSH_RETRY_SECONDS):
                    await self._flush_wanted.wait()
            self._flush_wanted.clear()
            await self.flush()

    async def flush(self) -> None:
        """Send every spooled result; stop at the first sign the hub is unreachable."""
        for result in self.spool.pending():
            if await self.push.send_result(result):
                self.spool.remove(result.command_id)
                continue
            try:
                await self.client.report_result(result)
            except HubUnavailable as exc:
                log.info("hub unavailable, %d result(s) stay spooled: %s", len(self.spool), exc)
                return
            except CredentialRejected:
                raise
            except HubRejected as exc:
                if exc.error.code is ErrorCode.UNKNOWN_COMMAND:
                    log.warning("hub does not know command %s; dropping its result", result.command_id)
                    self.spool.remove(result.command_id)
                else:
                    log.error("hub refused the result of %s (%s); kept as .rejected", result.command_id, exc)
                    self.spool.reject(result.command_id)
                continue
            self.spool.remove(result.command_id)

    # --- check-in -------------------------------------------------------------------------

    async def _checkin_loop(self) -> None:
        while not self._leaving:
            try:
                await self.checkin()
            except HubUnavailable as exc:
                log.warning("check-in failed: %s", exc)
            except CredentialRejected:
                if not self._leaving:
                    raise
            except HubRejected as exc:
                log.error("hub rejected the check-in: %s", exc)
            jitter = self.env.jitter
            delay = self.interval * self._rng.uniform(1 - jitter, 1 + jitter)
            with contextlib.suppress(TimeoutError):  # a report that should not wait a whole interval
                async with asyncio.timeout(delay):
                    await self._checkin_now.wait()
            self._checkin_now.clear()
        await self._stop.wait()  # uninstalling or ending the session: that routine stops the runtime

    async def _push_loop(self) -> None:
        try:
            await self.push.run()
        except PushRejected:
            if not self._leaving:
                raise
            await self._stop.wait()

    async def checkin(self) -> None:
        """One check-in: collect, send, apply the answer, dispatch the commands it carries."""
        metrics = await _in_daemon_thread(collect_metrics)
        inventory = await _in_daemon_thread(collect_inventory)
        apps, patches = await self._lists()
        apps_hash = content_hash(apps)
        patches_hash = content_hash(patches) if patches is not None else None
        request = CheckinRequest(
            protocol_version=PROTOCOL_VERSION,
            agent_version=__version__,
            metrics=metrics,
            inventory=inventory_delta(inventory, self._sent_inventory),
            applications_hash=apps_hash,
            applications=apps if apps_hash != self._hub_hashes["apps"] else None,
            patches_hash=patches_hash,
            pending_patches=patches if patches_hash != self._hub_hashes["patches"] else None,
            rustdesk=self._rustdesk,
        )
        response = await self.client.checkin(request)
        if request.rustdesk is not None and self._rustdesk is request.rustdesk:
            self._rustdesk = None
        if not self._confirmed:  # a pending self-update to this version has now proven itself
            self._confirmed = True
            await asyncio.to_thread(confirm, self.store.state_dir)
        self._sent_inventory = None if response.inventory_requested else inventory
        self._hub_hashes = {"apps": response.applications_hash, "patches": response.patches_hash}
        if self.env.checkin_interval is None:
            self.interval = float(response.checkin_interval_seconds)
        for spec in response.commands:
            await self.dispatch(spec)

    async def _lists(self) -> tuple[list[Application], list[Patch] | None]:
        loop = asyncio.get_running_loop()
        if self._apps is None or loop.time() - self._apps[0] > APPS_REFRESH_SECONDS:
            self._apps = (loop.time(), await _in_daemon_thread(collect_applications))
        return self._apps[1], self._patch_list()

    def _patch_list(self) -> list[Patch] | None:
        """Pending updates as last collected; ``None`` (nothing to report) until a collection ends.

        Collecting runs in the background and never delays a check-in (the first one carries
        metrics and inventory at once); its result goes out with the next check-in.
        """
        now = asyncio.get_running_loop().time()
        refresh = self._patches_refresh
        if refresh is not None and refresh.done():
            self._patches_refresh = None
            error = refresh.exception()
            if error is not None:
                log.warning("collecting pending updates failed: %r", error)
            self._patches = (now, refresh.result() if error is None else None)
        if self._patches_refresh is None and (
            self._patches is None or now - self._patches[0] > PATCHES_REFRESH_SECONDS
        ):
            self._patches_refresh = _in_daemon_thread(collect_patches)
        return self._patches[1] if self._patches is not None else None

    async def _install_rustdesk(self, spec: CommandSpec) -> None:
        """RustDesk added after enrollment: fetch the set-up with its password, then the same steps as at
        enrollment (:func:`agent.rustdesk.run_pending`); the ID goes back in the result and the next check-in."""
        if self.state.quick_support:
            self._finish(
                self._result(spec, CommandStatus.FAILED, "", "a quick-support session does not install RustDesk")
            )
            return
        try:
            RustDeskInstall.model_validate_json(spec.body)
            setup = await self.client.rustdesk_setup(spec.id)
        except ValidationError as exc:
            self._finish(self._result(spec, CommandStatus.FAILED, "", f"the RustDesk command is malformed: {exc}"))
            return
        except HubError as exc:
            self._finish(self._result(spec, CommandStatus.FAILED, "", f"could not fetch the RustDesk set-up: {exc}"))
            return
        save_rustdesk_setup(self.store.state_dir, setup)
        try:
            report = await _in_daemon_thread(partial(run_rustdesk, self.store.state_dir, self.state.hub_url))
        except Exception as exc:  # the same boundary as at enrollment: a crash is reported, the agent goes on
            log.exception("RustDesk set-up crashed")
            report = RustDeskReport(error=f"the RustDesk set-up crashed: {exc.__class__.__name__}")
        if report is None or report.id is None:
            error = report.error if report is not None else "the set-up vanished"
            self._rustdesk = report
            self._finish(self._result(spec, CommandStatus.FAILED, "", error or "RustDesk set-up failed"))
            return
        self._rustdesk = report
        self._finish(self._result(spec, CommandStatus.SUCCEEDED, f"RustDesk ID {report.id}\n"))
        self._checkin_now.set()

    async def _rustdesk_setup(self) -> None:
        """Set RustDesk up (or re-read its ID) in a worker thread; the report rides the next check-in."""
        try:
            report = await _in_daemon_thread(partial(run_rustdesk, self.store.state_dir, self.state.hub_url))
        except Exception as exc:
            log.exception("RustDesk set-up crashed")
            report = RustDeskReport(error=f"the RustDesk set-up crashed: {exc.__class__.__name__}")
        if report is not None:
            self._rustdesk = report
        await self._stop.wait()

    async def _expiry_watch(self) -> None:
        expires = self.state.session_expires_at
        assert expires is not None
        await asyncio.sleep(max((expires - _now()).total_seconds(), 0))
        log.info("quick-support session expired at %s", expires.isoformat())
        await self.end_session(DeregisterReason.QUICK_SUPPORT_EXPIRED)
