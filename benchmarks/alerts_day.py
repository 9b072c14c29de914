"""`python -m benchmarks.alerts_day`: one simulated day of alerts, by polling and by webhook.

50 commits land on a fake GitHub repository over 8 hours (09:00-17:00 UTC), in pushes of one to
four commits. A subscription with `alerts = "high"` follows it; the fake model rates about 15 %
of commits high (from a hash of the prompt, as in the other benchmarks).

- **Polling** (every 5 minutes, on a simulated clock from 08:55 to 17:05): the GitHub requests
  made and the rate limit charged (the fake answers an unchanged branch with 304, uncharged);
  the alerts posted against the commits the model rated high; the latency from push to alert
  (the poll's simulated time minus the push's, plus the poll's real processing time).
- **Webhook** (each push POSTed, signed, to `serve`'s real HTTP endpoint as it lands): the
  same counts, and the real time from the POST to the alert's post.
- **LLM calls**: the alerts' plus the next morning's digest, against the digest alone on a
  fresh database (the difference must be 0: alerts reuse the digest's analyses).

`--write` puts the table in benchmarks/README.md (its own section).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from benchmarks.fake_model import LLMRecorder
from benchmarks.report import README, write_section
from benchmarks.scenarios import CommitSpec, Scenario, busy_day, load
from bot.config import Settings
from bot.models import Digest, Importance
from digestbot.chat_wiring import Scheduling
from digestbot.wiring import build_core
from handlers.ports import MessageRef, PartKey, ReplyTarget
from handlers.runtime.github_webhook import webhook_endpoint
from handlers.runtime.http import HttpServer
from tests.fakes.conversations import scheduling_of
from tests.fakes.github_server import FakeGitHub
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.scheduled_chat import FakeClock, LookupPlatform

REPO = "bench/alerts"
SECTION = "Alerts: one simulated day"
DAY = datetime(2026, 6, 1, tzinfo=UTC)
OPEN, CLOSE = DAY + timedelta(hours=9), DAY + timedelta(hours=17)
MORNING = DAY + timedelta(days=1, hours=9, minutes=1)
SECRET = "benchmark-webhook-secret-0123456789"


@dataclass(frozen=True)
class Options:
    commits: int = 50
    poll_minutes: int = 5
    github_latency: float = 0.05
    llm_latency: float = 0.5
    seed: int = 11


@dataclass(frozen=True)
class Push:
    at: datetime
    commits: tuple[CommitSpec, ...]


@dataclass
class Phase:
    """What one way of learning of commits cost and did."""

    name: str
    requests: int = 0
    charged: int = 0
    polls: int = 0
    unchanged: int = 0  # polls answered 304
    cards: int = 0
    alerted: set[str] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)  # seconds, one per alerted commit
    llm_alerts: int = 0
    llm_digest: int = 0
    held: int = 0


class TimedPlatform(LookupPlatform):
    """Records the real (monotonic) time of every post, for the webhook's latency."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.posted_at: list[float] = []

    async def post_part(
        self,
        target: ReplyTarget,
        payload: str,
        *,
        root: MessageRef | None = None,
        key: PartKey | None = None,
    ) -> list[MessageRef]:
        refs = await super().post_part(target, payload, root=root, key=key)
        self.posted_at.append(time.monotonic())
        return refs


def pushes(options: Options) -> list[Push]:
    """The day's commits at random times between 09:00 and 17:00, grouped into pushes."""
    rng = random.Random(options.seed)
    specs = list(busy_day(options.commits, seed=options.seed, day=DAY))
    span = (CLOSE - OPEN).total_seconds()
    made: list[Push] = []
    while specs:
        size = 1 if rng.random() < 0.7 else rng.randint(2, 4)
        group, specs = specs[:size], specs[size:]
        at = OPEN + timedelta(seconds=rng.uniform(0, span))
        made.append(Push(at, tuple(_at(spec, at, len(group) - n) for n, spec in enumerate(group))))
    made.sort(key=lambda p: p.at)
    return made


def _at(spec: CommitSpec, pushed: datetime, back: int) -> CommitSpec:
    """The commit as made a minute apart before its push."""
    return CommitSpec(
        sha=spec.sha,
        message=spec.message,
        author=spec.author,
        login=spec.login,
        committed_at=pushed - timedelta(minutes=back),
        files=spec.files,
        pull=spec.pull,
    )


def _config(path: Path, alerts: str, *, webhook: bool) -> Path:
    path.write_text(
        f'[defaults]\ntimezone = "UTC"\n\n[[repos]]\nname = "{REPO}"\n\n'
        f'[[subscriptions]]\nrepo = "{REPO}"\nplatform = "test"\nchannel = "C1"\n'
        f'at = "09:00"\ntimezone = "UTC"\nalerts = "{alerts}"\n\n'
        f"[alerts]\npoll_minutes = 5\nwebhook = {'true' if webhook else 'false'}\n",
        encoding="utf-8",
    )
    return path


def _core(workdir: Path, github: FakeGitHub, llm: FakeOpenAI, clock: FakeClock, alerts: str) -> Any:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{workdir / 'bot.sqlite'}",
        github_api_url=github.url,
        github_token=SecretStr("bench-token"),
        openai_api_key=SecretStr("bench-key"),
        openai_base_url=llm.base_url,
        llm_model="bench-model",
        github_webhook_secret=SecretStr(SECRET),
    )
    config = _config(workdir / "digestbot.toml", alerts, webhook=True)
    return build_core(settings, config_file=config, clock=clock)


def _high(digest: Digest) -> set[str]:
    return {i.commit.sha for i in digest.items if i.analysis.importance is Importance.HIGH}


@dataclass
class Running:
    """One bot over a fresh database, with its fakes."""

    github: FakeGitHub
    recorder: LLMRecorder
    clock: FakeClock
    scheduling: Scheduling
    platform: TimedPlatform

    async def morning(self, phase: Phase) -> None:
        """Count the alerts' LLM calls, then post the next morning's digest and count its."""
        phase.llm_alerts = len(self.recorder.snapshot())
        self.clock.set(MORNING)
        await self.scheduling.scheduler.tick()
        phase.llm_digest = len(self.recorder.snapshot()) - phase.llm_alerts


@asynccontextmanager
async def running(
    options: Options, workdir: Path, *, alerts: str, start: datetime
) -> AsyncIterator[Running]:
    """Fake GitHub (the repository with yesterday's commit) and model, and a bot subscribed at
    `start` (its TOML subscriptions stored, as `serve` does)."""
    recorder = LLMRecorder()
    with (
        FakeGitHub(latency=options.github_latency) as github,
        FakeOpenAI(default=recorder, latency=options.llm_latency) as llm,
    ):
        github.add_repo(REPO)
        github.add_commit(REPO, "chore: yesterday", committed_at=DAY - timedelta(hours=3))
        clock = FakeClock(start)
        core = _core(workdir, github, llm, clock, alerts)
        platform_ = TimedPlatform(clock)
        scheduling, _ = scheduling_of(core, {"test": platform_})
        try:
            await scheduling.scheduler.sync_config()
            yield Running(github, recorder, clock, scheduling, platform_)
        finally:
            await scheduling.alerts.stop(5)
            await core.aclose()


async def digest_alone(options: Options, day: list[Push], workdir: Path) -> tuple[int, set[str]]:
    """LLM calls of the morning digest on a fresh database, and the commits it rates high."""
    async with running(options, workdir, alerts="off", start=OPEN) as run:
        for push in day:
            load(run.github, Scenario(REPO, DAY, push.commits))
        phase = Phase("digest alone")
        await run.morning(phase)
        (post,) = [p for p in run.platform.posts if p.digest is not None and p.index == 0]
        assert post.digest is not None
        return phase.llm_digest, _high(post.digest)


async def polling(options: Options, day: list[Push], workdir: Path) -> Phase:
    phase = Phase(f"polling every {options.poll_minutes} min")
    every = timedelta(minutes=options.poll_minutes)
    async with running(options, workdir, alerts="high", start=OPEN - every) as run:
        github, service = run.github, run.scheduling.alerts
        github.reset_requests()
        charged = github.charged
        pending = list(day)
        pushed_at: dict[str, datetime] = {}
        tick = run.clock.now  # the first poll is the baseline
        while tick <= CLOSE + every:
            while pending and pending[0].at <= tick:
                push = pending.pop(0)
                load(github, Scenario(REPO, DAY, push.commits))
                pushed_at.update(dict.fromkeys((c.sha for c in push.commits), push.at))
            run.clock.set(tick)
            before = len(run.platform.alerts())
            started = time.monotonic()
            report = await service.poll_once()
            elapsed = time.monotonic() - started
            phase.polls += 1
            phase.unchanged += sum(1 for b in report.branches if not b.changed)
            phase.held += sum(b.held for b in report.branches)
            for post in run.platform.alerts()[before:]:
                assert post.alert is not None and post.at is not None
                phase.cards += 1
                for item in post.alert.digest.items:
                    phase.alerted.add(item.commit.sha)
                    waited = (post.at - pushed_at[item.commit.sha]).total_seconds()
                    phase.latencies.append(waited + elapsed)
            tick += every
        phase.requests = len(github.requests)
        phase.charged = github.charged - charged
        await run.morning(phase)
    return phase


async def webhook(options: Options, day: list[Push], workdir: Path) -> Phase:
    phase = Phase("webhook")
    async with running(options, workdir, alerts="high", start=OPEN) as run:
        github, service = run.github, run.scheduling.alerts
        await service.poll_once()  # what serve does at start: each branch's baseline
        port = _free_port()
        http = HttpServer("127.0.0.1", port)
        http.add_route("POST", "/github/webhook", webhook_endpoint(service, SECRET.encode()))
        await http.start()
        url = f"http://127.0.0.1:{port}/github/webhook"
        try:
            github.reset_requests()
            charged = github.charged
            head = github.repos[REPO].branches["main"][0]
            async with aiohttp.ClientSession() as client:
                for push in day:
                    run.clock.set(push.at)
                    load(github, Scenario(REPO, DAY, push.commits))
                    after = github.repos[REPO].branches["main"][0]
                    body = _push_body(head, after)
                    before = len(run.platform.alerts())
                    sent = time.monotonic()
                    async with client.post(url, data=body, headers=_headers(body)) as answer:
                        assert answer.status == 202, await answer.text()
                    while not service.jobs.idle:
                        await asyncio.sleep(0.002)
                    head = after
                    for index, post in enumerate(run.platform.alerts()[before:], start=before):
                        assert post.alert is not None
                        phase.cards += 1
                        posted = _alert_times(run.platform)[index]
                        for item in post.alert.digest.items:
                            phase.alerted.add(item.commit.sha)
                            phase.latencies.append(posted - sent)
            phase.requests = len(github.requests)
            phase.charged = github.charged - charged
            await run.morning(phase)
        finally:
            await http.stop()
    return phase


def _alert_times(platform_: TimedPlatform) -> list[float]:
    return [t for p, t in zip(platform_.posts, platform_.posted_at, strict=True) if p.alert]


def _push_body(before: str, after: str) -> bytes:
    return json.dumps(
        {
            "ref": "refs/heads/main",
            "before": before,
            "after": after,
            "forced": False,
            "repository": {"full_name": REPO, "default_branch": "main"},
            "commits": [{"id": after}],
        }
    ).encode()


def _headers(body: bytes) -> dict[str, str]:
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": f"sha256={signature}",
        "Content-Type": "application/json",
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _median(values: Sequence[float]) -> str:
    if not values:
        return "—"
    middle = statistics.median(values)
    return f"{middle / 60:.1f} min" if middle >= 60 else f"{middle:.2f} s"


def render(
    options: Options, day: list[Push], alone: int, high: set[str], phases: list[Phase]
) -> str:
    lines = [
        f"{options.commits} commits in {len(day)} pushes between 09:00 and 17:00 UTC; the model "
        f"rates {len(high)} of them high (the digest alone on a fresh database). GitHub "
        f"latency {options.github_latency * 1000:.0f} ms, model latency {options.llm_latency} s.",
        "",
        "| | polls (304) | GitHub requests | rate limit charged | cards | high commits "
        "alerted / expected | held back | median push → alert | LLM calls: alerts + digest "
        "| digest alone | difference |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for phase in phases:
        polls = f"{phase.polls} ({phase.unchanged})" if phase.polls else "—"
        lines.append(
            f"| {phase.name} | {polls} | {phase.requests} | {phase.charged} | {phase.cards} "
            f"| {len(phase.alerted & high)} / {len(high)} | {phase.held} "
            f"| {_median(phase.latencies)} | {phase.llm_alerts} + {phase.llm_digest} "
            f"| {alone} | {phase.llm_alerts + phase.llm_digest - alone} |"
        )
    extra = [p for p in phases if p.alerted - high]
    if extra:
        lines.append("")
        lines.append(
            "Alerted commits the digest did not rate high: "
            + ", ".join(f"{p.name}: {len(p.alerted - high)}" for p in extra)
        )
    return "\n".join(lines)


def _machine() -> str:
    load1, _, _ = os.getloadavg()
    cpu = platform.processor() or platform.machine()
    try:
        model = subprocess.run(
            ["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        model = ""
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores ({model or cpu}), "
        f"load {load1:.2f} at start, Python {sys.version.split()[0]}"
    )


async def run(options: Options) -> str:
    day = pushes(options)
    machine = _machine()
    with tempfile.TemporaryDirectory(prefix="digestbot-alerts-") as tmp:
        base = Path(tmp)
        for name in ("alone", "polling", "webhook"):
            (base / name).mkdir()
        alone, high = await digest_alone(options, day, base / "alone")
        polled = await polling(options, day, base / "polling")
        hooked = await webhook(options, day, base / "webhook")
    return f"Measured {machine}.\n\n" + render(options, day, alone, high, [polled, hooked])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=Options.commits)
    parser.add_argument("--llm-latency", type=float, default=Options.llm_latency)
    parser.add_argument("--seed", type=int, default=Options.seed)
    parser.add_argument("--github-latency", type=float, default=Options.github_latency)
    parser.add_argument("--write", action="store_true", help="update benchmarks/README.md")
    args = parser.parse_args(argv)
    options = Options(
        commits=args.commits,
        llm_latency=args.llm_latency,
        github_latency=args.github_latency,
        seed=args.seed,
    )
    table = asyncio.run(run(options))
    print(table)
    if args.write:
        command = "python -m benchmarks.alerts_day --write"
        body = f"## {SECTION}\n\n`{command}` ({__doc__.splitlines()[0]})\n\n{table}\n"
        print(f"wrote {write_section(SECTION, body, README)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
