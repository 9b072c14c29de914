"""Subscriptions from chat through the conversation layer: who may, what is checked, what
persists, and how changes reach the scheduler without a restart."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.scheduler import JOB_PREFIX
from bot.storage.deliveries import DeliveryState
from handlers.ports import InboundEvent
from tests.fakes.conversations import scheduling_of
from tests.fakes.scheduled_chat import (
    Bot,
    Crash,
    FakeClock,
    LookupPlatform,
    make_daily_repo,
    start_bot,
    subscription_toml,
)

START = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai
ACCESS = '[access]\nadmins = ["test:UADMIN"]\n\n'
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("repo") / "widget"
    make_daily_repo(path, date(2026, 1, 30), 10)
    return path


async def up(
    tmp_path: Path, repo: Path, platform: LookupPlatform, clock: FakeClock, extra: str = ""
) -> Bot:
    bot = start_bot(tmp_path, repo, platform, clock, extra_config=ACCESS + extra)
    await bot.scheduling.scheduler.start(paused=True)
    return bot


async def down(bot: Bot) -> None:
    await bot.scheduling.scheduler.stop(1)
    await bot.close()


@pytest.fixture
async def env(tmp_path: Path, repo: Path) -> AsyncIterator[tuple[Bot, LookupPlatform, FakeClock]]:
    clock, platform = FakeClock(START), LookupPlatform()
    bot = await up(tmp_path, repo, platform, clock)
    yield bot, platform, clock
    await down(bot)


def event(
    text: str, *, user: str = "UADMIN", channel: str = "C1", manager: bool = False
) -> InboundEvent:
    n = next(_ids)
    return InboundEvent(
        platform="test",
        event_id=f"e{n}",
        user_id=user,
        channel_id=channel,
        kind="command",
        text=text,
        is_channel_manager=manager,
    )


async def say(bot: Bot, platform: LookupPlatform, text: str, **kw: object) -> str:
    before = len(platform.notices)
    await bot.conversation.respond(event(text, **kw), platform)  # type: ignore[arg-type]
    (reply,) = [t for _, t in platform.notices[before:]]
    return reply


def jobs(bot: Bot) -> list[str]:
    found = bot.scheduling.scheduler.aps.get_jobs()
    return sorted(j.id for j in found if j.id.startswith(JOB_PREFIX))


async def test_others_are_refused_and_nothing_is_stored(
    env: tuple[Bot, LookupPlatform, FakeClock],
) -> None:
    bot, platform, _ = env
    for text in ("subscribe widget at 09:00 UTC", "unsubscribe widget", "subscriptions"):
        reply = await say(bot, platform, text, user="USOMEONE")
        assert reply == "Only admins or channel managers can manage subscriptions."
    assert bot.scheduling.subscriptions.active() == [] and jobs(bot) == []


async def test_an_admin_subscribes_and_the_job_exists_at_once(
    env: tuple[Bot, LookupPlatform, FakeClock],
) -> None:
    bot, platform, _ = env
    text = "/digest subscribe widget at 09:00 Asia/Shanghai lang zh min medium"
    reply = await say(bot, platform, text)
    assert reply.startswith("Subscribed: acme/widget in this channel at 09:00 Asia/Shanghai, daily")
    assert "language zh, minimum importance medium" in reply
    assert "Next post 2026-02-03 09:00 (Asia/Shanghai)" in reply
    (sub,) = bot.scheduling.subscriptions.active()
    assert (sub.platform, sub.channel_id, sub.origin, sub.created_by) == (
        "test",
        "C1",
        "chat",
        "test:UADMIN",
    )
    assert sub.spec.language == "zh" and sub.schedule.at == time(9)
    assert jobs(bot) == [f"{JOB_PREFIX}{sub.id}"]
    job = bot.scheduling.scheduler.aps.get_job(f"{JOB_PREFIX}{sub.id}")
    assert job is not None and job.trigger.timezone == ZoneInfo("Asia/Shanghai")


async def test_a_channel_manager_may_manage_this_channel(
    env: tuple[Bot, LookupPlatform, FakeClock],
) -> None:
    bot, platform, _ = env
    reply = await say(
        bot,
        platform,
        "subscribe widget at 07:30 Europe/Berlin days mon-fri",
        user="UMANAGER",
        manager=True,
    )
    assert "07:30 Europe/Berlin, mon-fri" in reply
    assert (await say(bot, platform, "subscriptions", user="UMANAGER", manager=True)) == (
        "Subscriptions in this channel:\n"
        "- acme/widget: 07:30 Europe/Berlin, mon-fri, language en, minimum low"
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("subscribe widget at 25:00 UTC", "'25:00' is not a time of day; use HH:MM"),
        ("subscribe widget at 9am UTC", "is not a time of day"),
        ("subscribe widget at 09:00 Mars/Olympus", "Unknown time zone 'Mars/Olympus'"),
        ("subscribe widget at 09:00 UTC days funday", "is not a list of days"),
        ("subscribe widget at 09:00 UTC lang fr", "Language 'fr' is not supported"),
        ("subscribe other/repo at 09:00 UTC", "not on this bot's list"),
        ("subscribe widgte at 09:00 UTC", "Did you mean: widget"),
        ("subscribe widget", "When?"),
    ],
)
async def test_bad_subscriptions_get_a_clear_answer_and_store_nothing(
    env: tuple[Bot, LookupPlatform, FakeClock], text: str, fragment: str
) -> None:
    bot, platform, _ = env
    reply = await say(bot, platform, text)
    assert fragment in reply
    assert bot.scheduling.subscriptions.active() == [] and jobs(bot) == []


async def test_subscriptions_persist_across_a_restart_and_post(tmp_path: Path, repo: Path) -> None:
    clock, platform = FakeClock(START), LookupPlatform()
    bot = await up(tmp_path, repo, platform, clock)
    await say(bot, platform, "subscribe widget at 09:00 Asia/Shanghai")
    await down(bot)
    bot = await up(tmp_path, repo, platform, clock)
    try:
        listing = await say(bot, platform, "subscriptions")
        assert "- acme/widget: 09:00 Asia/Shanghai, daily" in listing
        assert len(jobs(bot)) == 1
        clock.set(datetime(2026, 2, 3, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai
        await bot.scheduling.scheduler.tick()
        (post,) = platform.posts
        assert post.channel_id == "C1" and post.digest is not None
        assert post.digest.window.title == "2026-02-02" and post.digest.window.tz == "Asia/Shanghai"
    finally:
        await down(bot)


async def test_a_change_takes_effect_without_a_restart(
    env: tuple[Bot, LookupPlatform, FakeClock],
) -> None:
    bot, platform, clock = env
    await say(bot, platform, "subscribe widget at 09:00 UTC")
    (first,) = bot.scheduling.subscriptions.active()
    reply = await say(bot, platform, "subscribe widget at 08:15 UTC lang zh")
    assert reply.startswith("Updated: acme/widget") and "08:15 UTC" in reply
    (changed,) = bot.scheduling.subscriptions.active()
    assert changed.id == first.id and changed.spec.language == "zh"
    job = bot.scheduling.scheduler.aps.get_job(f"{JOB_PREFIX}{first.id}")
    assert job is not None and {f.name: str(f) for f in job.trigger.fields}["minute"] == "15"
    clock.set(datetime(2026, 2, 3, 8, 15, tzinfo=UTC))
    await job.func(*job.args)  # the new job fires at the new time
    assert list(platform.keys()) == [f"dg-{first.id}-20260203"]
    post = platform.posts[0]
    assert post.digest is not None and post.digest.language == "zh"


async def test_unsubscribe_stops_posts_and_removes_the_job(
    env: tuple[Bot, LookupPlatform, FakeClock],
) -> None:
    bot, platform, clock = env
    await say(bot, platform, "subscribe widget at 09:00 UTC")
    reply = await say(bot, platform, "unsubscribe acme/widget")
    assert reply == "Unsubscribed: acme/widget will no longer be posted in this channel."
    assert jobs(bot) == [] and bot.scheduling.subscriptions.active() == []
    assert await say(bot, platform, "unsubscribe widget") == (
        "There is no subscription of acme/widget in this channel."
    )
    listing = await say(bot, platform, "subscriptions")
    assert listing.startswith("No subscriptions in this channel")
    clock.set(datetime(2026, 2, 3, 9, tzinfo=UTC))
    await bot.scheduling.scheduler.tick()
    assert platform.posts == []


async def test_alerts_are_turned_on_and_off_from_chat_and_kept_by_a_resubscribe(
    env: tuple[Bot, LookupPlatform, FakeClock],
) -> None:
    bot, platform, _ = env
    refused = await say(bot, platform, "alerts widget high")
    assert refused.startswith("There is no subscription of acme/widget in this channel")
    assert "subscribe acme/widget at 09:00" in refused
    await say(bot, platform, "subscribe widget at 09:00 UTC")
    reply = await say(bot, platform, "alerts widget high")
    assert reply.startswith("Alerts for acme/widget in this channel: commits of high importance")
    (sub,) = bot.scheduling.subscriptions.active()
    assert sub.spec.alerts == "high"
    assert "alerts for high and above" in await say(bot, platform, "subscriptions")
    moved = await say(bot, platform, "subscribe widget at 10:00 UTC")
    assert "alerts for high and above" in moved  # a new time keeps the alerts
    (followed,) = await bot.scheduling.alerts.watcher.followed()
    assert followed.repo.name == "acme/widget"
    assert "are off" in await say(bot, platform, "alerts widget off")
    assert await bot.scheduling.alerts.watcher.followed() == []
    assert "alerts" not in await say(bot, platform, "subscriptions")


async def test_a_weekly_subscription_posts_the_week_with_its_chart_in_the_thread(
    env: tuple[Bot, LookupPlatform, FakeClock],
) -> None:
    bot, platform, clock = env
    reply = await say(bot, platform, "subscribe widget at 09:00 UTC cadence weekly")
    assert "weekly with the week's chart" in reply
    (sub,) = bot.scheduling.subscriptions.active()
    assert sub.spec.cadence == "weekly" and sub.schedule.days == ("mon",)
    monday = clock.now + timedelta(days=(7 - clock.now.weekday()) % 7 or 7)
    clock.set(monday.replace(hour=9, minute=1, second=0, microsecond=0))
    await bot.scheduling.scheduler.tick()
    (root,) = [p for p in platform.posts if p.index == 0 and p.key]
    (chart,) = [p for p in platform.posts if p.image is not None]
    assert chart.image is not None and chart.image.startswith(b"\x89PNG")
    assert chart.thread_id == root.message_id  # in the digest's thread
    assert chart.text is not None and "acme/widget" in chart.text
    (row,) = [r for r in bot.scheduling.deliveries.all() if r.state.value == "sent"]
    assert len(row.refs) == 2  # the digest's message and its chart


async def test_config_file_subscriptions_are_changed_in_the_file_only(
    tmp_path: Path, repo: Path
) -> None:
    clock, platform = FakeClock(START), LookupPlatform()
    bot = await up(tmp_path, repo, platform, clock, subscription_toml(at="09:00", timezone="UTC"))
    try:
        assert "set in the config file; change it there" in await say(
            bot, platform, "subscribe widget at 10:00 UTC"
        )
        assert "set in the config file; remove it there" in await say(
            bot, platform, "unsubscribe widget"
        )
        assert "(config file)" in await say(bot, platform, "subscriptions")
        assert "set alerts there" in await say(bot, platform, "alerts widget high")
        # Another channel may still subscribe to the same repo.
        assert (await say(bot, platform, "subscribe widget at 10:00 UTC", channel="C2")).startswith(
            "Subscribed"
        )
        assert len(jobs(bot)) == 2
    finally:
        await down(bot)


async def test_a_platform_that_is_not_connected_is_retried_then_failed(
    tmp_path: Path, repo: Path
) -> None:
    clock, platform = FakeClock(START), LookupPlatform(platform="other")
    toml = subscription_toml(at="09:00", timezone="UTC")  # platform "test": not connected here
    bot = start_bot(tmp_path, repo, platform, clock, extra_config=toml)
    try:
        await bot.scheduling.scheduler.catch_up()
        clock.set(datetime(2026, 2, 2, 9, tzinfo=UTC))
        await bot.scheduling.scheduler.tick()
        (row,) = bot.scheduling.deliveries.all()
        assert row.state is DeliveryState.PENDING
        assert row.reason == "test is not connected on this bot."
        assert platform.posts == []
    finally:
        await bot.close()


# -- the real Discord adapter against its fake API ---------------------------------------------


class CrashingAdapter:
    """A real adapter that dies once, before or after the platform call of a digest part."""

    def __init__(self, inner: Any, point: str) -> None:
        self.inner = inner
        self.point = point
        self.armed = True

    @property
    def platform(self) -> str:
        return str(self.inner.platform)

    async def post_part(self, target: Any, payload: str, **options: Any) -> Any:
        if self.armed and self.point == "before_send":
            self.armed = False
            raise Crash("before send")
        refs = await self.inner.post_part(target, payload, **options)
        if self.armed and self.point == "after_send":
            self.armed = False
            raise Crash("after send")
        return refs

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("point", ["before_send", "after_send", "after_commit"])
async def test_crash_and_restart_against_the_discord_fake_posts_once(
    tmp_path: Path, point: str
) -> None:
    from bot.schedules import Schedule
    from bot.storage.subscriptions import SqlSubscriptionStore, SubscriptionSpec
    from handlers.discord.messages import delivery_nonce, delivery_tag
    from tests.fakes.conversations import scheduling_of
    from tests.fakes.crash_harness import CrashingDeliveryStore
    from tests.fakes.discord_harness import CHANNEL, channel_posts, discord_env

    # Real time: Discord stamps messages with it (snowflakes), and a restarted scheduler looks
    # for its post within the span it could have been made in.
    due = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    clock = FakeClock(due - timedelta(days=1))  # subscribed a day before
    async with discord_env(tmp_path) as env:
        env.core.clock = clock
        discord_bot = await env.bot()
        adapter = CrashingAdapter(discord_bot.adapter, point)
        spec = SubscriptionSpec("discord", CHANNEL, "acme/widget", Schedule(due.time(), "UTC"))
        sub = SqlSubscriptionStore(env.core.store.engine).save(
            spec, origin="chat", created_by=None, now=clock.now
        )
        key = f"dg-{sub.id}-{due:%Y%m%d}"
        shot = iter([point == "after_commit"])

        def scheduling() -> Any:
            built, _ = scheduling_of(env.core, {"discord": adapter})
            runner = built.scheduler.runner
            runner.deliveries = CrashingDeliveryStore(
                env.core.store.engine, clock, lambda: next(shot, False), frozenset({"mark_sent"})
            )
            return built

        clock.set(due)
        with pytest.raises(Crash):
            await scheduling().scheduler.tick()
        clock.set(due + timedelta(minutes=5))  # back five minutes later
        restarted = scheduling()
        await restarted.scheduler.catch_up()
        await restarted.scheduler.tick()

        nonce = delivery_nonce(key)
        roots = [b for b in channel_posts(env.fake, CHANNEL) if b.get("nonce") == nonce]
        assert len(roots) == 1  # one platform call carried the key: no re-post after recovery
        tagged = [
            m for m in env.fake.messages(CHANNEL) if delivery_tag(key) in str(m.get("embeds"))
        ]
        assert len(tagged) == 1
        (row,) = restarted.deliveries.all()
        assert row.state is DeliveryState.SENT and row.refs[0].message_id == str(tagged[0]["id"])


# -- the real Slack adapter against its fake Web API: parts, refusals, a busy channel ----------


class BigDayBuilder:
    """The scheduler's DigestBuilder with a day long enough for several Slack messages."""

    async def build(self, subscription: Any, first: date, last: date) -> Any:
        from bot.repos import RepoTarget
        from tests.data.reference_day import big_digest

        return RepoTarget(kind="local", name="acme/widget", path=Path(".")), big_digest()


class DiesAfterPart:
    """The real adapter; the process dies right after part `index` is posted, once."""

    def __init__(self, inner: Any, index: int) -> None:
        self.inner, self.index, self.armed = inner, index, True

    async def post_part(self, target: Any, payload: str, **options: Any) -> Any:
        refs = await self.inner.post_part(target, payload, **options)
        key = options.get("key")
        if self.armed and key is not None and key.index == self.index:
            self.armed = False
            raise Crash("after send")
        return refs

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def slack_scheduling(
    tmp_path: Path, repo: Path, fake: Any, clock: FakeClock, wrap: Any
) -> Any:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.schedules import Schedule
    from bot.storage.subscriptions import SqlSubscriptionStore, SubscriptionSpec
    from handlers.runtime.pacing import ChannelPacer
    from handlers.slack.outbound import SlackAdapter
    from tests.fakes.chat import build_chat_core

    core = build_chat_core(tmp_path, repo, clock=clock)
    client = AsyncWebClient(token="xoxb-test", base_url=fake.base_url)
    adapter = SlackAdapter(client, pacer=ChannelPacer(0.0), clock=clock)
    built, _ = scheduling_of(core, {"slack": wrap(adapter)})
    built.scheduler.runner._planner._builder = BigDayBuilder()
    store = SqlSubscriptionStore(core.store.engine)
    if not store.active():
        due = clock.now - timedelta(minutes=1)
        spec = SubscriptionSpec("slack", "C1", "acme/widget", Schedule(due.time(), "UTC"))
        store.save(spec, origin="chat", created_by=None, now=clock.now - timedelta(days=1))
    return core, built


def parts_in_channel(fake: Any) -> list[tuple[str, int]]:
    return [
        (m["metadata"]["event_payload"]["delivery_key"], m["metadata"]["event_payload"]["part"])
        for m in fake.messages("C1")
        if m.get("metadata")
    ]


async def test_slack_refusing_one_continuation_retries_it_alone(tmp_path: Path, repo: Path) -> None:
    from tests.fakes.slack_api import FakeSlackApi

    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    refusals = iter(["internal_error"])
    with FakeSlackApi() as fake:
        fake.refuse = lambda args: next(refusals, None) if args.get("thread_ts") else None
        core, built = await slack_scheduling(tmp_path, repo, fake, clock, lambda a: a)
        try:
            await built.scheduler.tick()
            (row,) = built.deliveries.all()
            assert row.state is DeliveryState.PENDING  # part 2 refused; part 1 is up
            assert parts_in_channel(fake) == [(row.key, 0)]
            clock.advance(timedelta(minutes=1))
            await built.scheduler.tick()
            (row,) = built.deliveries.all()
            posted = parts_in_channel(fake)
            assert row.state is DeliveryState.SENT and len(posted) == len(row.refs) > 2
            assert sorted(posted) == [(row.key, i) for i in range(len(posted))]  # each once
            assert fake.calls_to("conversations.history") == []  # a refusal needs no lookup
        finally:
            await core.aclose()


async def test_slack_crash_after_a_part_then_a_busy_channel_reads_one_span(
    tmp_path: Path, repo: Path
) -> None:
    """Dies after posting part 2, before recording it; 250 messages arrive in the channel;
    the restarted bot finds part 2 by its key in the span its post could have happened and
    posts only the rest."""
    from tests.fakes.slack_api import FakeSlackApi

    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    with FakeSlackApi() as fake:
        core, built = await slack_scheduling(
            tmp_path, repo, fake, clock, lambda a: DiesAfterPart(a, 1)
        )
        with pytest.raises(Crash):
            await built.scheduler.tick()
        await core.aclose()
        for n in range(250):
            fake.add_user_message("C1", f"chatter {n}")
        fake.reset()
        clock.advance(timedelta(minutes=5))
        core, built = await slack_scheduling(tmp_path, repo, fake, clock, lambda a: a)
        try:
            await built.scheduler.catch_up()
            (row,) = built.deliveries.all()
            posted = parts_in_channel(fake)
            assert row.state is DeliveryState.SENT
            assert sorted(posted) == [(row.key, i) for i in range(len(row.refs))]  # each once
            (read,) = fake.calls_to("conversations.replies")
            assert len(read.response["messages"]) <= 2  # the span, not the channel's history
        finally:
            await core.aclose()
