"""The per-repository request budget (a sliding hour) and the per-command request meter."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from bot.costs import RequestBudget, RequestMeter, count_request, metered

T0 = datetime(2026, 2, 8, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_budget_slides_per_repository() -> None:
    clock = Clock()
    budget = RequestBudget(10, clock)
    budget.charge("a/x", 4)
    clock.now += timedelta(minutes=20)
    budget.charge("a/x", 6)
    budget.charge("b/y", 1)
    assert budget.remaining("a/x") == 0 and budget.remaining("b/y") == 9
    # 3 more fit once the first 4 expire, an hour after they were made.
    assert budget.free_at("a/x", 3) == T0 + timedelta(hours=1)
    assert budget.free_at("a/x", 7) == T0 + timedelta(minutes=80)
    assert budget.free_at("a/x", 11) is None  # more than one hour's budget
    clock.now = T0 + timedelta(hours=1)
    assert budget.remaining("a/x") == 4


def test_zero_means_unlimited() -> None:
    budget = RequestBudget(0, Clock())
    budget.charge("a/x", 1000)
    assert budget.remaining("a/x") is None and budget.used("a/x") == 0


async def test_meter_counts_its_own_tasks_and_threads_only() -> None:
    charged: list[int] = []
    mine = RequestMeter(charged.append)

    def worker() -> None:
        count_request()  # a GitHub worker thread, in a copy of the caller's context

    async def command() -> None:
        with metered(mine):
            await asyncio.gather(asyncio.to_thread(worker), asyncio.to_thread(worker))
            count_request()

    async def someone_else() -> None:
        await asyncio.to_thread(worker)
        count_request()

    await asyncio.gather(command(), someone_else())
    thread = threading.Thread(target=worker)  # a bare thread has no command: not counted
    thread.start()
    thread.join()
    assert mine.requests == 3 and charged == [1, 1, 1]
