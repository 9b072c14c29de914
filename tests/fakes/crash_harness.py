"""Randomised crash-and-restart runs of the scheduler against a recording chat platform.

One run: a few subscriptions, a few simulated days, digests of 1–4 parts. The bot ticks at
every due instant; at each part's post it may "die" (Crash) before the send, after the send
(before the outbox commit), or right after any outbox commit (plan, begin, record, sent); the
platform may refuse a part (now and then, or for good); the bot's clock may step by more than
the lease during a post. The bot comes back after a delay Δ (a new core, stores and scheduler
on the same SQLite file, recovering at start, its clock right again). The platform outlives
the bot and keeps true time. After the period the bot runs on until nothing is left to retry.
At the end every part of every run due must be posted exactly once — or its run reported
partial (the part failed for good; the channel told) or, only when the bot was down longer
than the catch-up window around it, missed exactly once.
"""

from __future__ import annotations

import heapq
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
    PartState,
    PostRef,
    SqlDeliveryStore,
    delivery_key,
)
from tests.fakes.scheduled_chat import Bot, Crash, FakeClock, LookupPlatform, start_bot

LEASE = timedelta(minutes=10)  # DeliverySettings' default
DRAIN_STEP = timedelta(minutes=30)
DRAIN_FOR = timedelta(hours=14)  # past the 12 h retry period


class SteppedClock:
    """The bot's wall clock: true time plus a step (set when the clock jumps)."""

    def __init__(self, true: FakeClock) -> None:
        self.true = true
        self.step = timedelta(0)

    def __call__(self) -> datetime:
        return self.true.now + self.step


CRASH_POINTS = ("before_send", "after_send", "after_commit")
SHORT_DELAYS = (timedelta(seconds=1), timedelta(minutes=5), timedelta(hours=1), timedelta(hours=5))
ALL_DELAYS = (*SHORT_DELAYS, timedelta(hours=25), timedelta(hours=72))
CATCHUP = timedelta(hours=24)
STORE_STEPS = frozenset({"plan", "begin_part", "end_part", "mark_sent"})


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
    """The real outbox; each step of a post in `steps` (plan, begin_part, end_part,
    mark_sent) may die right after its commit."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        crash: Callable[[], bool],
        steps: frozenset[str] = STORE_STEPS,
    ) -> None:
        super().__init__(engine, clock)
        self._crash = crash
        self._steps = steps

    def _after(self, done: bool, step: str) -> None:
        if done and step in self._steps and self._crash():
            raise Crash("after commit")

    def plan(self, delivery_id: int, fence: int, payloads: Sequence[str], context: str) -> bool:
        done = super().plan(delivery_id, fence, payloads, context)
        self._after(done, "plan")
        return done

    def begin_part(
        self, delivery_id: int, fence: int, index: int, lease: timedelta
    ) -> datetime | None:
        began = super().begin_part(delivery_id, fence, index, lease)
        self._after(began is not None, "begin_part")
        return began

    def end_part(
        self,
        delivery_id: int,
        fence: int,
        index: int,
        state: PartState,
        *,
        refs: Sequence[PostRef] = (),
        reason: str | None = None,
        failed: bool = False,
    ) -> bool:
        done = super().end_part(
            delivery_id, fence, index, state, refs=refs, reason=reason, failed=failed
        )
        self._after(done, "end_part")
        return done

    def mark_sent(self, delivery_id: int, fence: int, refs: Sequence[PostRef]) -> bool:
        done = super().mark_sent(delivery_id, fence, refs)
        self._after(done, "mark_sent")
        return done


@dataclass
class RunResult:
    expected: set[str] = field(default_factory=set)
    parts: int = 1  # messages per digest in this run
    posts: Counter[str] = field(default_factory=Counter)  # root posts per key
    part_posts: Counter[tuple[str, int]] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)
    legit_missed: set[str] = field(default_factory=set)
    partial: dict[str, set[int]] = field(default_factory=dict)  # key -> parts reported lost
    notices: Counter[str] = field(default_factory=Counter)  # partial/failed notices per key
    crashes: Counter[str] = field(default_factory=Counter)
    refusals: int = 0
    clock_steps: int = 0
    restarts: int = 0
    states: Counter[str] = field(default_factory=Counter)

    @property
    def parts_expected(self) -> int:
        return sum(self.parts for key in self.expected if key not in self.legit_missed)

    @property
    def parts_seen(self) -> int:
        return len(self.part_posts)

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.part_posts.values() if n > 1) + sum(
            1 for k in self.missed if k in self.posts
        )

    @property
    def losses(self) -> int:
        """Parts of due runs neither posted, nor reported lost in a partial run, nor in a run
        legitimately reported missed."""
        lost = 0
        for key in self.expected:
            if self.posts[key] == 0 and self.missed[key] == 1 and key in self.legit_missed:
                continue
            reported = self.partial.get(key, set()) if self.notices[key] == 1 else set()
            for index in range(self.parts):
                if self.part_posts[(key, index)] == 0 and index not in reported:
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
        parts: int | None = None,
        refusal: float = 0.0,
        steps: float = 0.0,
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
        self.true = FakeClock(start)  # the platform's (true) time
        self.clock = SteppedClock(self.true)  # the bot's, which may step
        self.refusal = refusal
        self.steps = steps
        self.refused_for_good: set[tuple[str | None, int]] = set()
        self.platform = LookupPlatform(
            crash_before_send=self._before_send,
            crash_after_send=lambda: self._maybe("after_send"),
            refuse=self._refuse,
            parts=parts if parts is not None else rng.randint(1, 4),
            clock=self.true,
        )
        self.result = RunResult(parts=self.platform.parts)
        self._down: list[tuple[datetime, datetime]] = []  # (crashed at, back up at)

    def _before_send(self) -> bool:
        if self.rng.random() < self.steps:  # the bot's clock jumps by more than the lease
            self.clock.step += self.rng.choice((1, -1)) * (LEASE + self.rng.random() * 3 * LEASE)
            self.result.clock_steps += 1
        return self._maybe("before_send")

    def _refuse(self, key: str | None, index: int) -> bool:
        if (key, index) in self.refused_for_good:
            self.result.refusals += 1
            return True
        if self.rng.random() < self.refusal:
            self.result.refusals += 1
            if self.rng.random() < 0.1:
                self.refused_for_good.add((key, index))
            return True
        return False

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
            bot.core.store.engine, self.clock, lambda: self._maybe("after_commit")
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
        last = events[-1] if events else self.end
        drain = [last + DRAIN_STEP * (i + 1) for i in range(int(DRAIN_FOR / DRAIN_STEP))]
        # The bot ticks at every due instant, through the drain, and (like its minutely tick
        # job) when a refused part's retry comes due.
        queue = sorted({*events, *drain})
        draining = set(drain) - set(events)
        while True:
            moment = heapq.heappop(queue) if queue else None
            if bot is None and (moment is None or back_at <= moment):
                if moment is not None:
                    heapq.heappush(queue, moment)  # after the restart (and its retries)
                self.true.set(back_at)
                self.clock.step = timedelta(0)  # a new process, its clock right again
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
                self._schedule_retries(bot, queue)
                continue
            if moment is None:
                break
            if bot is None or (moment in draining and self._settled(bot)):
                continue
            self.true.set(moment)
            try:
                await bot.scheduling.scheduler.tick()
            except Crash:
                await bot.close()
                bot, down_since = None, moment
                back_at = moment + self.rng.choice(self.delays)
                continue
            self._schedule_retries(bot, queue)
            if self.clock.step < timedelta(0):  # the bot's clock is behind: it ticks again
                heapq.heappush(queue, moment - self.clock.step)  # when it reads `moment`
        assert bot is not None
        self._expect(bot)
        self._collect(bot)
        await bot.close()
        return self.result

    @staticmethod
    def _settled(bot: Bot) -> bool:
        """Nothing left to retry or to tell: the drain need not tick."""
        return all(
            row.state not in {DeliveryState.PENDING, DeliveryState.SENDING} and row.notice != "owed"
            for row in bot.scheduling.deliveries.all()
        )

    def _schedule_retries(self, bot: Bot, queue: list[datetime]) -> None:
        """Tick again when pending rows come due (in true time: the bot's clock may be
        stepped), as the bot's minutely tick job would."""
        for row in bot.scheduling.deliveries.all():
            if row.state is not DeliveryState.PENDING:
                continue
            at = max(row.next_attempt_at - self.clock.step, self.true.now + timedelta(seconds=1))
            if at not in queue:
                heapq.heappush(queue, at)

    def _expect(self, bot: Bot) -> None:
        """Every run after the subscriptions were created, up to the bot's last moment (a
        restart after the period catches up runs past its end too)."""
        by_channel = {s.channel_id: s for s in bot.scheduling.subscriptions.active()}
        for i, sub_def in enumerate(self.subs):
            sub = by_channel[f"C{i}"]
            for day in sub_def.schedule.runs_between(sub.active_since, self.true.now):
                self.result.expected.add(delivery_key(sub.id, day))

    def _collect(self, bot: Bot) -> None:
        self.result.posts = self.platform.keys()
        self.result.part_posts = self.platform.part_counts()
        outbox = bot.scheduling.deliveries
        rows = outbox.all()
        self.result.states = Counter(r.state.value for r in rows)
        subs = {s.id: s for s in bot.scheduling.subscriptions.active()}
        for row in rows:
            if row.state in {DeliveryState.PARTIAL, DeliveryState.FAILED} and row.notice == "sent":
                self.result.notices[row.key] += 1
                self.result.partial[row.key] = {
                    p.index for p in outbox.parts(row.id) if p.state is not PartState.SENT
                } or set(range(self.result.parts))
            if row.state is DeliveryState.MISSED:
                self.result.missed[row.key] += 1
                if self._long_downtime(subs[row.subscription_id].schedule.instant(row.local_date)):
                    self.result.legit_missed.add(row.key)

    def _long_downtime(self, instant: datetime) -> bool:
        """A run is legitimately missed only when the bot was down when it could have been
        made: down around it (through any chain of crashing restarts) for at least the
        shortest gap between two runs of one subscription (23 h, a spring-forward day) — a
        later run supersedes it — or down when its catch-up window closed (refused or
        interrupted until then, it was no longer owed once the bot was back). Shorter
        outages must not lose posts."""
        # The drain after the period ticks every DRAIN_STEP, not at each due instant: a crash
        # at the first tick after a run is due is down "around" it too.
        closes = instant + CATCHUP
        return any(
            (crashed - DRAIN_STEP <= instant <= back and back - crashed >= timedelta(hours=23))
            or crashed <= closes < back
            for crashed, back in self._down
        )
