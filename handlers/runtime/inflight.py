"""Background work started by adapters after their ack, tracked so shutdown can wait for it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class InFlight:
    """Runs reply coroutines as tasks; `drain()` waits for them (graceful shutdown)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str | None = None) -> bool:
        """Start `work`; False (and `work` closed unrun) once shutdown has begun."""
        if self._closed:
            work.close()
            return False
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return True

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float | None = None) -> bool:
        """Refuse new work and wait for what runs; True when everything finished in time."""
        self._closed = True
        if not self._tasks:
            return True
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            log.warning("cancelling unfinished task %s at shutdown", task.get_name())
            task.cancel()
        return not pending

    async def join(self) -> None:
        """Wait until nothing runs (tests, benchmarks); new work stays allowed."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))
