"""When a channel may be alerted: quiet hours in its time zone, and the `[alerts]` settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import AlertsConfig


@dataclass(frozen=True)
class QuietHours:
    """A daily span of local wall time without alerts; it may wrap midnight (22:00-08:00)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """ "HH:MM-HH:MM" (validated by AlertsConfig); None for "" or an empty span."""
        if not text.strip():
            return None
        first, last = (part.strip() for part in text.split("-"))
        start, end = time.fromisoformat(first.zfill(5)), time.fromisoformat(last.zfill(5))
        return None if start == end else cls(start, end)

    def contains(self, moment: datetime, zone: ZoneInfo) -> bool:
        """Is `moment` (aware) inside the span, on the local clock of `zone`?"""
        local = moment.astimezone(zone).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class AlertPolicy:
    """The `[alerts]` table in the units the watcher uses."""

    poll_every: timedelta | None  # None: no polling (webhook only)
    quiet: QuietHours | None
    max_per_hour: int  # cards per channel per hour; 0: no cap
    fold_at: int
    max_delay: timedelta
    webhook: bool
    webhook_path: str

    @classmethod
    def from_config(cls, config: AlertsConfig) -> AlertPolicy:
        minutes = config.poll_minutes
        return cls(
            poll_every=timedelta(minutes=minutes) if minutes > 0 else None,
            quiet=QuietHours.parse(config.quiet_hours),
            max_per_hour=config.max_per_channel_per_hour,
            fold_at=config.fold_at,
            max_delay=timedelta(minutes=config.max_delay_minutes),
            webhook=config.webhook,
            webhook_path=config.webhook_path,
        )
