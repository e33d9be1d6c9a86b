"""When a schedule fires next: APScheduler's cron trigger (intervals on a fixed grid from creation) in the schedule's time zone, bounded by its end date."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import TypeAdapter

from native_rmm.automation.cron import cron_trigger
from native_rmm.automation.schedule_schemas import CronSpec, IntervalSpec, OnceTrigger, Trigger

TRIGGER: TypeAdapter[Trigger] = TypeAdapter(Trigger)


def next_fire(trigger: Trigger, *, timezone: str, after: datetime, anchor: datetime,
              end_at: datetime | None) -> datetime | None:  # fmt: skip
    """The first slot strictly after ``after`` (None when there is none before ``end_at``).

    ``anchor`` is where an interval counts from (the schedule's creation), so slots stay on its grid.
    """
    found: datetime | None
    if isinstance(trigger, OnceTrigger):
        found = trigger.at if trigger.at > after else None
    elif isinstance(trigger, CronSpec):
        found = cron_trigger(trigger.cron, timezone=timezone).get_next_fire_time(None, after)
        if found is not None and found <= after:
            found = cron_trigger(trigger.cron, timezone=timezone).get_next_fire_time(found, found)
    else:
        assert isinstance(trigger, IntervalSpec)
        elapsed = (after - anchor).total_seconds()
        steps = int(elapsed // trigger.seconds) + 1 if elapsed >= 0 else 0
        found = anchor + steps * timedelta(seconds=trigger.seconds)
    if found is None or (end_at is not None and found > end_at):
        return None
    return found
