"""Instants as a channel reads them: clock times in a window's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(tz: str) -> ZoneInfo | None:
    """The named zone, or None when `tz` is not one this machine knows."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def in_zone(moment: datetime, tz: str) -> datetime:
    """`moment` in `tz` (unchanged when `tz` is unknown)."""
    known = zone(tz)
    return moment.astimezone(known) if known is not None else moment


def clock_time(moment: datetime, tz: str, *, day_of: datetime | None = None) -> str:
    """`10:42` in `tz`; `06-12 10:42` when `day_of` falls on another local day (a reader
    would otherwise take the time for that day's)."""
    local = in_zone(moment, tz)
    if day_of is not None and in_zone(day_of, tz).date() != local.date():
        return local.strftime("%m-%d %H:%M")
    return local.strftime("%H:%M")
