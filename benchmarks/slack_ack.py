"""Benchmark (not a test): `/digest` ack latency while digests are being built.

Fires N signed slash commands through the real bolt AsyncApp (signature check, auth.test,
listener, ack), one every `--interval` seconds, each starting a digest build of a local git
repository (real `git` subprocesses, heuristic analysis, SQLite) and a post to the fake Slack
Web API. Latency = time from handing the request to bolt until bolt returns the ack response,
measured while earlier commands' digests are being built and posted.
Run: `python benchmarks/slack_ack.py [--commands 200]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_sdk.web.async_client import AsyncWebClient

from handlers.slack.service import SlackBot
from handlers.slack.settings import SlackConfig
from tests.fakes.chat import DAY, build_chat_core, make_widget_repo
from tests.fakes.conversations import conversation_of
from tests.fakes.git_repo import GitRepoBuilder
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import (
    FORM,
    SIGNING_SECRET,
    signed_request,
    slash_command,
)

UNLIMITED = (
    "[access]\ndigests_per_user_per_hour = 0\ndigests_per_channel_per_hour = 0\n"
    "questions_per_user_per_hour = 0\nquestions_per_channel_per_hour = 0\n"
)


@dataclass
class Result:
    commands: int
    latencies: list[float]  # seconds
    digests_posted: int
    building_while_acking: int  # acks that happened while at least one digest was in flight
    wall: float

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index]

    def report(self) -> str:
        ms = [x * 1000 for x in self.latencies]
        return (
            f"commands: {self.commands}, digests posted: {self.digests_posted}, "
            f"acks with digests in flight: {self.building_while_acking}, wall {self.wall:.1f} s\n"
            f"ack latency ms: p50 {self.percentile(50) * 1000:.1f}, "
            f"p99 {self.percentile(99) * 1000:.1f}, max {max(ms):.1f}, "
            f"mean {statistics.fmean(ms):.1f}"
        )


def _extra_commits(path: Path, count: int) -> None:
    repo = GitRepoBuilder(path)
    for i in range(count):
        body = "".join(f"def f{i}_{j}(x):\n    return x + {j}\n\n" for j in range(30))
        repo.commit(
            f"fix(core): bounded change {i}",
            {f"src/core/m{i}.py": body},
            when=DAY + timedelta(hours=13, minutes=i % 60, seconds=i // 60),
        )


async def run(
    workdir: Path, *, commands: int, channels: int, interval: float, commits: int
) -> Result:
    make_widget_repo(workdir / "widget")
    _extra_commits(workdir / "widget", commits)
    core = build_chat_core(workdir, workdir / "widget", extra_config=UNLIMITED)
    latencies: list[float] = []
    in_flight_at_ack = 0
    with FakeSlackApi() as fake:
        config = SlackConfig(bot_token="xoxb-bench", mode="http", signing_secret=SIGNING_SECRET)
        client = AsyncWebClient(token="xoxb-bench", base_url=fake.base_url)
        bot = SlackBot(conversation_of(core), config, client=client)
        await bot.start()  # HTTP mode: no connection to open, just the shared HTTP session

        async def one(index: int) -> None:
            nonlocal in_flight_at_ack
            body = slash_command(
                "widget today", trigger_id=f"bench-{index}", channel=f"C{index % channels:04d}"
            )
            request = signed_request(body, content_type=FORM)
            started = time.perf_counter()
            response = await bot.app.async_dispatch(request)
            latencies.append(time.perf_counter() - started)
            if bot.inflight.pending > 1:
                in_flight_at_ack += 1
            assert response.status == 200, response.body

        began = time.perf_counter()
        tasks = []
        for index in range(commands):
            tasks.append(asyncio.create_task(one(index)))
            await asyncio.sleep(interval)
        await asyncio.gather(*tasks)
        await bot.inflight.join()
        wall = time.perf_counter() - began
        posted = sum(
            1 for c in fake.calls_to("chat.postMessage") if c.ok and "thread_ts" not in c.args
        )
        await bot.stop(timeout=30)
    await core.aclose()
    return Result(commands, latencies, posted, in_flight_at_ack, wall)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--channels", type=int, default=50, help="spread over N channels")
    parser.add_argument("--interval", type=float, default=0.01, help="seconds between commands")
    parser.add_argument("--commits", type=int, default=40, help="extra commits in the day")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="digestbot-bench-") as tmp:
        result = asyncio.run(
            run(
                Path(tmp),
                commands=args.commands,
                channels=args.channels,
                interval=args.interval,
                commits=args.commits,
            )
        )
    print(result.report())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
