"""Metrics: a digest run through the real core (fake GitHub, fake OpenAI) moves the right
counters; the GitHub hook counts every response; labels stay bounded."""

from __future__ import annotations

import json
import math
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.errors import (
    AccessDeniedError,
    MissingAccessError,
    PlatformError,
    RateLimitedError,
    SourceUnavailableError,
)
from bot.metrics import NO_METRICS, Metrics, delivery_failure_reason
from bot.models import Digest
from bot.repos import RepoTarget
from bot.service import DigestRequest
from bot.sources.github import GitHubSource
from bot.windows import parse_window
from digestbot.wiring import Core, build_core
from tests.fakes.github_server import FakeFile, FakeGitHub
from tests.fakes.openai_server import FakeOpenAI, Scripted, sample_analysis, valid

REPO = "acme/widget"
NOW = datetime(2026, 2, 9, 12, 0, tzinfo=UTC)
TOKEN = "ghp_metricsmetricsmetricsmetrics00"
KEY = "sk-metrics-0123456789abcdefghij"


def answer(body: dict[str, Any]) -> Scripted:
    if '"overview"' in json.dumps(body.get("response_format") or body["messages"][0]["content"]):
        return valid({"overview": "A quiet day."})
    return valid(sample_analysis(importance="medium"), prompt_tokens=120, completion_tokens=30)


@dataclass
class World:
    github: FakeGitHub
    llm: FakeOpenAI
    core: Core

    @property
    def metrics(self) -> Metrics:
        return self.core.metrics

    async def digest(self, *, use_cache: bool = True) -> Digest:
        repo = self.core.resolver.resolve(REPO)
        window = parse_window("2026-02-08", "UTC", NOW)
        return await self.core.service.build_digest(
            repo, window, DigestRequest(use_cache=use_cache)
        )


async def _world(tmp_path: Path, **settings: Any) -> AsyncIterator[World]:
    with FakeGitHub() as github, FakeOpenAI(default=answer) as llm:
        github.add_repo(REPO)
        for hour in (9, 11, 15):
            github.add_commit(
                REPO,
                f"fix(core): change {hour}",
                committed_at=datetime(2026, 2, 8, hour, tzinfo=UTC),
                files=[FakeFile(f"src/core/m{hour}.py", "modified", 5, 1, "@@ -1 +1 @@\n+x")],
            )
        values: dict[str, Any] = {
            "github_api_url": github.url,
            "github_token": TOKEN,
            "github_concurrency": 1,  # one response at a time: the gauge is deterministic
            "openai_api_key": KEY,
            "openai_base_url": llm.base_url,
            "llm_model": "fake-model",
            "llm_triage": "off",
            "llm_max_retries": 0,
            "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}",
            **settings,
        }
        core = build_core(Settings(_env_file=None, **values), clock=lambda: NOW)  # type: ignore[call-arg]
        try:
            yield World(github, llm, core)
        finally:
            await core.aclose()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for w in _world(tmp_path):
        yield w


def lookups(metrics: Metrics, cache: str, result: str) -> float:
    return metrics.value("digestbot_cache_lookups_total", {"cache": cache, "result": result})


async def test_cold_run_misses_warm_run_hits(world: World) -> None:
    m = world.metrics
    assert math.isnan(m.cache_hit_ratio("commit"))
    cold = await world.digest()
    assert cold.stats.total == 3
    assert lookups(m, "commit", "miss") == 3 and lookups(m, "commit", "hit") == 0
    assert lookups(m, "analysis", "miss") == 3 and lookups(m, "analysis", "hit") == 0
    assert m.value("digestbot_digests_built_total", {"repo": REPO, "analyzer": "llm"}) == 1

    warm = await world.digest()
    assert warm.stats.total == 3
    assert lookups(m, "commit", "hit") == 3 and lookups(m, "commit", "miss") == 3
    assert lookups(m, "analysis", "hit") == 3 and lookups(m, "analysis", "miss") == 3
    assert m.cache_hit_ratio("commit") == 0.5
    assert m.value("digestbot_cache_hit_ratio", {"cache": "analysis"}) == 0.5
    assert m.value("digestbot_digests_built_total", {"repo": REPO, "analyzer": "llm"}) == 2

    await world.digest(use_cache=False)  # a bypass is neither a hit nor a miss
    assert lookups(m, "commit", "hit") + lookups(m, "commit", "miss") == 6


async def test_llm_tokens_equal_the_digest_provenance(world: World) -> None:
    m = world.metrics
    digest = await world.digest()
    prov = digest.provenance
    assert prov.prompt_tokens == 3 * 120 and prov.completion_tokens == 3 * 30
    assert m.value("digestbot_llm_tokens_total", {"kind": "prompt"}) == prov.prompt_tokens
    assert m.value("digestbot_llm_tokens_total", {"kind": "completion"}) == prov.completion_tokens
    assert m.value("digestbot_llm_analyses_total", {"outcome": "ok"}) == prov.llm_analyses == 3
    await world.digest()  # cached: no new tokens
    assert m.value("digestbot_llm_tokens_total", {"kind": "prompt"}) == prov.prompt_tokens


async def test_llm_outage_counts_fallbacks(tmp_path: Path) -> None:
    async for world in _world(tmp_path):
        world.llm.default = None  # every request answers HTTP 500
        digest = await world.digest()
        m = world.metrics
        assert digest.provenance.fallbacks == 3
        assert m.value("digestbot_llm_analyses_total", {"outcome": "fallback"}) == 3
        assert m.value("digestbot_llm_analyses_total", {"outcome": "ok"}) == 0
        assert (
            m.value("digestbot_digests_built_total", {"repo": REPO, "analyzer": "heuristic"}) == 1
        )


async def test_github_requests_and_remaining_rate_limit(world: World) -> None:
    await world.digest()
    m = world.metrics
    sent = len(world.github.requests)
    assert sent >= 4  # the list and one detail per commit (plus their pull requests)
    assert m.value("digestbot_github_requests_total", {"status": "200"}) == sent
    assert m.value("digestbot_github_rate_limit_remaining") == world.github.remaining
    assert m.value("digestbot_github_rate_limit_reset_timestamp_seconds") > NOW.timestamp()


async def test_github_errors_are_counted_by_status(tmp_path: Path) -> None:
    metrics = Metrics()
    with FakeGitHub() as github:
        github.add_repo(REPO)
        github.fail_next("401")
        source = GitHubSource.create(github.url, TOKEN, observer=metrics)
        window = parse_window("2026-02-08", "UTC", NOW)
        with pytest.raises(AccessDeniedError):
            await source.list_commits(RepoTarget(kind="github", name=REPO), window)
        await source.aclose()
    assert metrics.value("digestbot_github_requests_total", {"status": "401"}) == 1
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def no_sleep(seconds: float) -> None:
        return None

    source = GitHubSource.create(f"http://127.0.0.1:{port}", None, observer=metrics, sleep=no_sleep)
    with pytest.raises(SourceUnavailableError):
        await source.list_commits(RepoTarget(kind="github", name=REPO), window)
    await source.aclose()
    assert metrics.value("digestbot_github_requests_total", {"status": "error"}) == 3  # 3 tries


def test_delivery_failures_have_bounded_reasons() -> None:
    assert delivery_failure_reason(None) == "internal"
    assert delivery_failure_reason(ValueError("x")) == "internal"
    missing = MissingAccessError("no", platform="discord", channel_id="1")
    assert delivery_failure_reason(missing) == "missing_access"
    assert delivery_failure_reason(PlatformError("x")) == "platform"
    assert delivery_failure_reason(RateLimitedError("GitHub", None)) == "rate_limited"
    assert delivery_failure_reason(TimeoutError()) == "timeout"
    m = Metrics()
    m.delivery_failed("platform")
    m.delivery_failed("Slack said channel_not_found for C123")  # free text never becomes a label
    assert m.value("digestbot_deliveries_failed_total", {"reason": "platform"}) == 1
    assert m.value("digestbot_deliveries_failed_total", {"reason": "other"}) == 1


def test_command_latency_uses_the_injected_clock_and_renders() -> None:
    ticks = iter([10.0, 12.5])
    m = Metrics(clock=lambda: next(ticks))
    started = m.now()
    m.command_finished("slack", "digest", started)
    m.digest_posted("slack")
    labels = {"platform": "slack", "command": "digest"}
    assert m.value("digestbot_command_duration_seconds_sum", labels) == 2.5
    assert m.value("digestbot_command_duration_seconds_bucket", {**labels, "le": "2.5"}) == 1
    assert m.value("digestbot_command_duration_seconds_bucket", {**labels, "le": "1.0"}) == 0
    body, content_type = m.render()
    assert content_type.startswith("text/plain")
    assert b'digestbot_digests_posted_total{platform="slack"} 1.0' in body


def test_registries_are_separate_and_the_null_object_does_nothing() -> None:
    a, b = Metrics(), Metrics()
    a.digest_posted("slack")
    assert b.value("digestbot_digests_posted_total", {"platform": "slack"}) == 0
    NO_METRICS.digest_posted("slack")
    NO_METRICS.cache_lookups("commit", hits=1, misses=1)
    assert a.value("digestbot_digests_posted_total", {"platform": "slack"}) == 1
