"""When a subscription posts: its run days, their instants (DST-safe) and the days each covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import WEEKDAY_NAMES, validate_timezone
from bot.errors import InvalidInputError

WEEKDAYS = WEEKDAY_NAMES  # ("mon", …, "sun"): index = date.weekday()


@dataclass(frozen=True)
class Schedule:
    """A local time of day on some days of the week, in an IANA time zone.

    A wall time that a DST jump skips (02:30 on a spring-forward night) runs at the
    instant it would have had before the jump (03:30 after it); a wall time that occurs
    twice (01:30 on a fall-back night) runs at its first occurrence. Either way every
    run day has exactly one instant.
    """

    at: time
    timezone: str
    days: tuple[str, ...] = WEEKDAYS

    def __post_init__(self) -> None:
        validate_timezone(self.timezone)  # ConfigError with a short message
        if not self.days or any(d not in WEEKDAYS for d in self.days):
            raise InvalidInputError("Days must be some of mon, tue, wed, thu, fri, sat, sun.")
        ordered = tuple(d for d in WEEKDAYS if d in self.days)
        object.__setattr__(self, "days", ordered)
        object.__setattr__(self, "at", self.at.replace(second=0, microsecond=0, tzinfo=None))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def runs_on(self, day: date) -> bool:
        return WEEKDAYS[day.weekday()] in self.days

    def instant(self, day: date) -> datetime:
        """The UTC instant of the run on local `day` (fold=0: see the class docstring).
        The fold is forced: a wall time carrying fold=1 would put a skipped 00:00 (Santiago's
        spring-forward midnight) on the evening before instead of after the gap."""
        wall = datetime.combine(day, self.at.replace(fold=0), tzinfo=self.zone)
        return wall.astimezone(UTC)

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def previous_run_day(self, day: date) -> date:
        """The last run day strictly before `day` (at most a week back)."""
        for back in range(1, 8):
            candidate = day - timedelta(days=back)
            if self.runs_on(candidate):
                return candidate
        raise AssertionError("a schedule runs at least one day a week")  # pragma: no cover

    def covered_days(self, day: date) -> tuple[date, date]:
        """The local days the post of `day` covers: every day since the previous run day, up
        to yesterday (a Monday post of a mon–fri schedule covers Friday to Sunday)."""
        return self.previous_run_day(day), day - timedelta(days=1)

    def last_run(self, now: datetime) -> date | None:
        """The latest run day whose instant is at or before `now`."""
        today = self.local_day(now)
        for back in range(9):
            day = today - timedelta(days=back)
            if self.runs_on(day) and self.instant(day) <= now:
                return day
        return None  # pragma: no cover - a run day occurs every week

    def runs_between(self, start: datetime, end: datetime) -> list[date]:
        """Run days whose instant lies in (start, end], oldest first."""
        if end <= start:
            return []
        first = self.local_day(start) - timedelta(days=1)
        last = self.local_day(end) + timedelta(days=1)
        days: list[date] = []
        day = first
        while day <= last:
            if self.runs_on(day) and start < self.instant(day) <= end:
                days.append(day)
            day += timedelta(days=1)
        return days

    def next_run(self, now: datetime) -> datetime:
        """The first run instant strictly after `now`."""
        day = self.local_day(now) - timedelta(days=1)
        while True:
            if self.runs_on(day) and self.instant(day) > now:
                return self.instant(day)
            day += timedelta(days=1)

    def cron_fields(self) -> dict[str, str | int]:
        """APScheduler CronTrigger fields. Day *names*: crontab numbers differ (0 = Monday
        in APScheduler, Sunday in crontab)."""
        return {"day_of_week": ",".join(self.days), "hour": self.at.hour, "minute": self.at.minute}

    def describe(self) -> str:
        """`09:00 Asia/Shanghai, mon-fri` (human text for replies)."""
        return f"{self.at:%H:%M} {self.timezone}, {describe_days(self.days)}"


def describe_days(days: tuple[str, ...]) -> str:
    if days == WEEKDAYS:
        return "daily"
    indices = [WEEKDAYS.index(d) for d in days]
    if len(indices) > 2 and indices == list(range(indices[0], indices[-1] + 1)):
        return f"{days[0]}-{days[-1]}"
    return ",".join(days)
