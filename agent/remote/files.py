"""The file channel of a files session: list a folder, download a file, upload one.

Files are streamed in 256 KiB chunks and never held whole in memory: a download is read chunk by
chunk and each chunk is sent when the relay accepts it (its back-pressure paces the disk); an
upload is written to a hidden part file as chunks arrive and renamed into place only when every
byte announced has arrived. Both directions are checked against the size limit and reported as
a ``file-transferred`` event with the name, size and SHA-256 (the hub's trail and audit log).
Messages to viewers carry the viewer's ``slot``: the relay shows every viewer of the session the
same control stream and each browser keeps to its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import stat
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

CHUNK = 256 << 10
MAX_ENTRIES = 2000

Control = Callable[[dict[str, object]], Awaitable[None]]
Binary = Callable[[int, bytes], Awaitable[None]]


class FileChannelError(ValueError):
    """A request the channel refuses (the message goes to the technician)."""


@dataclass
class _Upload:
    id: str
    final: Path
    part: Path
    size: int
    user: str
    handle: IO[bytes]
    received: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)


def _int(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FileChannelError(f"{name} must be a whole number")
    return value


def _folder(raw: object) -> Path:
    text = str(raw or "")
    if not text:
        return Path.home()
    path = Path(text).expanduser()
    if not path.is_absolute():
        raise FileChannelError(f"{text!r} is not an absolute path")
    return path


class FileChannel:
    """One files session's transfers on the endpoint."""

    def __init__(self, control: Control, binary: Binary, event: Callable[..., Awaitable[None]], *, limit: int) -> None:
        self._control = control
        self._binary = binary
        self._event = event
        self.limit = limit
        self._uploads: dict[int, _Upload] = {}
        self._downloads: dict[int, asyncio.Task[None]] = {}

    async def ready(self, slot: int) -> None:
        """A viewer joined: tell it the limit and where it starts."""
        await self._control({"type": "files-ready", "slot": slot, "limit": self.limit, "home": str(Path.home())})

    async def handle(self, payload: Mapping[str, object]) -> None:
        """One request from a viewer (its slot was added by the relay)."""
        slot = _int(payload.get("slot"), "slot")
        ident = str(payload.get("id", ""))[:64]
        kind = payload.get("type")
        try:
            if kind == "list":
                await self._list(slot, _folder(payload.get("path")))
            elif kind == "download":
                self._downloads[slot] = asyncio.ensure_future(self._download(slot, ident, payload))
            elif kind == "upload":
                await self._begin_upload(slot, ident, payload)
            elif kind == "upload-done":
                await self._finish_upload(slot)
            elif kind == "cancel":
                await self.cancel(slot)
        except (FileChannelError, OSError) as exc:
            message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            await self.cancel(slot)
            await self._control({"type": "file-error", "slot": slot, "id": ident, "message": message})

    async def _list(self, slot: int, folder: Path) -> None:
        def scan() -> list[dict[str, object]]:
            entries: list[dict[str, object]] = []
            with os.scandir(folder) as it:
                for entry in it:
                    try:
                        info = entry.stat(follow_symlinks=True)
                    except OSError:
                        continue
                    is_dir = stat.S_ISDIR(info.st_mode)
                    entries.append({"name": entry.name, "dir": is_dir, "size": 0 if is_dir else info.st_size,
                                    "mtime": int(info.st_mtime)})  # fmt: skip
                    if len(entries) >= MAX_ENTRIES:
                        break
            return sorted(entries, key=lambda e: (not e["dir"], str(e["name"]).lower()))

        entries = await asyncio.to_thread(scan)
        await self._control({"type": "listing", "slot": slot, "path": str(folder), "entries": entries,
                             "limit": self.limit, "truncated": len(entries) >= MAX_ENTRIES})  # fmt: skip

    async def _download(self, slot: int, ident: str, payload: Mapping[str, object]) -> None:
        path = _folder(payload.get("path"))
        try:
            handle = await asyncio.to_thread(path.open, "rb")
            size = os.fstat(handle.fileno()).st_size
            if size > self.limit:
                handle.close()
                raise FileChannelError(f"{path.name} is {size} bytes, over the {self.limit}-byte limit")
            digest = hashlib.sha256()
            with handle:
                await self._control({"type": "file-start", "slot": slot, "id": ident, "name": path.name, "size": size})
                while chunk := await asyncio.to_thread(handle.read, CHUNK):
                    digest.update(chunk)
                    await self._binary(slot, chunk)
        except (FileChannelError, OSError) as exc:
            message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            await self._control({"type": "file-error", "slot": slot, "id": ident, "message": message})
            return
        finally:
            self._downloads.pop(slot, None)
        checksum = digest.hexdigest()
        await self._control({"type": "file-done", "slot": slot, "id": ident, "size": size, "sha256": checksum})
        await self._transferred("download", path, size, checksum, str(payload.get("user", "")))

    async def _begin_upload(self, slot: int, ident: str, payload: Mapping[str, object]) -> None:
        if slot in self._uploads:
            raise FileChannelError("an upload is already running in this window")
        folder = _folder(payload.get("path"))
        name = str(payload.get("name", ""))
        if not name or "/" in name or "\\" in name or name in (".", "..") or len(name) > 255:
            raise FileChannelError(f"{name!r} is not a file name")
        size = _int(payload.get("size"), "size")
        if size > self.limit:
            raise FileChannelError(f"{name} is {size} bytes, over the {self.limit}-byte limit")
        final = folder / name
        if await asyncio.to_thread(final.exists):
            raise FileChannelError(f"{final} already exists; remove or rename it first")
        part = folder / f".{name}.part-{secrets.token_hex(4)}"
        handle = await asyncio.to_thread(part.open, "xb")
        self._uploads[slot] = _Upload(ident, final, part, size, str(payload.get("user", "")), handle)
        await self._control({"type": "upload-ready", "slot": slot, "id": ident})

    async def data(self, slot: int, chunk: bytes) -> None:
        """A chunk of the viewer's running upload."""
        upload = self._uploads.get(slot)
        if upload is None:
            return
        if upload.received + len(chunk) > upload.size:
            await self.cancel(slot)
            await self._control({"type": "file-error", "slot": slot, "id": upload.id,
                                 "message": "more bytes arrived than the upload announced"})  # fmt: skip
            return
        upload.digest.update(chunk)
        upload.received += len(chunk)
        await asyncio.to_thread(upload.handle.write, chunk)

    async def _finish_upload(self, slot: int) -> None:
        upload = self._uploads.pop(slot, None)
        if upload is None:
            raise FileChannelError("no upload is running")
        await asyncio.to_thread(upload.handle.close)
        if upload.received != upload.size:
            await asyncio.to_thread(upload.part.unlink, True)
            raise FileChannelError(f"upload incomplete: {upload.received} of {upload.size} bytes arrived")
        await asyncio.to_thread(os.replace, upload.part, upload.final)
        checksum = upload.digest.hexdigest()
        await self._control({"type": "file-done", "slot": slot, "id": upload.id, "size": upload.size,
                             "sha256": checksum, "path": str(upload.final)})  # fmt: skip
        await self._transferred("upload", upload.final, upload.size, checksum, upload.user)

    async def cancel(self, slot: int) -> None:
        """Stop the slot's transfer and remove a partial upload."""
        task = self._downloads.pop(slot, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        upload = self._uploads.pop(slot, None)
        if upload is not None:
            await asyncio.to_thread(upload.handle.close)
            await asyncio.to_thread(upload.part.unlink, True)

    async def close(self) -> None:
        """End every transfer (the session ended)."""
        for slot in [*self._uploads, *self._downloads]:
            await self.cancel(slot)

    async def _transferred(self, direction: str, path: Path, size: int, checksum: str, user: str) -> None:
        await self._event(
            "file-transferred", f"{direction} {path}", user=user,
            data={"direction": direction, "name": path.name, "path": str(path), "size": size, "sha256": checksum},
        )  # fmt: skip
