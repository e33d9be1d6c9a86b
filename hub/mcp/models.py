"""Tables of the MCP authorization server: registered OAuth clients and their grants.

Access tokens are ordinary :class:`~hub.core.models.ApiToken` rows (named after the client), so they
authenticate like any API token and are revoked from Admin -> API tokens; a refresh token points at
the access token it renews and dies with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, utcnow


class OAuthClient(Base):
    """A client registered through dynamic client registration (RFC 7591); ``info`` is its metadata."""

    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    info: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthGrant(Base):
    """One authorization request: waits for consent, then holds the code until it is exchanged once.

    ``request_key_hash`` identifies the consent page of the request; ``code_hash`` is set when the
    signed-in user allows it (``user_id``), and the row is spent (``used_at``) by the token exchange.
    """

    __tablename__ = "oauth_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), index=True)
    request_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), default=None)
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    denied: Mapped[bool] = mapped_column(default=False)


class OAuthRefreshToken(Base):
    """A refresh token for an OAuth client's access token (only the hash is stored)."""

    __tablename__ = "oauth_refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), index=True)
    api_token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True)
    scopes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(default=None)
