"""Measurement: one child process per run, request counts from the fakes, LLM usage, peak RSS.

The fake servers live in the parent process; each measured run (our digest, the naive script,
the renderers, the Slack ack benchmark) runs in a fresh child (`python -m benchmarks.measure`,
a JSON job on stdin, one JSON line of figures on stdout), so runs do not share caches, pools or
heap, and the child's peak RSS (VmHWM from /proc/self/status) is its own and nothing else's —
the fakes' in-memory repositories are not counted against digestbot. Wall times are taken in
the child around the work only (imports excluded: they are the same for every run).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.fakes.github_server import FakeGitHub

ROOT = Path(__file__).resolve().parents[1]
_PRELOAD = (
    "openai.resources.chat",
    "benchmarks.naive",
    "bot.analysis.llm_factory",
    "digestbot.wiring",
    "formatters.markdown",
    "handlers.registry",
)
_RESULT_PREFIX = "BENCH-RESULT "


# -- parent side: what the fakes saw ----------------------------------------------------------


@dataclass(frozen=True)
class GitHubCounts:
    """Requests the fake GitHub recorded, by kind."""

    total: int = 0
    list_pages: int = 0
    details: int = 0  # commit detail pages (a 3,000-file commit takes 10)
    pulls: int = 0
    other: int = 0

    @property
    def only_list(self) -> bool:
        return self.total == self.list_pages

    def text(self) -> str:
        """`45 (1 list, 22 detail, 22 pulls)`, for the tables."""
        parts = [f"{self.list_pages:,} list"]
        parts += [
            f"{count:,} {kind}"
            for count, kind in (
                (self.details, "detail"),
                (self.pulls, "pulls"),
                (self.other, "other"),
            )
            if count
        ]
        return f"{self.total:,} ({', '.join(parts)})"


def github_counts(fake: FakeGitHub) -> GitHubCounts:
    kinds = {"list": 0, "detail": 0, "pulls": 0, "other": 0}
    for request in list(fake.requests):
        parts = request.path.strip("/").split("/")
        if parts[:1] == ["repos"] and parts[3:] == ["commits"]:
            kinds["list"] += 1
        elif parts[:1] == ["repos"] and len(parts) == 5 and parts[3] == "commits":
            kinds["detail"] += 1
        elif parts[:1] == ["repos"] and len(parts) == 6 and parts[5] == "pulls":
            kinds["pulls"] += 1
        else:
            kinds["other"] += 1
    return GitHubCounts(
        total=sum(kinds.values()),
        list_pages=kinds["list"],
        details=kinds["detail"],
        pulls=kinds["pulls"],
        other=kinds["other"],
    )


# -- parent side: running a child -------------------------------------------------------------


class ChildFailed(RuntimeError):
    pass


def run_child(job: dict[str, Any], *, timeout: float = 900.0) -> dict[str, Any]:
    """Run `job` in a fresh interpreter; returns its figures plus peak_rss_mb and base_rss_mb."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.measure"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(_RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(_RESULT_PREFIX) :])
            return result
    raise ChildFailed(
        f"benchmark child {job.get('kind')} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    )


# -- child side ---------------------------------------------------------------------------------


def rss_mb(field_name: str = "VmHWM") -> float:
    """This process's peak (VmHWM) or current (VmRSS) resident set, in MB, from /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KB


async def _digest_job(job: dict[str, Any]) -> dict[str, Any]:
    from pydantic import SecretStr

    from bot.config import Settings
    from bot.models import Window
    from bot.service import DigestRequest
    from digestbot.wiring import build_core
    from formatters.markdown import render_markdown

    data_dir = Path(job["data_dir"])
    config = data_dir / "digestbot.toml"
    config.write_text("")  # the built-in defaults: bots and merges are left out
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        github_api_url=job["github_url"],
        github_token=SecretStr("bench-token"),
        github_concurrency=job["github_concurrency"],
        openai_api_key=SecretStr("sk-bench"),
        openai_base_url=job["openai_url"],
        llm_model="bench-model",
        llm_concurrency=job["concurrency"],
        llm_triage=job.get("triage", "short"),
        database_url=f"sqlite:///{data_dir / 'digestbot.db'}",
        digestbot_data_dir=data_dir,
    )
    window = Window(
        start=datetime.fromisoformat(job["start"]),
        end=datetime.fromisoformat(job["end"]),
        tz="UTC",
        label="bench",
    )
    started = time.perf_counter()
    core = build_core(settings, config_file=config)
    try:
        repo = core.resolver.resolve(job["repo"])
        request = DigestRequest(language="en", commit_filter=core.commit_filter(repo))
        digest = await core.service.build_digest(repo, window, request)
        markdown = render_markdown(digest)
        seconds = time.perf_counter() - started
    finally:
        await core.aclose()
    provs = [item.analysis.provenance for item in digest.items]
    return {
        "seconds": seconds,
        "items": len(digest.items),
        "excluded": digest.provenance.excluded_commits,
        "high": digest.stats.high,
        "medium": digest.stats.medium,
        "low": digest.stats.low,
        "prompt_tokens": digest.provenance.prompt_tokens,
        "completion_tokens": digest.provenance.completion_tokens,
        "max_commit_prompt_tokens": max((p.prompt_tokens for p in provs), default=0),
        "budget": settings.llm_input_token_budget,
        # Deep reads (high commits, changed public surface) may use up to this per call.
        "deep_budget": max(settings.llm_deep_input_token_budget, settings.llm_input_token_budget),
        "triaged": sum(p.triaged for p in provs),
        "fallbacks": digest.provenance.fallbacks,
        "partial": digest.provenance.partial_analyses,
        "markdown_chars": len(markdown),
    }


def _naive_job(job: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.naive import run_naive

    result = run_naive(
        github_url=job["github_url"],
        openai_url=job["openai_url"],
        repo=job["repo"],
        since=datetime.fromisoformat(job["start"]),
        until=datetime.fromisoformat(job["end"]),
    )
    return {
        "seconds": result.seconds,
        "items": result.commits,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "max_commit_prompt_tokens": result.max_prompt_tokens,
        "markdown_chars": len(result.markdown),
    }


def _render_job(job: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.fake_model import synthetic_digest
    from formatters.markdown import render_markdown
    from handlers.registry import platform_named

    digest = synthetic_digest(job["commits"], seed=job["seed"])
    formats: dict[str, dict[str, float]] = {}
    started = time.perf_counter()
    text = render_markdown(digest)
    formats["markdown"] = {
        "seconds": time.perf_counter() - started,
        "messages": 1,
        "bytes": len(text.encode()),
    }
    for fmt in ("slack", "feishu", "discord"):
        started = time.perf_counter()
        payloads = platform_named(fmt).render_digest(digest)
        seconds = time.perf_counter() - started
        size = sum(len(json.dumps(p, ensure_ascii=False).encode()) for p in payloads)
        formats[fmt] = {"seconds": seconds, "messages": len(payloads), "bytes": size}
    return {"items": len(digest.items), "formats": formats}


async def _slack_job(job: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.slack_ack import run

    with tempfile.TemporaryDirectory(prefix="digestbot-bench-ack-") as tmp:
        result = await run(
            Path(tmp),
            commands=job["commands"],
            channels=job["channels"],
            interval=job["interval"],
            commits=job["commits"],
        )
    ms = sorted(x * 1000 for x in result.latencies)
    return {
        "seconds": result.wall,
        "commands": result.commands,
        "p50_ms": result.percentile(50) * 1000,
        "p99_ms": result.percentile(99) * 1000,
        "max_ms": ms[-1] if ms else 0.0,
        "mean_ms": statistics.fmean(ms) if ms else 0.0,
        "digests_posted": result.digests_posted,
        "acks_while_building": result.building_while_acking,
    }


def child_main() -> int:
    job = json.loads(sys.stdin.read())
    kind = job["kind"]
    # Import everything the job needs before the clock starts (imports are per process, not
    # per digest, and the same for both ways); `openai.resources.chat` is what the SDK imports
    # lazily on the first `client.chat` (0.6 s here). The peak RSS includes all of it.
    for module in _PRELOAD:
        importlib.import_module(module)

    base = rss_mb("VmRSS")
    if kind == "digest":
        figures = asyncio.run(_digest_job(job))
    elif kind == "naive":
        figures = _naive_job(job)
    elif kind == "render":
        figures = _render_job(job)
    elif kind == "slack_ack":
        figures = asyncio.run(_slack_job(job))
    else:
        raise SystemExit(f"unknown job kind {kind!r}")
    figures["peak_rss_mb"] = rss_mb("VmHWM")
    figures["base_rss_mb"] = base
    figures["pid"] = os.getpid()
    figures["finished_at"] = datetime.now(UTC).isoformat()
    print(_RESULT_PREFIX + json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(child_main())
