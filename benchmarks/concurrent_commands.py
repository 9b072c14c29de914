"""`python -m benchmarks.concurrent_commands`: upstream cost of N identical chat commands vs one.

Starts the fake GitHub and OpenAI-compatible servers (real PyGithub and `openai` clients, fixed
latency), loads one synthetic busy day, and sends `/digest <repo> <day>` through the real
conversation layer (`Conversation.handle`, a recording adapter in place of a chat platform):
once on a fresh database (the ideal: what one digest needs), then N times at once, then N times
`--spacing-ms` apart (the issue's report: 50 commands 50 ms apart), each on a fresh database.
Prints the GitHub requests (list pages, commit details, pull-request lookups) and LLM calls of
each run; `--write` puts the table in benchmarks/README.md (its own section, which
`python -m benchmarks --write` keeps).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.fake_model import LLMRecorder
from benchmarks.measure import GitHubCounts, github_counts
from benchmarks.report import README, write_section
from benchmarks.scenarios import BASE_DAY, Scenario, busy_day, load
from bot.config import Settings
from digestbot.wiring import build_core
from handlers.ports import InboundEvent
from tests.fakes.chat import RecordingAdapter
from tests.fakes.conversations import conversation_of
from tests.fakes.github_server import FakeGitHub
from tests.fakes.openai_server import FakeOpenAI

REPO = "bench/concurrent"
SECTION = "Concurrent identical commands"
NOW = BASE_DAY + timedelta(days=1, hours=9)  # the morning after the day


@dataclass(frozen=True)
class Options:
    commands: int = 50
    spacing_ms: float = 50.0
    # Spread wider than one digest's build: later commands find it finished, not in flight.
    late_spacing_ms: float = 200.0
    commits: int = 24
    github_latency: float = 0.1
    llm_latency: float = 1.0
    seed: int = 7


@dataclass(frozen=True)
class Run:
    name: str
    commands: int
    github: GitHubCounts
    llm_calls: int
    overview_calls: int
    digests: int
    seconds: float


def _event(n: int, day: str) -> InboundEvent:
    # One user and channel per command: the hourly per-user/per-channel limits stay out of it.
    return InboundEvent(
        platform="bench",
        event_id=f"ev{n}",
        user_id=f"U{n}",
        channel_id=f"C{n}",
        kind="command",
        text=f"{REPO} {day}",
    )


async def _commands(
    github: FakeGitHub, llm: FakeOpenAI, data_dir: Path, count: int, spacing: float
) -> tuple[int, float]:
    values: dict[str, Any] = {
        "github_api_url": github.url,
        "github_token": "ghp_benchbenchbenchbenchbenchbench00",
        "openai_api_key": "sk-bench-0123456789abcdefghij",
        "openai_base_url": llm.base_url,
        "llm_model": "bench-model",
        "llm_max_retries": 0,
        "database_url": f"sqlite:///{data_dir / 'db.sqlite'}",
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    config = data_dir / "digestbot.toml"
    config.write_text(
        f'[[repos]]\nname = "{REPO}"\n\n[access]\ndigests_per_channel_per_hour = 0\n',
        encoding="utf-8",
    )
    core = build_core(settings, config_file=config, clock=lambda: NOW)
    try:
        conversation = conversation_of(core)
        adapter = RecordingAdapter()
        day = BASE_DAY.date().isoformat()

        async def one(n: int) -> None:
            await asyncio.sleep(n * spacing)
            await conversation.respond(_event(n, day), adapter)

        began = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(count)))
        seconds = time.perf_counter() - began
        posted = sum(1 for kind, _, _ in adapter.calls if kind == "digest")
        return posted, seconds
    finally:
        await core.aclose()


def _measure(
    name: str,
    fakes: tuple[FakeGitHub, FakeOpenAI, LLMRecorder],
    workdir: Path,
    count: int,
    spacing: float,
) -> Run:
    github, llm, recorder = fakes
    github.reset_requests()
    recorder.reset()
    data_dir = workdir / name.replace(" ", "-")
    data_dir.mkdir()
    posted, seconds = asyncio.run(_commands(github, llm, data_dir, count, spacing))
    calls = recorder.snapshot()
    return Run(
        name=name,
        commands=count,
        github=github_counts(github),
        llm_calls=len(calls),
        overview_calls=sum(1 for c in calls if c.kind == "overview"),
        digests=posted,
        seconds=seconds,
    )


def run(options: Options) -> list[Run]:
    scenario = Scenario(REPO, BASE_DAY, busy_day(options.commits, seed=options.seed))
    recorder = LLMRecorder()
    with (
        FakeGitHub(latency=options.github_latency) as github,
        FakeOpenAI(
            latency=options.llm_latency, default=recorder, token_counter=recorder.counter.count
        ) as llm,
        tempfile.TemporaryDirectory(prefix="digestbot-concurrent-") as tmp,
    ):
        load(github, scenario)
        fakes = (github, llm, recorder)
        workdir = Path(tmp)
        n, gap = options.commands, options.spacing_ms / 1000
        return [
            _measure("one command (the ideal)", fakes, workdir, 1, 0.0),
            _measure(f"{n} at once", fakes, workdir, n, 0.0),
            _measure(f"{n}, {options.spacing_ms:g} ms apart", fakes, workdir, n, gap),
            _measure(
                f"{n}, {options.late_spacing_ms:g} ms apart",
                fakes,
                workdir,
                n,
                options.late_spacing_ms / 1000,
            ),
        ]


def _github(counts: GitHubCounts) -> str:
    return (
        f"{counts.total} ({counts.list_pages} list, {counts.details} detail, {counts.pulls} pulls)"
    )


def table(runs: Sequence[Run]) -> str:
    ideal = runs[0]
    rows = [
        "| run | commands | digests posted | GitHub requests | LLM calls | vs ideal | wall s |",
        "|---|---:|---:|---|---:|---|---:|",
    ]
    for r in runs:
        verdict = (
            "= ideal"
            if (r.github.total, r.llm_calls) == (ideal.github.total, ideal.llm_calls)
            else f"GitHub {r.github.total / ideal.github.total:.2f}×, "
            f"LLM {r.llm_calls / max(ideal.llm_calls, 1):.2f}×"
        )
        rows.append(
            f"| {r.name} | {r.commands} | {r.digests} | {_github(r.github)} | "
            f"{r.llm_calls} ({r.overview_calls} overview) | {verdict} | {r.seconds:.2f} |"
        )
    return "\n".join(rows)


def _machine() -> str:
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    load = uptime.strip().rsplit("load average:", 1)[-1].strip() if uptime else "?"
    return (
        f"{os.cpu_count()} cores (`nproc`), {platform.processor() or platform.machine()}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}; "
        f"load average before the run {load}"
    )


def section(runs: Sequence[Run], options: Options, started: datetime, machine: str) -> str:
    ideal = runs[0]
    return (
        f"## {SECTION}\n\n"
        "Written by `python -m benchmarks.concurrent_commands --write`; re-run and compare.\n\n"
        f"- date: {started:%Y-%m-%d %H:%M} UTC\n"
        f"- machine: {machine}\n"
        f"- settings: one busy day of {options.commits} commits (seed {options.seed}; bot "
        f"commits left out by the default filters), GitHub latency "
        f"{options.github_latency:g} s/request, LLM latency {options.llm_latency:g} s/call, "
        "default concurrency (8 and 8), triage `short`\n\n"
        f"{table(runs)}\n\n"
        f"The ideal is what one digest of the day needs: {ideal.github.total} GitHub requests "
        f"(one list page, then each kept commit's detail and pull-request lookup) and "
        f"{ideal.llm_calls} LLM calls (one per kept commit, one overview). Before single-flight "
        "covered the commit list, the overview and whole digests, and before each fetch and "
        "analysis was stored as it finished, the issue measured 50 commands 50 ms apart at "
        "GitHub 90 requests (41 needed) and LLM 90 calls (21 needed). Commands that arrive "
        "after a digest is finished list the window again (one request: new commits may have "
        "landed) and take everything else from the store: the last row's extra requests are "
        "those lists.\n"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.concurrent_commands",
        description=(__doc__ or "").splitlines()[0],
    )
    parser.add_argument("--commands", type=int, default=50)
    parser.add_argument("--spacing-ms", type=float, default=50.0)
    parser.add_argument("--late-spacing-ms", type=float, default=200.0)
    parser.add_argument("--commits", type=int, default=24, help="commits on the day")
    parser.add_argument("--github-latency", type=float, default=0.1, metavar="S")
    parser.add_argument("--llm-latency", type=float, default=1.0, metavar="S")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--write", action="store_true", help="write the benchmarks/README.md section"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    options = Options(
        commands=args.commands,
        spacing_ms=args.spacing_ms,
        late_spacing_ms=args.late_spacing_ms,
        commits=args.commits,
        github_latency=args.github_latency,
        llm_latency=args.llm_latency,
        seed=args.seed,
    )
    machine = _machine()
    started = datetime.now(UTC)
    runs = run(options)
    print(table(runs))
    if args.write:
        text = section(runs, options, started, machine)
        print(f"wrote {write_section(SECTION, text, README)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
