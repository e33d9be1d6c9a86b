"""Automation tests reuse the real agent launcher and the loopback SMTP / webhook endpoints."""

from tests.e2e.conftest import start_agent
from tests.hub.notify.conftest import smtp_server, webhook_receiver

__all__ = ["smtp_server", "start_agent", "webhook_receiver"]
