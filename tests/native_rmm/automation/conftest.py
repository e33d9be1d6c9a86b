"""Automation tests reuse the real agent launcher and the loopback SMTP / webhook endpoints, and run a hub
whose scheduler leads (rules, the outbox, schedules and patch policies are leader jobs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hub.core.settings import Settings
from hub.main import create_app
from tests.conftest import LiveServer, free_port, make_settings
from tests.e2e.conftest import start_agent
from tests.hub.notify.conftest import smtp_server, webhook_receiver
from tests.waiting import ThreadedServer

__all__ = ["json_of", "smtp_server", "start_agent", "webhook_receiver"]


@pytest.fixture
def leader_hub(settings: Settings) -> Iterator[LiveServer]:
    """A live hub on loopback with its scheduler running."""
    port = free_port()
    live = make_settings(
        settings.database_url, port=port, public_url=f"http://127.0.0.1:{port}", scheduler_enabled=True
    )
    app = create_app(live)
    server = ThreadedServer(app, port=port, name="leader-hub", ws="websockets-sansio")
    server.start()
    yield LiveServer(f"http://127.0.0.1:{port}", app, live)
    server.stop()


async def json_of(response: httpx.Response, *codes: int) -> Any:
    """The JSON body of a response whose status is one of ``codes`` (200 when none are given)."""
    assert response.status_code in (codes or (200,)), f"{response.status_code} {response.text}"
    return response.json()
