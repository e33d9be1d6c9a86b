"""Bearer tokens at ``/mcp``: any live API token of an enabled user (OAuth-issued ones are API tokens too)."""

from __future__ import annotations

from mcp.server.auth.provider import AccessToken

from hub.core.auth.service import user_for_api_token
from hub.core.db import Database

#: The one scope the hub's tokens carry (an API token may do what its user may do, no more).
MCP_SCOPE = "mcp"


class HubTokenVerifier:
    """The SDK's ``TokenVerifier`` over the hub's API tokens: checked on every HTTP request to ``/mcp``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def verify_token(self, token: str) -> AccessToken | None:
        """The token's user as the access token's subject (None when unknown, revoked, expired or disabled)."""
        async with self.db.transaction() as session:
            user = await user_for_api_token(session, token)
            if user is None:
                return None
            return AccessToken(token=token, client_id="rmmhub", scopes=[MCP_SCOPE], subject=str(user.id))
