"""Fakes and constants shared by the ConnectWise client tests (imported by name: tests have no packages)."""

from __future__ import annotations

from typing import Any

from connectors.connectwise_rmm.client.regions import Region

BASE_URL = Region.AU.api_base_url
CLIENT_ID = "0e32a1b2-client"
CLIENT_SECRET = "S3CRET-api-key-do-not-log"
ACCESS_TOKEN = "o7-0jLHntmSEfkr5KGq2whqRfR0"


class FakeClock:
    """A monotonic clock that only moves when a fake sleep says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class SleepRecorder:
    """An awaitable ``sleep`` that records each delay and advances a :class:`FakeClock`."""

    def __init__(self, clock: FakeClock) -> None:
        self.calls: list[float] = []
        self._clock = clock

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self._clock.now += seconds


def token_json(access_token: str = ACCESS_TOKEN, expires_in: int | None = 3599) -> dict[str, Any]:
    """A ``/v1/token`` answer shaped like the spec's example."""
    body: dict[str, Any] = {"access_token": access_token, "scope": "platform.companies.read", "token_type": "Bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return body
