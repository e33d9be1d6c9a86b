"""Device "system state": boot time and users, plus latest CPU, memory and disk (reference §3.3).

There is no process-list endpoint in the partner API; the only process figure is the count in the CPU
sample (``metric.numOfProcesses``).
"""

from __future__ import annotations

from pydantic import Field

from connectors.connectwise_rmm.client.schemas.base import CWModel


class StartupStatus(CWModel):
    last_boot_up_time_utc: str | None = Field(default=None, alias="lastBootUpTimeUTC")


class LastLoggedOnUser(CWModel):
    username: str | None = None
    logon_time: str | None = None
    status: str | None = None
    is_admin: bool | None = None


class LoggedOnUser(CWModel):
    username: str | None = None
    is_admin: bool | None = None
    session_id: str | None = Field(default=None, alias="sessionID")
    session_name: str | None = None
    status: str | None = None
    client: str | None = None
    logon_time: str | None = None


class SystemState(CWModel):
    """``GET /api/platform/v2/device/endpoints/{id}/system-state-info``."""

    create_time_utc: str | None = Field(default=None, alias="createTimeUTC")
    endpoint_id: str | None = Field(default=None, alias="endpointID")
    client_id: str | None = Field(default=None, alias="clientID")
    site_id: str | None = Field(default=None, alias="siteID")
    startup_status: StartupStatus | None = None
    last_logged_on_user: LastLoggedOnUser | None = None
    logged_on_users: list[LoggedOnUser] = Field(default_factory=list)


class CpuMetric(CWModel):
    num_of_processes: int | None = None
    percent_idle_time: float | None = None
    percent_system_time: float | None = None
    percent_user_time: float | None = None
    percent_util: float | None = None


class CpuSample(CWModel):
    """One element of ``.../cpu-usage``."""

    create_time_utc: str | None = Field(default=None, alias="createTimeUTC")
    endpoint_id: str | None = Field(default=None, alias="endpointID")
    metric: CpuMetric | None = None


class MemorySample(CWModel):
    """One element of ``.../memory-usage``."""

    create_time_utc: str | None = Field(default=None, alias="createTimeUTC")
    endpoint_id: str | None = Field(default=None, alias="endpointID")
    physical_total_bytes: int | None = None
    physical_in_use_bytes: int | None = None
    physical_available_bytes: int | None = None


class SpaceMetric(CWModel):
    free_space_bytes: int | None = None
    used_space_bytes: int | None = None
    total_space_bytes: int | None = None


class Partition(CWModel):
    name: str | None = None
    file_system: str | None = None
    mount_point: str | None = None
    drive_type: int | None = None
    metric: SpaceMetric | None = None


class Storage(CWModel):
    index: int | None = None
    name: str | None = None
    metric: SpaceMetric | None = None
    partitions: list[Partition] = Field(default_factory=list)


class DiskSample(CWModel):
    """One element of ``.../disk-usage``."""

    create_time_utc: str | None = Field(default=None, alias="createTimeUTC")
    endpoint_id: str | None = Field(default=None, alias="endpointID")
    storages: list[Storage] = Field(default_factory=list)


class DiskUsage(CWModel):
    """One disk or partition in :class:`DeviceStateSummary`."""

    name: str | None = None
    mount_point: str | None = None
    total_bytes: int | None = None
    free_bytes: int | None = None
    percent_used: float | None = None


class DeviceState(CWModel):
    """Everything ``get_device_state`` gathered. A section is ``None`` when ConnectWise had no data (404)."""

    endpoint_id: str
    system_state: SystemState | None = None
    cpu: CpuSample | None = None
    memory: MemorySample | None = None
    disk: DiskSample | None = None
    missing: list[str] = Field(default_factory=list, description="Sections ConnectWise had no data for.")

    def summary(self) -> DeviceStateSummary:
        """Live state in a few lines: boot time, users, CPU %, memory and disk use."""
        cpu = self.cpu.metric if self.cpu and self.cpu.metric else None
        memory = self.memory
        disks: list[DiskUsage] = []
        for storage in self.disk.storages if self.disk else []:
            volumes = storage.partitions or [Partition(name=storage.name, metric=storage.metric)]
            for part in volumes:
                metric = part.metric or SpaceMetric()
                disks.append(
                    DiskUsage(
                        name=part.name,
                        mount_point=part.mount_point,
                        total_bytes=metric.total_space_bytes,
                        free_bytes=metric.free_space_bytes,
                        percent_used=_percent(metric.used_space_bytes, metric.total_space_bytes),
                    )
                )
        state = self.system_state
        return DeviceStateSummary(
            endpoint_id=self.endpoint_id,
            last_boot_utc=state.startup_status.last_boot_up_time_utc if state and state.startup_status else None,
            last_logged_on_user=state.last_logged_on_user.username if state and state.last_logged_on_user else None,
            logged_on_users=[u.username for u in state.logged_on_users if u.username] if state else [],
            cpu_percent=cpu.percent_util if cpu else None,
            process_count=cpu.num_of_processes if cpu else None,
            memory_total_bytes=memory.physical_total_bytes if memory else None,
            memory_percent_used=(
                _percent(memory.physical_in_use_bytes, memory.physical_total_bytes) if memory else None
            ),
            disks=disks,
            sampled_at_utc=(self.cpu.create_time_utc if self.cpu else None)
            or (memory.create_time_utc if memory else None),
            missing=self.missing,
        )


class DeviceStateSummary(CWModel):
    """Trimmed live state of an endpoint."""

    endpoint_id: str
    last_boot_utc: str | None = None
    last_logged_on_user: str | None = None
    logged_on_users: list[str] = Field(default_factory=list)
    cpu_percent: float | None = None
    process_count: int | None = None
    memory_total_bytes: int | None = None
    memory_percent_used: float | None = None
    disks: list[DiskUsage] = Field(default_factory=list)
    sampled_at_utc: str | None = None
    missing: list[str] = Field(default_factory=list)


def _percent(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return round(100.0 * part / whole, 1)
