"""The patch-policy runner (leader-only job, like schedules).

Each tick:

1. **windows**: a policy whose window has come gets one run per slot (unique per policy and slot, so
   a slot runs once across restarts and replicas); a slot found more than :data:`MISFIRE_GRACE` late
   (the hub was down) is recorded as ``missed``: patches never install outside their window;
2. **runs**: a requested run (a window's or ``rmm-run-patch-policy``'s) installs, on each device the
   policy governs, the pending patches of its categories through the gate (``rmm-install-patches``,
   caller ``automation`` for the policy's owner or the manual run's requester): policy, approval,
   RBAC and audit apply as for a person;
3. **follow-up**: an approved install gets its command; a finished install becomes ``installed``,
   ``failed`` (with the reason: exit code and the last line the package manager wrote) or, when the
   OS says a reboot is needed, ``pending_reboot`` (reboot ``never``) or a reboot through the gate
   (``rmm-run-command``) that warns the logged-in user first (``shutdown -r +N "message"`` broadcasts
   to every terminal and desktop session on Linux and macOS; ``shutdown /r /t S /c "message"`` shows
   the message on Windows) -> ``reboot_scheduled``; reboot ``always`` reboots after every install;
4. a run whose devices all reached a final state is ``done``.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import TERMINAL_STATUSES, CommandStatus, OsFamily, PatchStatus, Shell
from hub.core.caller import Caller
from hub.core.db import Database, utcnow
from hub.core.errors import RmmHubError
from native_rmm.automation.engine import automation_caller
from native_rmm.automation.patch_policies import governed_devices, run_counts
from native_rmm.automation.patch_schemas import FINAL_DEVICE_STATES, categories_of
from native_rmm.automation.schedule_schemas import CronSpec
from native_rmm.automation.triggers import next_fire
from native_rmm.models.automation import PatchPolicy, PatchPolicyRun, PatchRunDevice
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device, PatchRecord
from policies.models import Approval, ApprovalStatus
from policies.outcome import InvocationStatus, Outcome
from policies.pipeline import Gate

log = logging.getLogger(__name__)
JOB_NAME = "automation-patch-policies"
JOB_SECONDS = 2.0  # "run now" and a finished install are picked up within two seconds
MISFIRE_GRACE = timedelta(seconds=60)
INSTALL_TOOL = "native_rmm:rmm-install-patches"
REBOOT_TOOL = "native_rmm:rmm-run-command"
#: What package managers print when the update needs a restart (the agent's Linux install command
#: prints the first when ``/var/run/reboot-required`` exists; Windows Update's installer the second).
REBOOT_MARKERS = re.compile(r"rmmhub: reboot required|reboot=true|restart required|please restart|\[restart\]", re.I)
WARNING = "rmmhub: this computer restarts in {minutes} minute(s) to finish installing updates. Save your work now."


def reboot_command(os_family: OsFamily | None, minutes: int) -> tuple[Shell, str]:
    """The command that reboots after warning the logged-in user for ``minutes``."""
    message = WARNING.format(minutes=minutes)
    if os_family is OsFamily.WINDOWS:
        return Shell.POWERSHELL, f'shutdown.exe /r /t {minutes * 60} /c "{message}"'
    return Shell.SH, f'shutdown -r +{minutes} "{message}"'


def failure_reason(command: Command) -> str:
    """Why an install failed: the hub's error, or the exit code and the package manager's last word."""
    if command.error:
        return command.error[:500]
    if command.status is CommandStatus.TIMED_OUT:
        return f"timed out after {command.timeout_seconds} s"
    lines = [line.strip() for line in (command.stderr or command.stdout).splitlines() if line.strip()]
    last = lines[-1][:400] if lines else "no output"
    return f"exit code {command.exit_code}: {last}"


def _command_id(outcome: Outcome) -> int | None:
    result: Any = outcome.result
    return int(result["id"]) if isinstance(result, dict) and isinstance(result.get("id"), int) else None


class PatchPolicyRunner:
    """Opens windows, runs requested runs and follows their devices to a final state."""

    def __init__(self, db: Database, gate: Gate) -> None:
        self._db = db
        self._gate = gate

    async def tick(self, *, now: datetime | None = None) -> int:
        """One pass; returns how many runs started."""
        now = now or utcnow()
        await self._open_windows(now)
        started = 0
        async with self._db.transaction() as session:
            requested = list(
                (
                    await session.scalars(
                        select(PatchPolicyRun.id)
                        .where(PatchPolicyRun.status == "requested")
                        .order_by(PatchPolicyRun.id)
                        .limit(20)
                    )
                ).all()
            )
        for run_id in requested:
            async with self._db.transaction() as session:
                started += await self._start(session, run_id, now)
        async with self._db.transaction() as session:
            await self._follow_up(session, now)
        return started

    async def _open_windows(self, now: datetime) -> None:
        async with self._db.transaction() as session:
            stmt = select(PatchPolicy.id).where(
                PatchPolicy.enabled.is_(True), PatchPolicy.next_run_at.is_not(None), PatchPolicy.next_run_at <= now
            )
            due = list((await session.scalars(stmt.limit(200))).all())
        for policy_id in due:
            try:
                async with self._db.transaction() as session:
                    policy = await session.get(PatchPolicy, policy_id)
                    if policy is None or policy.next_run_at is None or policy.next_run_at > now:
                        continue
                    slot = policy.next_run_at
                    policy.last_run_at = now
                    policy.next_run_at = next_fire(
                        CronSpec(cron=policy.cron),
                        timezone=policy.timezone,
                        after=max(slot, now),
                        anchor=policy.created_at,
                        end_at=None,
                    )
                    late = now - slot > MISFIRE_GRACE
                    run = PatchPolicyRun(
                        org_id=policy.org_id,
                        policy_id=policy.id,
                        trigger="window",
                        requested_by=f"window {policy.cron} ({policy.timezone})",
                        due_at=slot,
                        status="missed" if late else "requested",
                        message=f"window {slot:%Y-%m-%d %H:%M} UTC was missed (the hub was not running)"
                        if late
                        else "",
                    )
                    session.add(run)
                    await session.flush()  # the claim: a second claim of this slot fails here
            except IntegrityError:
                log.info("patch policy %s: its window slot was claimed by another run; skipped", policy_id)

    async def _start(self, session: AsyncSession, run_id: int, now: datetime) -> int:
        run = await session.get(PatchPolicyRun, run_id)
        if run is None or run.status != "requested":
            return 0
        policy = await session.get(PatchPolicy, run.policy_id)
        assert policy is not None  # runs cascade with their policy
        run.started_at, run.status = now, "running"
        owner = run.requested_by_user_id or policy.owner_user_id
        caller = await automation_caller(
            session, org_id=policy.org_id, owner_user_id=owner, what=f"patch policy '{policy.name}'"
        )
        if caller is None:
            run.status, run.finished_at = "done", now
            run.message = "the policy's owner (or the run's requester) is disabled or gone; nothing ran"
            return 1
        devices = await governed_devices(session, policy=policy)
        if not devices:
            run.status, run.finished_at = "done", now
            run.message = "no installed device is governed by this policy"
            return 1
        for device in devices:
            row = PatchRunDevice(
                org_id=run.org_id, run_id=run.id, device_id=device.id, status="installing", updated_at=now
            )
            session.add(row)
            await self._install(session, caller, policy, run, row)
        run.message = f"{len(devices)} device(s)"
        await session.flush()
        return 1

    async def _install(
        self, session: AsyncSession, caller: Caller, policy: PatchPolicy, run: PatchPolicyRun, row: PatchRunDevice
    ) -> None:
        stmt = select(PatchRecord.key, PatchRecord.severity).where(
            PatchRecord.device_id == row.device_id, PatchRecord.status == PatchStatus.PENDING
        )
        wanted = set(policy.categories)
        keys = sorted(key for key, severity in (await session.execute(stmt)).all() if categories_of(severity) & wanted)
        if not keys:
            row.status, row.reason = "nothing_to_install", "no pending patch in " + ", ".join(policy.categories)
            return
        row.patch_ids = keys[:512]
        reason = f"patch policy '{policy.name}' ({run.trigger} run #{run.id})"
        try:
            outcome = await self._gate.invoke(
                session,
                caller,
                INSTALL_TOOL,
                {"device": row.device_id, "patch_ids": row.patch_ids},
                reason=reason,
                context={"patch_policy_id": policy.id, "patch_run_id": run.id},
            )
        except RmmHubError as exc:
            row.status, row.reason = "failed", exc.message
            return
        if outcome.status is InvocationStatus.DONE and (command_id := _command_id(outcome)) is not None:
            row.status, row.command_id = "installing", command_id
        elif outcome.status is InvocationStatus.PENDING_APPROVAL:
            row.status, row.approval_id, row.reason = "pending_approval", outcome.approval_id, outcome.message
        elif outcome.status is InvocationStatus.REFUSED:
            row.status, row.reason = "refused", outcome.message
        else:
            row.status, row.reason = "failed", outcome.message

    async def _follow_up(self, session: AsyncSession, now: datetime) -> None:
        moving = (
            await session.scalars(
                select(PatchRunDevice)
                .where(PatchRunDevice.status.in_(("pending_approval", "installing")))
                .order_by(PatchRunDevice.id)
                .limit(500)
            )
        ).all()
        waiting_reboots = (
            await session.scalars(
                select(PatchRunDevice)
                .where(
                    PatchRunDevice.status == "pending_reboot",
                    PatchRunDevice.reboot_approval_id.is_not(None),
                    PatchRunDevice.reboot_command_id.is_(None),
                )
                .order_by(PatchRunDevice.id)
                .limit(500)
            )
        ).all()
        for row in waiting_reboots:  # a reboot that waited for approval: its command once approved
            command_id = await session.scalar(
                select(Command.id).where(
                    Command.approval_id == row.reboot_approval_id, Command.device_id == row.device_id
                )
            )
            if command_id is not None:
                row.status, row.reboot_command_id, row.updated_at = "reboot_scheduled", command_id, now
                row.reason = "installed; reboot approved and sent, the logged-in user was warned"
        for row in moving:
            if row.status == "pending_approval" and await self._approved(session, row):
                row.updated_at = now
            if row.status == "installing" and await self._finished(session, row):
                row.updated_at = now
        running = (await session.scalars(select(PatchPolicyRun).where(PatchPolicyRun.status == "running"))).all()
        for run in running:
            counts = (await run_counts(session, run_ids=[run.id]))[run.id]
            if all(status in FINAL_DEVICE_STATES for status in counts):
                run.status, run.finished_at = "done", now
                run.message = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or run.message

    async def _approved(self, session: AsyncSession, row: PatchRunDevice) -> bool:
        """An install waiting for approval: its command once approved, or ``refused`` once denied."""
        command_id = await session.scalar(
            select(Command.id).where(Command.approval_id == row.approval_id, Command.device_id == row.device_id)
        )
        if command_id is not None:
            row.status, row.command_id, row.reason = "installing", command_id, ""
            return True
        approval = await session.get(Approval, row.approval_id) if row.approval_id else None
        if approval is not None and approval.status in (
            ApprovalStatus.DENIED,
            ApprovalStatus.EXPIRED,
            ApprovalStatus.FAILED,
        ):
            row.status, row.reason = "refused", f"the install's approval #{approval.id} was {approval.status.value}"
            return True
        return False

    async def _finished(self, session: AsyncSession, row: PatchRunDevice) -> bool:
        command = await session.get(Command, row.command_id) if row.command_id else None
        if command is None or command.status not in TERMINAL_STATUSES:
            return False
        if command.status is not CommandStatus.SUCCEEDED:
            row.status, row.reason = "failed", failure_reason(command)
            return True
        row.reboot_required = bool(REBOOT_MARKERS.search(command.stdout or ""))
        run = await session.get(PatchPolicyRun, row.run_id)
        policy = await session.get(PatchPolicy, run.policy_id) if run is not None else None
        if policy is None or run is None:
            row.status = "installed"
            return True
        if policy.reboot == "always" or (policy.reboot == "if_required" and row.reboot_required):
            await self._reboot(session, policy, run, row)
        elif row.reboot_required:
            row.status, row.reason = "pending_reboot", "installed; the OS needs a reboot (this policy never reboots)"
        else:
            row.status, row.reason = "installed", ""
        return True

    async def _reboot(
        self, session: AsyncSession, policy: PatchPolicy, run: PatchPolicyRun, row: PatchRunDevice
    ) -> None:
        device = await session.get(Device, row.device_id)
        owner = run.requested_by_user_id or policy.owner_user_id
        caller = await automation_caller(
            session, org_id=policy.org_id, owner_user_id=owner, what=f"patch policy '{policy.name}'"
        )
        if caller is None or device is None:
            row.status, row.reason = "pending_reboot", "installed; the reboot was not sent (the owner is gone)"
            return
        shell, body = reboot_command(device.os_family, policy.reboot_warning_minutes)
        try:
            outcome = await self._gate.invoke(
                session,
                caller,
                REBOOT_TOOL,
                {"device": row.device_id, "command": body, "shell": shell.value, "timeout_seconds": 120},
                reason=f"patch policy '{policy.name}' (run #{run.id}): reboot after installing updates",
                context={"patch_policy_id": policy.id, "patch_run_id": run.id},
            )
        except RmmHubError as exc:
            row.status, row.reason = "pending_reboot", f"installed; the reboot was not sent: {exc.message}"
            return
        if outcome.status is InvocationStatus.DONE:
            row.status, row.reboot_command_id = "reboot_scheduled", _command_id(outcome)
            row.reason = f"installed; reboot in {policy.reboot_warning_minutes} min, the logged-in user was warned"
        elif outcome.status is InvocationStatus.PENDING_APPROVAL:
            row.status, row.reboot_approval_id = "pending_reboot", outcome.approval_id
            row.reason = f"installed; the reboot waits for approval #{outcome.approval_id}"
        else:
            row.status, row.reason = "pending_reboot", f"installed; the reboot was refused: {outcome.message}"
