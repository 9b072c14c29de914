"""`serve`'s alert service: the poll every few minutes, webhook pushes in the background, and
the alert outbox's tick (posts, retries, recovery after a crash)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.alerts.watcher import AlertWatcher, BranchReport, Followed, PollReport
from bot.alerts.webhook import PushEvent
from bot.errors import DigestbotError
from bot.tracked_jobs import TrackedJobs

log = logging.getLogger(__name__)

POLL_JOB = "alerts-poll"
TICK_JOB = "alerts-tick"
TICK_EVERY = timedelta(seconds=60)  # retries and takeovers of alert rows


class AlertService:
    """A `serve` Service over one AlertWatcher."""

    name = "alerts"

    def __init__(
        self,
        watcher: AlertWatcher,
        *,
        single_process: bool,
        scheduler: AsyncIOScheduler | None = None,
    ) -> None:
        self.watcher = watcher
        self.aps = scheduler or AsyncIOScheduler(timezone=UTC)
        # SQLite: one process, so rows left `sending` by an earlier run are ours to recover.
        self._recovering = single_process
        self.jobs = TrackedJobs()
        self.started_at: datetime | None = None

    @property
    def running(self) -> bool:
        return bool(self.aps.running) and not self.jobs.closed

    async def start(self) -> None:
        every = self.watcher.policy.poll_every
        now = datetime.now(UTC)
        self.started_at = now
        if every is None:
            # Webhook only: one look at start still takes each branch's baseline, so the
            # first push is told from what was there before.
            self.aps.add_job(self._poll_job, id=POLL_JOB, next_run_time=now)
        else:
            self.aps.add_job(
                self._poll_job,
                IntervalTrigger(seconds=every.total_seconds(), timezone=UTC),
                id=POLL_JOB,
                next_run_time=now,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(every.total_seconds())),
                replace_existing=True,
            )
        self.aps.add_job(
            self._tick_job,
            IntervalTrigger(seconds=TICK_EVERY.total_seconds(), timezone=UTC),
            id=TICK_JOB,
            next_run_time=now,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
        self.aps.start()
        log.info(
            "alerts: %s, outbox tick every %ds",
            f"polling every {every}" if every is not None else "polling off (webhook only)",
            TICK_EVERY.total_seconds(),
        )

    async def stop(self, timeout: float = 60.0) -> None:
        if self.aps.running:
            self.aps.pause()
        await self.jobs.close(timeout)
        if self.aps.running:
            self.aps.shutdown(wait=False)

    def push(self, followed: Followed, event: PushEvent) -> None:
        """Handle a verified push in the background (GitHub wants its answer within 10 s;
        the analyses may take longer), then post its alerts."""
        self.jobs.spawn(self._after_push(followed, event))

    async def poll_once(self) -> PollReport:
        return await self.watcher.poll_all()

    async def last_polls(self) -> dict[str, str | None]:
        """The last successful poll per followed repository (ISO 8601, or None: never)."""
        states = await asyncio.to_thread(self.watcher.alerts.poll_states)
        by_key = {(s.repo, s.branch): s.last_success_at for s in states}
        report: dict[str, str | None] = {}
        for followed in await self.watcher.followed():
            at = by_key.get((followed.repo.key, followed.branch))
            label = followed.repo.name + (f"@{followed.branch}" if followed.branch else "")
            report[label] = None if at is None else at.isoformat()
        return report

    async def polls_fresh(self) -> bool:
        """Every followed branch was polled successfully within three intervals (or the
        service has not been up that long); always true when polling is off."""
        every = self.watcher.policy.poll_every
        if every is None or self.started_at is None:
            return True
        now = datetime.now(UTC)
        if now - self.started_at < 3 * every:
            return True
        for at in (await self.last_polls()).values():
            if at is None or now - datetime.fromisoformat(at) > 3 * every:
                return False
        return True

    async def _after_push(self, followed: Followed, event: PushEvent) -> BranchReport | None:
        try:
            report = await self.watcher.on_push(followed, event)
            await self.watcher.deliver()
        except Exception:  # a background task's boundary: the next poll sees the push
            log.exception("push to %s could not be handled", followed.repo.name)
            return None
        return report

    async def _poll_job(self) -> None:
        await self.jobs.run(self._poll())

    async def _poll(self) -> None:
        try:
            await self.watcher.poll_all()
        except DigestbotError as exc:  # the store failed: the next poll tries again
            log.warning("alert poll failed: %s", exc)

    async def _tick_job(self) -> None:
        recovering, self._recovering = self._recovering, False
        await self.jobs.run(self._tick(recovering))

    async def _tick(self, recovering: bool) -> None:
        runner = self.watcher.runner
        try:
            rows = await asyncio.to_thread(
                runner.deliveries.workable, runner.worker_id, recovering=recovering
            )
            await runner.run_many(rows, recovering=recovering)
        except DigestbotError as exc:
            log.warning("alert outbox tick failed: %s", exc)
