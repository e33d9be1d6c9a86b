"""Server-side wire models of ``/agent/v1`` that are not (yet) in :mod:`agent.protocol`."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

CREDENTIAL_ROTATE_PATH = "/agent/v1/credential/rotate"
PING_PATH = "/agent/v1/ping"


class CredentialRotateResponse(BaseModel):
    """Answer of ``POST /agent/v1/credential/rotate`` (bearer: the current credential, empty body).

    The agent stores ``device_credential`` and uses it from now on; the previous credential keeps
    working until ``previous_valid_until`` so a lost answer does not lock the agent out.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    device_id: str
    device_credential: str
    previous_valid_until: datetime
