"""HTTPS client for the hub's ``/agent/v1`` API (enroll, check-in, command status and results).

Errors, in one place:

- :class:`HubError`: base class.
- :class:`HubUnavailable`: network failure, timeout or 5xx; retry later (results stay spooled).
- :class:`HubRejected`: a 4xx answer with the hub's :class:`~agent.protocol.AgentApiError`;
  :class:`CredentialRejected` (401) means the device was revoked or deleted.
"""

from __future__ import annotations

from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from agent import __version__
from agent.protocol import (
    CHECKIN_PATH,
    COMMAND_RESULT_PATH,
    COMMAND_STATUS_PATH,
    DEREGISTER_PATH,
    ENROLL_PATH,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    RUSTDESK_SETUP_PATH,
    AgentApiError,
    CheckinRequest,
    CheckinResponse,
    CommandResult,
    CommandStatusUpdate,
    DeregisterRequest,
    EnrollRequest,
    EnrollResponse,
    ErrorCode,
    RustDeskSetup,
    RustDeskSetupRequest,
)

ResponseT = TypeVar("ResponseT", bound=BaseModel)
USER_AGENT = f"rmmhub-agent/{__version__}"


class HubError(Exception):
    """Base class for every failure talking to the hub."""


class HubUnavailable(HubError):
    """The hub could not be reached or failed (network error, timeout, 5xx)."""


class HubRejected(HubError):
    """The hub refused the request with a 4xx and an :class:`AgentApiError` body."""

    def __init__(self, status_code: int, error: AgentApiError) -> None:
        self.status_code = status_code
        self.error = error
        super().__init__(f"hub answered {status_code} {error.code}: {error.message}")


class CredentialRejected(HubRejected):
    """401: the device credential is unknown or revoked; the agent must re-enroll."""


class HubClient:
    """Typed client over one :class:`httpx.AsyncClient`.

    Args:
        hub_url: Base URL of the hub, e.g. ``https://hub.example.com``.
        credential: Device credential (``None`` before enrollment).
        transport: Injected transport (tests); defaults to httpx's network transport.
        timeout: Per-request timeout in seconds.
    """

    def __init__(
        self,
        hub_url: str,
        *,
        credential: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION), "User-Agent": USER_AGENT}
        if credential is not None:
            headers["Authorization"] = f"Bearer {credential}"
        self._http = httpx.AsyncClient(
            base_url=hub_url.rstrip("/"), headers=headers, transport=transport, timeout=timeout
        )

    async def __aenter__(self) -> HubClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def enroll(self, request: EnrollRequest) -> EnrollResponse:
        """Exchange an installer token for a device id and credential."""
        return await self._post(ENROLL_PATH, request, EnrollResponse)

    async def checkin(self, request: CheckinRequest) -> CheckinResponse:
        """Send metrics (and changed inventory); receive commands and the next interval."""
        return await self._post(CHECKIN_PATH, request, CheckinResponse)

    async def report_status(self, update: CommandStatusUpdate) -> None:
        await self._send(COMMAND_STATUS_PATH, update)

    async def report_result(self, result: CommandResult) -> None:
        """Deliver a result; the hub acknowledges repeats of a stored result (idempotent)."""
        await self._send(COMMAND_RESULT_PATH, result)

    async def deregister(self, request: DeregisterRequest) -> None:
        await self._send(DEREGISTER_PATH, request)

    async def rustdesk_setup(self, command_id: str) -> RustDeskSetup:
        """The full RustDesk set-up (with its password) for the ``install_rustdesk`` command ``command_id``."""
        return await self._post(RUSTDESK_SETUP_PATH, RustDeskSetupRequest(command_id=command_id), RustDeskSetup)

    async def _post(self, path: str, body: BaseModel, response_model: type[ResponseT]) -> ResponseT:
        response = await self._send(path, body)
        try:
            return response_model.model_validate_json(response.content)
        except ValidationError as exc:
            raise HubUnavailable(f"POST {path}: the hub's answer does not follow the protocol: {exc}") from exc

    async def _send(self, path: str, body: BaseModel) -> httpx.Response:
        try:
            response = await self._http.post(
                path, content=body.model_dump_json(), headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise HubUnavailable(f"POST {path} failed: {exc!r}") from exc
        if response.status_code >= 500:
            raise HubUnavailable(f"POST {path}: hub answered {response.status_code}")
        if response.status_code >= 400:
            raise _rejection(response)
        return response


def _rejection(response: httpx.Response) -> HubRejected:
    try:
        error = AgentApiError.model_validate_json(response.content)
    except ValidationError:
        error = AgentApiError(code=ErrorCode.MALFORMED_PAYLOAD, message=response.text[:500] or response.reason_phrase)
    if response.status_code == 401:
        return CredentialRejected(response.status_code, error)
    return HubRejected(response.status_code, error)
