"""The deliveries outbox under crashes, retries, refusals, lost leases, clock steps and outages:
every part of every due digest is posted once (or its run reported partial or, after a long
outage, missed once), never twice."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.errors import PlatformError, SourceUnavailableError
from bot.models import Commit, CommitSummary, Window
from bot.repos import RepoTarget
from bot.sources.git import GitSource
from bot.storage.conversations import SqlConversationStore
from bot.storage.deliveries import DeliveryState, PartState
from handlers.ports import MessageRef, PartKey, ReplyTarget
from tests.fakes.crash_harness import (
    ALL_DELAYS,
    CRASH_POINTS,
    CrashRun,
    RunResult,
)
from tests.fakes.openai_server import FakeOpenAI, http_error
from tests.fakes.scheduled_chat import (
    Bot,
    Crash,
    FakeClock,
    LookupPlatform,
    NoLookupPlatform,
    SnapshotSource,
    make_daily_repo,
    start_bot,
    subscription_toml,
)

START = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)  # Monday
DUE = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
KEY = "dg-1-20260202"
TOML = subscription_toml(at="09:00", timezone="UTC")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("repo") / "widget"
    make_daily_repo(path, date(2026, 1, 25), 90)
    return path


@pytest.fixture
def fast_dir(tmp_path: Path) -> Iterator[Path]:
    """A RAM-backed directory when there is one: hundreds of SQLite files, no fsync cost."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="digestbot-test-", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def boot(
    tmp_path: Path, repo: Path, platform: LookupPlatform, clock: FakeClock, **settings: Any
) -> Bot:
    bot = start_bot(tmp_path, repo, platform, clock, extra_config=TOML, **settings)
    await bot.scheduling.scheduler.catch_up()
    return bot


def row(bot: Bot, day: date = date(2026, 2, 2)) -> Any:
    found = bot.scheduling.deliveries.find(1, day)
    assert found is not None
    return found


# -- randomised crash runs ---------------------------------------------------------------------


async def crash_runs(
    workdir: Path, repo: Path, count: int, seed: int, **options: Any
) -> list[RunResult]:
    source = await SnapshotSource.load(repo, date(2026, 1, 25), date(2026, 4, 30))
    slots = asyncio.Semaphore(8)  # independent runs overlap their database waits

    async def one(index: int) -> RunResult:
        async with slots:
            rng = random.Random(seed * 100_000 + index)
            start = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 30 * 1440))
            run = CrashRun(
                workdir / f"run{index}", repo, rng, start=start, source=source, **options
            )
            result = await run.run()
            shutil.rmtree(workdir / f"run{index}", ignore_errors=True)
            return result

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def summary(results: list[RunResult]) -> dict[str, int]:
    crashes = sum((r.crashes for r in results), start=type(results[0].crashes)())
    return {
        "runs": len(results),
        "posts_expected": sum(len(r.expected) for r in results),
        "posts_seen": sum(sum(r.posts.values()) for r in results),
        "parts_expected": sum(r.parts_expected for r in results),
        "parts_seen": sum(r.parts_seen for r in results),
        "partial_reported": sum(len(r.partial) for r in results),
        "refusals": sum(r.refusals for r in results),
        "clock_steps": sum(r.clock_steps for r in results),
        "missed_reported": sum(sum(r.missed.values()) for r in results),
        "duplicates": sum(r.duplicates for r in results),
        "losses": sum(r.losses for r in results),
        "unexpected": sum(r.unexpected for r in results),
        "restarts": sum(r.restarts for r in results),
        **{f"crash_{p}": crashes[p] for p in CRASH_POINTS},
    }


async def test_200_randomised_crash_runs_post_everything_exactly_once(
    fast_dir: Path, repo: Path
) -> None:
    results = await crash_runs(fast_dir, repo, 200, seed=1)
    figures = summary(results)
    print("crash runs (restarts after 1 s..5 h):", figures)
    assert figures["duplicates"] == 0 and figures["losses"] == 0 and figures["unexpected"] == 0
    # Outages this short lose nothing: every due post is made, none is reported missed.
    assert figures["posts_seen"] == figures["posts_expected"] > 1000
    assert figures["missed_reported"] == 0
    assert min(figures[f"crash_{p}"] for p in CRASH_POINTS) >= 50  # every point exercised


async def test_randomised_crash_runs_with_day_long_outages_report_instead_of_losing(
    fast_dir: Path, repo: Path
) -> None:
    results = await crash_runs(fast_dir, repo, 60, seed=2, delays=ALL_DELAYS, probability=0.2)
    figures = summary(results)
    print("crash runs (restarts after 1 s..72 h):", figures)
    assert figures["duplicates"] == 0 and figures["losses"] == 0 and figures["unexpected"] == 0
    assert figures["missed_reported"] > 0  # long outages happened and were reported
    assert figures["posts_seen"] + figures["missed_reported"] == figures["posts_expected"]


# -- reconciliation ----------------------------------------------------------------------------


async def test_a_post_found_after_a_crash_is_recorded_not_reposted(
    tmp_path: Path, repo: Path
) -> None:
    clock = FakeClock(START)
    crash = iter([True])
    platform = LookupPlatform(crash_after_send=lambda: next(crash, False))
    bot = await boot(tmp_path, repo, platform, clock)
    clock.set(DUE)
    with pytest.raises(Crash):
        await bot.scheduling.scheduler.tick()
    assert row(bot).state is DeliveryState.SENDING
    (part,) = bot.scheduling.deliveries.parts(row(bot).id)
    assert part.state is PartState.POSTING and part.posting_at == DUE
    await bot.close()
    clock.advance(timedelta(seconds=1))
    bot = await boot(tmp_path, repo, platform, clock)
    try:
        assert list(platform.keys().values()) == [1] and platform.lookups == 1
        done = row(bot)
        posted = platform.posts[0].message_id
        assert done.state is DeliveryState.SENT and [r.message_id for r in done.refs] == [posted]
        # Thread questions work under the recovered post: its refs point at the digest.
        thread = SqlConversationStore(bot.core.store.engine).find_thread("test", "C1", posted)
        assert thread is not None and thread.repo == "acme/widget" and len(thread.shas) == 1
    finally:
        await bot.close()


async def test_an_interrupted_post_on_a_platform_without_lookup_is_never_reposted(
    tmp_path: Path, repo: Path
) -> None:
    clock = FakeClock(START)
    crash = iter([True])
    platform = NoLookupPlatform(crash_after_send=lambda: next(crash, False))
    bot = await boot(tmp_path, repo, platform, clock)
    clock.set(DUE)
    with pytest.raises(Crash):
        await bot.scheduling.scheduler.tick()
    await bot.close()
    bot = await boot(tmp_path, repo, platform, clock)
    try:
        assert len(platform.posts) == 1  # at most once when the platform cannot be asked
        failed = row(bot)
        assert failed.state is DeliveryState.FAILED and "cannot tell" in (failed.reason or "")
        (part,) = bot.scheduling.deliveries.parts(failed.id)
        assert part.state is PartState.UNKNOWN
        (notice,) = [text for _, text in platform.notices]
        assert "could not be posted" in notice and "cannot tell" in notice
    finally:
        await bot.close()


async def test_a_crash_before_the_platform_call_is_simply_retried(
    tmp_path: Path, repo: Path
) -> None:
    """Without a lookup the post still happens when the crash came before the call began."""
    clock = FakeClock(START)
    platform = NoLookupPlatform()
    bot = await boot(tmp_path, repo, platform, clock)

    async def dies(*_: object) -> list[object]:
        raise Crash("during the build")

    bot.scheduling.scheduler.runner._planner._builder.build = dies  # type: ignore[method-assign]
    clock.set(DUE)
    with pytest.raises(Crash):
        await bot.scheduling.scheduler.tick()
    assert bot.scheduling.deliveries.parts(row(bot).id) == []  # nothing planned, nothing begun
    await bot.close()
    bot = await boot(tmp_path, repo, platform, clock)
    try:
        assert len(platform.posts) == 1 and row(bot).state is DeliveryState.SENT
    finally:
        await bot.close()


# -- retries -----------------------------------------------------------------------------------


class FlakyPlatform(LookupPlatform):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.attempts = 0

    async def post_part(
        self,
        target: ReplyTarget,
        payload: str,
        *,
        root: MessageRef | None = None,
        key: PartKey | None = None,
    ) -> list[MessageRef]:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise PlatformError("Slack said: channel_is_archived")
        return await super().post_part(target, payload, root=root, key=key)


async def test_platform_failures_retry_with_backoff_then_post_once(
    tmp_path: Path, repo: Path
) -> None:
    clock = FakeClock(START)
    platform = FlakyPlatform(failures=2)
    bot = await boot(tmp_path, repo, platform, clock)
    try:
        clock.set(DUE)
        await bot.scheduling.scheduler.tick()
        first = row(bot)
        assert first.state is DeliveryState.PENDING
        assert first.next_attempt_at == DUE + timedelta(minutes=1)
        assert first.reason == "Slack said: channel_is_archived"
        (part,) = bot.scheduling.deliveries.parts(first.id)
        assert part.state is PartState.PENDING and part.failures == 1  # refused: not up
        clock.set(DUE + timedelta(seconds=30))
        await bot.scheduling.scheduler.tick()  # not yet
        assert platform.attempts == 1
        clock.set(DUE + timedelta(minutes=1))
        await bot.scheduling.scheduler.tick()
        assert row(bot).next_attempt_at == DUE + timedelta(minutes=3)  # 1 min, then 2 min
        clock.set(DUE + timedelta(minutes=3))
        await bot.scheduling.scheduler.tick()
        done = row(bot)
        assert done.state is DeliveryState.SENT and done.attempts == 3 and done.reason is None
        assert list(platform.keys().values()) == [1]
        assert platform.lookups == 0  # a clean refusal left nothing to look up
        failed = bot.core.metrics.value("digestbot_deliveries_failed_total", {"reason": "platform"})
        assert failed == 2
    finally:
        await bot.close()


async def test_a_persistent_failure_ends_failed_with_one_notice(tmp_path: Path, repo: Path) -> None:
    clock = FakeClock(START)
    platform = FlakyPlatform(failures=10**6)
    bot = await boot(tmp_path, repo, platform, clock)
    try:
        clock.set(DUE)
        for _ in range(100):
            await bot.scheduling.scheduler.tick()
            current = row(bot)
            if current.state is not DeliveryState.PENDING:
                break
            clock.set(current.next_attempt_at)
        failed = row(bot)
        assert failed.state is DeliveryState.FAILED
        assert "channel_is_archived" in (failed.reason or "")
        assert 3 < failed.attempts <= bot.scheduling.scheduler.runner.settings.max_attempts
        assert clock.now - DUE <= timedelta(hours=12)  # retried within the day
        assert platform.posts == []
        (notice,) = [text for _, text in platform.notices]
        assert "could not be posted" in notice and "2026-02-02" in notice
        # Later ticks leave it alone: no more attempts, no more notices.
        clock.advance(timedelta(hours=2))
        await bot.scheduling.scheduler.tick()
        assert row(bot).attempts == failed.attempts and len(platform.notices) == 1
    finally:
        await bot.close()


class FlakySource:
    """The real git source; the first `failures` listings fail like a GitHub outage."""

    def __init__(self, failures: int) -> None:
        self.inner = GitSource()
        self.failures = failures

    async def list_commits(self, repo: RepoTarget, window: Window) -> list[CommitSummary]:
        if self.failures:
            self.failures -= 1
            raise SourceUnavailableError("GitHub is not answering.")
        return await self.inner.list_commits(repo, window)

    async def get_commit(self, repo: RepoTarget, sha: str) -> Commit:
        return await self.inner.get_commit(repo, sha)

    async def resolve_sha(self, repo: RepoTarget, prefix: str) -> str:
        return await self.inner.resolve_sha(repo, prefix)

    def repo_url(self, repo: RepoTarget) -> str:
        return self.inner.repo_url(repo)

    async def aclose(self) -> None:
        return None


async def test_a_source_outage_is_retried(tmp_path: Path, repo: Path) -> None:
    clock = FakeClock(START)
    platform = LookupPlatform()
    bot = start_bot(tmp_path, repo, platform, clock, extra_config=TOML, source=FlakySource(1))
    try:
        await bot.scheduling.scheduler.catch_up()
        clock.set(DUE)
        await bot.scheduling.scheduler.tick()
        assert row(bot).reason == "GitHub is not answering." and platform.posts == []
        clock.set(DUE + timedelta(minutes=1))
        await bot.scheduling.scheduler.tick()
        assert row(bot).state is DeliveryState.SENT and len(platform.posts) == 1
    finally:
        await bot.close()


async def test_llm_outage_still_posts_the_heuristic_digest_marked_as_such(
    tmp_path: Path, repo: Path
) -> None:
    clock = FakeClock(START)
    platform = LookupPlatform()
    with FakeOpenAI(default=lambda _: http_error(500)) as llm:
        bot = await boot(
            tmp_path,
            repo,
            platform,
            clock,
            openai_api_key="sk-test",
            openai_base_url=llm.base_url,
            llm_max_retries=0,
            llm_triage="off",
        )
        try:
            clock.set(DUE)
            await bot.scheduling.scheduler.tick()
            assert llm.requests  # the LLM was asked, and failed
        finally:
            await bot.close()
    (post,) = platform.posts
    assert post.digest is not None and post.digest.stats.total == 1
    provenance = post.digest.provenance
    assert provenance.fallbacks == 1 and provenance.heuristic_analyses == 1


async def test_unsubscribed_before_a_retry_is_not_posted(tmp_path: Path, repo: Path) -> None:
    clock = FakeClock(START)
    platform = FlakyPlatform(failures=1)
    bot = await boot(tmp_path, repo, platform, clock)
    try:
        clock.set(DUE)
        await bot.scheduling.scheduler.tick()
        store = bot.scheduling.subscriptions
        with store._engine.begin() as conn:  # the config file dropped it meanwhile
            from sqlalchemy import update

            from bot.storage.subscriptions import subscriptions

            conn.execute(update(subscriptions).values(active=False))
        clock.set(DUE + timedelta(minutes=1))
        await bot.scheduling.scheduler.tick()
        assert row(bot).state is DeliveryState.FAILED and platform.posts == []
    finally:
        await bot.close()


# -- leases ------------------------------------------------------------------------------------


async def test_a_holder_that_lost_its_lease_does_not_post(tmp_path: Path, repo: Path) -> None:
    """Two processes on one database; A stalls in the build past its lease, B takes over and
    posts; A's fence then fails and it posts nothing."""
    clock = FakeClock(START)
    platform = LookupPlatform()
    a = await boot(tmp_path, repo, platform, clock)
    b = start_bot(tmp_path, repo, platform, clock, extra_config=TOML)
    entered, release = asyncio.Event(), asyncio.Event()
    runner = a.scheduling.scheduler.runner
    real_build = runner._planner._builder.build

    async def stalled(*args: Any) -> Any:
        entered.set()
        await release.wait()
        return await real_build(*args)

    runner._planner._builder.build = stalled  # type: ignore[method-assign]
    try:
        clock.set(DUE)
        stalled_tick = asyncio.create_task(a.scheduling.scheduler.tick())
        await entered.wait()
        assert row(a).claimed_by == runner.worker_id
        await b.scheduling.scheduler.tick()  # lease still valid: B leaves it alone
        assert platform.posts == []
        clock.advance(runner.settings.lease + timedelta(seconds=1))
        await b.scheduling.scheduler.tick()
        assert len(platform.posts) == 1
        release.set()
        await stalled_tick
        assert len(platform.posts) == 1 and row(a).state is DeliveryState.SENT
        assert row(a).claimed_by == b.scheduling.scheduler.runner.worker_id
    finally:
        release.set()
        await a.close()
        await b.close()


async def test_two_replicas_report_a_long_outage_once(tmp_path: Path, repo: Path) -> None:
    clock = FakeClock(START)
    platform = LookupPlatform()
    first = await boot(tmp_path, repo, platform, clock)
    await first.close()
    clock.set(DUE + timedelta(days=3, hours=1))  # down three days
    a = start_bot(tmp_path, repo, platform, clock, extra_config=TOML)
    b = start_bot(tmp_path, repo, platform, clock, extra_config=TOML)
    try:
        await asyncio.gather(a.scheduling.scheduler.tick(), b.scheduling.scheduler.tick())
        assert list(platform.keys()) == ["dg-1-20260205"]
        (notice,) = [text for _, text in platform.notices]
        assert "3 digests" in notice and "2026-02-02..2026-02-04" in notice
    finally:
        await a.close()
        await b.close()


async def test_monday_post_of_a_weekday_subscription_covers_the_weekend(
    tmp_path: Path, repo: Path
) -> None:
    clock = FakeClock(datetime(2026, 2, 5, 12, tzinfo=UTC))  # Thursday
    platform = LookupPlatform()
    toml = subscription_toml(
        at="09:00", timezone="Asia/Shanghai", days='"mon", "tue", "wed", "thu", "fri"'
    )
    bot = start_bot(tmp_path, repo, platform, clock, extra_config=toml)
    try:
        await bot.scheduling.scheduler.catch_up()
        for day in (6, 9, 10):  # Fri, Mon, Tue at 09:00 Shanghai (01:00 UTC)
            clock.set(datetime(2026, 2, day, 1, 0, tzinfo=UTC))
            await bot.scheduling.scheduler.tick()
        titles = [p.digest.window.title for p in platform.posts if p.digest is not None]
        assert titles == ["2026-02-05", "2026-02-06 – 2026-02-08", "2026-02-09"]
        monday = platform.posts[1].digest
        assert monday is not None and monday.stats.total == 3  # Fri, Sat, Sun commits
        assert monday.window.tz == "Asia/Shanghai"
        assert monday.window.start == datetime(2026, 2, 6, tzinfo=UTC) - timedelta(hours=8)
    finally:
        await bot.close()


class MuteOnce(LookupPlatform):
    """The first notice fails (the platform is briefly down)."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    async def send_text(self, target: ReplyTarget, text: str) -> list[MessageRef]:
        if not self.refused:
            self.refused += 1
            raise PlatformError("Slack is having trouble")
        return await super().send_text(target, text)


async def test_a_notice_that_could_not_be_sent_is_sent_later_once(
    tmp_path: Path, repo: Path
) -> None:
    clock = FakeClock(START)
    platform = MuteOnce()
    first = await boot(tmp_path, repo, platform, clock)
    await first.close()
    clock.set(DUE + timedelta(days=2, hours=1))  # 02-02 and 02-03 missed, 02-04 caught up
    bot = await boot(tmp_path, repo, platform, clock)
    try:
        assert platform.refused == 1 and platform.notices == []
        owed = [r for r in bot.scheduling.deliveries.all() if r.notice == "owed"]
        assert [r.local_date for r in owed] == [date(2026, 2, 2), date(2026, 2, 3)]
        await bot.scheduling.scheduler.tick()  # still under the failed sender's lease
        assert platform.notices == []
        clock.advance(bot.scheduling.scheduler.runner.settings.lease + timedelta(seconds=1))
        await bot.scheduling.scheduler.tick()
        await bot.scheduling.scheduler.tick()
        (notice,) = [text for _, text in platform.notices]
        assert "2 digests" in notice and "2026-02-02..2026-02-03" in notice
        assert {r.notice for r in bot.scheduling.deliveries.all() if r.state.value == "missed"} == {
            "sent"
        }
    finally:
        await bot.close()


# -- parts: refusals, unknown parts, clock steps ---------------------------------------------


async def test_randomised_runs_with_refusals_and_clock_steps_lose_and_repeat_nothing(
    fast_dir: Path, repo: Path
) -> None:
    results = await crash_runs(fast_dir, repo, 80, seed=3, refusal=0.08, steps=0.1)
    figures = summary(results)
    print("crash runs with refusals and clock steps:", figures)
    assert figures["duplicates"] == 0 and figures["losses"] == 0 and figures["unexpected"] == 0
    assert figures["refusals"] > 50 and figures["clock_steps"] > 50
    assert figures["partial_reported"] > 0  # parts refused for good were reported, not lost
    assert figures["parts_seen"] < figures["parts_expected"]


async def run_until_final(bot: Bot, clock: FakeClock) -> Any:
    for _ in range(100):
        await bot.scheduling.scheduler.tick()
        current = row(bot)
        if current.state not in {DeliveryState.PENDING, DeliveryState.SENDING}:
            return current
        clock.set(max(current.next_attempt_at, clock.now + timedelta(seconds=1)))
    raise AssertionError("the delivery never ended")


async def test_a_refused_continuation_is_retried_alone_and_the_digest_completes(
    tmp_path: Path, repo: Path
) -> None:
    clock = FakeClock(START)
    refusals = iter([True, True])
    platform = LookupPlatform(
        parts=3, refuse=lambda key, index: index == 1 and next(refusals, False)
    )
    bot = await boot(tmp_path, repo, platform, clock)
    try:
        clock.set(DUE)
        done = await run_until_final(bot, clock)
        assert done.state is DeliveryState.SENT and done.attempts == 3
        assert platform.duplicates() == {} and sorted(platform.part_counts()) == [
            (KEY, 0),
            (KEY, 1),
            (KEY, 2),
        ]
        root = platform.posts[0]
        assert all(p.thread_id == root.message_id for p in platform.posts[1:])
        assert platform.lookups == 0 and platform.notices == []
        assert [r.message_id for r in done.refs] == [p.message_id for p in platform.posts]
    finally:
        await bot.close()


async def test_a_part_refused_for_good_makes_a_partial_delivery_with_one_notice(
    tmp_path: Path, repo: Path
) -> None:
    clock = FakeClock(START)
    platform = LookupPlatform(parts=3, refuse=lambda key, index: index == 2)
    bot = await boot(tmp_path, repo, platform, clock)
    try:
        clock.set(DUE)
        done = await run_until_final(bot, clock)
        assert done.state is DeliveryState.PARTIAL
        assert done.reason == "part 3 of 3 could not be posted: The platform refused the message."
        assert sorted(platform.part_counts()) == [(KEY, 0), (KEY, 1)]  # nothing repeated
        (notice,) = [text for _, text in platform.notices]
        assert "only in part" in notice and "part 3 of 3" in notice and "2026-02-02" in notice
        clock.advance(timedelta(hours=3))
        await bot.scheduling.scheduler.tick()
        assert len(platform.notices) == 1 and len(platform.posts) == 2
    finally:
        await bot.close()


class UnreadablePlatform(LookupPlatform):
    """Posts work (chat:write.public) but reading the channel does not (not_in_channel)."""

    async def find_part(self, target: ReplyTarget, key: PartKey, **_: Any) -> Any:
        self.lookups += 1
        raise PlatformError("I can't read this channel.", detail="conversations.history: nic")


async def test_an_unreadable_channel_never_blocks_the_digest_nor_repeats_a_part(
    tmp_path: Path, repo: Path
) -> None:
    """The root's post timed out (it may be up); the lookup is refused each time. After three
    tries the root is recorded "unknown" (not re-posted); the later parts need its thread and
    are reported; the channel hears once that the digest may be incomplete."""
    clock = FakeClock(START)
    crash = iter([True])
    platform = UnreadablePlatform(parts=2, crash_after_send=lambda: next(crash, False))
    bot = await boot(tmp_path, repo, platform, clock)
    clock.set(DUE)
    with pytest.raises(Crash):
        await bot.scheduling.scheduler.tick()
    await bot.close()
    bot = await boot(tmp_path, repo, platform, clock)
    try:
        done = await run_until_final(bot, clock)
        assert platform.lookups == 3 and len(platform.posts) == 1  # the root, once
        assert done.state is DeliveryState.FAILED  # no part is known to be up
        parts = bot.scheduling.deliveries.parts(done.id)
        assert [p.state for p in parts] == [PartState.UNKNOWN, PartState.FAILED]
        assert "could not check" in (parts[0].reason or "")
        (notice,) = [text for _, text in platform.notices]
        assert "could not check whether it was posted" in notice
        assert clock.now - DUE < timedelta(hours=1)  # three tries, not twelve hours
    finally:
        await bot.close()


class StallingPlatform(LookupPlatform):
    """The first part's post hangs until released (a slow platform)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = asyncio.Event(), asyncio.Event()

    async def post_part(self, target: ReplyTarget, payload: str, **options: Any) -> Any:
        if not self.release.is_set():
            self.entered.set()
            await self.release.wait()
        return await super().post_part(target, payload, **options)


async def test_a_clock_step_past_the_lease_during_a_post_makes_no_second_post(
    tmp_path: Path, repo: Path
) -> None:
    """SQLite: one process, whose clock is the database's. The clock jumps an hour while a
    post is in flight, and the next tick runs: the row is this process's own, in flight."""
    clock = FakeClock(START)
    platform = StallingPlatform()
    bot = await boot(tmp_path, repo, platform, clock)
    try:
        clock.set(DUE)
        first = asyncio.create_task(bot.scheduling.scheduler.tick())
        await platform.entered.wait()
        clock.advance(timedelta(hours=1))  # far past the 10-minute lease
        await bot.scheduling.scheduler.tick()
        await bot.scheduling.scheduler.tick(recovering=True)
        assert platform.posts == []
        platform.release.set()
        await first
        assert len(platform.posts) == 1 and row(bot).state is DeliveryState.SENT
        assert row(bot).attempts == 1
    finally:
        platform.release.set()
        await bot.close()
