"""Sliding-window rate limits per user and per channel for digests and LLM questions."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import AccessConfig
from bot.errors import DigestbotError

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Limit:
    """At most `limit` uses of `key` per `period`; a limit of 0 or less means unlimited."""

    key: str
    limit: int
    period: timedelta = HOUR


class RateLimiter:
    """In-process counters (each replica counts its own; good enough against a busy user)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._hits: dict[str, deque[datetime]] = {}

    def now(self) -> datetime:
        return self._clock()

    def retry_at(self, limits: Sequence[Limit]) -> datetime | None:
        """When the first of `limits` that is used up frees a slot; None if none is used up."""
        now = self._clock()
        latest: datetime | None = None
        for limit in limits:
            if limit.limit <= 0:
                continue
            hits = self._recent(limit, now)
            if len(hits) >= limit.limit:
                free_at = hits[len(hits) - limit.limit] + limit.period
                latest = free_at if latest is None else max(latest, free_at)
        return latest

    def acquire(self, limits: Sequence[Limit]) -> datetime | None:
        """Count one use against every limit, or none when any is used up (then: retry time)."""
        blocked = self.retry_at(limits)
        if blocked is not None:
            return blocked
        now = self._clock()
        for limit in limits:
            if limit.limit > 0:
                self._hits.setdefault(limit.key, deque()).append(now)
        return None

    def _recent(self, limit: Limit, now: datetime) -> deque[datetime]:
        hits = self._hits.setdefault(limit.key, deque())
        while hits and hits[0] <= now - limit.period:
            hits.popleft()
        if not hits:
            del self._hits[limit.key]
            return deque()
        return hits


class RatePolicy:
    """Which limits an action by a user in a channel counts against (from `[access]`)."""

    def __init__(self, access: AccessConfig) -> None:
        self._access = access

    def digest(self, platform: str, user_id: str, channel_id: str) -> list[Limit]:
        return [
            Limit(f"digest:user:{platform}:{user_id}", self._access.digests_per_user_per_hour),
            Limit(
                f"digest:channel:{platform}:{channel_id}",
                self._access.digests_per_channel_per_hour,
            ),
        ]

    def question(self, platform: str, user_id: str, channel_id: str) -> list[Limit]:
        return [
            Limit(f"question:user:{platform}:{user_id}", self._access.questions_per_user_per_hour),
            Limit(
                f"question:channel:{platform}:{channel_id}",
                self._access.questions_per_channel_per_hour,
            ),
        ]


def retry_message(what: str, retry_at: datetime, now: datetime, language: str = "en") -> str:
    """`Too many digests in the last hour; try again in 12 min (at 14:05 UTC).` (or in
    Chinese for a session held in Chinese)."""
    wait = max(retry_at - now, timedelta(seconds=1))
    minutes = int(wait.total_seconds() // 60)
    stamp = retry_at.astimezone(now.tzinfo).strftime("%H:%M %Z").strip()
    if language == "zh":
        span = f"{minutes} 分钟" if minutes else f"{int(wait.total_seconds())} 秒"
        noun = {"digests": "摘要请求", "questions": "提问"}.get(what, what)
        return f"过去一小时内的{noun}过多；请在 {span}后（{stamp}）再试。"
    span = f"{minutes} min" if minutes else f"{int(wait.total_seconds())} s"
    return f"Too many {what} in the last hour; try again in {span} (at {stamp})."


class TooManyRequestsError(DigestbotError):
    """A chat user or channel used up its hourly allowance; the message says when to retry."""

    exit_code = 75


def enforce(limiter: RateLimiter, limits: Sequence[Limit], what: str, now: datetime) -> None:
    """Count one use, or raise TooManyRequestsError saying when to retry."""
    retry = limiter.acquire(limits)
    if retry is not None:
        raise TooManyRequestsError(
            retry_message(what, retry, now), zh=retry_message(what, retry, now, "zh")
        )
