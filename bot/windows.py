"""Parse `today`, `yesterday`, `latest`, `YYYY-MM-DD`, `A..B`, `Nd`, `week` into day windows."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import validate_timezone
from bot.errors import InvalidInputError
from bot.models import Window
from bot.vocabulary import WINDOW_HELP

MAX_DAYS = 366  # a year of commits is already more than anyone reads in a chat
# Any number of digits, so `999999d` gets the same "at most 366 days" as `3650d` (not "is not a
# date"); the digits are counted before int() is called on them.
_DAYS_RE = re.compile(r"^(\d+)d$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TOO_MANY_DAYS = f"A window can cover at most {MAX_DAYS} days."

LATEST_NEEDS_A_CHECKOUT = (
    "`latest` works for local checkouts only; for a GitHub repository name a day "
    "(today, yesterday, YYYY-MM-DD) or Nd."
)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of `day` in `zone`.

    Midnight itself can be skipped by a DST jump (e.g. America/Santiago in September);
    then the day starts at the first valid wall time, found by stepping from the
    previous day's noon in UTC, which is never ambiguous.
    """
    naive = datetime.combine(day, time(0))
    candidate = naive.replace(tzinfo=zone)
    roundtrip = candidate.astimezone(ZoneInfo("UTC")).astimezone(zone)
    if roundtrip.replace(tzinfo=None) == naive:
        return candidate
    # Skipped midnight: the day starts when the clock jumps, i.e. at the round-tripped time's
    # earlier counterpart. Walk forward in 15-minute steps (all real offsets are multiples).
    probe = datetime.combine(day - timedelta(days=1), time(12), tzinfo=zone).astimezone(
        ZoneInfo("UTC")
    )
    while probe.astimezone(zone).date() < day:
        probe += timedelta(minutes=15)
    return probe.astimezone(zone)


def days_window(first: date, last: date, zone: ZoneInfo, label: str) -> Window:
    """[local midnight of `first`, local midnight of the day after `last`)."""
    if last < first:
        raise InvalidInputError(f"The window ends before it starts ({first} .. {last}).")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInputError(TOO_MANY_DAYS)
    start = local_midnight(first, zone)
    end = local_midnight(last + timedelta(days=1), zone)
    return Window(start=start, end=end, tz=zone.key, label=label)


def _parse_date(text: str) -> date:
    if not _DATE_RE.match(text):
        raise InvalidInputError(f"'{text[:40]}' is not a date; use {WINDOW_HELP}.")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInputError(f"'{text}' is not a valid date.") from exc


def parse_window(
    text: str | None, tz: str, now: datetime, *, latest: datetime | None = None
) -> Window:
    """Turn what the user typed into a Window in time zone `tz`, relative to `now` (aware).

    `latest` is the repository's newest commit time (aware), needed only for the spec
    `latest`: the window is the local day in `tz` that holds it. Without it (a GitHub
    repository: finding its newest day costs requests we do not make) `latest` is refused.
    """
    zone = validate_timezone(tz)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(zone).date()
    spec = (text or "today").strip().lower()
    if spec == "latest":
        if latest is None:
            raise InvalidInputError(LATEST_NEEDS_A_CHECKOUT)
        if latest.tzinfo is None:
            raise ValueError("latest must be timezone-aware")
        day = latest.astimezone(zone).date()
        return days_window(day, day, zone, "latest")
    if spec == "today":
        return days_window(today, today, zone, "today")
    if spec == "yesterday":
        day = today - timedelta(days=1)
        return days_window(day, day, zone, "yesterday")
    if spec == "week":
        monday = today - timedelta(days=today.weekday())
        return days_window(monday, today, zone, "week")
    match = _DAYS_RE.match(spec)
    if match:
        digits = match.group(1).lstrip("0")
        if not digits:
            raise InvalidInputError("Nd needs at least 1 day (e.g. 7d).")
        if len(digits) > len(str(MAX_DAYS)) or int(digits) > MAX_DAYS:
            raise InvalidInputError(TOO_MANY_DAYS)
        count = int(digits)
        return days_window(today - timedelta(days=count - 1), today, zone, f"{count}d")
    if ".." in spec:
        first_text, _, last_text = spec.partition("..")
        return days_window(_parse_date(first_text), _parse_date(last_text), zone, spec)
    day = _parse_date(spec)
    return days_window(day, day, zone, spec)


def previous_local_day(now: datetime, tz: str) -> date:
    """The local calendar day before `now` in `tz` (what a morning post covers)."""
    return now.astimezone(validate_timezone(tz)).date() - timedelta(days=1)
