"""Downloads the installers fetch without credentials: the single-file agent and uv, per platform.

Both are made at set-up time (``rmmhub agent stage``, run by ``make run``/``make test``); the hub
only serves files already there, and answers 404 with a plain reason otherwise. Every file's
SHA-256 is rendered into the installer scripts, which refuse a download that does not match.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response

from agent.protocol import API_PREFIX
from native_rmm.devices.rustdesk import PACKAGE_KINDS, staged_package
from native_rmm.installers.binary import BINARY_NAME, available_binaries
from native_rmm.installers.uv import staged_uv
from native_rmm.plane import DevicePlane
from native_rmm.updates.releases import WHEEL_NAME, WHEEL_PLATFORM, find_release

router = APIRouter(tags=["rmm-installers"])
LinuxArch = Literal["x86_64", "aarch64"]
RustDeskKind = Literal["linux-deb", "linux-rpm", "linux-appimage", "windows", "macos"]
assert set(RustDeskKind.__args__) == set(PACKAGE_KINDS)  # type: ignore[attr-defined]
UvPlatform = Literal[
    "windows-x86_64", "windows-aarch64", "macos-x86_64", "macos-aarch64", "linux-x86_64", "linux-aarch64"
]


#: What the download routes answer: the file itself, or a plain-text line a shell installer prints.
DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the file",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    404: {"description": "not built or staged on this hub", "content": {"text/plain": {"schema": {"type": "string"}}}},
}


def _plane(request: Request) -> DevicePlane:
    plane: DevicePlane = request.app.state.hub.components.get(DevicePlane)
    return plane


@router.get(API_PREFIX + "/download/linux-{arch}/" + BINARY_NAME, response_model=None, responses=DOWNLOAD_RESPONSES)
async def agent_binary(arch: LinuxArch, request: Request) -> Response:
    """The single-file Linux agent for ``arch`` (no Python needed on the endpoint)."""
    built = available_binaries(_plane(request).settings.agent_dist_dir).get(arch)
    if built is None:
        return PlainTextResponse(f"rmmhub: this hub has no single-file agent for linux-{arch}\n", status_code=404)
    return FileResponse(built.path, media_type="application/octet-stream", filename=BINARY_NAME,
                        headers={"X-Checksum-Sha256": built.sha256})  # fmt: skip


@router.get(API_PREFIX + "/download/uv/{platform}", response_model=None, responses=DOWNLOAD_RESPONSES)
async def uv_binary(platform: UvPlatform, request: Request) -> Response:
    """The ``uv`` executable for ``platform``, staged from uv's wheel on the package index."""
    staged = staged_uv(_plane(request).settings.agent_dist_dir, platform)
    if staged is None:
        return PlainTextResponse(f"rmmhub: this hub has not staged uv for {platform}\n", status_code=404)
    return FileResponse(staged.path, media_type="application/octet-stream", filename=staged.path.name,
                        headers={"X-Checksum-Sha256": staged.sha256})  # fmt: skip


@router.get(
    API_PREFIX + "/download/releases/linux-{arch}/{version}/" + BINARY_NAME,
    response_model=None,
    responses=DOWNLOAD_RESPONSES,
)
async def agent_release(arch: LinuxArch, version: str, request: Request) -> Response:
    """A signed agent release (the self-update downloads it; the agent checks SHA-256 and signature)."""
    if len(version) > 64:
        return PlainTextResponse("rmmhub: no such agent release\n", status_code=404)
    release = find_release(_plane(request).settings.agent_dist_dir, f"linux-{arch}", version)
    if release is None:
        return PlainTextResponse(f"rmmhub: no agent release {version} for linux-{arch}\n", status_code=404)
    return FileResponse(release.path, media_type="application/octet-stream", filename=BINARY_NAME,
                        headers={"X-Checksum-Sha256": release.sha256})  # fmt: skip


@router.get(API_PREFIX + "/download/rustdesk/{kind}", response_model=None, responses=DOWNLOAD_RESPONSES)
async def rustdesk_package(kind: RustDeskKind, request: Request) -> Response:
    """The RustDesk client staged on this hub for ``kind`` (agents of opted-in installers fetch it)."""
    staged = staged_package(_plane(request).settings.agent_dist_dir, kind)
    if staged is None:
        return PlainTextResponse(f"rmmhub: this hub has not staged a RustDesk {kind} package\n", status_code=404)
    return FileResponse(staged.path, media_type="application/octet-stream", filename=staged.path.name,
                        headers={"X-Checksum-Sha256": staged.sha256})  # fmt: skip


@router.get(
    API_PREFIX + "/download/releases/python/{version}/" + WHEEL_NAME, response_model=None, responses=DOWNLOAD_RESPONSES
)
async def agent_wheel_release(version: str, request: Request) -> Response:
    """A signed agent wheel release (virtualenv agents update from it; they check SHA-256 and signature)."""
    release = (
        find_release(_plane(request).settings.agent_dist_dir, WHEEL_PLATFORM, version) if len(version) <= 64 else None
    )
    if release is None:
        return PlainTextResponse(f"rmmhub: no agent wheel release {version[:64]}\n", status_code=404)
    return FileResponse(release.path, media_type="application/octet-stream", filename=WHEEL_NAME,
                        headers={"X-Checksum-Sha256": release.sha256})  # fmt: skip
