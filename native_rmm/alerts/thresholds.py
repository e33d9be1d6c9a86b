"""Per-organisation metric thresholds: read (with defaults) and save (admin, audited).

The batched metric ingest evaluates many samples in one session, so the thresholds of an
organisation are cached in the session's unit of work for the life of that session.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.caller import Caller
from hub.core.changes import record_change, require_admin
from hub.core.db import utcnow
from hub.core.uow import Slot, uow_of
from native_rmm.alerts.schemas import Thresholds, ThresholdsOut
from native_rmm.models.alerts import MetricThresholds

#: The organisations' thresholds read in this session (kept for its life: one read per org per unit of work).
_CACHE: Slot[dict[int, ThresholdsOut]] = Slot("native_rmm.thresholds", dict)
DEFAULT_THRESHOLDS = Thresholds()


def _out(row: MetricThresholds | None) -> ThresholdsOut:
    if row is None:
        return ThresholdsOut(**DEFAULT_THRESHOLDS.model_dump(), is_default=True)
    values = {name: getattr(row, name) for name in Thresholds.model_fields}
    return ThresholdsOut(**values, is_default=False, updated_at=row.updated_at, updated_by=row.updated_by_label)


async def get_thresholds(session: AsyncSession, org_id: int) -> ThresholdsOut:
    """The organisation's thresholds, or the defaults (80/90 CPU, 85/95 memory, 85/95 disk)."""
    cache = uow_of(session).slot(_CACHE)
    if org_id not in cache:
        row = (
            await session.execute(select(MetricThresholds).where(MetricThresholds.org_id == org_id))
        ).scalar_one_or_none()
        cache[org_id] = _out(row)
    return cache[org_id]


async def set_thresholds(session: AsyncSession, *, actor: Caller, values: Thresholds) -> ThresholdsOut:
    """Save the thresholds of the actor's organisation (admin only; audited with old and new values).

    New values apply to the next samples; alerts already raised follow them from then on.
    """
    require_admin(actor, "only admins can change metric thresholds")
    row = (
        await session.execute(select(MetricThresholds).where(MetricThresholds.org_id == actor.org_id))
    ).scalar_one_or_none()
    old = _out(row)
    if row is None:
        row = MetricThresholds(org_id=actor.org_id, **values.model_dump())
        session.add(row)
    else:
        for name, value in values.model_dump().items():
            setattr(row, name, value)
    row.updated_at, row.updated_by_label = utcnow(), actor.label
    await session.flush()
    record_change(
        session,
        actor=actor.actor,
        org_id=actor.org_id,
        outcome="rmm.thresholds.updated",
        detail={
            "old": Thresholds(**old.model_dump(include=set(Thresholds.model_fields))).model_dump(),
            "new": values.model_dump(),
        },
    )
    saved = _out(row)
    uow_of(session).slot(_CACHE)[actor.org_id] = saved
    return saved
