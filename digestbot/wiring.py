"""The wiring: every dependency built once from settings, and handed down as ports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.analysis.base import Analyzer
from bot.analysis.heuristic import HeuristicAnalyzer
from bot.config import AppConfig, OnDemandConfig, Settings, load_app_config, on_demand_caps
from bot.costs import CommandCaps, RequestBudget
from bot.filters import CommitFilter
from bot.metrics import Metrics
from bot.models import Language
from bot.repos import RepoResolver, RepoTarget
from bot.service import DigestService
from bot.sources.base import CommitSource
from bot.sources.git import GitSource
from bot.sources.lazy import LazySource
from bot.storage.sql import SqlStore

if TYPE_CHECKING:  # openai loads only when a key is set (build_llm_client)
    from bot.analysis.llm_client import LLMClient

DEFAULT_CONFIG_NAME = "digestbot.toml"
Closer = Callable[[], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Core:
    """Everything the entry points (CLI, chat adapters, scheduler) share."""

    settings: Settings
    config: AppConfig
    store: SqlStore
    resolver: RepoResolver
    service: DigestService
    sources: dict[str, CommitSource]
    clock: Callable[[], datetime]
    llm_client: LLMClient | None = None  # the one client; the analyzer and answerer share it
    metrics: Metrics = field(default_factory=Metrics)  # served on GET /metrics by `serve`
    closers: list[Closer] = field(default_factory=list)

    def on_demand(self) -> OnDemandConfig:
        return on_demand_caps(self.settings, self.config)

    def command_caps(self) -> CommandCaps:
        """The caps of a chat command by someone who is not an admin (0 in config: none)."""
        table = self.on_demand()
        return CommandCaps(
            max_commits=table.max_commits or None, max_llm_calls=table.max_llm_calls or None
        )

    def default_timezone(self) -> str:
        return self.settings.digestbot_tz or self.config.defaults.timezone

    def default_language(self) -> Language:
        return self.settings.digestbot_lang or self.config.defaults.language

    def explicit_language(self) -> Language | None:
        """The language chosen on purpose (DIGESTBOT_LANG, or `[defaults] language` written in
        the config file); None lets a platform use its own default (Feishu: Chinese)."""
        if self.settings.digestbot_lang is not None:
            return self.settings.digestbot_lang
        if "language" in self.config.defaults.model_fields_set:
            return self.config.defaults.language
        return None

    def commit_filter(self, repo: RepoTarget) -> CommitFilter:
        defaults = self.config.defaults
        return CommitFilter(
            exclude_authors=defaults.exclude_authors + repo.exclude_authors,
            exclude_merges=defaults.exclude_merges,
            exclude_paths=defaults.exclude_paths + repo.exclude_paths,
        )

    async def aclose(self) -> None:
        for source in self.sources.values():
            await source.aclose()
        for close in self.closers:
            await close()
        if self.llm_client is not None:
            await self.llm_client.aclose()
        self.store.close()


def config_path(settings: Settings, explicit: Path | None = None) -> Path | None:
    """--config, else DIGESTBOT_CONFIG, else ./digestbot.toml when present."""
    if explicit is not None:
        return explicit
    if settings.digestbot_config is not None:
        return settings.digestbot_config
    local = Path(DEFAULT_CONFIG_NAME)
    return local if local.is_file() else None


def build_analyzer(settings: Settings, client: LLMClient | None) -> tuple[Analyzer, Analyzer]:
    """(analyzer, heuristic fallback): the LLM over `client` when there is one, else the
    heuristic alone."""
    heuristic = HeuristicAnalyzer()
    if client is None:
        return heuristic, heuristic
    from bot.analysis.llm_factory import build_llm_analyzer

    return build_llm_analyzer(settings, client, heuristic), heuristic


def _github_source(settings: Settings, metrics: Metrics) -> CommitSource:
    from bot.sources.github import GitHubSource  # PyGithub: only when a GitHub repo is read

    return GitHubSource.from_settings(settings, observer=metrics)


def build_core(
    settings: Settings,
    *,
    config_file: Path | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Core:
    """Open the store and wire sources, analyzers and the digest service."""
    config = load_app_config(config_path(settings, config_file))
    metrics = Metrics()
    store = SqlStore.open(settings.resolved_database_url)
    sources: dict[str, CommitSource] = {
        "github": LazySource(lambda: _github_source(settings, metrics)),
        "local": GitSource(),
    }
    llm_client = None
    if settings.llm_enabled:
        from bot.analysis.llm_factory import build_llm_client

        llm_client = build_llm_client(settings)
    analyzer, fallback = build_analyzer(settings, llm_client)
    per_hour = on_demand_caps(settings, config).github_requests_per_repo_per_hour
    service = DigestService(
        sources=sources,
        analyzer=analyzer,
        fallback_analyzer=fallback,
        store=store,
        clock=clock,
        metrics=metrics,
        token_ceiling=settings.llm_digest_token_ceiling or None,
        request_budget=RequestBudget(per_hour, clock),
        pipeline_depth=settings.pipeline_depth,
    )
    return Core(
        settings=settings,
        config=config,
        store=store,
        resolver=RepoResolver(config),
        service=service,
        sources=sources,
        clock=clock,
        llm_client=llm_client,
        metrics=metrics,
    )
