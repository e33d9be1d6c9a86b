"""Crontab lines as APScheduler triggers, with crontab's own weekday numbering; and the checks of a
crontab line and a time zone that schedules and patch policies share."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

#: crontab counts weekdays from Sunday (0 or 7); APScheduler from Monday (0), so numbers become names.
_WEEKDAYS = {"0": "sun", "1": "mon", "2": "tue", "3": "wed", "4": "thu", "5": "fri", "6": "sat", "7": "sun"}


def _weekday(token: str) -> str:
    base, _, step = token.partition("/")
    names = "-".join(_WEEKDAYS.get(part, part) for part in base.split("-"))
    return f"{names}/{step}" if step else names


def cron_trigger(line: str, *, timezone: str) -> CronTrigger:
    """A crontab line (minute hour day-of-month month day-of-week, crontab's weekday numbers) as a trigger.

    Raises:
        ValueError: not five fields, or a field APScheduler refuses.
    """
    fields = line.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab line has 5 fields (minute hour day month weekday), not {len(fields)}")
    minute, hour, day, month, weekdays = fields
    dow = ",".join(_weekday(t) for t in weekdays.split(","))
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=dow, timezone=timezone)


def check_cron(value: str) -> str:
    """``value``, when it is a crontab line :func:`cron_trigger` accepts (a field validator's body).

    Raises:
        ValueError: it is not; the message says why.
    """
    try:
        cron_trigger(value, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"not a crontab line (minute hour day month weekday): {exc}") from exc
    return value


def check_timezone(value: str) -> str:
    """``value``, when it names an IANA time zone (a field validator's body).

    Raises:
        ValueError: it does not; the message suggests the form.
    """
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/London)") from exc
    return value
