"""Sign-in throttling that slows a guesser down without locking the real user out.

Failures are counted per (username, client address) and per client address, over
``login_window_minutes``:

* a (username, address) pair gets ``login_max_failures`` wrong passwords freely; after that each
  attempt must wait ``login_first_delay_seconds`` after the last failure, doubling with every further
  failure up to ``login_lockout_minutes``. The same user signing in from anywhere else is not slowed.
* one address gets at most ``login_address_max_failures`` wrong passwords (over all usernames) per
  window, so spraying many usernames from one place is capped too.

A throttled attempt never checks the password (no oracle while throttled) and is not counted.
The address is the one :mod:`hub.core.client_address` resolved, so a forged ``X-Forwarded-For``
only counts when a trusted proxy sent it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.models import LoginFailure
from hub.core.settings import Settings

#: Doubling stops growing long before any sane cap; this keeps ``2 ** n`` finite.
_MAX_DOUBLINGS = 30


@dataclass(frozen=True)
class Throttled:
    """An attempt refused before the password was looked at."""

    retry_after: int
    message: str


@dataclass(frozen=True)
class ThrottleKeys:
    """The failure-counter keys of one attempt."""

    pair: str
    address: str

    @classmethod
    def of(cls, username: str, address: str) -> ThrottleKeys:
        # Hashed: a 150-character username plus an IPv6 address would not fit the key column.
        digest = hashlib.sha256(f"{username}\0{address}".encode()).hexdigest()
        return cls(pair=f"pair:{digest}", address=f"ip:{address}"[:200])


def _wait_text(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def pair_delay(failures: int, settings: Settings) -> float:
    """Seconds an attempt must wait after the last of ``failures`` wrong passwords of one pair."""
    if failures < settings.login_max_failures:
        return 0.0
    doublings = min(failures - settings.login_max_failures, _MAX_DOUBLINGS)
    delay: float = settings.login_first_delay_seconds * 2.0**doublings
    return min(delay, settings.login_lockout_minutes * 60)


async def check(session: AsyncSession, keys: ThrottleKeys, *, settings: Settings, now: datetime) -> Throttled | None:
    """Why this attempt must wait, or None when it may check the password."""
    since = now - timedelta(minutes=settings.login_window_minutes)
    in_window = (LoginFailure.at >= since,)
    pair = select(func.count(), func.max(LoginFailure.at)).where(LoginFailure.key == keys.pair, *in_window)
    failures, last = (await session.execute(pair)).one()
    if last is not None:
        wait = (last + timedelta(seconds=pair_delay(failures, settings)) - now).total_seconds()
        if wait > 0:
            seconds = math.ceil(wait)
            return Throttled(seconds, f"too many failed sign-ins; try again in {_wait_text(seconds)}")
    by_address = select(func.count()).select_from(LoginFailure).where(LoginFailure.key == keys.address, *in_window)
    address_failures = int((await session.execute(by_address)).scalar_one())
    if address_failures >= settings.login_address_max_failures:
        # The attempt is allowed again once enough of this address's failures have left the window.
        expiring = (
            select(LoginFailure.at)
            .where(LoginFailure.key == keys.address, *in_window)
            .order_by(LoginFailure.at)
            .offset(address_failures - settings.login_address_max_failures)
            .limit(1)
        )
        oldest = (await session.execute(expiring)).scalar_one()
        seconds = max(1, math.ceil((oldest - since).total_seconds()))
        return Throttled(seconds, f"too many failed sign-ins from this address; try again in {_wait_text(seconds)}")
    return None


async def record_failure(session: AsyncSession, keys: ThrottleKeys, *, settings: Settings, now: datetime) -> None:
    """Count a wrong password against the pair and the address; forget failures older than the window."""
    since = now - timedelta(minutes=settings.login_window_minutes)
    await session.execute(delete(LoginFailure).where(LoginFailure.at < since))
    session.add_all([LoginFailure(key=keys.pair, at=now), LoginFailure(key=keys.address, at=now)])
    await session.flush()


async def clear_pair(session: AsyncSession, keys: ThrottleKeys) -> None:
    """A correct password resets its pair (the address keeps its count)."""
    await session.execute(delete(LoginFailure).where(LoginFailure.key == keys.pair))
