"""Delivering one message to one channel: SMTP, a signed JSON webhook, or a Slack/Teams incoming webhook.

Webhook signatures: ``X-Rmmhub-Signature: sha256=<hex>`` is the HMAC-SHA256, keyed with the channel's
signing secret, of ``<X-Rmmhub-Timestamp>.<raw body>``; receivers recompute it and reject old
timestamps.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from hub.core.notify.models import ChannelKind, NotificationChannel
from hub.core.notify.schemas import EmailConfig

SIGNATURE_HEADER = "X-Rmmhub-Signature"
TIMESTAMP_HEADER = "X-Rmmhub-Timestamp"
SMTP_TIMEOUT_SECONDS = 20.0


class DeliveryError(Exception):
    """A channel refused or could not be reached; the message says what happened (no secrets)."""


@dataclass(frozen=True)
class Message:
    """What is delivered: a subject line, a plain-text body, an optional link, the topic and how many it stands for."""

    topic: str
    subject: str
    body: str
    link: str | None = None
    count: int = 1
    extra_to: str | None = None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def payload(kind: ChannelKind, message: Message) -> dict[str, Any]:
    """The JSON body a webhook-style channel receives."""
    text = f"*{message.subject}*\n{message.body}" + (f"\n{message.link}" if message.link else "")
    if kind is ChannelKind.SLACK:
        return {"text": text}
    if kind is ChannelKind.TEAMS:
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": message.subject,
            "title": message.subject,
            "text": message.body + (f"\n\n{message.link}" if message.link else ""),
        }
    return {
        "topic": message.topic,
        "subject": message.subject,
        "body": message.body,
        "link": message.link,
        "count": message.count,
    }


async def deliver(
    channel: NotificationChannel, secret: str | None, message: Message, *, http: httpx.AsyncClient
) -> None:
    """Send ``message`` through ``channel``.

    Raises:
        DeliveryError: the endpoint refused, timed out or could not be reached.
    """
    if channel.kind is ChannelKind.EMAIL:
        await asyncio.to_thread(_send_mail, EmailConfig.model_validate(channel.config), secret, message)
        return
    body = json.dumps(payload(channel.kind, message)).encode()
    headers = {"Content-Type": "application/json"}
    if channel.kind is ChannelKind.WEBHOOK and secret:
        stamp = str(int(time.time()))
        headers |= {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(secret, stamp, body)}
    try:
        response = await http.post(str(channel.config["url"]), content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"could not reach the webhook: {type(exc).__name__}") from exc
    if response.status_code >= 300:
        raise DeliveryError(f"the webhook answered HTTP {response.status_code}")


def tls_context(cfg: EmailConfig) -> ssl.SSLContext:
    """A verifying TLS context for this channel: the system's CAs plus the channel's own trusted CA, if any.

    Certificates and host names are always checked; trusting a private CA is per channel, never global.
    """
    context = ssl.create_default_context()
    if cfg.ca_pem:
        context.load_verify_locations(cadata=cfg.ca_pem)
    return context


def _send_mail(cfg: EmailConfig, password: str | None, message: Message) -> None:
    mail = EmailMessage()
    to = [*cfg.recipients, *([message.extra_to] if message.extra_to else [])]
    mail["Subject"], mail["From"], mail["To"] = message.subject, cfg.sender, ", ".join(to)
    mail.set_content(message.body + (f"\n\n{message.link}\n" if message.link else "\n"))
    try:
        smtp: smtplib.SMTP
        if cfg.security == "tls":
            smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=SMTP_TIMEOUT_SECONDS, context=tls_context(cfg))
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=SMTP_TIMEOUT_SECONDS)
        with smtp:
            if cfg.security == "starttls":
                smtp.starttls(context=tls_context(cfg))
            if cfg.username:
                smtp.login(cfg.username, password or "")
            smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"the SMTP server refused the credentials ({exc.smtp_code})") from exc
    except smtplib.SMTPException as exc:
        raise DeliveryError(f"SMTP error: {type(exc).__name__}: {str(exc)[:200]}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryError(
            f"the SMTP server's certificate was not trusted ({exc.verify_message}); "
            "add its CA under the channel's trusted CA"
        ) from exc
    except (OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"could not reach the SMTP server {cfg.host}:{cfg.port}: {type(exc).__name__}") from exc
