"""Sign-in trouble remembered per (API host, Client ID), whichever client object signs in.

ConnectWise locks an API key (HTTP 423) that asks for tokens too often (reference §1.1, §4). A client
is rebuilt on every reconnect, scope fallback and credentials change, so the lock cool-down cannot
live on the client: it lives here, in one process-wide :data:`SIGN_IN_GUARD`, keyed by the region's
API host and the Client ID. While a key is locked no token request leaves the process; a reconnect
during the lock is refused locally and does not prolong it.

Refused sign-ins (400/401/403: a wrong secret, a scope not granted) back off too: the first refusal
may be retried at once (the connect flow's single scope fallback), every further one doubles a wait
before the next attempt. Five wrong-secret connects in a row therefore send two token requests, not
five, and cannot trip the lock. A successful sign-in clears the key's record.

The record is per process; replicas sharing a key each keep their own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from connectors.connectwise_rmm.client.errors import KeyLockedError, SignInDeferredError

#: Seconds to refuse signing in after a 423, unless ConnectWise asked for longer.
DEFAULT_LOCK_COOLDOWN = 300.0
#: Wait after the second refused sign-in in a row; doubles with each further refusal...
FIRST_BACKOFF = 2.0
#: ...up to this.
MAX_BACKOFF = 300.0

SignInKey = tuple[str, str]


@dataclass
class _Record:
    refusals: int = 0
    not_before: float = 0.0
    locked_until: float = 0.0


class SignInGuard:
    """Lock cool-downs and sign-in back-off per (API host, Client ID).

    Args:
        clock: Monotonic seconds (tests inject a fake).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._records: dict[SignInKey, _Record] = {}

    @staticmethod
    def key(base_url: str, client_id: str) -> SignInKey:
        """The key of a connection: its API base URL (region host or override) and Client ID."""
        return (base_url.rstrip("/").lower(), client_id.strip())

    def check(self, key: SignInKey) -> None:
        """Refuse, without any network, a sign-in that would prolong a lock or ignore the back-off.

        Raises:
            KeyLockedError: ConnectWise locked the key and the cool-down has not passed.
            SignInDeferredError: The last sign-ins were refused and the back-off has not passed.
        """
        record = self._records.get(key)
        if record is None:
            return
        now = self.clock()
        if now < record.locked_until:
            wait = math.ceil(record.locked_until - now)
            raise KeyLockedError(
                f"not signing in again for {wait}s after ConnectWise locked the key", status=423, retry_after=wait
            )
        if now < record.not_before:
            wait = math.ceil(record.not_before - now)
            raise SignInDeferredError(
                f"not signing in again for {wait}s: the last {record.refusals} sign-ins with this Client ID were "
                "refused",
                retry_after=wait,
            )

    def locked(self, key: SignInKey, *, retry_after: float | None, cooldown: float = DEFAULT_LOCK_COOLDOWN) -> float:
        """Record a 423; returns the cool-down in seconds."""
        seconds = max(cooldown, retry_after or 0.0)
        record = self._records.setdefault(key, _Record())
        record.locked_until = self.clock() + seconds
        return seconds

    def refused(self, key: SignInKey) -> None:
        """Record a refused sign-in (wrong secret or scope)."""
        record = self._records.setdefault(key, _Record())
        record.refusals += 1
        if record.refusals >= 2:
            delay = min(MAX_BACKOFF, FIRST_BACKOFF * 2.0 ** min(record.refusals - 2, 30))
            record.not_before = self.clock() + delay

    def succeeded(self, key: SignInKey) -> None:
        """A token was minted: forget the key's trouble."""
        self._records.pop(key, None)

    def clear(self) -> None:
        """Forget everything (tests)."""
        self._records.clear()


#: The process's guard, shared by every ConnectWise client.
SIGN_IN_GUARD = SignInGuard()

__all__ = ["DEFAULT_LOCK_COOLDOWN", "SIGN_IN_GUARD", "SignInGuard", "SignInKey"]
