"""The assistant module: the :class:`Assistant` component, its routes, and resuming runs on ``approval.decided``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import httpx
from fastapi import APIRouter
from pydantic_ai.exceptions import AgentRunError
from sqlalchemy.exc import SQLAlchemyError

from hub.assistant.routes import router
from hub.assistant.service import Assistant
from hub.core.context import HubContext
from hub.core.errors import RmmHubError
from hub.core.scheduler import Scheduler
from hub.core.tasks import start_task, stop_task
from policies.events import APPROVAL_DECIDED
from policies.pipeline import Gate

log = logging.getLogger(__name__)


class AssistantModule:
    """Wires the assistant into the hub; one listener task resumes paused runs when approvers decide."""

    name = "assistant"

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self._task: asyncio.Task[None] | None = None
        self._resumes: set[asyncio.Task[None]] = set()
        self.assistant: Assistant | None = None

    def routers(self) -> Sequence[APIRouter]:
        return [router]

    async def start(self, hub: HubContext, scheduler: Scheduler) -> None:
        self.assistant = Assistant(hub, self.gate)
        hub.components.add(self.assistant)
        ready = asyncio.Event()
        self._task = start_task(self._follow(hub, self.assistant, ready), name="assistant-resumer")
        await ready.wait()

    async def _follow(self, hub: HubContext, assistant: Assistant, ready: asyncio.Event) -> None:
        async with hub.bus.subscribe(APPROVAL_DECIDED.name) as events:
            ready.set()
            async for event in events:
                decided = APPROVAL_DECIDED.parse(event)
                if decided is None or event.org_id is None:
                    continue
                task = asyncio.create_task(self._resume(assistant, event.org_id, decided.approval_id))
                self._resumes.add(task)
                task.add_done_callback(self._resumes.discard)

    @staticmethod
    async def _resume(assistant: Assistant, org_id: int, approval_id: int) -> None:
        try:
            await assistant.resume_for_approval(org_id, approval_id)
        except (RmmHubError, AgentRunError, SQLAlchemyError, httpx.HTTPError):
            # The model, the gate or the database failed this resume: logged; the conversation keeps its wait.
            log.exception("could not resume the assistant run waiting on approval #%s", approval_id)

    async def stop(self) -> None:
        await stop_task(self._task)
        if self._resumes:
            await asyncio.gather(*self._resumes, return_exceptions=True)
        if self.assistant is not None:
            self._task = None
