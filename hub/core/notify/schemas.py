"""Typed configuration and views of notification channels."""

from __future__ import annotations

import ssl
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from hub.core.notify.models import ChannelKind, DeliveryStatus, NotificationChannel, OutboxMessage

SmtpSecurity = Literal["starttls", "tls", "none"]
_EMAIL = r"^[^@\s]+@[^@\s]+$"


class EmailConfig(BaseModel):
    """Where and how an email channel sends (the password travels separately and is stored encrypted)."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=587, ge=1, le=65535)
    security: SmtpSecurity = "starttls"
    username: str = Field(default="", max_length=255)
    sender: str = Field(pattern=_EMAIL, max_length=255, description="the From address")
    recipients: list[str] = Field(min_length=1, max_length=50)
    ca_pem: str = Field(
        default="",
        max_length=20000,
        description="PEM certificate(s) of a CA (or the server's self-signed certificate) trusted for this "
        "channel only, besides the system's CAs; certificates and host names are always verified",
    )

    @field_validator("ca_pem")
    @classmethod
    def _loads(cls, value: str) -> str:
        value = value.strip()
        if value:
            if "-----BEGIN CERTIFICATE-----" not in value:
                raise ValueError("the trusted CA must be PEM text starting with -----BEGIN CERTIFICATE-----")
            try:
                ssl.create_default_context().load_verify_locations(cadata=value)
            except (ssl.SSLError, ValueError) as exc:
                raise ValueError(f"the trusted CA is not a readable PEM certificate ({type(exc).__name__})") from exc
        return value

    @model_validator(mode="after")
    def _addresses(self) -> EmailConfig:
        for address in self.recipients:
            if "@" not in address or any(c.isspace() for c in address):
                raise ValueError(f"recipient {address!r} is not an email address")
        return self


class ChannelIn(BaseModel):
    """A new channel: email needs ``email`` (+ optional ``password``); webhook, Slack and Teams need ``url``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    kind: ChannelKind
    email: EmailConfig | None = None
    password: str = Field(default="", max_length=500, description="SMTP password (stored encrypted)")
    url: HttpUrl | None = None
    per_minute: int = Field(default=10, ge=1, le=600, description="messages per minute before a burst is digested")
    approvals: bool = Field(default=False, description="route approval requests, reminders and decisions here")

    @model_validator(mode="after")
    def _shape(self) -> ChannelIn:
        if self.kind is ChannelKind.EMAIL and self.email is None:
            raise ValueError("an email channel needs its SMTP settings (host, port, sender, recipients)")
        if self.kind is not ChannelKind.EMAIL and self.url is None:
            raise ValueError(f"a {self.kind.value} channel needs the URL to post to")
        return self


class ChannelEdit(BaseModel):
    """A changed channel (its kind stays): a blank ``password`` keeps the stored one (``clear_password``
    removes it); a webhook keeps its signing secret unless ``rotate_secret`` asks for a new one."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    email: EmailConfig | None = None
    password: str = Field(default="", max_length=500, description="new SMTP password; blank keeps the stored one")
    clear_password: bool = False
    url: HttpUrl | None = None
    rotate_secret: bool = Field(default=False, description="webhook: replace the signing secret (shown once)")
    per_minute: int = Field(default=10, ge=1, le=600)
    approvals: bool = False
    enabled: bool = True


class ChannelSettings(BaseModel):
    """What an admin may edit on a channel, as stored (never the password or signing secret)."""

    id: int
    name: str
    kind: ChannelKind
    email: EmailConfig | None
    url: str | None
    has_secret: bool = Field(description="an SMTP password or a signing secret is stored")
    per_minute: int
    approvals: bool
    enabled: bool

    @classmethod
    def of(cls, row: NotificationChannel) -> ChannelSettings:
        email = EmailConfig.model_validate(row.config) if row.kind is ChannelKind.EMAIL else None
        return cls(
            id=row.id,
            name=row.name,
            kind=row.kind,
            email=email,
            url=None if email else str(row.config["url"]),
            has_secret=row.secret_enc is not None,
            per_minute=row.per_minute,
            approvals=row.approvals,
            enabled=row.enabled,
        )


class ChannelOut(BaseModel):
    """A channel as shown to admins: never its password or signing secret."""

    id: int
    name: str
    kind: ChannelKind
    target: str = Field(description="SMTP host and recipients, or the URL's host")
    per_minute: int
    approvals: bool
    enabled: bool

    @classmethod
    def of(cls, row: NotificationChannel) -> ChannelOut:
        if row.kind is ChannelKind.EMAIL:
            cfg = EmailConfig.model_validate(row.config)
            target = f"{cfg.host}:{cfg.port} -> {', '.join(cfg.recipients)}"
        else:
            target = HttpUrl(str(row.config["url"])).host or ""
        return cls(
            id=row.id,
            name=row.name,
            kind=row.kind,
            target=target,
            per_minute=row.per_minute,
            approvals=row.approvals,
            enabled=row.enabled,
        )


class CreatedChannel(BaseModel):
    """A channel just created, edited or re-keyed; ``signing_secret`` is shown this once (webhook channels
    only, on create and on rotation)."""

    channel: ChannelOut
    signing_secret: str | None = None


class DeliveryOut(BaseModel):
    """One row of the delivery log."""

    id: int
    channel_id: int
    topic: str
    subject: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    digest_count: int
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, row: OutboxMessage) -> DeliveryOut:
        return cls(
            id=row.id,
            channel_id=row.channel_id,
            topic=row.topic,
            subject=row.subject,
            status=row.status,
            attempts=row.attempts,
            last_error=row.last_error,
            digest_count=row.digest_count,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
        )
