"""Per-channel pacing of outgoing posts, shared by the chat adapters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class ChannelPacer:
    """Spaces posts to one channel at least `interval` seconds apart.

    Slack allows about one message per second per channel
    (https://api.slack.com/apis/rate-limits#posting-messages); Feishu about five per second
    per chat. Each caller reserves the next free slot, then waits for it, so concurrent
    posters to one channel queue up in order while other channels are unaffected.
    """

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._next: dict[str, float] = {}

    async def wait(self, channel: str) -> None:
        """Return when a post to `channel` may go out."""
        now = self._clock()
        slot = max(now, self._next.get(channel, now))
        self._next[channel] = slot + self._interval
        if len(self._next) > 10_000:
            self._forget_idle(now)
        if slot > now:
            await self._sleep(slot - now)

    def _forget_idle(self, now: float) -> None:
        for channel in [c for c, t in self._next.items() if t <= now]:
            del self._next[channel]
