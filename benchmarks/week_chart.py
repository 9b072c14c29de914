"""`python -m benchmarks.week_chart`: the week chart's render time (PNG, SVG) and file sizes."""

from __future__ import annotations

import argparse
import functools
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.models import (
    AnalysisProvenance,
    ChangeType,
    CommitAnalysis,
    CommitSummary,
    Digest,
    DigestItem,
    DigestProvenance,
    DigestStats,
    Importance,
    Window,
)
from formatters.week_chart import render_week_chart, week_summary

REPO = "sgl-project/sglang"
TZ = "Asia/Shanghai"
START = datetime(2026, 2, 2, tzinfo=ZoneInfo(TZ))  # a Monday
AREAS = (
    "python/sglang",
    "sgl-kernel/csrc",
    "python/sglang/srt",
    "test/srt",
    "docs/backend",
    "benchmark/kernels",
    "sgl-router/src",
    "(root)",
    "scripts/ci",
    "docker",
    "examples/runtime",
    "3rdparty/amd",
)
WORDS = ("fix", "add", "refactor", "kernel", "cache", "attention", "moe", "fp8", "scheduler")


def week_digest(commits: int, *, language: str = "en", seed: int = 7) -> Digest:
    """A week of `commits` commits spread over seven local days: about 10 % high, 35 %
    medium; each touching one to three areas; titles of up to ~80 characters."""
    rng = random.Random(seed)
    items = []
    counts = dict.fromkeys(Importance, 0)
    for index in range(commits):
        sha = f"{index:07x}" + "".join(rng.choice("0123456789abcdef") for _ in range(33))
        roll = rng.random()
        importance = (
            Importance.HIGH if roll < 0.1 else Importance.MEDIUM if roll < 0.45 else Importance.LOW
        )
        counts[importance] += 1
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
        items.append(
            DigestItem(
                commit=CommitSummary(
                    repo=REPO,
                    sha=sha,
                    title=title,
                    author="dev",
                    committed_at=START + timedelta(seconds=rng.randrange(7 * 86_400)),
                    url=f"https://github.com/{REPO}/commit/{sha}",
                ),
                analysis=CommitAnalysis(
                    sha=sha,
                    change_type=ChangeType.FIX,
                    importance=importance,
                    summary=title,
                    provenance=AnalysisProvenance(analyzer="heuristic"),
                ),
                areas=tuple(rng.sample(AREAS, rng.randint(1, 3))),
            )
        )
    return Digest(
        repo=REPO,
        window=Window(start=START, end=START + timedelta(days=7), tz=TZ, label="7d"),
        language="zh" if language == "zh" else "en",
        items=tuple(items),
        stats=DigestStats(
            total=commits,
            high=counts[Importance.HIGH],
            medium=counts[Importance.MEDIUM],
            low=counts[Importance.LOW],
        ),
        provenance=DigestProvenance(generated_at=START + timedelta(days=7)),
    )


def _median_ms(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds (CPU time is what a loaded machine distorts least)."""
    wall, cpu = [], []
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        run()
        cpu.append((time.process_time() - began_cpu) * 1000)
        wall.append((time.perf_counter() - began) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=10, help="renders per median (10)")
    args = parser.parse_args(argv)
    # The first render pays for importing matplotlib and loading fonts: timed apart.
    began = time.perf_counter()
    render_week_chart(week_summary(week_digest(10)), fmt="png")
    first_ms = (time.perf_counter() - began) * 1000
    rows = []
    for commits in (200, 1400):
        digest = week_digest(commits)
        summary_ms, _ = _median_ms(functools.partial(week_summary, digest), args.repeat)
        summary = week_summary(digest)
        formats: tuple[Literal["png", "svg"], ...] = ("png", "svg")
        for fmt in formats:
            wall, cpu = _median_ms(
                functools.partial(render_week_chart, summary, fmt=fmt), args.repeat
            )
            size = len(render_week_chart(summary, fmt=fmt).data)
            rows.append((commits, fmt, summary_ms, wall, cpu, size))
    print(
        f"Week chart, median of {args.repeat} ({platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs); first render in a process "
        f"(imports, fonts): {first_ms:.0f} ms; load average {os.getloadavg()[0]:.1f}\n"
    )
    print("| commits | format | summary (ms) | render wall (ms) | render CPU (ms) | size (KB) |")
    print("|---:|---|---:|---:|---:|---:|")
    for commits, fmt, summary_ms, wall, cpu, size in rows:
        print(
            f"| {commits:,} | {fmt.upper()} | {summary_ms:.1f} | {wall:.0f} | {cpu:.0f} "
            f"| {size / 1024:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
