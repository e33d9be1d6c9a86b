"""Loopback endpoints for notification tests: a real SMTP server (aiosmtpd) and a real webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from hub.core.notify.senders import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.conftest import free_port


@dataclass
class Inbox:
    """Messages the loopback SMTP server accepted, and the logins it saw."""

    messages: list[bytes] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Inbox]]:
    """aiosmtpd on loopback accepting user ``mailer`` / ``s3cret`` (plain AUTH; no TLS on loopback)."""
    inbox = Inbox()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            inbox.logins.append((user, password))
            return AuthResult(success=user == "mailer" and password == "s3cret", handled=False)
        return AuthResult(success=False, handled=False)

    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=authenticator,
                            auth_require_tls=False)  # fmt: skip
    controller.start()
    yield controller, inbox
    controller.stop()


@dataclass
class Receiver:
    """A webhook receiver on loopback that checks the signature; ``failing`` makes it answer 503."""

    secret: str = ""
    failing: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    refused: int = 0
    url: str = ""


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if receiver.failing:
                receiver.refused += 1
                self.send_response(503)
                self.end_headers()
                return
            stamp = self.headers.get(TIMESTAMP_HEADER, "")
            if receiver.secret and self.headers.get(SIGNATURE_HEADER) != sign(receiver.secret, stamp, body):
                receiver.bad_signatures += 1
                self.send_response(401)
                self.end_headers()
                return
            receiver.received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
