"""Randomised crash-and-restart runs of the scheduler against a recording chat platform.

One run: a few subscriptions, a few simulated days. The bot ticks at every due instant; at
each digest post it may "die" (Crash) before the send, after the send (before the outbox
commit) or after the commit; it comes back after a delay Δ (a new core, stores and scheduler
on the same SQLite file, recovering at start). The platform outlives the bot. At the end every
run due in the period must be posted exactly once, or (only when the bot was down longer than
the catch-up window around it) reported missed exactly once.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.schedules import Schedule
from bot.sources.base import CommitSource
from bot.storage.deliveries import (
    DeliveryState,
    PostRef,
    SqlDeliveryStore,
    delivery_key,
)
from tests.fakes.scheduled_chat import Bot, Crash, FakeClock, LookupPlatform, start_bot

CRASH_POINTS = ("before_send", "after_send", "after_commit")
SHORT_DELAYS = (timedelta(seconds=1), timedelta(minutes=5), timedelta(hours=1), timedelta(hours=5))
ALL_DELAYS = (*SHORT_DELAYS, timedelta(hours=25), timedelta(hours=72))
CATCHUP = timedelta(hours=24)


@dataclass(frozen=True)
class SubDef:
    at: time
    timezone: str
    days: tuple[str, ...]

    def toml(self, channel: str) -> str:
        days = ", ".join(f'"{d}"' for d in self.days)
        return (
            f'[[subscriptions]]\nrepo = "widget"\nplatform = "test"\nchannel = "{channel}"\n'
            f'at = "{self.at:%H:%M}"\ntimezone = "{self.timezone}"\ndays = [{days}]\n\n'
        )

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.at, self.timezone, self.days)


SUB_POOL = (
    SubDef(time(9), "UTC", ("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
    SubDef(time(7, 30), "America/New_York", ("mon", "tue", "wed", "thu", "fri")),
    SubDef(time(2, 30), "Europe/Berlin", ("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
    SubDef(time(2, 30), "America/New_York", ("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
    SubDef(time(1, 30), "America/New_York", ("sat", "sun", "mon")),
    SubDef(time(9), "Asia/Shanghai", ("mon", "wed", "fri")),
    SubDef(time(23, 45), "Asia/Kolkata", ("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
)


class CrashingDeliveryStore(SqlDeliveryStore):
    """The real outbox; `mark_sent` may die right after its commit."""

    def __init__(self, engine: Engine, crash: Callable[[], bool]) -> None:
        super().__init__(engine)
        self._crash = crash

    def mark_sent(
        self, delivery_id: int, worker: str, refs: Sequence[PostRef], now: datetime
    ) -> bool:
        done = super().mark_sent(delivery_id, worker, refs, now)
        if done and self._crash():
            raise Crash("after commit")
        return done


@dataclass
class RunResult:
    expected: set[str] = field(default_factory=set)
    posts: Counter[str] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)
    legit_missed: set[str] = field(default_factory=set)
    crashes: Counter[str] = field(default_factory=Counter)
    restarts: int = 0
    states: Counter[str] = field(default_factory=Counter)

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.posts.values() if n > 1) + sum(
            1 for k in self.missed if k in self.posts
        )

    @property
    def losses(self) -> int:
        """Due runs neither posted nor legitimately reported missed."""
        lost = 0
        for key in self.expected:
            if self.posts[key] == 0 and not (self.missed[key] == 1 and key in self.legit_missed):
                lost += 1
        return lost

    @property
    def unexpected(self) -> int:
        return sum(1 for k in self.posts if k not in self.expected)


class CrashRun:
    """One randomised run in `workdir` over the repo at `repo_path`."""

    def __init__(
        self,
        workdir: Path,
        repo_path: Path,
        rng: random.Random,
        *,
        start: datetime,
        days: int = 5,
        subs: Sequence[SubDef] | None = None,
        probability: float = 0.12,
        delays: Sequence[timedelta] = SHORT_DELAYS,
        source: CommitSource | None = None,
    ) -> None:
        self.source = source
        self.workdir = workdir
        self.repo_path = repo_path
        self.rng = rng
        self.start = start
        self.end = start + timedelta(days=days)
        self.subs = list(subs) if subs is not None else rng.sample(SUB_POOL, rng.randint(1, 3))
        self.probability = probability
        self.delays = tuple(delays)
        self.clock = FakeClock(start)
        self.platform = LookupPlatform(
            crash_before_send=lambda: self._maybe("before_send"),
            crash_after_send=lambda: self._maybe("after_send"),
        )
        self.result = RunResult()
        self._down: list[tuple[datetime, datetime]] = []  # (crashed at, back up at)

    def _maybe(self, point: str) -> bool:
        if self.rng.random() < self.probability:
            self.result.crashes[point] += 1
            return True
        return False

    def _boot(self) -> Bot:
        toml = "".join(sub.toml(f"C{i}") for i, sub in enumerate(self.subs))
        self.workdir.mkdir(parents=True, exist_ok=True)
        bot = start_bot(
            self.workdir,
            self.repo_path,
            self.platform,
            self.clock,
            extra_config=toml,
            source=self.source,
        )
        runner = bot.scheduling.scheduler.runner
        runner.deliveries = CrashingDeliveryStore(
            bot.core.store.engine, lambda: self._maybe("after_commit")
        )
        return bot

    async def run(self) -> RunResult:
        events = sorted(
            {
                s.schedule.instant(d)
                for s in self.subs
                for d in s.schedule.runs_between(self.start, self.end)
            }
        )
        bot: Bot | None = None
        back_at = self.start
        down_since: datetime | None = None  # the first crash of a chain of failed restarts
        first_boot = True
        for moment in [*events, None]:
            while bot is None and (moment is None or back_at <= moment):
                self.clock.set(back_at)
                bot = self._boot()
                if first_boot:
                    first_boot = False
                else:
                    self.result.restarts += 1
                try:
                    await bot.scheduling.scheduler.catch_up()
                except Crash:
                    await bot.close()
                    bot, down_since = None, down_since or back_at
                    back_at = back_at + self.rng.choice(self.delays)
                    continue
                if down_since is not None:
                    self._down.append((down_since, back_at))
                    down_since = None
            if moment is None or bot is None:
                continue
            self.clock.set(moment)
            try:
                await bot.scheduling.scheduler.tick()
            except Crash:
                await bot.close()
                bot, down_since = None, moment
                back_at = moment + self.rng.choice(self.delays)
        assert bot is not None
        self._expect(bot)
        self._collect(bot)
        await bot.close()
        return self.result

    def _expect(self, bot: Bot) -> None:
        """Every run after the subscriptions were created, up to the bot's last moment (a
        restart after the period catches up runs past its end too)."""
        by_channel = {s.channel_id: s for s in bot.scheduling.subscriptions.active()}
        for i, sub_def in enumerate(self.subs):
            sub = by_channel[f"C{i}"]
            for day in sub_def.schedule.runs_between(sub.active_since, self.clock.now):
                self.result.expected.add(delivery_key(sub.id, day))

    def _collect(self, bot: Bot) -> None:
        self.result.posts = self.platform.keys()
        rows = bot.scheduling.deliveries.all()
        self.result.states = Counter(r.state.value for r in rows)
        subs = {s.id: s for s in bot.scheduling.subscriptions.active()}
        for row in rows:
            if row.state is DeliveryState.MISSED:
                self.result.missed[row.key] += 1
                if self._long_downtime(subs[row.subscription_id].schedule.instant(row.local_date)):
                    self.result.legit_missed.add(row.key)

    def _long_downtime(self, instant: datetime) -> bool:
        """A run is legitimately missed only when the bot was down around it (through any
        chain of crashing restarts) for at least the shortest gap between two runs of one
        subscription (23 h, a spring-forward day); shorter outages must not lose posts."""
        return any(
            crashed <= instant <= back and back - crashed >= timedelta(hours=23)
            for crashed, back in self._down
        )
