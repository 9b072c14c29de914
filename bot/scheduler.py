"""The daily-post scheduler: one APScheduler cron job per subscription, plus a periodic tick.

Both only *make deliveries due* and attempt them; the deliveries outbox (bot/delivery.py)
makes each (subscription, local day) post happen once. The cron jobs give punctual posts;
the tick (at start, then every minute) catches up what was missed while the bot was down,
retries failures, takes over rows a dead replica left behind, and picks up subscriptions
another replica changed. APScheduler may fire a job twice on a fall-back night, or skip a
wall time on a spring-forward night: the tick and the outbox make both harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
    JobExecutionEvent,
)
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import AppConfig, SchedulerConfig
from bot.delivery import DeliveryRunner, Outcome
from bot.errors import ConfigError, DigestbotError
from bot.models import Importance, Language
from bot.repos import RepoResolver
from bot.schedules import Schedule
from bot.storage.deliveries import Delivery, DeliveryState
from bot.storage.subscriptions import Subscription, SubscriptionSpec
from bot.tracked_jobs import TrackedJobs

log = logging.getLogger(__name__)

JOB_PREFIX = "subscription-"
TICK_JOB = "digestbot-tick"


@dataclass(frozen=True)
class SchedulerSettings:
    tick_every: timedelta = timedelta(seconds=60)
    # SQLite means one process: rows another worker id left in `sending` belong to a previous
    # run of this bot, so the first tick recovers them without waiting for their lease.
    single_process: bool = False
    missed_lookback: timedelta = timedelta(days=31)  # how far back a missed run is reported

    @classmethod
    def from_config(cls, config: SchedulerConfig, *, single_process: bool) -> SchedulerSettings:
        return cls(tick_every=timedelta(seconds=config.tick_seconds), single_process=single_process)


@dataclass
class TickReport:
    """What one tick did (for tests and logs)."""

    made_due: list[Delivery] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    missed: dict[int, list[date]] = field(default_factory=dict)


def owed_runs(
    subscription: Subscription,
    now: datetime,
    latest: date | None,
    *,
    catchup_window: timedelta,
    lookback: timedelta,
) -> tuple[date | None, list[date]]:
    """(the run to post now or None, older runs nobody will post).

    Runs owed are those after the subscription became active and after its latest recorded
    delivery, up to `now`. Only the last of them is posted, and only while it is at most
    `catchup_window` old; the others are reported as missed (not flooded into the channel).
    """
    schedule = subscription.schedule
    start = max(subscription.active_since, now - lookback)
    if latest is not None:
        start = max(start, schedule.instant(latest))
    runs = schedule.runs_between(start, now)
    if not runs:
        return None, []
    last = runs[-1]
    if now - schedule.instant(last) <= catchup_window:
        return last, runs[:-1]
    return None, runs


class SubscriptionScheduler:
    """A `serve` Service: cron jobs + tick over one DeliveryRunner."""

    name = "scheduler"

    def __init__(
        self,
        *,
        runner: DeliveryRunner,
        clock: Callable[[], datetime],
        settings: SchedulerSettings | None = None,
        config_subscriptions: Sequence[SubscriptionSpec] = (),
        scheduler: AsyncIOScheduler | None = None,
    ) -> None:
        self.runner = runner
        self._clock = clock
        self.settings = settings or SchedulerSettings()
        self._config_specs = tuple(config_subscriptions)
        self.aps = scheduler or AsyncIOScheduler(timezone=UTC)
        self._jobs: dict[int, Schedule] = {}
        self._work = TrackedJobs()
        self._recovering = self.settings.single_process

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self.aps.running) and not self._work.closed

    async def sync_config(self) -> None:
        """Make the TOML file's subscriptions current in the store."""
        store = self.runner.subscriptions
        await asyncio.to_thread(store.sync_config, self._config_specs, self._clock())

    async def catch_up(self) -> TickReport:
        """What start-up does, without APScheduler: sync the config, then one recovering tick
        (rows left in `sending` are reconciled, missed runs caught up or reported)."""
        await self.sync_config()
        return await self.tick(recovering=self.settings.single_process)

    async def start(self, *, paused: bool = False) -> None:
        """Sync the TOML subscriptions, register the jobs and start; the first tick (recovery
        and catch-up) runs at once as a job, so start() itself returns quickly."""
        store = self.runner.subscriptions
        await self.sync_config()
        self.aps.add_listener(
            self._on_event, EVENT_JOB_MISSED | EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES
        )
        self._sync_jobs(await asyncio.to_thread(store.active))
        seconds = self.settings.tick_every.total_seconds()
        self.aps.add_job(
            self._tick_job,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            id=TICK_JOB,
            next_run_time=datetime.now(UTC),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(seconds)),
            replace_existing=True,
        )
        self.aps.start(paused=paused)
        log.info(
            "scheduler started with %d subscriptions (worker %s)",
            len(self._jobs),
            self.runner.worker_id,
        )

    async def stop(self, timeout: float = 60.0) -> None:
        """No new runs; wait for in-flight ones. An interrupted delivery stays in `sending`
        and is recovered (looked up before any re-post) by the next start or another replica."""
        if self.aps.running:
            self.aps.pause()  # no new runs; shutting down first would cancel the running ones
        await self._work.close(timeout)
        if self.aps.running:
            self.aps.shutdown(wait=False)

    # -- changes from chat (this replica at once; others at their next tick) ------------------

    def apply(self, subscription: Subscription) -> None:
        """Register or replace the subscription's cron job (remove it when inactive)."""
        if not subscription.active:
            self.remove(subscription.id)
            return
        if self._jobs.get(subscription.id) == subscription.schedule:
            return
        schedule = subscription.schedule
        self.aps.add_job(
            self._fire,
            CronTrigger(**schedule.cron_fields(), timezone=schedule.zone),
            args=[subscription.id],
            id=f"{JOB_PREFIX}{subscription.id}",
            name=f"{subscription.repo} → {subscription.platform}:{subscription.channel_id}",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            # Generous: a late wake-up (a blocked loop, a suspended VM) still posts; the
            # tick catches up anything later than this with the same window.
            misfire_grace_time=int(self.runner.settings.catchup_window.total_seconds()),
        )
        self._jobs[subscription.id] = schedule

    def remove(self, subscription_id: int) -> None:
        if self._jobs.pop(subscription_id, None) is None:
            return
        try:
            self.aps.remove_job(f"{JOB_PREFIX}{subscription_id}")
        except JobLookupError:
            log.debug("job for subscription %s was already gone", subscription_id)

    def _sync_jobs(self, active: Sequence[Subscription]) -> None:
        for subscription in active:
            self.apply(subscription)
        for gone in set(self._jobs) - {s.id for s in active}:
            self.remove(gone)

    # -- the work ---------------------------------------------------------------------------

    async def tick(
        self, now: datetime | None = None, *, only: int | None = None, recovering: bool = False
    ) -> TickReport:
        """Make owed runs due, attempt every workable row, report what was missed. `now` is
        the database's (see DeliveryStore.now), so replicas with skewed clocks agree."""
        store, outbox = self.runner.subscriptions, self.runner.deliveries
        now = now if now is not None else await asyncio.to_thread(outbox.now)
        settings = self.runner.settings
        if only is None:
            subscriptions = await asyncio.to_thread(store.active)
        else:
            one = await asyncio.to_thread(store.get, only)
            subscriptions = [one] if one is not None and one.active else []
        by_id = {s.id: s for s in subscriptions}
        latest = await asyncio.to_thread(outbox.latest_days)
        report = TickReport()
        for sub in subscriptions:
            due, missed = owed_runs(
                sub,
                now,
                latest.get(sub.id),
                catchup_window=settings.catchup_window,
                lookback=self.settings.missed_lookback,
            )
            if due is not None:
                row = await asyncio.to_thread(
                    outbox.ensure, sub.id, due, sub.schedule.instant(due), now
                )
                report.made_due.append(row)
            if missed:
                runs = [(day, sub.schedule.instant(day)) for day in missed]
                fresh = await asyncio.to_thread(
                    outbox.record_missed, sub.id, runs, now, "the bot was down when it was due"
                )
                report.missed.setdefault(sub.id, []).extend(fresh)
        rows = await asyncio.to_thread(
            outbox.workable, self.runner.worker_id, recovering=recovering
        )
        if only is not None:
            rows = [r for r in rows if r.subscription_id == only]
        report.outcomes = await self.runner.run_many(rows, recovering=recovering)
        for outcome in report.outcomes:
            if outcome.state is DeliveryState.MISSED:
                row = outcome.delivery
                report.missed.setdefault(row.subscription_id, []).append(row.local_date)
        for sub_id, days in report.missed.items():
            owner = by_id.get(sub_id)
            if days and owner is not None:
                days.sort()
                log.warning(
                    "subscription %s (%s → %s:%s): %d run(s) missed while the bot was down: %s..%s",
                    sub_id,
                    owner.repo,
                    owner.platform,
                    owner.channel_id,
                    len(days),
                    days[0],
                    days[-1],
                )
        await self.runner.send_notices()
        if only is None and not self._work.closed:
            self._sync_jobs(subscriptions)
        return report

    async def _fire(self, subscription_id: int) -> None:
        """A subscription's cron job."""
        await self._work.run(self.tick(only=subscription_id))

    async def _tick_job(self) -> None:
        recovering, self._recovering = self._recovering, False
        await self._work.run(self.tick(recovering=recovering))

    def _on_event(self, event: JobEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            log.warning(
                "job %s missed its run at %s (the tick catches it up)",
                event.job_id,
                getattr(event, "scheduled_run_time", "?"),
            )
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            log.warning("job %s still running; this run was skipped", event.job_id)
        elif isinstance(event, JobExecutionEvent) and event.exception is not None:
            log.error(
                "job %s failed",
                event.job_id,
                exc_info=(type(event.exception), event.exception, event.exception.__traceback__),
            )


def config_specs(
    config: AppConfig,
    resolver: RepoResolver,
    *,
    default_timezone: str,
    default_language: str,
) -> list[SubscriptionSpec]:
    """The TOML file's `[[subscriptions]]` as specs; ConfigError names the bad entry."""
    specs: list[SubscriptionSpec] = []
    for index, entry in enumerate(config.subscriptions):
        where = f"subscriptions[{index}] ({entry.repo} → {entry.platform}:{entry.channel})"
        try:
            repo = resolver.resolve(entry.repo)
            hour, minute = (int(p) for p in entry.at.split(":"))
            days = entry.days
            if entry.cadence == "weekly" and "days" not in entry.model_fields_set:
                days = ("mon",)  # a weekly post is on one day; Monday unless the file says
            schedule = Schedule(time(hour, minute), entry.timezone or default_timezone, days)
        except DigestbotError as exc:
            raise ConfigError(f"Invalid config: {where}: {exc.user_message}") from exc
        language: Language = "zh" if (entry.language or default_language) == "zh" else "en"
        specs.append(
            SubscriptionSpec(
                platform=entry.platform.lower(),
                channel_id=entry.channel,
                repo=repo.name,
                schedule=schedule,
                language=language,
                min_importance=Importance(entry.min_importance),
                exclude_authors=entry.exclude_authors,
                exclude_paths=entry.exclude_paths,
                alerts=entry.alerts,
                cadence=entry.cadence,
            )
        )
    keys = [s.target_key for s in specs]
    if len(set(keys)) != len(keys):
        raise ConfigError("Invalid config: two [[subscriptions]] post one repo to one channel.")
    return specs
