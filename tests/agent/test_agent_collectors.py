"""Collector parsers against captured tool output, and a live psutil smoke test on this machine."""

from __future__ import annotations

import plistlib
import sys
from pathlib import Path

import pytest

from agent import protocol as p
from agent.collectors import apps, hardware, osinfo, patches, system

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def test_os_release_and_sw_vers() -> None:
    assert osinfo.parse_os_release(sample("os_release_debian12.txt")) == ("Debian GNU/Linux", "12 (bookworm)")
    assert osinfo.parse_os_release('ID=alpine\nVERSION_ID="3.19.1"\n') == ("alpine", "3.19.1")
    assert osinfo.parse_sw_vers(sample("sw_vers.txt")) == ("macOS", "14.4.1 (23E224)")
    assert osinfo.os_family("win32") is p.OsFamily.WINDOWS
    assert osinfo.os_family("darwin") is p.OsFamily.MACOS
    assert osinfo.os_family("linux") is p.OsFamily.LINUX


def test_hardware_parsers(tmp_path: Path) -> None:
    (tmp_path / "sys_vendor").write_text("LENOVO\n")
    (tmp_path / "product_name").write_text("20XW0055GE\n")
    (tmp_path / "product_serial").write_text("To be filled by O.E.M.\n")
    assert hardware.parse_dmi(tmp_path) == hardware.HardwareIdentity("LENOVO", "20XW0055GE", None)
    assert hardware.parse_dmi(tmp_path / "missing") == hardware.HardwareIdentity()
    assert hardware.parse_cpuinfo(sample("proc_cpuinfo_x86.txt"))
    mac = hardware.parse_system_profiler(sample("system_profiler_hardware.json"))
    assert mac == hardware.HardwareIdentity("Apple Inc.", "MacBook Air (Mac14,2)", "C02ABC123XYZ", "Apple M2")
    win = hardware.parse_cim_json(sample("cim_hardware.json"))
    assert (win.manufacturer, win.model, win.serial_number) == ("Dell Inc.", "OptiPlex 7090", "5CG1234XYZ")


def test_dpkg_and_rpm() -> None:
    dpkg = apps.parse_dpkg_query(sample("dpkg_query.txt"))
    assert len(dpkg) == 25
    assert dpkg[0] == p.Application(
        name="adduser", version="3.134", publisher="Debian Adduser Developers <adduser@packages.debian.org>"
    )
    assert apps.parse_dpkg_query("rc \told-package\t1.0\tsomeone\n") == []  # removed, config left
    rpm = apps.parse_rpm_query(sample("rpm_qa.txt"))
    assert [a.name for a in rpm] == ["bash", "openssl-libs", "my-local-tool"]
    assert rpm[0].publisher == "Red Hat, Inc." and rpm[2].publisher == ""


def test_macos_apps(tmp_path: Path) -> None:
    brew = apps.parse_brew_versions(sample("brew_list_versions.txt"))
    assert p.Application(name="openssl@3", version="3.3.0", publisher="Homebrew") in brew
    info = {
        "CFBundleName": "Slack",
        "CFBundleShortVersionString": "4.38.125",
        "CFBundleIdentifier": "com.tinyspeck.slackmacgap",
    }
    app = apps.parse_info_plist(plistlib.dumps(info), "Slack.app")
    assert app == p.Application(name="Slack", version="4.38.125", publisher="com.tinyspeck")


def test_windows_uninstall_entries() -> None:
    entry = {"DisplayName": "7-Zip 23.01 (x64)", "DisplayVersion": "23.01", "Publisher": "Igor Pavlov"}
    assert apps.app_from_uninstall_values(entry) == p.Application(
        name="7-Zip 23.01 (x64)", version="23.01", publisher="Igor Pavlov"
    )
    assert apps.app_from_uninstall_values({**entry, "SystemComponent": 1}) is None
    assert apps.app_from_uninstall_values({"DisplayName": "KB123", "ParentKeyName": "Office"}) is None
    assert apps.app_from_uninstall_values({"UninstallString": "x"}) is None


def test_dedupe_sorts_and_removes_duplicates() -> None:
    items = [p.Application(name="b"), p.Application(name="A"), p.Application(name="b")]
    assert [a.name for a in apps.dedupe(items)] == ["A", "b"]


def test_apt_simulate() -> None:
    found = patches.parse_apt_simulate(sample("apt_get_s_upgrade.txt"))
    assert len(found) == 12
    assert found[0] == p.Patch(id="base-files", title="base-files 12.4+deb12u11 -> 12.4+deb12u15")
    by_id = {patch.id: patch for patch in found}
    assert by_id["libssl3"].severity == "security"
    assert by_id["libgcrypt20"].severity == "security"
    assert by_id["bash"].severity is None


def test_dnf_softwareupdate_and_windows_update() -> None:
    dnf = patches.parse_dnf_check_update(sample("dnf_check_update.txt"))
    assert [x.id for x in dnf] == ["NetworkManager", "kernel", "openssl", "python3-urllib3"]
    mac = patches.parse_softwareupdate(sample("softwareupdate_l.txt"))
    assert mac == [
        p.Patch(id="macOS Sonoma 14.5-23F79", title="macOS Sonoma 14.5", severity="recommended"),
        p.Patch(id="Command Line Tools for Xcode-15.3", title="Command Line Tools for Xcode"),
    ]
    assert patches.parse_softwareupdate("Software Update Tool\n\nNo new software available.\n") == []
    win = patches.parse_windows_updates(sample("windows_updates.json"))
    assert [(x.id, x.severity) for x in win] == [("KB5037771", "Critical"), ("KB2267602", None)]
    single = '{"Title":"x","KB":"1","Severity":"Important","UpdateID":"u"}'
    assert patches.parse_windows_updates(single)[0].id == "KB1"
    assert patches.parse_windows_updates("") == []


def test_install_patches_command_quotes_package_names() -> None:
    shell, body = patches.install_patches_command(["openssl", "evil; rm -rf /"], "linux")
    assert shell is p.Shell.SH
    assert "apt-get install -y --only-upgrade openssl 'evil; rm -rf /'" in body
    assert "dnf -y upgrade openssl 'evil; rm -rf /'" in body
    assert "apt-get upgrade -y" in patches.install_patches_command([], "linux")[1]
    assert patches.install_patches_command([], "darwin") == (p.Shell.SH, "softwareupdate -i -a")
    shell, body = patches.install_patches_command(["KB5037771", "not-a-kb'"], "win32")
    assert shell is p.Shell.POWERSHELL and "'5037771'" in body and "not-a-kb" not in body


def test_inventory_delta() -> None:
    full = p.InventoryDelta(hostname="a", os_version="1", ip_addresses=["10.0.0.1"])
    assert system.inventory_delta(full, None) == full
    assert system.inventory_delta(full, full) is None
    changed = full.model_copy(update={"ip_addresses": ["10.0.0.2"]})
    assert system.inventory_delta(changed, full) == p.InventoryDelta(ip_addresses=["10.0.0.2"])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="live smoke test written for Linux")
def test_live_collectors_on_this_machine() -> None:
    system.prime_cpu_percent()
    metrics = system.collect_metrics()
    assert metrics.memory_total_bytes > 0 and metrics.uptime_seconds > 0
    assert any(d.mountpoint == "/" for d in metrics.disks)
    assert metrics.load_1 is not None
    inventory = system.collect_inventory()
    assert inventory.os_family is p.OsFamily.LINUX and inventory.hostname
    assert inventory.hardware is not None and inventory.hardware.cpu_threads
    assert inventory.os_name == osinfo.os_name_version()[0]
    installed = apps.collect_applications()
    assert installed == [] or all(a.name for a in installed)
    # Both go on the wire as they are.
    p.CheckinRequest(
        protocol_version=1,
        agent_version="0",
        metrics=metrics,
        inventory=inventory,
        applications=installed,
        applications_hash=p.content_hash(installed),
    )


def test_network_rate_is_the_counter_delta_per_second() -> None:
    from agent.collectors.system import NetRate

    rate = NetRate()
    assert rate.sample(now=100.0, sent=1_000, recv=5_000) is None  # a rate needs two readings
    got = rate.sample(now=102.0, sent=3_000, recv=9_000)
    assert got is not None and (got.sent_bytes_per_s, got.recv_bytes_per_s) == (1_000.0, 2_000.0)
    assert rate.sample(now=103.0, sent=10, recv=9_500) is None  # counters reset (an interface went away)
    again = rate.sample(now=104.0, sent=510, recv=9_600)
    assert again is not None and (again.sent_bytes_per_s, again.recv_bytes_per_s) == (500.0, 100.0)
    live = NetRate()
    live.sample()
    assert (measured := live.sample()) is None or measured.recv_bytes_per_s >= 0
