"""Cost caps of on-demand digests: commits and LLM calls per command, GitHub requests per repo."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

HOUR = timedelta(hours=1)
# Upstream requests one uncached GitHub commit costs: its detail and its pull-request lookup
# (a commit of more than 300 files costs a page more per 300; the estimate ignores that).
GITHUB_REQUESTS_PER_COMMIT = 2


@dataclass(frozen=True)
class CommandCaps:
    """The limits of one on-demand (chat) command. None in a field: no limit.

    A request without caps (`DigestRequest.caps is None`: the CLI, the scheduler) is neither
    limited nor counted. Admins get `CommandCaps.admin()`: counted, never refused."""

    max_commits: int | None = None
    max_llm_calls: int | None = None
    enforce_budget: bool = True  # False: spend from the repository budget without a check

    @classmethod
    def admin(cls) -> CommandCaps:
        return cls(max_commits=None, max_llm_calls=None, enforce_budget=False)


class RequestBudget:
    """GitHub requests per repository per period that on-demand commands may spend.

    A sliding window per repository. Requests are charged from the GitHub worker threads as
    they are made, so the counters are guarded by a lock. Each replica counts its own (like the
    chat rate limits): it bounds what one process lets chat users take from a shared token.
    """

    def __init__(
        self, per_period: int, clock: Callable[[], datetime], period: timedelta = HOUR
    ) -> None:
        self.per_period = per_period  # 0 or less: unlimited
        self.period = period
        self._clock = clock
        self._lock = threading.Lock()
        self._spent: dict[str, deque[tuple[datetime, int]]] = {}

    @property
    def unlimited(self) -> bool:
        return self.per_period <= 0

    def charge(self, repo: str, requests: int = 1) -> None:
        if self.unlimited or requests <= 0:
            return
        now = self._clock()
        with self._lock:
            self._spent.setdefault(repo, deque()).append((now, requests))

    def used(self, repo: str) -> int:
        with self._lock:
            return sum(n for _, n in self._recent(repo, self._clock()))

    def remaining(self, repo: str) -> int | None:
        """Requests left in the current period (None: unlimited)."""
        if self.unlimited:
            return None
        return max(0, self.per_period - self.used(repo))

    def free_at(self, repo: str, needed: int = 1) -> datetime | None:
        """When `needed` requests fit again (now when they already do); None when they never
        fit in one period (`needed` larger than the whole budget)."""
        now = self._clock()
        if self.unlimited:
            return now
        if needed > self.per_period:
            return None
        with self._lock:
            spent = list(self._recent(repo, now))
        used = sum(n for _, n in spent)
        for at, n in spent:  # oldest first: each one that expires frees its requests
            if self.per_period - used >= needed:
                break
            used -= n
            now = at + self.period
        return now

    def _recent(self, repo: str, now: datetime) -> deque[tuple[datetime, int]]:
        spent = self._spent.get(repo)
        if spent is None:
            return deque()
        while spent and spent[0][0] <= now - self.period:
            spent.popleft()
        if not spent:
            del self._spent[repo]
        return spent


class RequestMeter:
    """Counts the upstream requests made on behalf of one command (from any thread)."""

    def __init__(self, on_request: Callable[[int], None] | None = None) -> None:
        self._on_request = on_request
        self._lock = threading.Lock()
        self.requests = 0

    def add(self, requests: int = 1) -> None:
        with self._lock:
            self.requests += requests
        if self._on_request is not None:
            self._on_request(requests)


# The meter of the command being served. Context variables follow asyncio tasks (gather copies
# them) and the GitHub transport runs its worker-thread calls in a copy of the caller's context,
# so every request a command causes is counted against it, and none of anyone else's.
_current_meter: ContextVar[RequestMeter | None] = ContextVar("digestbot_meter", default=None)


def count_request(requests: int = 1) -> None:
    """Called by a source for each request it sends upstream."""
    meter = _current_meter.get()
    if meter is not None:
        meter.add(requests)


@contextmanager
def metered(meter: RequestMeter) -> Iterator[RequestMeter]:
    """Count the requests made inside the block (and the tasks it starts) on `meter`."""
    token = _current_meter.set(meter)
    try:
        yield meter
    finally:
        _current_meter.reset(token)
