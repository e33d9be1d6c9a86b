"""The hub's recorder of relay reports: each batch becomes trail rows in one transaction.

An embedded relay node hands batches over in-process (the recorder is a hub component); a
standalone node posts them, HMAC-signed with the hub secret, to ``POST /relay/v1/events``.
Recordings past their retention are deleted by the ``rmm-remote-recordings`` job.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy import update

from hub.core.context import HubContext
from hub.core.db import Database
from hub.core.deps import HubDep
from hub.core.errors import InvalidRequest, PermissionDenied
from hub.core.scheduler import Scheduler
from hub.core.tickets import RemoteEventSink, SessionEvent, SessionEventBatch, sign_events
from native_rmm.models.remote import RemoteSession
from native_rmm.remote import service

log = logging.getLogger(__name__)
router = APIRouter(tags=["relay"])
MAX_BATCH_BYTES = 1 << 20
RETENTION_JOB = "rmm-remote-recordings"


class Recorded(BaseModel):
    """How many of the posted events belonged to sessions of this hub."""

    stored: int


async def record(db: Database, batch: list[SessionEvent]) -> int:
    """Store one batch of relay reports."""
    async with db.transaction() as session:
        return await service.apply_events(session, batch)


@router.post("/relay/v1/events", response_model=Recorded)
async def post_events(
    request: Request, hub: HubDep, signature: Annotated[str, Header(alias="X-Relay-Signature", max_length=128)] = ""
) -> Recorded:
    """A standalone relay node reports session events (signed with the shared hub secret)."""
    body = await request.body()
    if len(body) > MAX_BATCH_BYTES:
        raise InvalidRequest("event batch too large; send at most 1 MiB per request")
    if not signature or not hmac.compare_digest(signature, sign_events(hub.settings.secret, body)):
        raise PermissionDenied("relay event signature does not match: the relay must share the hub's secret key")
    try:
        batch = SessionEventBatch.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidRequest(f"malformed event batch ({exc.error_count()} error(s))") from exc
    return Recorded(stored=await record(hub.db, batch.events))


def _delete_older(directory: Path, cutoff: float) -> list[Path]:
    if not directory.is_dir():
        return []
    old = [path for path in directory.glob("*.cast") if path.stat().st_mtime < cutoff]
    for path in old:
        path.unlink(missing_ok=True)
    return old


async def prune_recordings(db: Database, directory: Path, retention_days: float) -> int:
    """Delete shell recordings older than the retention and unlink them from their sessions."""
    old = await asyncio.to_thread(_delete_older, directory, time.time() - retention_days * 86400)
    if old:
        async with db.transaction() as session:
            names = [path.name for path in old]
            await session.execute(
                update(RemoteSession).where(RemoteSession.recording.in_(names)).values(recording=None)
            )
    return len(old)


def start(hub: HubContext, scheduler: Scheduler) -> None:
    """Receive the embedded relay's reports and prune old recordings once an hour."""

    async def deliver(batch: list[SessionEvent]) -> int:
        return await record(hub.db, batch)

    async def prune() -> int:
        settings = hub.settings
        return await prune_recordings(hub.db, settings.remote_recordings_dir, settings.remote_recording_retention_days)

    hub.components.add(RemoteEventSink(deliver=deliver))
    scheduler.add(RETENTION_JOB, prune, seconds=3600)
