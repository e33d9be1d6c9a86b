"""The MCP authorization server: the SDK's OAuth 2.1 handlers over the hub's tables.

The SDK's ``create_auth_routes`` does the protocol (RFC 8414 metadata, RFC 7591 registration,
PKCE S256 checks at the token endpoint, RFC 7009 revocation); this provider stores clients, grants
and tokens. ``authorize`` sends the browser to the hub's consent page; the signed-in user's answer
(:func:`decide`) mints the code. Access tokens are API tokens of that user (Admin -> API tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.audit import Actor
from hub.core.auth.service import create_api_token
from hub.core.db import Database, utcnow
from hub.core.errors import NotFound
from hub.core.models import ApiToken, User
from hub.core.security import generate_token, hash_token
from hub.mcp.models import OAuthClient, OAuthGrant, OAuthRefreshToken
from hub.mcp.tokens import MCP_SCOPE

CONSENT_PATH = "/oauth/consent/{key}"
CONSENT_TTL = timedelta(minutes=10)
CODE_TTL = timedelta(minutes=5)
ACCESS_TTL = timedelta(hours=1)
TOKEN_NAME = "MCP OAuth: {client}"


class HubOAuthProvider:
    """``OAuthAuthorizationServerProvider`` of the SDK, backed by the hub database."""

    def __init__(self, *, base_url: str) -> None:
        self._db: Database | None = None
        self.base_url = base_url.rstrip("/")

    @property
    def db(self) -> Database:
        """The hub database (bound when the module starts; the routes exist before)."""
        if self._db is None:
            raise RuntimeError("the OAuth provider is not started")
        return self._db

    def bind(self, db: Database | None) -> None:
        """Bind to (or, with None, release) the running hub's database."""
        self._db = db

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        async with self.db.transaction() as session:
            row = await _client(session, client_id)
            return OAuthClientInformationFull.model_validate(row.info) if row else None

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        async with self.db.transaction() as session:
            session.add(
                OAuthClient(
                    client_id=client_info.client_id or generate_token(nbytes=16),
                    name=(client_info.client_name or "MCP client")[:200],
                    info=client_info.model_dump(mode="json", exclude_none=True),
                )
            )

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if params.scopes and any(s != MCP_SCOPE for s in params.scopes):
            raise AuthorizeError(error="invalid_scope", error_description=f"the only scope is {MCP_SCOPE!r}")
        key = generate_token(nbytes=24)
        async with self.db.transaction() as session:
            session.add(
                OAuthGrant(
                    client_id=client.client_id or "",
                    request_key_hash=hash_token(key),
                    params=params.model_dump(mode="json"),
                    expires_at=utcnow() + CONSENT_TTL,
                )
            )
        return self.base_url + CONSENT_PATH.format(key=key)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        async with self.db.transaction() as session:
            grant = (
                await session.execute(select(OAuthGrant).where(OAuthGrant.code_hash == hash_token(authorization_code)))
            ).scalar_one_or_none()
            if grant is None or grant.client_id != client.client_id or grant.used_at or grant.user_id is None:
                return None
            params = AuthorizationParams.model_validate(grant.params)
            return AuthorizationCode(
                code=authorization_code,
                scopes=params.scopes or [MCP_SCOPE],
                expires_at=grant.expires_at.timestamp(),
                client_id=grant.client_id,
                code_challenge=params.code_challenge,
                redirect_uri=params.redirect_uri,
                redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
                resource=params.resource,
                subject=str(grant.user_id),
            )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        async with self.db.transaction() as session:
            grant = (
                await session.execute(
                    select(OAuthGrant).where(OAuthGrant.code_hash == hash_token(authorization_code.code))
                )
            ).scalar_one_or_none()
            if grant is None or grant.used_at is not None or grant.user_id is None:
                raise TokenError(error="invalid_grant", error_description="the code was already used or is unknown")
            grant.used_at = utcnow()
            user = await session.get(User, grant.user_id)
            if user is None or user.disabled:
                raise TokenError(error="invalid_grant", error_description="the consenting user is disabled")
            name = TOKEN_NAME.format(client=client.client_name or client.client_id)[:200]
            actor = Actor(user_id=user.id, label=user.label, via="mcp")
            access, row = await create_api_token(session, user, name=name, actor=actor)
            row.expires_at = utcnow() + ACCESS_TTL
            return await _with_refresh(session, client.client_id or "", row, access)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        async with self.db.transaction() as session:
            found = await _refresh(session, refresh_token)
            if found is None or found.client_id != client.client_id or found.used_at is not None:
                return None
            api = await session.get(ApiToken, found.api_token_id)
            if api is None or api.revoked:
                return None
            return RefreshToken(
                token=refresh_token, client_id=found.client_id, scopes=[MCP_SCOPE], subject=str(api.user_id)
            )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        async with self.db.transaction() as session:
            found = await _refresh(session, refresh_token.token)
            api = await session.get(ApiToken, found.api_token_id) if found else None
            if found is None or found.used_at is not None or api is None or api.revoked or api.user.disabled:
                raise TokenError(error="invalid_grant", error_description="the refresh token is spent or revoked")
            found.used_at = utcnow()
            # Rotate the access token in place: one API-token row per grant, revoked in one place.
            access = generate_token("rmh_", 32)
            api.token_hash, api.prefix, api.expires_at = hash_token(access), access[:10], utcnow() + ACCESS_TTL
            return await _with_refresh(session, found.client_id, api, access)

    async def load_access_token(self, token: str) -> AccessToken | None:
        async with self.db.transaction() as session:
            api = (
                await session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
            ).scalar_one_or_none()
            if api is None or api.revoked:
                return None
            owner = (
                await session.execute(
                    select(OAuthRefreshToken.client_id).where(OAuthRefreshToken.api_token_id == api.id).limit(1)
                )
            ).scalar_one_or_none()
            if owner is None:
                return None
            expires = int(api.expires_at.timestamp()) if api.expires_at else None
            return AccessToken(
                token=token, client_id=owner, scopes=[MCP_SCOPE], expires_at=expires, subject=str(api.user_id)
            )

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        async with self.db.transaction() as session:
            if isinstance(token, RefreshToken):
                found = await _refresh(session, token.token)
                api = await session.get(ApiToken, found.api_token_id) if found else None
            else:
                api = (
                    await session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(token.token)))
                ).scalar_one_or_none()
            if api is not None:
                api.revoked = True

    async def exchange_identity_assertion(self, client: OAuthClientInformationFull, params: Any) -> OAuthToken:
        raise TokenError(error="unsupported_grant_type", error_description="the JWT bearer grant is not supported")


async def _client(session: AsyncSession, client_id: str) -> OAuthClient | None:
    return (await session.execute(select(OAuthClient).where(OAuthClient.client_id == client_id))).scalar_one_or_none()


async def _refresh(session: AsyncSession, token: str) -> OAuthRefreshToken | None:
    stmt = select(OAuthRefreshToken).where(OAuthRefreshToken.token_hash == hash_token(token))
    return (await session.execute(stmt)).scalar_one_or_none()


async def _with_refresh(session: AsyncSession, client_id: str, api: ApiToken, access: str) -> OAuthToken:
    refresh = generate_token("rmr_", 32)
    session.add(OAuthRefreshToken(token_hash=hash_token(refresh), client_id=client_id, api_token_id=api.id))
    await session.flush()
    return OAuthToken(
        access_token=access,
        token_type="Bearer",
        expires_in=int(ACCESS_TTL.total_seconds()),
        scope=MCP_SCOPE,
        refresh_token=refresh,
    )


# ------------------------------------------------------------------ consent page


@dataclass(frozen=True)
class ConsentRequest:
    """What the consent page shows: which client asks, for what, and where the answer goes."""

    key: str
    client_name: str
    client_id: str
    redirect_uri: str
    scopes: list[str]


async def _pending(session: AsyncSession, key: str) -> OAuthGrant:
    grant = (
        await session.execute(select(OAuthGrant).where(OAuthGrant.request_key_hash == hash_token(key)))
    ).scalar_one_or_none()
    if grant is None or grant.code_hash is not None or grant.denied or grant.expires_at <= utcnow():
        raise NotFound(
            "this authorization request is unknown, already answered or expired; start again from the client"
        )
    return grant


async def consent_request(session: AsyncSession, key: str) -> ConsentRequest:
    """The pending request behind a consent page (NotFound when answered, expired or unknown)."""
    grant = await _pending(session, key)
    client = await _client(session, grant.client_id)
    params = AuthorizationParams.model_validate(grant.params)
    return ConsentRequest(
        key=key,
        client_name=client.name if client else grant.client_id,
        client_id=grant.client_id,
        redirect_uri=str(params.redirect_uri),
        scopes=params.scopes or [MCP_SCOPE],
    )


async def decide(session: AsyncSession, key: str, *, user_id: int, allow: bool) -> str:
    """The signed-in user's answer; returns where to send the browser (the client's redirect URI)."""
    grant = await _pending(session, key)
    params = AuthorizationParams.model_validate(grant.params)
    if not allow:
        grant.denied = True
        return construct_redirect_uri(
            str(params.redirect_uri), error="access_denied", error_description="the user declined", state=params.state
        )
    code = generate_token(nbytes=32)
    grant.user_id, grant.code_hash, grant.expires_at = user_id, hash_token(code), utcnow() + CODE_TTL
    await session.flush()
    return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)
