"""A `digestbot serve` stand-in for multi-process tests: one OS process running the real
scheduler tick against a shared PostgreSQL, posting into a shared sink table.

The sink plays the chat platform: every post and notice is one row (no uniqueness, so a
duplicate would show), and `find` looks posts up by delivery key like Slack metadata does.
A worker may be told to die (`os._exit`) at the three crash points.
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
from bot.delivery import DeliveryRunner, DeliverySettings, ServiceDigestBuilder
from bot.filters import CommitFilter
from bot.models import Digest
from bot.repos import RepoResolver, RepoTarget
from bot.scheduler import SchedulerSettings, SubscriptionScheduler
from bot.service import DigestService
from bot.sources.git import GitSource
from bot.storage.deliveries import PostRef, SqlDeliveryStore
from bot.storage.sql import SqlStore
from bot.storage.subscriptions import SqlSubscriptionStore, Subscription

CRASH_EXIT = 86
sink_metadata = MetaData()
sink = Table(
    "test_sink",
    sink_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(10), nullable=False),  # post | notice
    Column("key", String(64), nullable=True),
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


class _Dice:
    def __init__(self, plan: WorkerPlan) -> None:
        self._rng = random.Random(plan.seed)
        self._p = plan.crash_probability

    def maybe_die(self) -> None:
        if self._p and self._rng.random() < self._p:
            os._exit(CRASH_EXIT)  # a SIGKILL-like death: no cleanup, no commit


class SinkPoster:
    """The Poster protocol over the sink table."""

    def __init__(self, engine: Engine, process: str, dice: _Dice) -> None:
        self._engine = engine
        self._process = process
        self._dice = dice

    async def post(
        self, subscription: Subscription, repo: RepoTarget, digest: Digest, key: str
    ) -> list[PostRef]:
        self._dice.maybe_die()  # before the send
        row_id = await asyncio.to_thread(self._insert, "post", key, subscription.channel_id, None)
        self._dice.maybe_die()  # after the send, before the outbox commit
        return [PostRef(subscription.channel_id, f"m{row_id}")]

    async def find(self, subscription: Subscription, key: str) -> list[PostRef] | None:
        def lookup() -> list[PostRef]:
            with self._engine.connect() as conn:
                ids = conn.execute(
                    select(sink.c.id).where(sink.c.kind == "post", sink.c.key == key)
                ).scalars()
                return [PostRef(subscription.channel_id, f"m{i}") for i in ids]

        return await asyncio.to_thread(lookup)

    async def adopt(
        self, subscription: Subscription, repo: RepoTarget, digest: Digest, refs: Sequence[PostRef]
    ) -> None:
        return None

    async def notify(self, subscription: Subscription, text: str) -> None:
        await asyncio.to_thread(self._insert, "notice", None, subscription.channel_id, text)

    def _insert(self, kind: str, key: str | None, channel: str, text: str | None) -> int:
        with self._engine.begin() as conn:
            values = {
                "kind": kind,
                "key": key,
                "channel_id": channel,
                "text": text,
                "process": self._process,
                "at": datetime.now(UTC),
            }
            result = conn.execute(sink.insert().values(**values))
            return int(result.inserted_primary_key[0])  # type: ignore[index]


class DyingDeliveryStore(SqlDeliveryStore):
    """The real outbox; may die right after `mark_sent` committed."""

    def __init__(self, engine: Engine, dice: _Dice) -> None:
        super().__init__(engine)
        self._dice = dice

    def mark_sent(
        self, delivery_id: int, worker: str, refs: Sequence[PostRef], now: datetime
    ) -> bool:
        done = super().mark_sent(delivery_id, worker, refs, now)
        if done:
            self._dice.maybe_die()
        return done


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
    runner = DeliveryRunner(
        subscriptions=SqlSubscriptionStore(store.engine),
        deliveries=DyingDeliveryStore(store.engine, dice),
        builder=ServiceDigestBuilder(service, RepoResolver(config), lambda _: CommitFilter()),
        poster=SinkPoster(sink_engine, worker, dice),
        clock=lambda: datetime.now(UTC),
        settings=DeliverySettings(lease=timedelta(seconds=plan.lease_seconds)),
        worker_id=worker,
    )
    scheduler = SubscriptionScheduler(
        runner=runner,
        clock=lambda: datetime.now(UTC),
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


def seed_scenario(url: str, subscriptions: int, now: datetime) -> Scenario:
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
    outbox = SqlDeliveryStore(store.engine)
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
        lease = now + timedelta(seconds=2) if case == 3 else now - timedelta(seconds=1)
        claimed = outbox.claim(row.id, dead, now - timedelta(minutes=5), lease)
        assert claimed is not None
        if case in (0, 1, 3):
            outbox.renew(row.id, dead, lease, posting_at=now - timedelta(minutes=4))
        if case == 0:  # it did reach the channel
            with store.engine.begin() as conn:
                conn.execute(
                    sink.insert().values(
                        kind="post", key=key, channel_id=spec.channel_id, process=dead, at=now
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
    timeout: float = 120.0,
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
            url, str(repo_path), f"p{slot}-{spawned}", crash_probability, seed=seed * 1000 + spawned
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
                notices = conn.execute(select(sink.c.id).where(sink.c.kind == "notice")).all()
            final = {DeliveryState.SENT.value, DeliveryState.MISSED.value}
            if (
                len(states) == wanted_rows
                and set(states) <= final
                and len(notices) >= len(scenario.expected_notices)
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
        columns = (sink.c.kind, sink.c.key, sink.c.channel_id, sink.c.process)
        rows = conn.execute(select(*columns)).all()
    engine.dispose()
    posts = [r for r in rows if r.kind == "post"]
    keys = [r.key for r in posts]
    seen = {k: keys.count(k) for k in set(keys)}
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
        posts_expected=len(scenario.expected_posts),
        posts_seen=len(posts),
        duplicates=sum(n - 1 for n in seen.values() if n > 1)
        + sum(max(0, notices.get(c, 0) - 1) for c in scenario.expected_notices),
        losses=len(scenario.expected_posts - set(seen))
        + sum(1 for c in scenario.expected_notices if notices.get(c, 0) == 0),
        notices_expected=len(scenario.expected_notices),
        notices_seen=sum(notices.values()),
        posters=posters,
    )
