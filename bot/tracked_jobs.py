"""The jobs a long-running service has in flight, so its stop can wait for them (and none
starts once it is stopping)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class TrackedJobs:
    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()
        self.closed = False

    async def run(self, work: Coroutine[Any, Any, Any]) -> None:
        """Await `work` as one of the jobs (an APScheduler job's body); dropped once closed."""
        if self.closed:
            work.close()
            return
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            await work
        finally:
            if task is not None:
                self.tasks.discard(task)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run `work` in the background as one of the jobs; dropped once closed."""
        if self.closed:
            work.close()
            return
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close(self, timeout: float) -> None:
        """No new jobs; wait up to `timeout` seconds for those in flight, then cancel them."""
        self.closed = True
        if self.tasks:
            _, pending = await asyncio.wait(set(self.tasks), timeout=timeout)
            for task in pending:
                task.cancel()

    @property
    def idle(self) -> bool:
        return not self.tasks
