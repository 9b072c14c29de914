"""Benchmark (not a test): a 50-commit synthetic day through LLMAnalyzer against the fake server.

Prints LLM calls, input/output tokens with and without triage, and wall times at concurrency
1 and 8 with a fixed 0.5 s latency per call. Run: `python benchmarks/llm_concurrency.py`.
Token figures are the fake's usage, counted with the analyzer's own counter (the calibrated
estimate unless a tiktoken encoding is on disk), so they are what the budget logic saw.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.analysis.base import AnalysisContext
from bot.analysis.heuristic import HeuristicAnalyzer
from bot.analysis.llm import LLMAnalyzer, TriageMode, confident_trivial
from bot.analysis.llm_client import OpenAIClient
from bot.analysis.tokens import default_counter
from bot.models import Commit, FileChange, PullRequest
from tests.fakes.openai_server import FakeOpenAI, Scripted, sample_analysis

LATENCY = 0.5
DAY = datetime(2026, 2, 8, tzinfo=UTC)


def _hunks(rng: random.Random, lines: int, ext: str) -> str:
    comment = "#" if ext == "py" else "//"
    out: list[str] = []
    left = lines
    while left > 0:
        size = min(left, rng.randint(4, 40))
        body = []
        for i in range(size):
            sign = "+" if rng.random() < 0.65 else "-"
            indent = " " * rng.choice((4, 8, 12))
            body.append(
                f"{sign}{indent}result_{i} = self.{rng.choice(['cache', 'runner', 'sched'])}"
                f".apply(batch, scale={rng.random():.3f})  {comment} step {i}"
            )
        out.append(
            f"@@ -{rng.randint(1, 900)},{size} +{rng.randint(1, 900)},{size} @@\n" + "\n".join(body)
        )
        left -= size
    return "\n".join(out)


def _files(
    rng: random.Random, count: int, lines: int, prefix: str, ext: str
) -> tuple[FileChange, ...]:
    files = []
    for i in range(count):
        per = max(1, lines // count)
        files.append(
            FileChange(
                path=f"{prefix}/module_{i}.{ext}",
                additions=int(per * 0.65),
                deletions=per - int(per * 0.65),
                patch=_hunks(rng, per, ext),
            )
        )
    return tuple(files)


# (commits, author, title, files, changed lines, directory, extension, body): a busy sglang day.
_SPECS: tuple[tuple[int, str, str, tuple[int, int], tuple[int, int], str, str, str], ...] = (
    (
        14,
        "Makcum888e",
        "[diffusion] feat: support sequence shard variant {i}",
        (2, 8),
        (80, 600),
        "python/sglang/srt/layers",
        "py",
        "Adds a new code path.\n" * 5,
    ),
    (
        12,
        "debo3",
        "fix: wrong k_scale on BF16 KV cache path {i}",
        (1, 3),
        (10, 120),
        "python/sglang/srt/model_executor",
        "py",
        "Fixes a crash when the cache is bf16.",
    ),
    (
        4,
        "Mick",
        "[diffusion] refactor: group loaders under component_loaders/ ({i})",
        (40, 160),
        (1500, 6000),
        "python/sglang/multimodal_gen/runtime/loader",
        "py",
        "Moves files.",
    ),
    (
        3,
        "Yi Zhong",
        "test: add NPU regression tests {i}",
        (1, 4),
        (40, 300),
        "test/srt",
        "py",
        "More tests.",
    ),
    (7, "writer", "docs: update the guide, part {i}", (1, 3), (5, 80), "docs/guide", "md", ""),
    (
        5,
        "shuwenn",
        "[CI] fix: notebook CI gate {i}",
        (1, 1),
        (5, 40),
        ".github/workflows",
        "yml",
        "",
    ),
    (
        2,
        "dependabot[bot]",
        "build(deps): bump actions/checkout from 4 to 5 ({i})",
        (2, 2),
        (4, 4),
        ".github/workflows",
        "yml",
        "Bumps actions/checkout.",
    ),
)
_VERSION_BUMP = '@@ -1 +1 @@\n-version = "0.5.0"\n+version = "0.5.1"'


def synthetic_day(seed: int = 7) -> list[Commit]:
    """50 commits shaped like a busy sglang day: features and fixes in core code, a few large
    refactors, and the usual docs/CI/version-bump/bot commits (about a third)."""
    rng = random.Random(seed)
    plan: list[tuple[str, str, tuple[FileChange, ...], str]] = []
    for count, author, title, n_files, n_lines, prefix, ext, body in _SPECS:
        for i in range(count):
            files = _files(rng, rng.randint(*n_files), rng.randint(*n_lines), prefix, ext)
            plan.append((author, title.format(i=i), files, body))
    for i in range(3):
        bump = FileChange(
            path="python/pyproject.toml", additions=1, deletions=1, patch=_VERSION_BUMP
        )
        plan.append(("github-actions[bot]", f"chore: bump version to 0.5.{i + 1}", (bump,), ""))
    assert len(plan) == 50
    commits = []
    for n, (author, title, files, body) in enumerate(plan):
        sha = f"{rng.getrandbits(160):040x}"
        commits.append(
            Commit(
                repo="sgl-project/sglang",
                sha=sha,
                title=f"{title} (#{18000 + n})",
                message=f"{title} (#{18000 + n})\n\n{body}",
                author=author,
                committed_at=DAY + timedelta(minutes=17 * n),
                files=files,
                additions=sum(f.additions for f in files),
                deletions=sum(f.deletions for f in files),
                pr=PullRequest(number=18000 + n, title=title, body=body * 3, labels=("run-ci",)),
            )
        )
    return commits


def _reply(body: dict[str, Any]) -> Scripted:
    """A realistic reply: full analyses are longer than the triaged one-liners."""
    short = "patch is not included" in body["messages"][0]["content"]
    if short:
        payload = sample_analysis(
            change_type="docs", importance="low", summary="更新文档中的安装说明。"
        )
        payload["insights"] = dict.fromkeys(payload["insights"])
    else:
        sentence = "该提交调整了 `python/sglang/srt` 中的执行路径，并保持对现有后端的兼容。"
        payload = sample_analysis(
            importance="medium",
            summary=sentence * 3,
            insights=dict.fromkeys(
                (
                    "architecture",
                    "performance",
                    "security",
                    "maintainability",
                    "compatibility",
                    "testing",
                ),
                sentence,
            ),
            risks=[sentence] * 3,
            recommendations=[sentence] * 3,
        )
    return Scripted(content=json.dumps(payload, ensure_ascii=False))


@dataclass
class Run:
    label: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    triaged: int
    fallbacks: int
    seconds: float


async def run(commits: list[Commit], *, concurrency: int, triage_mode: TriageMode) -> Run:
    counter = default_counter()
    with FakeOpenAI(latency=LATENCY, default=_reply, token_counter=counter.count) as fake:
        client = OpenAIClient.create(
            api_key="sk-bench", model="bench-model", base_url=fake.base_url
        )
        heuristic = HeuristicAnalyzer()
        analyzer = LLMAnalyzer(
            client,
            fallback=heuristic,
            concurrency=concurrency,
            triage=confident_trivial(heuristic.classify),
            triage_mode=triage_mode,
            counter=counter,
        )
        context = AnalysisContext(language="zh")
        start = time.perf_counter()
        results = await asyncio.gather(*(analyzer.analyze(c, context) for c in commits))
        seconds = time.perf_counter() - start
        await client.aclose()
        return Run(
            label=f"triage={triage_mode:<9} concurrency={concurrency}",
            calls=len(fake.requests),
            prompt_tokens=sum(r.provenance.prompt_tokens for r in results),
            completion_tokens=sum(r.provenance.completion_tokens for r in results),
            triaged=sum(r.provenance.triaged for r in results),
            fallbacks=sum(r.provenance.fallback_reason is not None for r in results),
            seconds=seconds,
        )


async def main() -> None:
    commits = synthetic_day()
    patch_chars = sum(len(f.patch or "") for c in commits for f in c.files)
    files = sum(len(c.files) for c in commits)
    print(
        f"synthetic day: {len(commits)} commits, {files} files, {patch_chars / 1e6:.2f} MB of "
        f"patch; fake latency {LATENCY}s; counter {default_counter().name}"
    )
    runs = [
        await run(commits, concurrency=8, triage_mode="off"),
        await run(commits, concurrency=8, triage_mode="short"),
        await run(commits, concurrency=8, triage_mode="heuristic"),
        await run(commits, concurrency=1, triage_mode="off"),
        await run(commits, concurrency=1, triage_mode="short"),
    ]
    columns = ("calls", 6), ("input tok", 11), ("output tok", 12), ("triaged", 9), ("wall s", 8)
    print(f"{'run':<34}" + "".join(f"{name:>{width}}" for name, width in columns))
    for r in runs:
        print(
            f"{r.label:<34}{r.calls:>6}{r.prompt_tokens:>11}{r.completion_tokens:>12}"
            f"{r.triaged:>9}{r.seconds:>8.2f}"
            + (f"  ({r.fallbacks} fallbacks)" if r.fallbacks else "")
        )
    base = runs[0]
    for r in runs[1:3]:
        saved = base.prompt_tokens + base.completion_tokens - r.prompt_tokens - r.completion_tokens
        share = saved / (base.prompt_tokens + base.completion_tokens)
        print(f"{r.label.split()[0]}: saves {saved} tokens ({share:.0%}) vs triage=off")
    ideal = -(-len(commits) // 8) * LATENCY
    serial = len(commits) * LATENCY
    print(f"ideal at concurrency 8: ceil(50/8) x {LATENCY}s = {ideal:.1f}s; at 1: {serial:.1f}s")


if __name__ == "__main__":
    asyncio.run(main())
