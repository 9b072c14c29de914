"""A `digestbot serve` stand-in for multi-process tests: one OS process running the real
scheduler tick against a shared PostgreSQL, posting into a shared sink table.

The sink plays the chat platform: every posted part and notice is one row (no uniqueness, so
a duplicate would show), and `find_part` looks a part up by its key within a time span like
Slack metadata does. A worker may be told to die (`os._exit`) before or after a part's send or
right after any outbox commit, the sink may refuse a part, and each worker's own clock is
skewed (and may step during a post): leases run on the database's clock, so none of it may
make a second post.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.engine import Engine

from bot.analysis.heuristic import HeuristicAnalyzer
from bot.config import AppConfig, RepoConfig
from bot.delivery import (
    DeliveryRunner,
    DeliverySettings,
    DigestPlanner,
    PreparedDigest,
    ServiceDigestBuilder,
)
from bot.errors import PlatformError
from bot.filters import CommitFilter
from bot.models import Digest
from bot.repos import RepoResolver, RepoTarget
from bot.scheduler import SchedulerSettings, SubscriptionScheduler
from bot.service import DigestService
from bot.sources.git import GitSource
from bot.storage.deliveries import DeliveryPart, PostRef, SqlDeliveryStore
from bot.storage.sql import SqlStore
from bot.storage.subscriptions import SqlSubscriptionStore, Subscription
from tests.fakes.crash_harness import CrashingDeliveryStore

CRASH_EXIT = 86
sink_metadata = MetaData()
sink = Table(
    "test_sink",
    sink_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(10), nullable=False),  # post | notice
    Column("key", String(64), nullable=True),
    Column("part", Integer, nullable=False, default=0),
    Column("channel_id", String(200), nullable=False),
    Column("process", String(120), nullable=False),
    Column("text", String(2000), nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class WorkerPlan:
    url: str
    repo_path: str
    name: str
    crash_probability: float = 0.0
    seed: int = 0
    lease_seconds: float = 3.0
    tick_seconds: float = 0.1
    parts: int = 3
    refusal: float = 0.0
    skew_seconds: float = 0.0  # this worker's clock minus true time
    step_probability: float = 0.0  # per post: the worker's clock jumps by minutes


class _Dice:
    def __init__(self, plan: WorkerPlan) -> None:
        self._rng = random.Random(plan.seed)
        self._p = plan.crash_probability

    def maybe_die(self) -> bool:
        """Dies now with probability p (never returns then); False otherwise."""
        if self._p and self._rng.random() < self._p:
            os._exit(CRASH_EXIT)  # a SIGKILL-like death: no cleanup, no commit
        return False


class SinkPoster:
    """The Poster protocol over the sink table."""

    def __init__(
        self, engine: Engine, process: str, dice: _Dice, plan: WorkerPlan, clock: _WorkerClock
    ) -> None:
        self._engine = engine
        self._process = process
        self._dice = dice
        self._plan = plan
        self._clock = clock
        self._rng = random.Random(plan.seed + 1)

    async def prepare(
        self, subscription: Subscription, repo: RepoTarget, digest: Digest, key: str
    ) -> PreparedDigest:
        return PreparedDigest([f"{key}#{i}" for i in range(self._plan.parts)], "{}")

    async def post_part(
        self, subscription: Subscription, part: DeliveryPart, key: str, root: PostRef | None
    ) -> list[PostRef]:
        if self._rng.random() < self._plan.step_probability:
            self._clock.step += timedelta(minutes=self._rng.choice((-30, -15, 15, 30)))
        self._dice.maybe_die()  # before the send
        if self._rng.random() < self._plan.refusal:
            raise PlatformError("The sink refused the message.")
        row_id = await asyncio.to_thread(
            self._insert, "post", key, subscription.channel_id, None, part.index
        )
        self._dice.maybe_die()  # after the send, before the outbox commit
        return [PostRef(subscription.channel_id, f"m{row_id}")]

    async def find_part(
        self,
        subscription: Subscription,
        key: str,
        part: DeliveryPart,
        root: PostRef | None,
        between: tuple[datetime, datetime],
    ) -> list[PostRef] | None:
        def lookup() -> list[PostRef]:
            with self._engine.connect() as conn:
                ids = conn.execute(
                    select(sink.c.id).where(
                        sink.c.kind == "post",
                        sink.c.key == key,
                        sink.c.part == part.index,
                        sink.c.at >= between[0],
                        sink.c.at <= between[1],
                    )
                ).scalars()
                return [PostRef(subscription.channel_id, f"m{i}") for i in ids]

        return await asyncio.to_thread(lookup)

    async def record(
        self, subscription: Subscription, refs: Sequence[PostRef], context: str
    ) -> None:
        return None

    async def notify(self, subscription: Subscription, text: str) -> None:
        await asyncio.to_thread(self._insert, "notice", None, subscription.channel_id, text, 0)

    def _insert(self, kind: str, key: str | None, channel: str, text: str | None, part: int) -> int:
        with self._engine.begin() as conn:
            values = {
                "kind": kind,
                "key": key,
                "part": part,
                "channel_id": channel,
                "text": text,
                "process": self._process,
                "at": datetime.now(UTC),  # the platform's (true) time
            }
            result = conn.execute(sink.insert().values(**values))
            return int(result.inserted_primary_key[0])  # type: ignore[index]


class _WorkerClock:
    """This worker's wall clock: true time plus its skew, plus any step taken since."""

    def __init__(self, skew: timedelta) -> None:
        self.step = skew

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.step


def run_worker(plan: WorkerPlan, go: Any, stop: Any) -> None:
    """Process entry point (multiprocessing spawn): tick until `stop` is set."""
    logging.basicConfig(level=logging.ERROR)  # the parent counts outcomes; keep stderr quiet
    go.wait(60)
    asyncio.run(_work(plan, stop))


async def _work(plan: WorkerPlan, stop: Any) -> None:
    store = SqlStore.open(plan.url)
    sink_engine = create_engine(plan.url, pool_size=2)
    dice = _Dice(plan)
    config = AppConfig(repos=(RepoConfig(name="acme/widget", path=Path(plan.repo_path)),))
    heuristic = HeuristicAnalyzer()
    service = DigestService(
        sources={"local": GitSource()},
        analyzer=heuristic,
        fallback_analyzer=heuristic,
        store=store,
        clock=lambda: datetime.now(UTC),
    )
    worker = f"{plan.name}:{os.getpid()}"
    clock = _WorkerClock(timedelta(seconds=plan.skew_seconds))
    poster = SinkPoster(sink_engine, worker, dice, plan, clock)
    runner = DeliveryRunner(
        subscriptions=SqlSubscriptionStore(store.engine),
        # Dies (os._exit) right after any step of a post committed.
        deliveries=CrashingDeliveryStore(store.engine, clock, dice.maybe_die),
        planner=DigestPlanner(
            ServiceDigestBuilder(service, RepoResolver(config), lambda _: CommitFilter()), poster
        ),
        poster=poster,
        settings=DeliverySettings(
            lease=timedelta(seconds=plan.lease_seconds),
            backoff=(timedelta(seconds=0.3),),  # refused parts retry within the test
        ),
        worker_id=worker,
    )
    scheduler = SubscriptionScheduler(
        runner=runner,
        clock=clock,
        settings=SchedulerSettings(single_process=False),
    )
    try:
        while not stop.is_set():
            await scheduler.tick()
            await asyncio.sleep(plan.tick_seconds)
    finally:
        sink_engine.dispose()
        store.close()


def spawn(plan: WorkerPlan, go: Any, stop: Any) -> multiprocessing.process.BaseProcess:
    process = multiprocessing.get_context("spawn").Process(
        target=run_worker, args=(plan, go, stop), name=plan.name, daemon=True
    )
    process.start()
    return process


# -- a scenario for N processes on one database ------------------------------------------------

ZONES = ("UTC", "Asia/Shanghai", "Asia/Kolkata", "Asia/Tokyo")  # no DST: 24 h days


@dataclass
class Scenario:
    expected_posts: set[str]
    expected_notices: dict[str, int]  # channel -> notices due (one per subscription)
    preposted: set[str]  # keys a "dead" replica already posted before the test


@dataclass
class Figures:
    processes: int
    spawned: int
    crashes: int
    posts_expected: int
    posts_seen: int
    duplicates: int
    losses: int
    notices_expected: int
    notices_seen: int
    posters: dict[str, int]
    partial: int = 0  # deliveries recorded partial/failed, their notice sent


def seed_scenario(url: str, subscriptions: int, now: datetime, parts: int = 3) -> Scenario:
    """`subscriptions` daily subscriptions whose last run was 1–20 h ago and whose two runs
    before it were missed (the bot was "down"), plus four left mid-delivery by a dead replica:
    posted but not recorded, claimed before the send, claimed before the platform call, and
    one whose lease has not run out yet."""
    from zoneinfo import ZoneInfo

    from bot.schedules import Schedule
    from bot.storage.deliveries import delivery_key
    from bot.storage.subscriptions import SubscriptionSpec

    store = SqlStore.open(url)
    sink_metadata.create_all(store.engine)
    subs = SqlSubscriptionStore(store.engine)
    outbox = SqlDeliveryStore(store.engine, lambda: now)
    scenario = Scenario(set(), {}, set())
    dead = "dead-replica"
    for index in range(subscriptions + 4):
        zone = ZONES[index % len(ZONES)]
        at = (now - timedelta(hours=1 + index % 20)).astimezone(ZoneInfo(zone))
        schedule = Schedule(at.time().replace(second=0, microsecond=0), zone)
        spec = SubscriptionSpec("sink", f"C{index}", "acme/widget", schedule)
        sub = subs.save(spec, origin="chat", created_by=None, now=now - timedelta(days=3))
        last = schedule.last_run(now)
        assert last is not None
        key = delivery_key(sub.id, last)
        scenario.expected_posts.add(key)
        if index < subscriptions:
            scenario.expected_notices[spec.channel_id] = 1  # the two runs before the last
            continue
        row = outbox.ensure(sub.id, last, schedule.instant(last), now - timedelta(minutes=5))
        case = index - subscriptions
        lease = timedelta(seconds=2) if case == 3 else timedelta(seconds=-1)
        claimed = outbox.claim(row.id, dead, lease)
        assert claimed is not None
        if case in (0, 1, 3):  # planned, and the root's platform call began
            outbox.plan(row.id, claimed.fence, [f"{key}#{i}" for i in range(parts)], "{}")
            outbox.begin_part(row.id, claimed.fence, 0, lease)
        if case == 0:  # it did reach the channel
            with store.engine.begin() as conn:
                conn.execute(
                    sink.insert().values(
                        kind="post",
                        key=key,
                        part=0,
                        channel_id=spec.channel_id,
                        process=dead,
                        at=datetime.now(UTC),
                    )
                )
            scenario.preposted.add(key)
    store.close()
    return scenario


def run_processes(
    url: str,
    repo_path: Path,
    scenario: Scenario,
    processes: int,
    *,
    crash_probability: float = 0.0,
    seed: int = 0,
    # The run ends as soon as every delivery is settled; this only bounds a broken one. Each
    # crash costs a fresh `spawn` process (imports included), which takes seconds on a loaded
    # machine: 120 s ran out with 20 crashes at a load of 8 on 2 cores.
    timeout: float = 480.0,
    parts: int = 3,
    refusal: float = 0.0,
    skew_seconds: float = 0.0,
    step_probability: float = 0.0,
) -> Figures:
    """Start `processes` workers together; replace any that die; stop when every delivery is
    final and every notice is out. Returns what the sink saw."""
    import time as clock

    from bot.storage.deliveries import DeliveryState, deliveries

    context = multiprocessing.get_context("spawn")
    go, stop = context.Event(), context.Event()
    spawned = 0

    def start(slot: int) -> multiprocessing.process.BaseProcess:
        nonlocal spawned
        spawned += 1
        plan = WorkerPlan(
            url,
            str(repo_path),
            f"p{slot}-{spawned}",
            crash_probability,
            seed=seed * 1000 + spawned,
            parts=parts,
            refusal=refusal,
            # replicas' clocks disagree by more than the lease: the database clock rules
            skew_seconds=skew_seconds * (1 if slot % 2 else -1),
            step_probability=step_probability,
        )
        return spawn(plan, go, stop)

    workers = {slot: start(slot) for slot in range(processes)}
    go.set()
    engine = create_engine(url)
    crashes = 0
    deadline = clock.monotonic() + timeout
    wanted_rows = len(scenario.expected_posts) + 2 * len(scenario.expected_notices)
    try:
        while clock.monotonic() < deadline:
            for slot, worker in list(workers.items()):
                if worker.exitcode is not None:
                    crashes += worker.exitcode == CRASH_EXIT
                    workers[slot] = start(slot)
            with engine.connect() as conn:
                states = conn.execute(select(deliveries.c.state)).scalars().all()
                sent_notices = conn.execute(select(sink.c.id).where(sink.c.kind == "notice")).all()
            final = {
                DeliveryState.SENT.value,
                DeliveryState.MISSED.value,
                DeliveryState.PARTIAL.value,
                DeliveryState.FAILED.value,
            }
            if (
                len(states) == wanted_rows
                and set(states) <= final
                and len(sent_notices) >= len(scenario.expected_notices)
            ):
                break
            clock.sleep(0.2)
    finally:
        stop.set()
        for worker in workers.values():
            worker.join(30)
            if worker.is_alive():
                worker.kill()
    with engine.connect() as conn:
        columns = (sink.c.kind, sink.c.key, sink.c.part, sink.c.channel_id, sink.c.process)
        rows = conn.execute(select(*columns)).all()
        reported = {
            r.delivery_key
            for r in conn.execute(
                select(deliveries.c.delivery_key).where(
                    deliveries.c.state.in_(
                        [DeliveryState.PARTIAL.value, DeliveryState.FAILED.value]
                    ),
                    deliveries.c.notice == "sent",
                )
            )
        }
    engine.dispose()
    posts = [r for r in rows if r.kind == "post"]
    keys = [(r.key, r.part) for r in posts]
    seen = {k: keys.count(k) for k in set(keys)}
    expected = {(k, i) for k in scenario.expected_posts for i in range(parts)}
    notices: dict[str, int] = {}
    for r in rows:
        if r.kind == "notice":
            notices[r.channel_id] = notices.get(r.channel_id, 0) + 1
    posters: dict[str, int] = {}
    for r in posts:
        posters[r.process.split(":")[0]] = posters.get(r.process.split(":")[0], 0) + 1
    return Figures(
        processes=processes,
        spawned=spawned,
        crashes=crashes,
        posts_expected=len(expected),
        posts_seen=len(set(seen)),
        duplicates=sum(n - 1 for n in seen.values() if n > 1)
        + sum(max(0, notices.get(c, 0) - 1) for c in scenario.expected_notices),
        losses=len({k for k in expected - set(seen) if k[0] not in reported})
        + sum(1 for c in scenario.expected_notices if notices.get(c, 0) == 0),
        partial=len(reported),
        notices_expected=len(scenario.expected_notices),
        notices_seen=sum(notices.values()),
        posters=posters,
    )
