"""The waits between a background link's failed attempts: capped exponential, optional jitter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """`first` seconds, doubling, capped at `cap`. With `jitter` (a source of [0, 1)), each
    wait is scaled by 0.5–1, so replicas that lost the link together do not retry together."""

    first: float = 1.0
    cap: float = 60.0
    jitter: Callable[[], float] | None = None

    def delays(self) -> Iterator[float]:
        """An endless series of waits; start a new one when the link was up again."""
        delay = self.first
        while True:
            yield delay if self.jitter is None else delay * (0.5 + 0.5 * self.jitter())
            delay = min(delay * 2, self.cap)
