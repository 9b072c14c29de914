"""The scheduler: owed runs, restarts after outages, DST nights, APScheduler wiring.

Time is a FakeClock; the scheduler's logic is driven by calling `tick` / `catch_up` at the
moments a cron job or the periodic tick would fire. The APScheduler wiring is checked on its
registered jobs (triggers, zones, misfire and coalesce settings), not by waiting on timers.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.triggers.cron import CronTrigger

from bot.models import Importance
from bot.scheduler import JOB_PREFIX, TICK_JOB, config_specs, owed_runs
from bot.schedules import Schedule
from bot.storage.deliveries import DeliveryState
from bot.storage.subscriptions import Subscription, SubscriptionSpec
from tests.fakes.crash_harness import CrashingDeliveryStore
from tests.fakes.scheduled_chat import (
    Bot,
    Crash,
    FakeClock,
    LookupPlatform,
    make_daily_repo,
    start_bot,
    subscription_toml,
)

START = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)  # a Monday, an hour before the first run
DAYS = [date(2026, 2, 2) + timedelta(days=i) for i in range(7)]  # runs 09:00 UTC, 02-02..02-08
OUTAGE_DAY = date(2026, 2, 4)
H = timedelta(hours=1)
DELTAS = {
    "1s": timedelta(seconds=1),
    "5min": timedelta(minutes=5),
    "1h": H,
    "5h": 5 * H,
    "25h": 25 * H,
    "72h": 72 * H,
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("repo") / "widget"
    make_daily_repo(path, date(2026, 1, 25), 60)
    return path


def nine(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=UTC)


def days_of(platform: LookupPlatform) -> list[date]:
    return sorted(date.fromisoformat(f"{k[-8:-4]}-{k[-4:-2]}-{k[-2:]}") for k in platform.keys())  # noqa: SIM118


# -- owed runs (pure) ------------------------------------------------------------------------


def sub(schedule: Schedule, active_since: datetime) -> Subscription:
    spec = SubscriptionSpec("test", "C1", "acme/widget", schedule, "en", Importance.LOW)
    return Subscription(1, spec, "config", True, active_since, active_since)


def test_owed_runs_posts_the_last_due_run_within_the_window_only() -> None:
    daily = sub(Schedule(time(9), "UTC"), START)
    window = {"catchup_window": timedelta(hours=24), "lookback": timedelta(days=31)}
    assert owed_runs(daily, START, None, **window) == (None, [])
    assert owed_runs(daily, nine(DAYS[0]), None, **window) == (DAYS[0], [])
    # Down three days: the last run is posted, the two before it are missed.
    assert owed_runs(daily, nine(DAYS[3]) + H, DAYS[0], **window) == (DAYS[3], DAYS[1:3])
    # The last run itself older than the window: missed too (a Monday-only subscription).
    weekly = sub(Schedule(time(9), "UTC", ("mon",)), START - timedelta(days=1))
    assert owed_runs(weekly, nine(DAYS[0]) + 25 * H, None, **window) == (None, [DAYS[0]])
    # Nothing before the subscription existed is owed.
    late = sub(Schedule(time(9), "UTC"), nine(DAYS[2]) + H)
    assert owed_runs(late, nine(DAYS[3]) - H, None, **window) == (None, [])


# -- restarts after an outage ------------------------------------------------------------------


class OneShot:
    """A crash switch that fires once, when armed."""

    def __init__(self) -> None:
        self.armed = False

    def __call__(self) -> bool:
        fire, self.armed = self.armed, False
        return fire


async def run_week(
    tmp_path: Path, repo: Path, *, delta: timedelta, crash: str | None
) -> tuple[LookupPlatform, Bot]:
    """Runs 02-02..02-08 at 09:00 UTC. On 02-04 the bot either stops at 08:30 (crash None) or
    dies at the 09:00 post at `crash`; it is back `delta` later."""
    clock = FakeClock(START)
    shots = {p: OneShot() for p in ("before_send", "after_send", "after_commit")}
    platform = LookupPlatform(
        crash_before_send=shots["before_send"], crash_after_send=shots["after_send"]
    )
    toml = subscription_toml(at="09:00", timezone="UTC")

    async def boot(at: datetime) -> Bot:
        clock.set(at)
        bot = start_bot(tmp_path, repo, platform, clock, extra_config=toml)
        runner = bot.scheduling.scheduler.runner
        runner.deliveries = CrashingDeliveryStore(
            bot.core.store.engine, clock, shots["after_commit"], frozenset({"mark_sent"})
        )
        await bot.scheduling.scheduler.catch_up()
        return bot

    bot: Bot | None = await boot(START)
    back_at: datetime | None = None
    for day in DAYS:
        if bot is not None and crash is None and day == OUTAGE_DAY:
            await bot.close()  # a clean stop before the run
            bot, back_at = None, nine(day) - timedelta(minutes=30) + delta
        if bot is None and back_at is not None and back_at <= nine(day):
            bot = await boot(back_at)
        if bot is None:
            continue
        clock.set(nine(day))
        if crash is not None and day == OUTAGE_DAY:
            shots[crash].armed = True
        try:
            await bot.scheduling.scheduler.tick()
        except Crash:
            await bot.close()
            bot, back_at = None, nine(day) + delta
        assert crash is None or not shots[crash].armed, "the crash point was never reached"
    if bot is None:
        assert back_at is not None
        bot = await boot(back_at)
    return platform, bot


ALL = DAYS
CASES = [
    # (crash point, Δ, days posted, days reported missed)
    *[(None, d, ALL, []) for d in ("1s", "5min", "1h", "5h")],
    (None, "25h", [x for x in ALL if x != OUTAGE_DAY], [OUTAGE_DAY]),
    (None, "72h", [*ALL[:2], *ALL[4:]], ALL[2:4]),
    *[("before_send", d, ALL, []) for d in ("1s", "5min", "1h", "5h")],
    ("before_send", "25h", [x for x in ALL if x != OUTAGE_DAY], [OUTAGE_DAY]),
    ("before_send", "72h", [*ALL[:2], *ALL[5:]], ALL[2:5]),
    *[(p, d, ALL, []) for p in ("after_send", "after_commit") for d in DELTAS if d != "72h"],
    *[(p, "72h", [*ALL[:3], *ALL[5:]], ALL[3:5]) for p in ("after_send", "after_commit")],
]


@pytest.mark.parametrize(
    ("crash", "delta", "posted", "missed"), CASES, ids=[f"{c[0] or 'stop'}-{c[1]}" for c in CASES]
)
async def test_restart_after_an_outage_posts_exactly_the_expected_digests(
    tmp_path: Path,
    repo: Path,
    crash: str | None,
    delta: str,
    posted: list[date],
    missed: list[date],
) -> None:
    platform, bot = await run_week(tmp_path, repo, delta=DELTAS[delta], crash=crash)
    try:
        assert platform.duplicates() == {}
        assert days_of(platform) == posted
        rows = bot.scheduling.deliveries.all()
        assert sorted(r.local_date for r in rows if r.state is DeliveryState.MISSED) == missed
        assert {r.state for r in rows} <= {DeliveryState.SENT, DeliveryState.MISSED}
        notices = [text for _, text in platform.notices]
        if missed:  # one short notice naming the span, not one per day
            (notice,) = notices
            assert str(missed[0]) in notice and "acme/widget" in notice
        else:
            assert notices == []
        # Each post covers the day before it, whatever the outage.
        for post in platform.posts:
            assert post.digest is not None
            assert post.key is not None and post.digest.window.tz == "UTC"
            assert post.digest.stats.total == 1
    finally:
        await bot.close()


async def test_a_late_catch_up_post_still_covers_its_own_day(tmp_path: Path, repo: Path) -> None:
    platform, bot = await run_week(tmp_path, repo, delta=5 * H, crash=None)
    try:
        post = next(p for p in platform.posts if p.key == "dg-1-20260204")
        assert post.digest is not None and post.digest.window.title == "2026-02-03"
    finally:
        await bot.close()


# -- DST nights --------------------------------------------------------------------------------


def trigger_fires(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """When APScheduler's CronTrigger for `schedule` fires in [start, end]."""
    trigger = CronTrigger(**schedule.cron_fields(), timezone=schedule.zone)
    fires: list[datetime] = []
    previous: datetime | None = None
    now = start
    while True:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None or fire > end:
            return fires
        fires.append(fire.astimezone(UTC))
        previous = now = fire


@pytest.mark.parametrize(
    ("at", "night"),
    [(time(2, 30), date(2026, 3, 8)), (time(1, 30), date(2026, 11, 1))],
    ids=["spring-forward-02:30", "fall-back-01:30"],
)
async def test_dst_night_posts_exactly_once(
    tmp_path: Path, repo: Path, at: time, night: date
) -> None:
    zone = "America/New_York"
    schedule = Schedule(at, zone)
    start = datetime.combine(night - timedelta(days=1), time(12), tzinfo=ZoneInfo(zone))
    end = start + timedelta(days=2)
    fires = trigger_fires(schedule, start, end)
    if at == time(1, 30):  # APScheduler fires at both 01:30s of the fall-back night
        assert len([f for f in fires if schedule.local_day(f) == night]) == 2
    # Cron fires plus a tick every 20 minutes through both nights.
    ticks = sorted({*fires, *(start + timedelta(minutes=20 * i) for i in range(3 * 48))})
    clock = FakeClock(start.astimezone(UTC))
    platform = LookupPlatform()
    toml = subscription_toml(at=f"{at:%H:%M}", timezone=zone)
    bot = start_bot(tmp_path, repo, platform, clock, extra_config=toml)
    try:
        await bot.scheduling.scheduler.catch_up()
        for moment in ticks:
            clock.set(moment)
            await bot.scheduling.scheduler.tick()
        assert platform.duplicates() == {}
        assert days_of(platform) == [night, night + timedelta(days=1)]
        first = platform.posts[0]
        assert first.digest is not None and first.digest.window.title == str(night - timedelta(1))
    finally:
        await bot.close()


# -- APScheduler wiring -----------------------------------------------------------------------


async def started(tmp_path: Path, repo: Path, clock: FakeClock, toml: str) -> Bot:
    bot = start_bot(tmp_path, repo, LookupPlatform(), clock, extra_config=toml)
    await bot.scheduling.scheduler.start(paused=True)
    return bot


async def test_jobs_use_day_names_the_zone_and_generous_misfire_settings(
    tmp_path: Path, repo: Path
) -> None:
    toml = subscription_toml(at="07:45", timezone="Asia/Shanghai", days='"mon", "wed", "fri"')
    bot = await started(tmp_path, repo, FakeClock(START), toml)
    scheduler = bot.scheduling.scheduler
    try:
        assert scheduler.running
        (sub_job,) = [j for j in scheduler.aps.get_jobs() if j.id.startswith(JOB_PREFIX)]
        trigger = sub_job.trigger
        assert isinstance(trigger, CronTrigger)
        fields = {f.name: str(f) for f in trigger.fields}
        assert fields["day_of_week"] == "mon,wed,fri"
        assert (fields["hour"], fields["minute"]) == ("7", "45")
        assert trigger.timezone == ZoneInfo("Asia/Shanghai")
        assert sub_job.coalesce is True and sub_job.max_instances == 1
        assert sub_job.misfire_grace_time == 24 * 3600
        # Next fire: Wednesday 07:45 in Shanghai (23:45 UTC on Tuesday), from Monday 08:00 UTC.
        nxt = trigger.get_next_fire_time(None, START)
        assert nxt is not None and nxt.astimezone(UTC) == datetime(2026, 2, 3, 23, 45, tzinfo=UTC)
        tick = scheduler.aps.get_job(TICK_JOB)
        assert tick is not None and tick.coalesce is True and tick.max_instances == 1
    finally:
        await scheduler.stop(1)
        await bot.close()
    assert not scheduler.running


async def test_changed_subscription_replaces_its_job_and_inactive_ones_go(
    tmp_path: Path, repo: Path
) -> None:
    toml = subscription_toml(at="09:00", timezone="UTC")
    bot = await started(tmp_path, repo, FakeClock(START), toml)
    scheduler = bot.scheduling.scheduler
    store = bot.scheduling.subscriptions
    try:
        (current,) = store.active()
        job_id = f"{JOB_PREFIX}{current.id}"
        # Another replica (or a chat command) re-times it in the store: the tick picks it up.
        spec = SubscriptionSpec("test", "C9", "acme/widget", Schedule(time(18, 5), "Europe/Berlin"))
        other = store.save(spec, origin="chat", created_by=None, now=START)
        await scheduler.tick(START)
        job = scheduler.aps.get_job(f"{JOB_PREFIX}{other.id}")
        assert job is not None and job.trigger.timezone == ZoneInfo("Europe/Berlin")
        retimed = store.save(
            SubscriptionSpec("test", "C9", "acme/widget", Schedule(time(6, 0), "Asia/Tokyo")),
            origin="chat",
            created_by=None,
            now=START,
        )
        scheduler.apply(retimed)
        job = scheduler.aps.get_job(f"{JOB_PREFIX}{other.id}")
        assert job is not None and job.trigger.timezone == ZoneInfo("Asia/Tokyo")
        assert {f.name: str(f) for f in job.trigger.fields}["hour"] == "6"
        store.deactivate("test", "C9", "acme/widget")
        await scheduler.tick(START)
        assert scheduler.aps.get_job(f"{JOB_PREFIX}{other.id}") is None
        assert scheduler.aps.get_job(job_id) is not None
    finally:
        await scheduler.stop(1)
        await bot.close()


async def test_a_cron_job_fire_posts_its_subscription(tmp_path: Path, repo: Path) -> None:
    clock = FakeClock(START)
    bot = start_bot(
        tmp_path,
        repo,
        platform := LookupPlatform(),
        clock,
        extra_config=subscription_toml(at="09:00", timezone="UTC"),
    )
    scheduler = bot.scheduling.scheduler
    await scheduler.start(paused=True)
    try:
        (job,) = [j for j in scheduler.aps.get_jobs() if j.id.startswith(JOB_PREFIX)]
        clock.set(nine(DAYS[0]))
        await job.func(*job.args)  # what the executor runs at 09:00
        await job.func(*job.args)  # a second (coalesced / fall-back) fire changes nothing
        assert list(platform.keys().values()) == [1]
    finally:
        await scheduler.stop(1)
        await bot.close()


async def test_start_runs_the_first_tick_at_once_and_stop_waits(tmp_path: Path, repo: Path) -> None:
    """The only test on real APScheduler timing: the start-up tick job runs right away."""
    clock = FakeClock(START)
    platform = LookupPlatform()
    toml = subscription_toml(at="09:00", timezone="UTC")
    first = start_bot(tmp_path, repo, platform, clock, extra_config=toml)
    await first.scheduling.scheduler.catch_up()  # subscribed at 08:00, then the bot stopped
    await first.close()
    clock.set(nine(DAYS[0]) + H)  # back an hour late: the 09:00 post is caught up at start
    bot = start_bot(tmp_path, repo, platform, clock, extra_config=toml)
    await bot.scheduling.scheduler.start()
    try:
        for _ in range(500):
            if platform.posts:
                break
            await asyncio.sleep(0.01)
        assert days_of(platform) == [DAYS[0]]
    finally:
        await bot.scheduling.scheduler.stop(5)
        await bot.close()


def test_job_events_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    from bot.scheduler import SubscriptionScheduler

    scheduler = SubscriptionScheduler.__new__(SubscriptionScheduler)
    caplog.set_level(logging.WARNING, logger="bot.scheduler")
    missed = JobExecutionEvent(
        EVENT_JOB_MISSED, "subscription-3", "default", datetime(2026, 2, 2, 9, tzinfo=UTC)
    )
    scheduler._on_event(missed)
    failed = JobExecutionEvent(
        4096, "subscription-3", "default", START, exception=RuntimeError("boom")
    )
    scheduler._on_event(failed)
    messages = [r.getMessage() for r in caplog.records]
    assert any("missed its run" in m and "subscription-3" in m for m in messages)
    assert any("failed" in m for m in messages)


def test_config_specs_resolve_repos_and_defaults(tmp_path: Path, repo: Path) -> None:
    from bot.config import AppConfig, RepoConfig, SubscriptionConfig
    from bot.errors import ConfigError
    from bot.repos import RepoResolver

    config = AppConfig(
        repos=(RepoConfig(name="acme/widget", aliases=("widget",), path=repo),),
        subscriptions=(SubscriptionConfig(repo="widget", platform="Slack", channel="C1"),),
    )
    (spec,) = config_specs(
        config, RepoResolver(config), default_timezone="Asia/Shanghai", default_language="zh"
    )
    assert (spec.repo, spec.platform, spec.language) == ("acme/widget", "slack", "zh")
    assert spec.schedule == Schedule(time(9), "Asia/Shanghai")
    twice = config.model_copy(update={"subscriptions": config.subscriptions * 2})
    with pytest.raises(ConfigError, match="one repo to one channel"):
        config_specs(twice, RepoResolver(twice), default_timezone="UTC", default_language="en")
    unknown = config.model_copy(
        update={"subscriptions": (SubscriptionConfig(repo="nope", platform="slack", channel="C"),)}
    )
    with pytest.raises(ConfigError, match="subscriptions\\[0\\]"):
        config_specs(unknown, RepoResolver(unknown), default_timezone="UTC", default_language="en")


def test_toml_subscriptions_are_validated(tmp_path: Path) -> None:
    from bot.config import load_app_config
    from bot.errors import ConfigError

    for bad, fragment in [
        ('at = "25:00"', "HH:MM"),
        ('timezone = "Mars/Base"', "time zone"),
        ('days = ["funday"]', "day names"),
    ]:
        path = tmp_path / "bad.toml"
        path.write_text(
            f'[[subscriptions]]\nrepo = "a/b"\nplatform = "slack"\nchannel = "C1"\n{bad}\n',
            encoding="utf-8",
        )
        with pytest.raises(ConfigError, match=fragment):
            load_app_config(path)
